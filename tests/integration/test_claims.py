"""Claims by competing workers (docs/API.md, `POST /v1/claim`): no job is ever
handed to two workers, and a long-polling claim is answered as soon as work
arrives. Timings are printed; only generous bounds are asserted.
"""

import itertools
import threading
import time
import unittest

from harness import SharedServerTestCase, log

_counter = itertools.count()


class ClaimTest(SharedServerTestCase):
    def setUp(self):
        super().setUp()
        self.q = f"claims{next(_counter)}"

    def test_competing_long_polling_workers_never_share_a_job(self):
        s, q = self.server, self.q
        total, workers = 300, 3
        lock = threading.Lock()
        received = []  # (job id, worker)
        failures = []
        finished = threading.Event()

        def work(index):
            conn = s.connection(timeout=30)
            try:
                while not finished.is_set():
                    r = conn.request("POST", "/v1/claim", {"queues": [q], "worker": f"w{index}", "wait": "1s",
                                                           "max": 1 + index * 2, "lease": "1m"})
                    if r.status != 200:
                        failures.append(("claim", r.status, r.body))
                        return
                    for job in r.body["jobs"]:
                        with lock:
                            received.append((job["id"], index))
                        c = conn.request("POST", f"/v1/jobs/{job['id']}/complete",
                                         {"lease_id": job["lease_id"], "result": index})
                        if c.status != 200:
                            failures.append(("complete", job["id"], c.status, c.body))
                    with lock:
                        if len(received) >= total:
                            finished.set()
            except Exception as e:
                failures.append(("exception", repr(e)))
            finally:
                conn.close()

        threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(workers)]
        for t in threads:
            t.start()
        t0 = time.monotonic()
        ids = []
        for start in range(0, total, 10):  # arrives while the workers are polling
            ids += [j["id"] for j in s.enqueue_batch([{"queue": q, "payload": n} for n in range(start, start + 10)])]
        finished.wait(60)
        finished.set()
        for t in threads:
            t.join(30)
        log(f"{len(received)} jobs claimed and completed by {workers} workers in {time.monotonic() - t0:.2f}s")
        self.assertEqual(failures, [])
        got = [jid for jid, _ in received]
        duplicates = sorted({jid for jid in got if got.count(jid) > 1})
        self.assertEqual(duplicates, [], "jobs handed to more than one worker")
        self.assertEqual(sorted(got), sorted(ids))
        per_worker = {w: sum(1 for _, x in received if x == w) for w in range(workers)}
        log(f"jobs per worker: {per_worker}")
        self.assertEqual(s.counts(q)["succeeded"], total)

    def test_waiting_claim_is_answered_promptly_after_an_enqueue(self):
        s, q = self.server, self.q
        box = {}

        def waiter():
            box["jobs"] = s.claim(q, worker="waiter", wait="10s", timeout=30)
            box["at"] = time.monotonic()

        t = threading.Thread(target=waiter, daemon=True)
        started = time.monotonic()
        t.start()
        time.sleep(0.3)  # let the claim reach the server and start waiting (pacing, not a condition)
        sent = time.monotonic()
        jid = s.enqueue(q)["id"]
        acked = time.monotonic()
        t.join(30)
        self.assertFalse(t.is_alive())
        self.assertEqual([j["id"] for j in box["jobs"]], [jid])
        latency = box["at"] - acked
        log(f"waiting claim answered {box['at'] - sent:.4f}s after the enqueue was sent "
            f"({latency:+.4f}s after its 202)")
        self.assertLess(box["at"] - sent, 2.0)
        self.assertLess(box["at"] - started, 9.0, "answered only when the wait ended")

    def test_waiting_on_several_queues_wakes_for_any(self):
        s, a, b = self.server, self.q, self.q + "-b"
        box = {}

        def waiter():
            box["jobs"] = s.claim([a, b], wait="10s", timeout=30)
            box["at"] = time.monotonic()

        t = threading.Thread(target=waiter, daemon=True)
        t.start()
        time.sleep(0.3)  # pacing
        sent = time.monotonic()
        jid = s.enqueue(b)["id"]
        t.join(30)
        self.assertEqual([j["id"] for j in box["jobs"]], [jid])
        log(f"multi-queue waiter answered {box['at'] - sent:.4f}s after the enqueue was sent")
        self.assertLess(box["at"] - sent, 2.0)

    def test_one_job_goes_to_one_of_two_waiters(self):
        s, q = self.server, self.q
        results = [None, None]

        def waiter(i):
            conn = s.connection(timeout=30)
            r = conn.request("POST", "/v1/claim", {"queues": [q], "worker": f"w{i}", "wait": "2s"})
            results[i] = (r.status, [j["id"] for j in r.body["jobs"]] if r.status == 200 else r.body)
            conn.close()

        threads = [threading.Thread(target=waiter, args=(i,), daemon=True) for i in range(2)]
        for t in threads:
            t.start()
        time.sleep(0.3)  # pacing
        jid = s.enqueue(q)["id"]
        for t in threads:
            t.join(30)
        self.assertEqual([r[0] for r in results], [200, 200], results)
        self.assertEqual(sorted(results[0][1] + results[1][1]), [jid], results)

    def test_wait_ends_empty(self):
        s, q = self.server, self.q
        t0 = time.monotonic()
        self.assertEqual(s.claim(q, wait="1s", timeout=30), [])
        elapsed = time.monotonic() - t0
        log(f"empty claim with wait 1s returned after {elapsed:.3f}s")
        self.assertGreaterEqual(elapsed, 0.9)
        self.assertLess(elapsed, 5)

    def test_no_wait_answers_at_once(self):
        s, q = self.server, self.q
        t0 = time.monotonic()
        self.assertEqual(s.claim(q), [])
        self.assertLess(time.monotonic() - t0, 1.0)
        self.assertEqual(s.claim(q, wait="0s"), [])

    def test_waiting_claim_returns_what_is_already_there_at_once(self):
        s, q = self.server, self.q
        jid = s.enqueue(q)["id"]
        t0 = time.monotonic()
        self.assertEqual([j["id"] for j in s.claim(q, wait="10s", timeout=30)], [jid])
        self.assertLess(time.monotonic() - t0, 2.0)


