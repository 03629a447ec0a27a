"""Queue configuration (docs/API.md, `PUT /v1/queues/{q}`, `GET /v1/queues/{q}`):
round trip, validation that names the field and changes nothing, the
concurrency limit against long-polling workers, the wake-up of a waiting claim
when a slot frees or the rate budget refills, job defaults, pause by PUT, and
roles. Waits poll with a deadline; timings are printed, bounds are generous.
"""

import itertools
import threading
import time
import unittest

from harness import ErrandServer, SharedServerTestCase, log, poll_until

_counter = itertools.count()

FULL = {
    "paused": False,
    "concurrency": 4,
    "rate_limit": {"limit": 100, "per": "1m"},
    "defaults": {"priority": 5, "max_attempts": 3, "timeout": "30s",
                 "on_done": {"url": "https://app.example.com/done"}},
}
NO_CONFIG = {"concurrency": None, "rate_limit": None, "key_concurrency": None,
             "key_rate_limit": None, "push": None,
             "defaults": {"priority": None, "max_attempts": None, "timeout": None, "on_done": None}}


class QueueConfigTest(SharedServerTestCase):
    def setUp(self):
        super().setUp()
        self.q = f"config{next(_counter)}"

    def put(self, body, queue=None):
        return self.server.request("PUT", f"/v1/queues/{queue or self.q}", body)

    def get(self, queue=None):
        return self.server.request("GET", f"/v1/queues/{queue or self.q}")

    def configure(self, body):
        return self.assertStatus(self.put(body), 200, f"PUT {body}")

    def test_put_returns_the_queue_and_get_reads_it_back(self):
        q = self.configure(FULL)
        self.assertEqual(q["name"], self.q)
        self.assertFalse(q["paused"])
        self.assertEqual(q["counts"]["queued"], 0)
        expected = dict({k: v for k, v in FULL.items() if k != "paused"}, push=None,
                        key_concurrency=None, key_rate_limit=None)
        self.assertEqual(q["config"], expected)
        self.assertEqual(self.assertStatus(self.get(), 200)["config"], expected)
        self.assertEqual(self.server.queue(self.q)["config"], expected)

    def test_put_replaces_the_whole_config_and_null_clears(self):
        self.configure(FULL)
        q = self.configure({"concurrency": 2})
        self.assertEqual(q["config"], dict(NO_CONFIG, concurrency=2))
        q = self.configure({"concurrency": None, "rate_limit": None, "defaults": None})
        self.assertEqual(q["config"], NO_CONFIG)

    def test_every_queue_in_the_list_has_a_config(self):
        self.server.enqueue(self.q)
        for q in self.server.queues():
            self.assertIn("config", q, q)
        self.assertEqual(self.server.queue(self.q)["config"], NO_CONFIG)

    def test_unknown_queue_is_404(self):
        self.assertError(self.get("never-seen"), 404, "not_found", field="queue")
        self.assertError(self.get("Bad!Name"), 400, "invalid_argument", field="queue")

    def test_validation_errors_name_the_field_and_change_nothing(self):
        self.configure(FULL)
        before = self.assertStatus(self.get(), 200)
        cases = [
            ({"concurency": 2}, "concurency"),
            ({"concurrency": 0}, "concurrency"),
            ({"concurrency": 100001}, "concurrency"),
            ({"concurrency": "2"}, "concurrency"),
            ({"paused": "yes"}, "paused"),
            ({"rate_limit": 5}, "rate_limit"),
            ({"rate_limit": {"limit": 10}}, "rate_limit.per"),
            ({"rate_limit": {"per": "1m"}}, "rate_limit.limit"),
            ({"rate_limit": {"limit": 0, "per": "1m"}}, "rate_limit.limit"),
            ({"rate_limit": {"limit": 10, "per": "500ms"}}, "rate_limit.per"),
            ({"rate_limit": {"limit": 10, "per": "2d"}}, "rate_limit.per"),
            ({"rate_limit": {"limit": 10, "per": "1m", "bursts": 3}}, "rate_limit.bursts"),
            ({"defaults": {"max_attempts": 0}}, "defaults.max_attempts"),
            ({"defaults": {"timeout": "0s"}}, "defaults.timeout"),
            ({"defaults": {"timeout": "soon"}}, "defaults.timeout"),
            ({"defaults": {"priority": 2000000}}, "defaults.priority"),
            ({"defaults": {"retries": 1}}, "defaults.retries"),
            ({"push": {"url": "ftp://example.com"}}, "push.url"),
            ({"push": {"url": "https://example.com", "concurrency": 0}}, "push.concurrency"),
            ({"push": {"url": "https://example.com", "timeout": "soon"}}, "push.timeout"),
            ({"push": "https://example.com"}, "push"),
        ]
        for body, field in cases:
            with self.subTest(body=body):
                self.assertError(self.put(body), 400, "invalid_argument", field=field)
        self.assertError(self.put("[1]"), 400, "invalid_argument", field="body")
        self.assertError(self.put("{"), 400, "invalid_argument", field="body")
        self.assertEqual(self.assertStatus(self.get(), 200), before)
        # A rejected PUT does not create the queue either.
        self.assertError(self.put({"concurrency": 0}, "fresh" + self.q), 400, "invalid_argument")
        self.assertError(self.get("fresh" + self.q), 404, "not_found")

    def test_defaults_apply_to_jobs_that_do_not_give_their_own(self):
        self.configure({"defaults": {"priority": 7, "max_attempts": 2, "timeout": "30s"}})
        plain = self.server.get_job(self.server.enqueue(self.q)["id"])
        self.assertEqual((plain["priority"], plain["max_attempts"], plain["timeout"]), (7, 2, "30s"))
        own = self.server.get_job(self.server.enqueue(self.q, priority=0, max_attempts=9,
                                                      timeout="5s")["id"])
        self.assertEqual((own["priority"], own["max_attempts"], own["timeout"]), (0, 9, "5s"))

    def test_pause_and_resume_by_put(self):
        self.server.enqueue(self.q)
        self.assertTrue(self.configure({"paused": True})["paused"])
        self.assertEqual(self.server.claim(self.q), [])
        self.assertTrue(self.assertStatus(self.get(), 200)["paused"])
        self.assertFalse(self.configure({})["paused"])
        self.assertEqual(len(self.server.claim(self.q)), 1)

    def test_concurrency_limit_holds_against_long_polling_workers(self):
        s, q = self.server, self.q
        self.configure({"concurrency": 2})
        for n in range(5):
            s.enqueue(q, payload=n)
        got, failures, lock = {}, [], threading.Lock()

        def worker(index):
            conn = s.connection(timeout=30)
            try:
                r = conn.request("POST", "/v1/claim", {"queues": [q], "worker": f"w{index}",
                                                       "wait": "20s", "lease": "1m"})
                if r.status != 200 or len(r.body["jobs"]) != 1:
                    failures.append((index, r.status, r.body))
                    return
                with lock:
                    got[index] = (r.body["jobs"][0], time.monotonic())
            finally:
                conn.close()

        threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(3)]
        for t in threads:
            t.start()
        poll_until(lambda: len(got) == 2, 10, message="two workers to hold a job")
        counts = poll_until(lambda: s.counts(q)["running"] == 2 and s.counts(q), 10)
        self.assertEqual(counts["queued"], 3)
        for _ in range(5):  # the third long poll keeps waiting: still two running
            self.assertEqual(s.counts(q)["running"], 2)
            self.assertEqual(len(got), 2)
        first = next(iter(got.values()))[0]
        released = time.monotonic()
        s.complete(first)
        poll_until(lambda: len(got) == 3, 10, message="the waiting claim to get the freed slot")
        woke = max(at for _, at in got.values()) - released
        log(f"waiting claim woken {woke * 1000:.1f} ms after a slot freed")
        self.assertLess(woke, 5.0)
        for t in threads:
            t.join(30)
        self.assertEqual(failures, [])
        counts = s.counts(q)
        self.assertEqual((counts["running"], counts["succeeded"], counts["queued"]), (2, 1, 2))

    def test_rate_limit_budget_then_a_waiting_claim_wakes_at_the_refill(self):
        s, q = self.server, self.q
        self.configure({"rate_limit": {"limit": 2, "per": "1s"}})
        for n in range(4):
            s.enqueue(q, payload=n)
        self.assertEqual(len(s.claim(q, max=10)), 2)
        self.assertEqual(s.claim(q, max=10), [])
        t0 = time.monotonic()
        jobs = s.claim(q, max=10, wait="10s", timeout=30)
        waited = time.monotonic() - t0
        log(f"rate-limited claim answered after {waited * 1000:.0f} ms (refill every 500 ms)")
        self.assertEqual(len(jobs), 1)
        self.assertLess(waited, 5.0)


class QueueConfigRolesTest(SharedServerTestCase):
    ADMIN, PRODUCER, WORKER = "admin-secret-0123456789", "producer-secret-0123456", "worker-secret-012345678"

    @classmethod
    def make_server(cls):
        return ErrandServer(keys=(("admin", cls.ADMIN), ("producer", cls.PRODUCER),
                                  ("worker", cls.WORKER)))

    def test_put_needs_admin_and_get_needs_producer(self):
        s = self.server
        self.assertStatus(s.request("PUT", "/v1/queues/roles", {"concurrency": 1}, key=self.ADMIN), 200)
        self.assertError(s.request("PUT", "/v1/queues/roles", {}, key=self.PRODUCER), 403, "forbidden")
        self.assertEqual(self.assertStatus(s.request("GET", "/v1/queues/roles", key=self.PRODUCER),
                                           200)["config"]["concurrency"], 1)
        self.assertError(s.request("GET", "/v1/queues/roles", key=self.WORKER), 403, "forbidden")
        self.assertError(s.request("GET", "/v1/queues/roles", key=None), 401, "unauthorized")


if __name__ == "__main__":
    unittest.main()
