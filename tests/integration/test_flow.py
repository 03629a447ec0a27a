"""Per-key flow control (docs/API.md, "Flow control"): a job's `key` on enqueue,
in job JSON and as a list filter; `key_concurrency` and `key_rate_limit` in a
queue's config; a key's own settings (`PUT/GET/DELETE /v1/queues/{q}/keys/{key}`,
`GET /v1/queues/{q}/keys`); bad input answered 400 naming the field with nothing
changed; key_concurrency 1 over 200 keys x 20 jobs never running two of a key
at once (counted by the workers); and fair turns: 100 late jobs of 20 keys all
start before 500 more of a big key's 50,000 do.
"""

import collections
import itertools
import threading
import unittest
import urllib.parse

from harness import SharedServerTestCase, log, poll_until

_counter = itertools.count()


class FlowTest(SharedServerTestCase):
    def setUp(self):
        super().setUp()
        self.q = f"flow{next(_counter)}"

    def enqueue(self, **fields):
        body = dict({"queue": self.q}, **fields)
        return self.assertStatus(self.server.request("POST", "/v1/jobs", body), 202, f"enqueue {body}")

    def key_path(self, key, queue=None):
        return f"/v1/queues/{queue or self.q}/keys/{urllib.parse.quote(key, safe='')}"

    def waiting_claims(self):
        r = self.server.request("GET", "/v1/stats")
        return r.body["workers"]["this_node"]["waiting"] if r.status == 200 else 0

    def put_config(self, body):
        return self.assertStatus(self.server.request("PUT", f"/v1/queues/{self.q}", body), 200,
                                 f"PUT {body}")

    def complete_all(self, jobs):
        for job in jobs:
            self.server.complete(job)

    # ---- the job's key ----

    def test_a_job_keeps_its_key_and_lists_filter_by_it(self):
        mine = self.enqueue(key="customer-42")
        self.enqueue(key="customer-7")
        self.enqueue()
        job = self.server.get_job(mine["id"])
        self.assertEqual(job["key"], "customer-42")
        listed = self.assertStatus(self.server.request(
            "GET", f"/v1/jobs?queue={self.q}&key=customer-42"), 200)["jobs"]
        self.assertEqual([j["id"] for j in listed], [mine["id"]])
        batch = self.server.enqueue_batch([{"queue": self.q, "key": "b1"},
                                           {"queue": self.q, "key": "b2"}])
        self.assertEqual(self.server.get_job(batch[1]["id"])["key"], "b2")
        unicode = self.enqueue(key="Zürich / team ✓")
        self.assertEqual(self.server.get_job(unicode["id"])["key"], "Zürich / team ✓")
        claimed = self.server.claim(self.q, max=10)
        self.assertEqual(sorted(j["key"] or "" for j in claimed),  # key null: none
                         sorted(["", "Zürich / team ✓", "b1", "b2", "customer-42", "customer-7"]))

    def test_bad_keys_are_400_naming_the_field_and_enqueue_nothing(self):
        cases = [("x" * 129, "key"), ("", "key"), ("tab\there", "key"), ("nl\n", "key"),
                 ("del\x7f", "key"), ("c1\u0085", "key"), (42, "key"), (None, "key")]
        for value, field in cases:
            with self.subTest(value=value):
                resp = self.server.request("POST", "/v1/jobs", {"queue": self.q, "key": value})
                if value is None:  # null: no key
                    self.assertStatus(resp, 202)
                    continue
                self.assertError(resp, 400, "invalid_argument", field=field)
        resp = self.server.request("POST", "/v1/jobs/batch",
                                   {"jobs": [{"queue": self.q}, {"queue": self.q, "key": "x" * 200}]})
        self.assertError(resp, 400, "invalid_argument", field="jobs[1].key")
        self.assertEqual(self.server.counts(self.q)["queued"], 1)  # the null-key job only
        self.assertError(self.server.request("GET", "/v1/jobs?key=" + "x" * 129), 400,
                         "invalid_argument", field="key")
        self.assertEqual(len("x" * 128), 128)
        self.enqueue(key="é" * 128)  # 128 characters, 256 bytes: fine

    # ---- queue config ----

    def test_key_limits_round_trip_in_the_queue_config(self):
        q = self.put_config({"key_concurrency": 2,
                             "key_rate_limit": {"limit": 10, "period": "1m", "burst": 20},
                             "rate_limit": {"limit": 5, "per": "1s", "burst": 8}})
        self.assertEqual(q["config"]["key_concurrency"], 2)
        self.assertEqual(q["config"]["key_rate_limit"], {"limit": 10, "per": "1m", "burst": 20})
        self.assertEqual(q["config"]["rate_limit"], {"limit": 5, "per": "1s", "burst": 8})
        got = self.assertStatus(self.server.request("GET", f"/v1/queues/{self.q}"), 200)
        self.assertEqual(got["config"], q["config"])
        q = self.put_config({})
        self.assertIsNone(q["config"]["key_concurrency"])
        self.assertIsNone(q["config"]["key_rate_limit"])

    def test_bad_key_limits_are_400_naming_the_field_and_change_nothing(self):
        self.put_config({"key_concurrency": 3})
        before = self.assertStatus(self.server.request("GET", f"/v1/queues/{self.q}"), 200)
        cases = [
            ({"key_concurrency": 0}, "key_concurrency"),
            ({"key_concurrency": -1}, "key_concurrency"),
            ({"key_concurrency": "2"}, "key_concurrency"),
            ({"key_rate_limit": {"limit": 10}}, "key_rate_limit.per"),
            ({"key_rate_limit": {"limit": 10, "per": "-1m"}}, "key_rate_limit.per"),
            ({"key_rate_limit": {"limit": 10, "per": "1 fortnight"}}, "key_rate_limit.per"),
            ({"key_rate_limit": {"limit": 10, "per": "1m", "period": "1m"}},
             "key_rate_limit.period"),
            ({"key_rate_limit": {"limit": 10, "per": "1m", "burst": 0}}, "key_rate_limit.burst"),
            ({"key_rate_limit": {"limit": 10, "per": "1m", "bust": 1}}, "key_rate_limit.bust"),
            ({"key_rate_limit": "10/m"}, "key_rate_limit"),
        ]
        for body, field in cases:
            with self.subTest(body=body):
                self.assertError(self.server.request("PUT", f"/v1/queues/{self.q}", body), 400,
                                 "invalid_argument", field=field)
        after = self.assertStatus(self.server.request("GET", f"/v1/queues/{self.q}"), 200)
        self.assertEqual(after["config"], before["config"])

    # ---- a key's own settings ----

    def test_a_keys_settings_round_trip_and_list(self):
        key = "team/a b%c"
        for _ in range(3):
            self.enqueue(key=key)
        self.enqueue(key="other")
        put = self.assertStatus(self.server.request(
            "PUT", self.key_path(key),
            {"concurrency": 2, "rate_limit": {"limit": 5, "per": "1m"}, "weight": 3}), 200)
        self.assertEqual(put["key"], key)
        self.assertEqual(put["queued"], 3)
        self.assertTrue(put["overridden"])
        self.assertEqual(put["concurrency"], 2)
        self.assertEqual(put["rate_limit"], {"limit": 5, "per": "1m"})
        self.assertEqual(put["weight"], 3)
        got = self.assertStatus(self.server.request("GET", self.key_path(key)), 200)
        self.assertEqual(got, put)
        page = self.assertStatus(self.server.request("GET", f"/v1/queues/{self.q}/keys?limit=1"),
                                 200)
        self.assertEqual([k["key"] for k in page["keys"]], ["other"])
        self.assertEqual(page["next_cursor"], "other")
        rest = self.assertStatus(self.server.request(
            "GET", f"/v1/queues/{self.q}/keys?limit=1&cursor=other"), 200)
        self.assertEqual([k["key"] for k in rest["keys"]], [key])
        self.assertIsNone(rest["next_cursor"])
        busiest = self.assertStatus(self.server.request(
            "GET", f"/v1/queues/{self.q}/keys?sort=busiest&limit=5"), 200)
        self.assertEqual([k["key"] for k in busiest["keys"]], [key, "other"])
        deleted = self.assertStatus(self.server.request("DELETE", self.key_path(key)), 200)
        self.assertFalse(deleted["overridden"])
        self.assertIsNone(deleted["concurrency"])
        self.assertError(self.server.request("DELETE", self.key_path(key)), 404, "not_found",
                         field="key")
        self.assertError(self.server.request("GET", self.key_path("nobody")), 404, "not_found",
                         field="key")

    def test_bad_key_settings_are_400_naming_the_field_and_change_nothing(self):
        self.assertStatus(self.server.request("PUT", self.key_path("k"), {"concurrency": 1}), 200)
        cases = [
            ({"concurrency": 0}, "concurrency"),
            ({"weight": 0}, "weight"),
            ({"weight": 1001}, "weight"),
            ({"paused": "yes"}, "paused"),
            ({"rate_limit": {"limit": 0, "per": "1m"}}, "rate_limit.limit"),
            ({"colour": "red"}, "colour"),
        ]
        for body, field in cases:
            with self.subTest(body=body):
                self.assertError(self.server.request("PUT", self.key_path("k"), body), 400,
                                 "invalid_argument", field=field)
        self.assertError(self.server.request("PUT", self.key_path("x" * 129), {}), 400,
                         "invalid_argument", field="key")
        self.assertError(self.server.request("PUT", f"/v1/queues/{self.q}/keys/%E0%A4", {}), 400,
                         "invalid_argument", field="key")
        self.assertError(self.server.request("GET", f"/v1/queues/{self.q}/keys?sort=size"), 400,
                         "invalid_argument", field="sort")
        got = self.assertStatus(self.server.request("GET", self.key_path("k")), 200)
        self.assertEqual(got["concurrency"], 1)

    def test_a_paused_key_waits_until_resumed(self):
        self.enqueue(key="a")
        self.enqueue(key="b")
        self.assertStatus(self.server.request("PUT", self.key_path("a"), {"paused": True}), 200)
        first = self.server.claim(self.q, max=5)
        self.assertEqual([j["key"] for j in first], ["b"])
        waiter = {}
        thread = threading.Thread(target=lambda: waiter.update(
            jobs=self.server.claim(self.q, max=5, wait="20s", timeout=30)))
        thread.start()
        poll_until(lambda: self.waiting_claims() >= 1, 10, message="the claim to wait")
        self.assertStatus(self.server.request("PUT", self.key_path("a"), {}), 200)
        thread.join(30)
        self.assertEqual([j["key"] for j in waiter["jobs"]], ["a"])

    # ---- limits, from the workers' side ----

    def test_key_concurrency_one_never_runs_two_of_a_key(self):
        keys, per_key = 200, 20
        self.put_config({"key_concurrency": 1})
        for start in range(0, keys * per_key, 1000):
            batch = [{"queue": self.q, "key": f"tenant-{i % keys}"}
                     for i in range(start, min(start + 1000, keys * per_key))]
            self.server.enqueue_batch(batch)
        lock = threading.Lock()
        running = collections.Counter()
        violations = []
        done = [0]

        def worker(n):
            conn = self.server.connection()
            while True:
                with lock:
                    if done[0] >= keys * per_key:
                        return
                jobs = conn_claim(conn, self.q, f"w{n}")
                with lock:
                    for j in jobs:
                        running[j["key"]] += 1
                        if running[j["key"]] > 1:
                            violations.append(j["key"])
                for j in jobs:
                    with lock:
                        running[j["key"]] -= 1  # before the ack: never above the server's count
                    resp = conn.request("POST", f"/v1/jobs/{j['id']}/complete",
                                        {"lease_id": j["lease_id"]})
                    self.assertEqual(resp.status, 200, resp.body)
                    with lock:
                        done[0] += 1

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(600)
        self.assertEqual(done[0], keys * per_key)
        self.assertEqual(violations, [])
        self.assertEqual(self.server.counts(self.q)["succeeded"], keys * per_key)

    def test_late_keys_start_before_500_more_of_a_big_keys_jobs(self):
        big = 50_000
        for start in range(0, big, 10_000):
            self.server.enqueue_batch([{"queue": self.q, "key": "big"}] * 10_000)
        for _ in range(3):  # the big key is being drained
            self.complete_all(self.server.claim(self.q, max=100))
        late = set()
        for k in range(20):
            for jobs in self.server.enqueue_batch([{"queue": self.q, "key": f"late-{k}"}] * 5):
                late.add(jobs["id"])
        big_started = 0
        late_started = 0
        while late_started < len(late):
            jobs = self.server.claim(self.q, max=10)
            self.assertTrue(jobs, "the queue ran dry before every late job started")
            for j in jobs:
                if j["id"] in late:
                    late_started += 1
                else:
                    big_started += 1
            self.complete_all(jobs)
        log(f"fairness: 100 late jobs of 20 keys started while {big_started} of the big key did")
        self.assertLess(big_started, 500)