class ClaimWarningsTest(SharedServerTestCase):
    """A claim that cannot get jobs from a queue, however long it waits, says why."""

    def setUp(self):
        super().setUp()
        self.q = f"warn{next(_counter)}"

    def claim_answer(self, queues, **fields):
        body = dict(fields, queues=queues, worker="w1")
        return self.assertStatus(self.server.request("POST", "/v1/claim", body), 200, "claim")

    def test_a_queue_that_does_not_exist_is_named(self):
        answer = self.claim_answer([f"{self.q}-emial"])
        self.assertEqual(answer["jobs"], [])
        [warning] = answer["warnings"]
        self.assertEqual((warning["queue"], warning["code"]), (f"{self.q}-emial", "queue_not_found"))
        self.assertIn("does not exist yet", warning["message"])

    def test_a_push_queue_is_named(self):
        self.assertStatus(self.server.request(
            "PUT", f"/v1/queues/{self.q}", {"push": {"url": "https://app.example.com/api/errand"}}), 200)
        [warning] = self.claim_answer([self.q])["warnings"]
        self.assertEqual((warning["queue"], warning["code"]), (self.q, "push_queue"))
        self.assertIn("push queue", warning["message"])

    def test_a_paused_queue_is_named(self):
        self.server.enqueue(self.q)
        self.assertStatus(self.server.request("POST", f"/v1/queues/{self.q}/pause"), 200)
        [warning] = self.claim_answer([self.q])["warnings"]
        self.assertEqual(warning["code"], "queue_paused")
        self.assertIn(f"/v1/queues/{self.q}/resume", warning["message"])

    def test_a_claim_that_got_what_it_asked_for_has_no_warnings(self):
        self.server.enqueue(self.q)
        answer = self.claim_answer([self.q, f"{self.q}-typo"])
        self.assertEqual(len(answer["jobs"]), 1)
        self.assertNotIn("warnings", answer)

    def test_a_claim_names_only_the_queues_that_gave_it_nothing(self):
        self.server.enqueue(self.q)
        answer = self.claim_answer([self.q, f"{self.q}-typo"], max=5)
        self.assertEqual(len(answer["jobs"]), 1)
        self.assertEqual([w["queue"] for w in answer["warnings"]], [f"{self.q}-typo"])

    def test_an_existing_empty_pull_queue_has_no_warnings(self):
        job = self.server.enqueue(self.q)
        self.server.claim_one(self.q)
        answer = self.claim_answer([self.q], max=5)
        self.assertEqual(answer["jobs"], [])
        self.assertNotIn("warnings", answer, job)
        answer = self.claim_answer([self.q, f"{self.q}-typo"], max=5)
        self.assertEqual([w["queue"] for w in answer["warnings"]], [f"{self.q}-typo"])


if __name__ == "__main__":
    unittest.main()
