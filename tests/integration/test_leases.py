"""Leases (docs/API.md, "Workers"): a job whose worker vanishes comes back
after its lease runs out, and the stale worker is fenced off by lease_id.
"""

import itertools
import time
import unittest

from harness import SharedServerTestCase, parse_time, poll_until

_counter = itertools.count()


class LeaseTest(SharedServerTestCase):
    def setUp(self):
        super().setUp()
        self.q = f"lease{next(_counter)}"

    def test_vanished_worker_job_is_claimable_again_after_expiry(self):
        s, q = self.server, self.q
        jid = s.enqueue(q)["id"]
        old = s.claim(q, worker="w-old", lease="1s")[0]
        self.assertEqual(old["attempt"], 1)
        left = parse_time(old["lease_expires_at"]) - time.time()
        self.assertTrue(0 < left <= 1.5, f"a 1s lease expires in {left:.2f}s")
        # w-old vanishes. The job fails its attempt at expiry, backs off, and is queued again.
        new = s.claim_one(q, worker="w-new", timeout=15)
        self.assertEqual(new["id"], jid)
        self.assertEqual(new["attempt"], 2)
        self.assertNotEqual(new["lease_id"], old["lease_id"])
        job = s.get_job(jid)
        self.assertEqual(job["state"], "running")
        self.assertEqual(job["worker"], "w-new")
        self.assertEqual(len(job["errors"]), 1, job["errors"])
        self.assertEqual(job["errors"][0]["attempt"], 1)
        self.assertIn("lease expired", job["errors"][0]["message"])
        self.assertGreaterEqual(s.queue(q)["failed_total"], 1)

        # The stale worker is fenced off: 409 and the job is unchanged.
        for verb, body in (("complete", {"result": "stale"}), ("heartbeat", {"extend": "1h"}),
                           ("progress", {"percent": 50}), ("fail", {"error": "stale", "retry": False})):
            with self.subTest(verb=verb):
                r = s.request("POST", f"/v1/jobs/{jid}/{verb}", dict(body, lease_id=old["lease_id"]))
                self.assertError(r, 409, "conflict")
                self.assertEqual(s.get_job(jid), job)
        s.complete(new, result="fresh")
        done = s.get_job(jid)
        self.assertEqual((done["state"], done["result"], done["attempt"]), ("succeeded", "fresh", 2))

    def test_heartbeats_keep_the_lease(self):
        s, q = self.server, self.q
        jid = s.enqueue(q)["id"]
        job = s.claim(q, lease="1s")[0]
        # Well past the first 1s lease, heartbeating at a worker's pace (not a wait for a condition).
        until = time.monotonic() + 3
        while time.monotonic() < until:
            r = s.request("POST", f"/v1/jobs/{jid}/heartbeat", {"lease_id": job["lease_id"], "extend": "2s"})
            self.assertStatus(r, 200, "heartbeat within the lease")
            time.sleep(0.25)
        got = s.get_job(jid)
        self.assertEqual((got["state"], got["attempt"], got["errors"]), ("running", 1, []))
        self.assertEqual(s.claim(q), [])
        s.complete(job)

    def test_progress_does_not_extend_the_lease(self):
        s, q = self.server, self.q
        jid = s.enqueue(q)["id"]
        job = s.claim(q, lease="1s")[0]
        r = s.request("POST", f"/v1/jobs/{jid}/progress", {"lease_id": job["lease_id"], "percent": 10})
        self.assertStatus(r, 200, "progress")
        self.assertEqual(s.get_job(jid)["lease_expires_at"], job["lease_expires_at"])

    def test_expiry_on_the_last_attempt_is_dead(self):
        s, q = self.server, self.q
        jid = s.enqueue(q, max_attempts=1)["id"]
        s.claim(q, lease="1s")
        job = poll_until(lambda: (lambda j: j if j["state"] != "running" else None)(s.get_job(jid)), 15,
                         message="the lease to expire")
        self.assertEqual(job["state"], "dead")
        self.assertIn("lease expired", job["errors"][0]["message"])
        self.assertIsNotNone(job["finished_at"])

    def test_expiry_with_cancel_requested_ends_cancelled(self):
        s, q = self.server, self.q
        jid = s.enqueue(q)["id"]
        s.claim(q, lease="1s")
        self.assertTrue(self.assertStatus(s.request("POST", f"/v1/jobs/{jid}/cancel"), 200, "cancel")["cancel_requested"])
        job = poll_until(lambda: (lambda j: j if j["state"] != "running" else None)(s.get_job(jid)), 15,
                         message="the lease to expire")
        self.assertEqual(job["state"], "cancelled")
        self.assertEqual(s.claim(q), [])

    def test_job_timeout_is_the_default_lease(self):
        s, q = self.server, self.q
        jid = s.enqueue(q, timeout="1s")["id"]
        first = s.claim(q)[0]
        second = s.claim_one(q, timeout=15)
        self.assertEqual((second["id"], second["attempt"]), (jid, 2))
        self.assertError(s.request("POST", f"/v1/jobs/{jid}/complete", {"lease_id": first["lease_id"]}), 409,
                         "conflict")


if __name__ == "__main__":
    unittest.main()
