"""The worker examples run against the real server, so they cannot rot.

examples/python-worker/worker.py and examples/node-worker/worker.mjs each run
as a worker process (with a 1s claim lease, so a 2s job lives only through
their heartbeats); examples/cpp-worker (built against the installed library by tests/work.cmake) runs jobs
four at a time; examples/shell/import.sh runs under `errand work`. Each
must complete a job with its progress and result, fail a job for good when
told, and stop on SIGTERM; the workers also when ERRAND_URL lists a dead
server before the live one.
"""

import itertools
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

from harness import SharedServerTestCase, dead_url, errand_bin, poll_until
from work_harness import WorkerProcess

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLES = os.path.join(ROOT, "examples")
_counter = itertools.count()


class ExampleCase(SharedServerTestCase):
    def q(self):
        return f"example{next(_counter)}"

    def wait_state(self, job_id, *states, timeout=30):
        def reached():
            job = self.server.get_job(job_id)
            return job if job["state"] in states else None
        return poll_until(reached, timeout, interval=0.02, message=f"job {job_id} to be {states}")


class HttpWorkerExamples(ExampleCase):
    """The plain-HTTP workers: claim, heartbeat, progress, complete, fail."""

    def start(self, command, urls=None):
        log_dir = tempfile.mkdtemp(prefix="errand-example-")
        self.addCleanup(shutil.rmtree, log_dir, True)
        self.log_path = os.path.join(log_dir, "log")
        env = dict(os.environ, ERRAND_URL=urls or self.server.url)
        env.pop("ERRAND_KEY", None)
        with open(self.log_path, "wb") as log:
            proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, env=env)

        def kill():
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        self.addCleanup(kill)
        return proc

    def output(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def dead_first(self):
        """ERRAND_URL with a dead server before the live one."""
        self.dead = dead_url()
        return f"{self.dead},{self.server.url}"

    def assert_moved_on(self):
        self.assertIn(f"{self.dead}", self.output())
        self.assertIn(f"moving on to {self.server.url}", self.output())

    def check_worker(self, command, urls=None):
        q = self.q()
        proc = self.start([*command, q, "--lease", "1s"], urls)
        # 2s of work on a 1s lease: only heartbeats keep it from expiring.
        slow = self.server.enqueue(q, payload={"items": 4, "seconds_per_item": 0.5})["id"]
        bad = self.server.enqueue(q, payload={"fail": "no such account", "retry": False})["id"]
        job = self.wait_state(slow, "succeeded")
        self.assertEqual(job["attempt"], 1, self.output())
        self.assertEqual(job["errors"], [])
        self.assertEqual(job["result"]["processed"], 4)
        self.assertEqual(job["progress"]["percent"], 100)
        self.assertEqual(job["progress"]["message"], "4/4 items")
        job = self.wait_state(bad, "dead")
        self.assertEqual(job["attempt"], 1)
        self.assertIn("no such account", job["errors"][0]["message"])
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(30), 0, self.output())
        self.assertIn("stopped", self.output())

    def test_python_worker(self):
        self.check_worker([sys.executable, os.path.join(EXAMPLES, "python-worker", "worker.py")])

    def test_python_worker_moves_past_a_dead_server(self):
        self.check_worker([sys.executable, os.path.join(EXAMPLES, "python-worker", "worker.py")],
                          self.dead_first())
        self.assert_moved_on()

    def cpp_worker(self):
        # Built by the ctest fixture package.cpp_worker (tests/work.cmake)
        # against the installed library, with find_package(Errand).
        path = os.environ.get("ERRAND_CPP_WORKER")
        if not path:
            self.skipTest("ERRAND_CPP_WORKER is not set (ctest sets it)")
        self.assertTrue(os.access(path, os.X_OK), f"{path} was not built")
        return path

    def test_cpp_worker_moves_past_a_dead_server(self):
        q = self.q()
        proc = self.start([self.cpp_worker(), q], self.dead_first())  # the URLs from ERRAND_URL
        job_id = self.server.enqueue(q, payload={"items": 1, "seconds_per_item": 0.1})["id"]
        self.assertEqual(self.wait_state(job_id, "succeeded")["result"]["worker"], "cpp")
        self.assert_moved_on()
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(30), 0, self.output())

    def test_cpp_worker(self):
        path = self.cpp_worker()
        q = self.q()
        proc = self.start([path, q, self.server.url])
        jobs = [self.server.enqueue(q, payload={"items": 2, "seconds_per_item": 0.1})["id"]
                for _ in range(8)]
        bad = self.server.enqueue(q, payload={"fail": "no such account", "retry": False})["id"]
        for job_id in jobs:
            job = self.wait_state(job_id, "succeeded")
            self.assertEqual(job["result"], {"processed": 2, "worker": "cpp"})
            self.assertEqual(job["progress"]["message"], "2/2 items")
        job = self.wait_state(bad, "dead")
        self.assertEqual(job["errors"][0]["message"], "no such account")
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(30), 0, self.output())
        self.assertIn("stopped", self.output())

    @unittest.skipUnless(shutil.which("node"), "node is not installed")
    def test_node_worker(self):
        self.check_worker([shutil.which("node"), os.path.join(EXAMPLES, "node-worker", "worker.mjs")])

    @unittest.skipUnless(shutil.which("node"), "node is not installed")
    def test_node_worker_moves_past_a_dead_server(self):
        self.check_worker([shutil.which("node"), os.path.join(EXAMPLES, "node-worker", "worker.mjs")],
                          self.dead_first())
        self.assert_moved_on()