class DedupAndBatchClaimTest(SharedServerTestCase):
    """unique and debounce at enqueue; claims with `min`."""

    def setUp(self):
        super().setUp()
        self.q = f"dedup{next(_counter)}"

    def post(self, **fields):
        return self.server.request("POST", "/v1/jobs", dict({"queue": self.q}, **fields))

    def test_unique_skip_answers_the_waiting_job_and_replace_updates_it(self):
        first = self.assertStatus(self.post(payload=1, unique={"key": "sync-42"}), 202)
        again = self.assertStatus(self.post(payload=2, unique={"key": "sync-42"}), 200)
        self.assertEqual((again["id"], again["duplicate"]), (first["id"], True))
        self.assertEqual(self.server.counts(self.q)["queued"], 1)
        replaced = self.assertStatus(self.post(payload={"v": 3}, priority=4,
                                               unique={"key": "sync-42", "mode": "replace"}), 200)
        self.assertEqual((replaced["id"], replaced["replaced"]), (first["id"], True))
        job = self.server.get_job(first["id"])
        self.assertEqual((job["payload"], job["priority"]), ({"v": 3}, 4))
        claimed = self.server.claim(self.q)
        self.assertEqual([j["id"] for j in claimed], [first["id"]])
        running = self.assertStatus(self.post(payload=5, unique={"key": "sync-42",
                                                                 "mode": "replace"}), 200)
        self.assertEqual(running["state"], "running")
        self.assertNotIn("replaced", running)
        self.server.complete(claimed[0])
        self.assertEqual(self.assertStatus(self.post(unique={"key": "sync-42"}), 202)["state"],
                         "queued")

    def test_debounce_collapses_enqueues_into_the_job_that_will_run(self):
        first = self.assertStatus(self.post(payload=1, debounce={"key": "u7", "period": "1h"}), 202)
        self.assertEqual((first["state"], first["debounced"]), ("scheduled", True))
        second = self.assertStatus(self.post(payload=2, debounce={"key": "u7", "period": "1h"}),
                                   202)
        self.assertEqual(second["id"], first["id"])
        self.assertEqual(self.server.get_job(first["id"])["payload"], 2)
        self.assertEqual(self.server.counts(self.q)["scheduled"], 1)

    def test_bad_unique_and_debounce_are_400_naming_the_field_and_enqueue_nothing(self):
        cases = [
            ({"unique": {"key": "k", "mode": "merge"}}, "unique.mode"),
            ({"unique": {"mode": "skip"}}, "unique.key"),
            ({"unique": {"key": ""}}, "unique.key"),
            ({"unique": {"key": "k", "for": "-1m"}}, "unique.for"),
            ({"unique": {"key": "k", "for": "soon"}}, "unique.for"),
            ({"unique": {"key": "k", "states": ["nope"]}}, "unique.states"),
            ({"unique": {"key": "k", "states": []}}, "unique.states"),
            ({"unique": {"key": "k", "until": "1m"}}, "unique.until"),
            ({"unique": "k"}, "unique"),
            ({"debounce": {"key": "k"}}, "debounce.period"),
            ({"debounce": {"key": "k", "period": "0s"}}, "debounce.period"),
            ({"debounce": {"key": "k", "period": "10s", "max_wait": "5s"}}, "debounce.max_wait"),
            ({"debounce": {"key": "k", "period": "10s"}, "delay": "1m"}, "debounce"),
            ({"debounce": {"key": "k", "period": "10s"}, "unique": {"key": "k"}}, "debounce"),
        ]
        for body, field in cases:
            with self.subTest(body=body):
                self.assertError(self.post(**body), 400, "invalid_argument", field=field)
        self.assertError(self.server.request("GET", f"/v1/queues/{self.q}"), 404, "not_found",
                         field="queue")

    def test_a_claim_with_min_waits_for_that_many_or_the_wait(self):
        self.assertError(self.server.request("POST", "/v1/claim", {"queues": [self.q], "max": 2,
                                                                   "min": 3}),
                         400, "invalid_argument", field="min")
        for n in range(2):
            self.assertStatus(self.post(payload=n), 202)
        short = self.server.claim(self.q, max=10, min=5, wait="1s")
        self.assertEqual(len(short), 2)  # the wait ended: what there is
        box = {}
        thread = threading.Thread(target=lambda: box.update(
            jobs=self.server.claim(self.q, max=10, min=3, wait="20s", timeout=30)))
        thread.start()
        for n in range(3):
            poll_until(lambda: self.waiting_claims() >= 1, 10, message="the claim to wait")
            self.assertStatus(self.post(payload=10 + n), 202)
        thread.join(30)
        self.assertEqual(sorted(j["payload"] for j in box["jobs"]), [10, 11, 12])

    def waiting_claims(self):
        r = self.server.request("GET", "/v1/stats")
        return r.body["workers"]["this_node"]["waiting"] if r.status == 200 else 0


def conn_claim(conn, queue, worker):
    resp = conn.request("POST", "/v1/claim", {"queues": [queue], "worker": worker, "max": 10})
    if resp.status != 200:
        raise AssertionError(f"claim: {resp.status} {resp.body}")
    return resp.body["jobs"]


if __name__ == "__main__":
    unittest.main()
