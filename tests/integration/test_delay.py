"""Delayed and scheduled jobs (docs/API.md, enqueue `delay` / `run_at`): a job
is `scheduled`, not claimable before its run_at, and claimable after.
"""

import datetime
import itertools
import time
import unittest

from harness import SharedServerTestCase, log, parse_time

_counter = itertools.count()


def rfc3339(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).isoformat(timespec="milliseconds")


class DelayTest(SharedServerTestCase):
    def setUp(self):
        super().setUp()
        self.q = f"delay{next(_counter)}"

    def claim_when_due(self, jid, run_at):
        """Claims until the job comes; asserts it never comes before run_at."""
        s = self.server
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            jobs = s.claim(self.q)
            now = time.time()
            if jobs:
                self.assertEqual(jobs[0]["id"], jid)
                self.assertGreaterEqual(now, run_at - 0.05, "claimed before its run_at")
                return jobs[0], now
            time.sleep(0.02)
        self.fail("the delayed job never became claimable")

    def test_delay_is_scheduled_then_claimable(self):
        s, q = self.server, self.q
        enq = s.enqueue(q, delay="1s")
        self.assertEqual(enq["state"], "scheduled")
        job = s.get_job(enq["id"])
        self.assertEqual(job["state"], "scheduled")
        run_at = parse_time(job["run_at"])
        self.assertAlmostEqual(run_at - parse_time(job["created_at"]), 1.0, delta=0.05)
        self.assertEqual(s.counts(q)["scheduled"], 1)
        if time.time() < run_at - 0.2:
            self.assertEqual(s.claim(q), [], "claimable before its delay")
        claimed, at = self.claim_when_due(enq["id"], run_at)
        log(f"delay 1s: claimed {at - run_at:+.3f}s after run_at")
        self.assertEqual(claimed["attempt"], 1)

    def test_run_at_is_scheduled_then_claimable(self):
        s, q = self.server, self.q
        run_at = time.time() + 1.2
        enq = s.enqueue(q, run_at=rfc3339(run_at))
        self.assertEqual(enq["state"], "scheduled")
        self.assertAlmostEqual(parse_time(s.get_job(enq["id"])["run_at"]), run_at, delta=0.002)
        self.claim_when_due(enq["id"], parse_time(s.get_job(enq["id"])["run_at"]))

    def test_waiting_claim_is_answered_when_a_delayed_job_becomes_due(self):
        s, q = self.server, self.q
        enq = s.enqueue(q, delay="1s")
        run_at = parse_time(s.get_job(enq["id"])["run_at"])
        t0 = time.monotonic()
        jobs = s.claim(q, wait="10s", timeout=30)
        elapsed = time.monotonic() - t0
        now = time.time()
        log(f"waiting claim answered {now - run_at:+.3f}s after run_at")
        self.assertEqual([j["id"] for j in jobs], [enq["id"]])
        self.assertGreaterEqual(now, run_at - 0.05)
        self.assertLess(elapsed, 5, "the claim waited for its whole wait instead of the job's run_at")

    def test_failed_retry_in_waits_then_is_claimable(self):
        s, q = self.server, self.q
        jid = s.enqueue(q)["id"]
        r = s.fail(s.claim(q)[0], retry_in="1s")
        self.assertEqual(r["state"], "failed")
        again, _ = self.claim_when_due(jid, parse_time(r["run_at"]))
        self.assertEqual(again["attempt"], 2)

    def test_delayed_job_does_not_block_ready_ones(self):
        s, q = self.server, self.q
        s.enqueue(q, delay="1h", priority=100)
        ready = s.enqueue(q)["id"]
        self.assertEqual([j["id"] for j in s.claim(q, max=5)], [ready])

    def test_many_delays_come_due_in_order(self):
        s, q = self.server, self.q
        jobs = s.enqueue_batch([{"queue": q, "delay": d, "payload": d} for d in ("1500ms", "500ms", "1s")])
        got = []
        deadline = time.monotonic() + 15
        while len(got) < 3 and time.monotonic() < deadline:
            got += [j["payload"] for j in s.claim(q, max=3)]
            time.sleep(0.02)
        self.assertEqual(got, ["500ms", "1s", "1500ms"])
        self.assertEqual(len(jobs), 3)


if __name__ == "__main__":
    unittest.main()
