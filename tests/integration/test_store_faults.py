"""The server when its store fails (ERRAND_TEST_STORE_FAULTS makes the real
store fail the calls it names, as one that lost its disk would): no 2xx is
answered for a change that did not persist, the failure is a clear 503, the
server stays up, and the next call works once the store does.
"""

import unittest

from harness import ErrandServer, ErrandTestCase


class StoreFaultTest(ErrandTestCase):
    def test_no_enqueue_is_acknowledged_that_was_not_stored(self):
        env = {"ERRAND_TEST_STORE_FAULTS": "job_insert_many:3,job_insert_many:5"}
        with ErrandServer(env=env) as s:
            acknowledged, refused = [], 0
            for i in range(8):
                r = s.request("POST", "/v1/jobs", {"queue": "faults", "payload": {"n": i}})
                if r.status == 202:
                    acknowledged.append(r.body["id"])
                else:
                    self.assertError(r, 503, "unavailable")
                    self.assertIn("the store failed", r.body["error"]["message"])
                    refused += 1
            self.assertEqual(refused, 2)
            # A batch: all or nothing.
            r = s.request("POST", "/v1/jobs/batch", {"jobs": [{"queue": "faults"}] * 3})
            self.assertEqual(r.status, 202, r.body)
            acknowledged += [j["id"] for j in r.body["jobs"]]
            stored = sorted(j["id"] for j in s.list_all(queue="faults"))
            self.assertEqual(stored, sorted(acknowledged))
            self.assertEqual(s.request("GET", "/healthz").status, 200)
            self.assertIn("ERRAND_TEST_STORE_FAULTS", s.log_text())

    def test_a_failed_complete_leaves_the_job_running_until_one_succeeds(self):
        with ErrandServer(env={"ERRAND_TEST_STORE_FAULTS": "job_complete:1"}) as s:
            s.enqueue("faults")
            job = s.claim_one("faults")
            r = s.request("POST", f"/v1/jobs/{job['id']}/complete",
                          {"lease_id": job["lease_id"], "result": {"ok": True}})
            self.assertError(r, 503, "unavailable")
            self.assertEqual(s.get_job(job["id"])["state"], "running")
            r = s.request("POST", f"/v1/jobs/{job['id']}/complete",
                          {"lease_id": job["lease_id"], "result": {"ok": True}})
            self.assertEqual(r.status, 200, r.body)
            self.assertEqual(s.get_job(job["id"])["state"], "succeeded")

    def test_a_failing_claim_answers_the_waiting_worker_and_leaks_nothing(self):
        with ErrandServer(env={"ERRAND_TEST_STORE_FAULTS": "job_claim:1"}) as s:
            r = s.request("POST", "/v1/claim", {"queues": ["faults"], "worker": "w"})
            self.assertError(r, 503, "unavailable")
            stats = s.request("GET", "/v1/stats").body
            self.assertEqual(stats["workers"]["this_node"]["waiting"], 0)
            s.enqueue("faults")
            self.assertEqual(s.claim_one("faults")["queue"], "faults")

    def test_a_bad_fault_list_is_refused_at_start(self):
        s = ErrandServer(env={"ERRAND_TEST_STORE_FAULTS": "job_claim:zero"})
        try:
            with self.assertRaises(AssertionError):
                s.start()
            self.assertIn("ERRAND_TEST_STORE_FAULTS", s.log_text())
        finally:
            s.cleanup()


if __name__ == "__main__":
    unittest.main()
