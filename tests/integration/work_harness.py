"""`errand work` as a test fixture: a worker process against a test server.

`WorkerProcess` runs `errand work QUEUES ARGS -- COMMAND` with its stdout and
stderr going to files (never a pipe that could fill up), and waits on its
output with deadlines. Shared by test_work.py and test_examples.py.
Standard library only.
"""

import os
import signal
import subprocess
import sys
import tempfile

from harness import errand_bin, poll_until

WORK_JOB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "work_job.py")
JOB_COMMAND = (sys.executable, "-u", WORK_JOB)


class WorkerProcess:
    """ERRAND_URL is `urls` when given (several servers, comma-separated), else the server's."""

    def __init__(self, server, queues, args=(), command=JOB_COMMAND, global_args=(), urls=None):
        self.dir = tempfile.mkdtemp(prefix="errand-work-")
        self.out_path = os.path.join(self.dir, "stdout")
        self.err_path = os.path.join(self.dir, "stderr")
        env = dict(os.environ)
        env.pop("ERRAND_KEY", None)
        env["ERRAND_URL"] = urls or server.url
        self.cmd = [errand_bin(), *global_args, "work", *queues, *args, "--", *command]
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                         env=env)

    def stdout(self):
        with open(self.out_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stderr(self):
        with open(self.err_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def describe(self):
        return f"{' '.join(self.cmd)}\n--- stdout\n{self.stdout()}--- stderr\n{self.stderr()}"

    def wait_for_stdout(self, text, timeout=20):
        return poll_until(lambda: text in self.stdout(), timeout,
                          message=f"{text!r} on the worker's stdout:\n{self.describe()}")

    def wait_for_stderr(self, text, timeout=20):
        return poll_until(lambda: text in self.stderr(), timeout,
                          message=f"{text!r} on the worker's stderr:\n{self.describe()}")

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Signals the worker and returns its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
