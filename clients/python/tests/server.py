"""The real `errand` binary (ERRAND_BIN) for the package's tests, on a free
loopback port with its own data directory; and poll_until, the only way the
tests wait."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def poll_until(fn, what, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


class ErrandProcess:
    def __init__(self, args=(), keys=()):
        self.bin = os.environ.get("ERRAND_BIN") or sys.exit("set ERRAND_BIN to the errand binary (ctest does this)")
        self.dir = tempfile.mkdtemp(prefix="errand-py-")
        self.args, self.keys = list(args), list(keys)
        self.listen = "127.0.0.1:0"

    def start(self):
        cmd = [self.bin, "server", "--listen", self.listen, "--data", os.path.join(self.dir, "data")]
        for k in self.keys:
            cmd += ["--key", k]
        env = dict(os.environ)
        env.pop("ERRAND_KEYS", None)
        self.proc = subprocess.Popen(cmd + self.args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
        found = threading.Event()
        box = {}

        def drain():
            for line in iter(self.proc.stdout.readline, b""):
                m = re.search(r"errand listening on (http://\S+)", line.decode(errors="replace"))
                if m and not found.is_set():
                    box["url"] = m.group(1)
                    found.set()
            found.set()

        threading.Thread(target=drain, daemon=True).start()
        if not found.wait(20) or "url" not in box:
            raise RuntimeError("errand did not start")
        self.url = box["url"].rstrip("/")
        self.listen = self.url.replace("http://", "")
        return self

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(20)

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


FINAL = ("succeeded", "dead", "cancelled")


class ServerTestCase(unittest.TestCase):
    """A test class sharing one server (`self.server`) and a client of it
    (`self.c`)."""

    @classmethod
    def setUpClass(cls):
        from errand import Client

        cls.server = ErrandProcess().start()
        cls.c = Client(cls.server.url)

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def ended(self, job_id):
        """The job once it has ended (succeeded, dead or cancelled)."""
        return poll_until(lambda: (lambda j: j if j["state"] in FINAL else None)(self.c.get(job_id)),
                          f"job {job_id} to end")

    def run_worker(self, worker):
        """Runs `worker` on a thread until the test ends; returns the thread."""
        t = threading.Thread(target=worker.run)
        t.start()
        self.addCleanup(lambda: (worker.stop(), t.join(30)))
        return t

