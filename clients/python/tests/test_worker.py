"""errand.Worker against the real server: progress, retry, no-retry, cancel,
and graceful stop (stop() and SIGTERM)."""

import os
import signal
import subprocess
import sys
import threading
import time
import unittest

from tests.server import ServerTestCase, poll_until

from errand import Client, NoRetry, RetryLater, Worker


class WorkerTest(ServerTestCase):

    def test_progress_and_result(self):
        seen = []

        def handler(job):
            job.progress(50, "half way", {"rows": 10})
            seen.append(self.c.get(job.id)["progress"])
            return {"imported": job.payload["rows"]}

        self.run_worker(Worker(self.c, "imports", handler, concurrency=2, wait="1s"))
        job = self.ended(self.c.enqueue("imports", {"rows": 20})["id"])
        self.assertEqual(job["state"], "succeeded")
        self.assertEqual(job["result"], {"imported": 20})
        self.assertEqual((seen[0]["percent"], seen[0]["message"], seen[0]["data"]), (50, "half way", {"rows": 10}))

    def test_heartbeats_keep_a_job_alive_past_its_lease(self):
        def handler(job):
            time.sleep(2.5)  # the work: longer than the 1s lease
            return "outlived the lease"

        self.run_worker(Worker(self.c, "long", handler, wait="1s", lease="1s"))
        job = self.ended(self.c.enqueue("long", {})["id"])
        self.assertEqual((job["state"], job["attempt"], job["errors"]), ("succeeded", 1, []))

    def test_retry_no_retry_and_retry_later(self):
        def handler(job):
            kind = job.payload["kind"]
            if kind == "once" and job.attempt == 1:
                raise ValueError("transient")
            if kind == "never":
                raise NoRetry("bad address")
            if kind == "later":
                raise RetryLater("rate limited", "1h")
            return "ok"

        self.run_worker(Worker(self.c, "flaky", handler, wait="1s"))
        once = self.c.enqueue("flaky", {"kind": "once"}, max_attempts=3)["id"]
        never = self.c.enqueue("flaky", {"kind": "never"}, max_attempts=3)["id"]
        later = self.c.enqueue("flaky", {"kind": "later"}, max_attempts=3)["id"]
        poll_until(lambda: self.c.get(once)["state"] == "failed", "the first attempt to fail")
        self.c.retry(once)
        a, b = self.ended(once), self.ended(never)
        self.assertEqual((a["state"], a["attempt"], a["errors"][0]["message"]), ("succeeded", 2, "transient"))
        self.assertEqual((b["state"], b["errors"][0]["message"]), ("dead", "bad address"))
        c = poll_until(lambda: (lambda j: j if j["state"] == "failed" else None)(self.c.get(later)), "retry later")
        self.assertEqual(c["errors"][0]["message"], "rate limited")

    def test_cancel_reaches_the_handler(self):
        started = threading.Event()

        def handler(job):
            started.set()
            self.assertTrue(job.cancel_requested.wait(20))
            raise RuntimeError("stopped on cancel")

        self.run_worker(Worker(self.c, "cancellable", handler, wait="1s", lease="3s"))
        job_id = self.c.enqueue("cancellable", {})["id"]
        self.assertTrue(started.wait(20))
        self.c.cancel(job_id)
        self.assertEqual(self.ended(job_id)["state"], "cancelled")

    def test_stop_lets_the_running_job_finish(self):
        started, release = threading.Event(), threading.Event()

        def handler(job):
            started.set()
            release.wait(20)
            return "finished"

        worker = Worker(self.c, "graceful", handler, wait="1s")
        t = self.run_worker(worker)
        first = self.c.enqueue("graceful", {})["id"]
        self.assertTrue(started.wait(20))
        worker.stop()
        second = self.c.enqueue("graceful", {})["id"]
        release.set()
        t.join(30)
        self.assertFalse(t.is_alive())
        self.assertEqual(self.c.get(first)["state"], "succeeded")
        self.assertEqual(self.c.get(second)["state"], "queued")

    def test_a_job_still_running_after_the_grace_is_failed_for_a_retry(self):
        started, release = threading.Event(), threading.Event()

        def handler(job):
            started.set()
            release.wait(30)
            return "too late"

        worker = Worker(self.c, "stuck", handler, wait="1s", grace=0.5)
        t = threading.Thread(target=worker.run)
        t.start()
        job_id = self.c.enqueue("stuck", {})["id"]
        self.assertTrue(started.wait(20))
        worker.stop()
        t.join(30)
        self.assertFalse(t.is_alive())
        job = self.c.get(job_id)
        self.assertEqual(job["state"], "failed", job)
        self.assertEqual(job["errors"][0]["message"], "the worker stopped before the job ended")
        release.set()

    def test_sigterm_stops_a_worker_process_gracefully(self):
        job_id = self.c.enqueue("sigterm", {"seconds": 0.3})["id"]
        script = ("import sys, time; sys.path.insert(0, sys.argv[2]); from errand import Client, Worker\n"
                  "def h(job):\n    print('started', flush=True); time.sleep(job.payload['seconds']); return 'done'\n"
                  "Worker(Client(sys.argv[1]), 'sigterm', h, wait='1s').run(); print('stopped', flush=True)\n")
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        proc = subprocess.Popen([sys.executable, "-c", script, self.server.url, root], stdout=subprocess.PIPE, text=True)
        self.assertEqual(proc.stdout.readline().strip(), "started")
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 0)
        self.assertIn("stopped", out)
        self.assertEqual(self.c.get(job_id)["state"], "succeeded")


if __name__ == "__main__":
    unittest.main()
