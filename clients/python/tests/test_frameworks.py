"""The README's Flask, FastAPI and Django push handlers, served by their
frameworks' own servers (framework_app.py) to the real server's push calls:
each refuses a call without the queue's signature, and completes a pushed
job with the handler's result. They need Debian's python3-flask,
python3-fastapi, python3-uvicorn and python3-django (scripts/install-deps.sh
test installs them): a framework that is missing fails its test."""

import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.request

from tests.server import ErrandProcess, poll_until

from errand import Client

HERE = os.path.dirname(os.path.abspath(__file__))
FINAL = ("succeeded", "dead", "cancelled")
MODULES = {"flask": ["flask"], "fastapi": ["fastapi", "uvicorn"], "django": ["django"]}


def readme_block(framework):
    """The README's python block that imports from the framework."""
    with open(os.path.join(HERE, "..", "README.md"), encoding="utf-8") as f:
        found = [b for b in re.findall(r"```python\n(.*?)```", f.read(), re.S)
                 if re.search(rf"^from {framework}\b", b, re.M)]
    if len(found) != 1:
        raise AssertionError(f"the README has {len(found)} {framework} blocks, not one")
    return found[0]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def accepts(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


class FrameworkPushTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = ErrandProcess(args=["--push-allow-private"]).start()
        cls.c = Client(cls.server.url)
        cls.dir = tempfile.mkdtemp(prefix="errand-frameworks-")

    @classmethod
    def tearDownClass(cls):
        cls.server.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def serve(self, framework, queue):
        """Points `queue` at the framework's app and starts it; returns the app's URL."""
        for module in MODULES[framework]:
            if importlib.util.find_spec(module) is None:
                self.fail(f"{module} is not installed for {sys.executable} (scripts/install-deps.sh test)")
        block = os.path.join(self.dir, f"{framework}_block.py")
        with open(block, "w", encoding="utf-8") as f:
            f.write(readme_block(framework))
        port = free_port()
        url = f"http://127.0.0.1:{port}/api/errand"
        self.c.queues.set(queue, push={"url": url, "timeout": "10s"})
        env = dict(os.environ, ERRAND_PUSH_SECRET=self.c.queues.push_secret(queue)["secret"])
        self.log_path = os.path.join(self.dir, f"{framework}.log")
        with open(self.log_path, "wb") as log:
            app = subprocess.Popen([sys.executable, os.path.join(HERE, "framework_app.py"), framework, block,
                                    str(port)], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   env=env)
        self.addCleanup(self.stop, app)
        poll_until(lambda: app.poll() is not None or accepts(port), f"the {framework} app to listen")
        self.assertIsNone(app.poll(), f"the {framework} app exited:\n{self.log()}")
        return url

    def stop(self, app):
        if app.poll() is None:
            app.send_signal(signal.SIGTERM)
            try:
                app.wait(20)
            except subprocess.TimeoutExpired:
                app.kill()
                app.wait()

    def log(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def check(self, framework):
        queue = f"{framework}-push"
        url = self.serve(framework, queue)
        forged = urllib.request.Request(url, data=b'{"job": {"id": "x"}}', method="POST",
                                        headers={"Content-Type": "application/json", "Errand-Signature": "t=1,v1=00"})
        with self.assertRaises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(forged, timeout=10)
        refused.exception.close()
        self.assertEqual(refused.exception.code, 401, self.log())
        job_id = self.c.enqueue(queue, {"to": "ada@example.com"})["id"]
        job = poll_until(lambda: (lambda j: j if j["state"] in FINAL else None)(self.c.get(job_id)),
                         f"the job pushed to {framework} to end")
        self.assertEqual((job["state"], job["result"]), ("succeeded", "done"), f"{job}\n{self.log()}")
        self.assertEqual((job["attempt"], job["errors"]), (1, []))

    def test_flask(self):
        self.check("flask")

    def test_fastapi(self):
        self.check("fastapi")

    def test_django(self):
        self.check("django")


if __name__ == "__main__":
    unittest.main()