class ShellExample(ExampleCase):
    def test_import_script_under_errand_work(self):
        q = self.q()
        script = os.path.join(EXAMPLES, "shell", "import.sh")
        w = WorkerProcess(self.server, [q], (), command=(script,))
        self.addCleanup(w.kill)
        ok = self.server.enqueue(q, payload={"rows": 3})["id"]
        bad = self.server.enqueue(q, payload={"columns": 3})["id"]
        job = self.wait_state(ok, "succeeded")
        self.assertEqual(job["result"], {"imported": 3})
        self.assertEqual(job["progress"]["percent"], 100)
        self.assertEqual(job["progress"]["message"], "imported 3/3 rows")
        job = self.wait_state(bad, "dead")
        self.assertIn('expected a payload like {"rows": 20}', job["errors"][0]["message"])
        self.assertEqual(w.stop(), 0, w.describe())

    def test_the_readme_errand_work_block_runs(self):
        with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
            blocks = re.findall(r"```sh\n(.*?)```", f.read(), re.S)
        # The worker's block, then the block that enqueues a job for it.
        at = next(i for i, b in enumerate(blocks) if "errand work" in b)
        work, enqueue = [shlex.split(line)[1:] for b in blocks[at:at + 2] for line in b.splitlines()
                         if line.startswith("errand ")]
        self.assertEqual((work[0], enqueue[0]), ("work", "enqueue"))
        queue = work[1]
        cwd = os.getcwd()
        os.chdir(ROOT)  # the README runs from the repository root
        try:
            w = WorkerProcess(self.server, work[1:work.index("--")], (),
                              command=work[work.index("--") + 1:])
        finally:
            os.chdir(cwd)
        self.addCleanup(w.kill)
        env = dict(os.environ, ERRAND_URL=self.server.url)
        out = subprocess.run([errand_bin(), *enqueue], capture_output=True, text=True, timeout=30,
                             env=env)
        self.assertEqual(out.returncode, 0, out.stderr)
        job_id = re.search(r"\b[0-7][0-9A-HJKMNP-TV-Z]{12}\b", out.stdout).group(0)
        self.assertEqual(self.wait_state(job_id, "succeeded")["result"], {"imported": 20})
        w.wait_for_stdout(f"✓ {queue} {job_id}")
        self.assertEqual(w.stop(), 0, w.describe())


if __name__ == "__main__":
    unittest.main()
