"""Workflows with errand.Worker against the real server: a handler that
continues (a sleep, a wait for a signal) and a batch's callback."""

import time
import unittest

from tests.server import ServerTestCase, poll_until

from errand import Client, NoRetry, Worker


class WorkflowTest(ServerTestCase):
    def start_worker(self, queues, handler, **options):
        self.run_worker(Worker(self.c, queues, handler, wait="1s", **options))

    def test_a_handler_continues_with_a_delay_and_sees_its_state_next_time(self):
        runs, answers = [], []

        def handler(job):
            runs.append((time.monotonic(), job.continuation, job.state, job.attempt))
            if job.continuation == 0:
                answers.append(job.continue_job(state={"rows": 40}, delay="1s"))
                return "not a result: the job goes on"
            return {"imported": job.state["rows"]}

        self.start_worker("sleepers", handler)
        job = self.ended(self.c.enqueue("sleepers", {})["id"])
        self.assertEqual((job["state"], job["result"]), ("succeeded", {"imported": 40}))
        self.assertEqual((job["attempt"], job["errors"]), (1, []), "a continue is not an attempt, nor a failure")
        self.assertEqual(answers[0]["state"], "scheduled")
        self.assertEqual([r[1:] for r in runs], [(0, None, 1), (1, {"rows": 40}, 1)])
        self.assertGreaterEqual(runs[1][0] - runs[0][0], 0.95)

    def test_a_handler_waits_for_a_signal_and_signal_resumes_it(self):
        urls, seen = [], []

        def handler(job):
            seen.append(("signal" in job.claimed, job.signal))
            if job.continuation == 0:
                urls.append(job.continue_job(state={"order": 7}, signal={"timeout": "1h"})["signal_url"])
                return None
            return {"order": job.state["order"], "paid": job.signal}

        self.start_worker("orders", handler)
        job_id = self.c.enqueue("orders", {})["id"]
        poll_until(lambda: urls and self.c.get(job_id)["state"] == "waiting", "the job to wait")
        token = urls[0].rsplit("/", 1)[1]  # the token alone, sent to this client's server
        self.assertEqual(Client(self.server.url).signal(token, {"amount": 42}), {"id": job_id, "state": "queued"})
        job = self.ended(job_id)
        self.assertEqual((job["state"], job["result"]), ("succeeded", {"order": 7, "paid": {"amount": 42}}))
        self.assertEqual(seen, [(False, None), (True, {"amount": 42})])
        self.assertEqual(job["signal"], {"status": "received", "body": {"amount": 42}}, "no URL: it is spent")

    def test_a_wait_that_times_out_resumes_with_no_signal(self):
        seen = []

        def handler(job):
            if job.continuation == 0:
                job.continue_job(signal={"timeout": "1s"})
                return None
            seen.append(("signal" in job.claimed, job.signal))
            return "gave up waiting"

        self.start_worker("timeouts", handler)
        job = self.ended(self.c.enqueue("timeouts", {})["id"])
        self.assertEqual(job["state"], "succeeded")
        self.assertEqual(seen, [(True, None)])
        self.assertEqual(job["signal"]["status"], "timed_out")

    def test_a_batch_on_complete_callback_runs_once_after_every_job_ended(self):
        callbacks = []

        def handler(job):
            if job.queue == "batch-done":
                callbacks.append(job.payload)
                return "notified"
            if job.payload["row"] == 2:
                raise NoRetry("row 2 is malformed")
            return job.payload["row"] * 10

        self.start_worker(["batch-rows", "batch-done"], handler, concurrency=3)
        created = self.c.batches.create([{"queue": "batch-rows", "payload": {"row": n}} for n in (1, 2, 3)],
                                        on_complete={"queue": "batch-done", "payload": {"report": "rows"}})
        self.assertEqual(created["state"], "sealed")

        def done():
            b = self.c.batches.get(created["id"])
            return b if b["state"] == "done" and b["callbacks"]["complete"]["job_id"] else None

        batch = poll_until(done, "the batch to end")
        callback = self.ended(batch["callbacks"]["complete"]["job_id"])
        self.assertEqual(batch["counts"], {"total": 3, "succeeded": 2, "dead": 1, "cancelled": 0, "pending": 0})
        self.assertEqual(callback["state"], "succeeded")
        self.assertEqual(len(callbacks), 1)
        self.assertEqual(callbacks[0]["report"], "rows")
        b = callbacks[0]["batch"]
        self.assertEqual((b["id"], b["total"], b["succeeded"], b["dead"]), (created["id"], 3, 2, 1))
        self.assertEqual([j["id"] for j in self.c.list(queue="batch-done")], [callback["id"]],
                         "one callback job, enqueued once")


if __name__ == "__main__":
    unittest.main()
