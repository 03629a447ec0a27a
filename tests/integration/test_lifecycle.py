"""A job's whole life over the real HTTP API (docs/API.md, "Jobs" and "Workers").

One server is shared by the class; every test works in queues of its own, so
the tests stay independent of each other and of their order.
"""

import itertools
import re
import time
import unittest
import urllib.parse

from harness import SharedServerTestCase, parse_time

ID_RE = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{12}$")
JOB_FIELDS = {"id", "queue", "type", "state", "payload", "priority", "run_at", "attempt", "max_attempts",
              "timeout", "idempotency_key", "key", "tags", "progress", "result", "errors", "cancel_requested",
              "worker", "lease_expires_at", "created_at", "started_at", "finished_at"}
CLAIM_FIELDS = {"id", "queue", "type", "payload", "attempt", "max_attempts", "priority", "key", "lease_id",
                "lease_expires_at", "tags", "created_at"}
_counter = itertools.count()


class LifecycleTest(SharedServerTestCase):
    def q(self):
        """A queue name no other test uses."""
        return f"lc{next(_counter)}-{self._testMethodName[5:30].replace('_', '-')}"

    def get(self, job_id):
        return self.server.get_job(job_id)

    # ---- the happy path -------------------------------------------------------

    def test_enqueue_claim_progress_heartbeat_complete(self):
        s, q = self.server, self.q()
        before = time.time()
        enq = s.enqueue(q, type="welcome", payload={"to": "a@example.com"}, tags=["signup"])
        self.assertRegex(enq["id"], ID_RE)
        self.assertEqual(enq["state"], "queued")
        self.assertIsInstance(enq["token"], str)
        self.assertTrue(enq["token"])

        job = self.get(enq["id"])
        self.assertEqual(set(job), JOB_FIELDS, "GET /v1/jobs/{id} fields")
        self.assertEqual(job["state"], "queued")
        self.assertEqual(job["queue"], q)
        self.assertEqual(job["type"], "welcome")
        self.assertEqual(job["payload"], {"to": "a@example.com"})
        self.assertEqual(job["tags"], ["signup"])
        self.assertEqual(job["attempt"], 0)
        self.assertEqual(job["max_attempts"], 10)
        self.assertEqual(job["priority"], 0)
        self.assertEqual(job["timeout"], "5m")
        self.assertEqual(job["errors"], [])
        self.assertIsNone(job["started_at"])
        self.assertIsNone(job["finished_at"])
        self.assertIsNone(job["result"])
        self.assertFalse(job["cancel_requested"])
        self.assertLess(abs(parse_time(job["created_at"]) - before), 5)

        claimed = s.claim(q, worker="w1", lease="30s")
        self.assertEqual(len(claimed), 1)
        c = claimed[0]
        self.assertEqual(set(c), CLAIM_FIELDS, "claim job fields")
        self.assertEqual(c["id"], enq["id"])
        self.assertEqual(c["queue"], q)
        self.assertEqual(c["type"], "welcome")
        self.assertEqual(c["payload"], {"to": "a@example.com"})
        self.assertEqual(c["attempt"], 1)
        self.assertEqual(c["max_attempts"], 10)
        self.assertEqual(c["tags"], ["signup"])
        lease_left = parse_time(c["lease_expires_at"]) - time.time()
        self.assertTrue(20 < lease_left <= 31, f"lease of 30s expires in {lease_left:.1f}s")

        job = self.get(c["id"])
        self.assertEqual(job["state"], "running")
        self.assertEqual(job["worker"], "w1")
        self.assertEqual(job["attempt"], 1)
        self.assertIsNotNone(job["started_at"])
        self.assertEqual(job["lease_expires_at"], c["lease_expires_at"])
        self.assertNotIn("lease_id", job, "the lease is the worker's secret")

        r = s.request("POST", f"/v1/jobs/{c['id']}/progress",
                      {"lease_id": c["lease_id"], "percent": 40, "message": "rows 400/1000",
                       "data": {"rows": 400}})
        self.assertEqual(self.assertStatus(r, 200, "progress"), {"ok": True})
        job = self.get(c["id"])
        self.assertEqual(job["progress"]["percent"], 40)
        self.assertEqual(job["progress"]["message"], "rows 400/1000")
        self.assertEqual(job["progress"]["data"], {"rows": 400})
        self.assertIsInstance(job["progress"]["updated_at"], str)

        r = s.request("POST", f"/v1/jobs/{c['id']}/heartbeat", {"lease_id": c["lease_id"], "extend": "1m"})
        hb = self.assertStatus(r, 200, "heartbeat")
        self.assertEqual(hb["cancel_requested"], False)
        self.assertGreater(parse_time(hb["lease_expires_at"]), parse_time(c["lease_expires_at"]))
        self.assertEqual(self.get(c["id"])["lease_expires_at"], hb["lease_expires_at"])

        done = s.complete(c, result={"sent": True})
        self.assertEqual(done, {"id": c["id"], "state": "succeeded"})
        job = self.get(c["id"])
        self.assertEqual(job["state"], "succeeded")
        self.assertEqual(job["result"], {"sent": True})
        self.assertEqual(job["progress"]["percent"], 40)
        self.assertEqual(job["attempt"], 1)
        self.assertEqual(job["errors"], [])
        self.assertIsNotNone(job["started_at"])
        self.assertIsNotNone(job["finished_at"])
        self.assertGreaterEqual(parse_time(job["finished_at"]), parse_time(job["started_at"]))
        self.assertGreaterEqual(parse_time(job["started_at"]), parse_time(job["created_at"]))
        self.assertEqual(s.claim(q), [], "a succeeded job is not claimed again")

    def test_heartbeat_without_extend_uses_the_job_timeout(self):
        s, q = self.server, self.q()
        s.enqueue(q, timeout="2m")
        c = s.claim(q, lease="5s")[0]
        hb = self.assertStatus(s.request("POST", f"/v1/jobs/{c['id']}/heartbeat", {"lease_id": c["lease_id"]}),
                               200, "heartbeat")
        left = parse_time(hb["lease_expires_at"]) - time.time()
        self.assertTrue(100 < left <= 121, f"lease after a default heartbeat expires in {left:.1f}s")

    def test_claim_without_lease_uses_the_job_timeout(self):
        s, q = self.server, self.q()
        s.enqueue(q, timeout="90s")
        c = s.claim(q)[0]
        left = parse_time(c["lease_expires_at"]) - time.time()
        self.assertTrue(80 < left <= 91, f"lease expires in {left:.1f}s, timeout is 90s")
        self.assertEqual(self.get(c["id"])["timeout"], "90s")

    # ---- failures and retries -------------------------------------------------

    def test_fail_with_retry_in_waits_as_failed_until_run_at(self):
        s, q = self.server, self.q()
        jid = s.enqueue(q)["id"]
        c = s.claim(q)[0]
        t0 = time.time()
        r = s.fail(c, error="SMTP timeout", retry_in="1h")
        self.assertEqual(r["id"], jid)
        self.assertEqual(r["state"], "failed")
        wait = parse_time(r["run_at"]) - t0
        self.assertTrue(3590 < wait < 3610, f"retry_in 1h gave run_at {wait:.0f}s away")
        job = self.get(jid)
        self.assertEqual(job["state"], "failed")
        self.assertEqual(job["run_at"], r["run_at"])
        self.assertEqual(len(job["errors"]), 1)
        self.assertEqual(job["errors"][0]["attempt"], 1)
        self.assertEqual(job["errors"][0]["message"], "SMTP timeout")
        self.assertLess(abs(parse_time(job["errors"][0]["at"]) - t0), 5)
        self.assertIsNone(job["finished_at"])
        self.assertEqual(s.claim(q), [], "a failed job waits for its run_at")
        self.assertEqual(s.counts(q)["failed"], 1)

    def test_fail_with_default_backoff_is_retried_soon(self):
        s, q = self.server, self.q()
        jid = s.enqueue(q)["id"]
        c = s.claim(q)[0]
        t0 = time.time()
        r = s.fail(c, error="flaky")
        self.assertEqual(r["state"], "failed")
        wait = parse_time(r["run_at"]) - t0
        # Attempt 1: full jitter in [100ms floor, 1s base window].
        self.assertTrue(-0.5 < wait < 2.5, f"first backoff is {wait:.2f}s")
        again = s.claim_one(q, timeout=10)
        self.assertEqual(again["id"], jid)
        self.assertEqual(again["attempt"], 2)
        self.assertNotEqual(again["lease_id"], c["lease_id"])
        s.complete(again, result=2)
        job = self.get(jid)
        self.assertEqual(job["state"], "succeeded")
        self.assertEqual(job["attempt"], 2)
        self.assertEqual([e["attempt"] for e in job["errors"]], [1])

    def test_fail_with_retry_false_is_dead(self):
        s, q = self.server, self.q()
        jid = s.enqueue(q)["id"]
        c = s.claim(q)[0]
        r = s.fail(c, error="bad address", retry=False)
        self.assertEqual(r["state"], "dead")
        job = self.get(jid)
        self.assertEqual(job["state"], "dead")
        self.assertEqual(job["errors"][0]["message"], "bad address")
        self.assertIsNotNone(job["finished_at"])
        self.assertEqual(s.claim(q), [])
        self.assertEqual(s.counts(q)["dead"], 1)

    def test_attempts_exhausted_is_dead(self):
        s, q = self.server, self.q()
        jid = s.enqueue(q, max_attempts=2)["id"]
        c1 = s.claim(q)[0]
        self.assertEqual(s.fail(c1, error="first", retry_in="10ms")["state"], "failed")
        c2 = s.claim_one(q)
        self.assertEqual(c2["attempt"], 2)
        self.assertEqual(s.fail(c2, error="second", retry_in="10ms")["state"], "dead")
        job = self.get(jid)
        self.assertEqual(job["state"], "dead")
        self.assertEqual(job["attempt"], 2)
        self.assertEqual([(e["attempt"], e["message"]) for e in job["errors"]], [(1, "first"), (2, "second")])

    def test_retry_of_a_dead_job_queues_it_with_an_attempt_left(self):
        s, q = self.server, self.q()
        jid = s.enqueue(q, max_attempts=1)["id"]
        self.assertEqual(s.fail(s.claim(q)[0], error="once")["state"], "dead")
        r = s.request("POST", f"/v1/jobs/{jid}/retry")
        job = self.assertStatus(r, 200, "retry of dead")
        self.assertEqual(job["id"], jid)
        self.assertEqual(job["state"], "queued")
        self.assertGreater(job["max_attempts"], job["attempt"], "at least one attempt left")
        c = s.claim(q)[0]
        self.assertEqual(c["id"], jid)
        self.assertEqual(c["attempt"], 2)
        s.complete(c)
        self.assertEqual(self.get(jid)["state"], "succeeded")

    def test_retry_of_failed_and_cancelled_jobs(self):
        s, q = self.server, self.q()
        failed = s.enqueue(q)["id"]
        s.fail(s.claim(q)[0], error="x", retry_in="1h")
        cancelled = s.enqueue(q, delay="1h")["id"]
        self.assertStatus(s.request("POST", f"/v1/jobs/{cancelled}/cancel"), 200, "cancel")
        for jid in (failed, cancelled):
            job = self.assertStatus(s.request("POST", f"/v1/jobs/{jid}/retry"), 200, f"retry {jid}")
            self.assertEqual(job["state"], "queued")
        got = {s.claim(q)[0]["id"], s.claim(q)[0]["id"]}
        self.assertEqual(got, {failed, cancelled})

    def test_retry_of_waiting_running_or_succeeded_is_conflict(self):
        s, q = self.server, self.q()
        queued = s.enqueue(q)["id"]
        scheduled = s.enqueue(q, delay="1h")["id"]
        self.assertError(s.request("POST", f"/v1/jobs/{queued}/retry"), 409, "conflict")
        self.assertError(s.request("POST", f"/v1/jobs/{scheduled}/retry"), 409, "conflict")
        c = s.claim(q)[0]
        self.assertError(s.request("POST", f"/v1/jobs/{c['id']}/retry"), 409, "conflict")
        s.complete(c)
        self.assertError(s.request("POST", f"/v1/jobs/{c['id']}/retry"), 409, "conflict")
        self.assertEqual(self.get(c["id"])["state"], "succeeded")
        self.assertEqual(self.get(scheduled)["state"], "scheduled")

    # ---- cancel -------------------------------------------------------------------

    def test_cancel_waiting_jobs_at_once(self):
        s, q = self.server, self.q()
        queued = s.enqueue(q)["id"]
        scheduled = s.enqueue(q, delay="1h")["id"]
        s.enqueue(q, priority=10)
        failed = s.claim(q)[0]
        s.fail(failed, retry_in="1h")
        for jid in (queued, scheduled, failed["id"]):
            job = self.assertStatus(s.request("POST", f"/v1/jobs/{jid}/cancel"), 200, f"cancel {jid}")
            self.assertEqual(job["id"], jid)
            self.assertEqual(job["state"], "cancelled")
            self.assertEqual(self.get(jid)["state"], "cancelled")
            self.assertIsNotNone(self.get(jid)["finished_at"])
        self.assertEqual(s.claim(q), [])
        self.assertEqual(s.counts(q)["cancelled"], 3)
        # Already finished: 409, and still cancelled.
        self.assertError(s.request("POST", f"/v1/jobs/{queued}/cancel"), 409, "conflict")
        self.assertEqual(self.get(queued)["state"], "cancelled")

    def test_cancel_running_is_seen_on_heartbeat_and_fail_ends_cancelled(self):
        s, q = self.server, self.q()
        jid = s.enqueue(q)["id"]
        c = s.claim(q)[0]
        job = self.assertStatus(s.request("POST", f"/v1/jobs/{jid}/cancel"), 200, "cancel running")
        self.assertEqual(job["state"], "running")
        self.assertTrue(job["cancel_requested"])
        hb = self.assertStatus(s.request("POST", f"/v1/jobs/{jid}/heartbeat", {"lease_id": c["lease_id"]}),
                               200, "heartbeat")
        self.assertTrue(hb["cancel_requested"])
        r = s.fail(c, error="stopped on request")
        self.assertEqual(r["state"], "cancelled")
        job = self.get(jid)
        self.assertEqual(job["state"], "cancelled")
        self.assertIsNotNone(job["finished_at"])
        self.assertEqual(s.claim(q), [])

    def test_cancel_running_then_complete_still_succeeds(self):
        s, q = self.server, self.q()
        jid = s.enqueue(q)["id"]
        c = s.claim(q)[0]
        self.assertStatus(s.request("POST", f"/v1/jobs/{jid}/cancel"), 200, "cancel running")
        self.assertEqual(s.complete(c, result="done anyway")["state"], "succeeded")
        self.assertEqual(self.get(jid)["result"], "done anyway")

    def test_cancel_of_succeeded_or_dead_is_conflict(self):
        s, q = self.server, self.q()
        ok = s.enqueue(q)["id"]
        s.complete(s.claim(q)[0])
        dead = s.enqueue(q)["id"]
        s.fail(s.claim(q)[0], retry=False)
        for jid, state in ((ok, "succeeded"), (dead, "dead")):
            self.assertError(s.request("POST", f"/v1/jobs/{jid}/cancel"), 409, "conflict")
            self.assertEqual(self.get(jid)["state"], state)

    # ---- delete ---------------------------------------------------------------------

    def test_delete(self):
        s, q = self.server, self.q()
        jid = s.enqueue(q)["id"]
        r = s.request("DELETE", f"/v1/jobs/{jid}")
        self.assertEqual(self.assertStatus(r, 200, "delete"), {"id": jid, "deleted": True})
        self.assertError(s.request("GET", f"/v1/jobs/{jid}"), 404, "not_found")
        self.assertError(s.request("DELETE", f"/v1/jobs/{jid}"), 404, "not_found")
        self.assertEqual(s.claim(q), [])
        self.assertEqual(sum(s.counts(q).values()), 0)

    def test_delete_running_job_then_worker_gets_404(self):
        s, q = self.server, self.q()
        jid = s.enqueue(q)["id"]
        c = s.claim(q)[0]
        self.assertStatus(s.request("DELETE", f"/v1/jobs/{jid}"), 200, "delete running")
        for path, body in (("heartbeat", {}), ("progress", {"percent": 1}), ("complete", {}),
                           ("fail", {"error": "x"})):
            r = s.request("POST", f"/v1/jobs/{jid}/{path}", dict(body, lease_id=c["lease_id"]))
            self.assertError(r, 404, "not_found")

    # ---- list -----------------------------------------------------------------------

    def test_list_newest_first_with_cursor_paging(self):
        s, q = self.server, self.q()
        ids = [s.enqueue(q, type="a" if i % 2 else "b", payload=i)["id"] for i in range(7)]
        seen, cursor, pages = [], None, 0
        while True:
            params = {"queue": q, "limit": 3}
            if cursor:
                params["cursor"] = cursor
            page = self.assertStatus(s.request("GET", "/v1/jobs?" + urllib.parse.urlencode(params)), 200, "list")
            self.assertEqual(set(page), {"jobs", "next_cursor", "partial"})
            self.assertIs(page["partial"], False)
            self.assertLessEqual(len(page["jobs"]), 3)
            for j in page["jobs"]:
                # A list leaves out client JSON unless include=payload.
                self.assertEqual(set(j), JOB_FIELDS - {"payload", "result"})
            seen += [j["id"] for j in page["jobs"]]
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
            self.assertIsInstance(cursor, str)
            self.assertLess(pages, 10)
        self.assertEqual(seen, list(reversed(ids)), "newest first, each job once")
        self.assertGreaterEqual(pages, 3)

    def test_list_filters(self):
        s, q, other = self.server, self.q(), self.q()
        a = [s.enqueue(q, type="kind-a")["id"] for _ in range(3)]
        b = [s.enqueue(q, type="kind-b")["id"] for _ in range(2)]
        s.enqueue(other, type="kind-a")
        self.assertEqual([j["id"] for j in s.list_all(queue=q)], list(reversed(a + b)))
        self.assertEqual([j["id"] for j in s.list_all(queue=q, type="kind-a")], list(reversed(a)))
        c = s.claim(q)[0]
        self.assertEqual(c["id"], a[0])
        running = s.list_all(queue=q, state="running")
        self.assertEqual([j["id"] for j in running], [a[0]])
        self.assertEqual(running[0]["state"], "running")
        queued = s.list_all(queue=q, state="queued", type="kind-a")
        self.assertEqual([j["id"] for j in queued], list(reversed(a[1:])))
        self.assertEqual(s.list_all(queue=q, type="nope"), [])
        everywhere = {j["id"] for j in s.list_all(type="kind-a")}
        self.assertTrue(set(a) <= everywhere)
        self.assertTrue(all(j["queue"] == other for j in s.list_all(queue=other)))

    def test_list_default_limit_is_50(self):
        s, q = self.server, self.q()
        s.enqueue_batch([{"queue": q, "payload": i} for i in range(55)])
        page = self.assertStatus(s.request("GET", f"/v1/jobs?queue={q}"), 200, "list")
        self.assertEqual(len(page["jobs"]), 50)
        self.assertIsNotNone(page["next_cursor"])

    # ---- batch ----------------------------------------------------------------------

    def test_batch_enqueue_in_order(self):
        s, q = self.server, self.q()
        jobs = s.enqueue_batch([{"queue": q, "payload": 1}, {"queue": q, "payload": 2, "delay": "1h"},
                                {"queue": q, "payload": 3, "priority": 5}])
        self.assertEqual(len(jobs), 3)
        for j in jobs:
            self.assertRegex(j["id"], ID_RE)
            self.assertTrue(j["token"])
        self.assertEqual([j["state"] for j in jobs], ["queued", "scheduled", "queued"])
        self.assertEqual([self.get(j["id"])["payload"] for j in jobs], [1, 2, 3])
        self.assertEqual(len({j["id"] for j in jobs}), 3)

    def test_batch_is_all_or_nothing(self):
        s, q = self.server, self.q()
        before = s.queues()
        r = s.request("POST", "/v1/jobs/batch",
                      {"jobs": [{"queue": q, "payload": 1}, {"queue": q}, {"queue": "Not Valid"}]})
        self.assertError(r, 400, "invalid_argument", field="jobs[2].queue")
        r = s.request("POST", "/v1/jobs/batch", {"jobs": [{"queue": q}, {"queue": q, "delay": "soon"}]})
        self.assertError(r, 400, "invalid_argument", field="jobs[1].delay")
        self.assertEqual(s.queues(), before)
        self.assertEqual(s.list_all(queue=q), [])

    # ---- idempotency ----------------------------------------------------------------

    def test_idempotency_key_returns_the_first_job(self):
        s, q = self.server, self.q()
        key = f"signup-{q}"
        first = s.request("POST", "/v1/jobs", {"queue": q, "payload": 1, "idempotency_key": key})
        first = self.assertStatus(first, 202, "first enqueue")
        self.assertFalse(first.get("duplicate", False))
        again = s.request("POST", "/v1/jobs", {"queue": q, "payload": 1, "idempotency_key": key})
        again = self.assertStatus(again, 200, "repeated idempotency key")
        self.assertEqual(again["id"], first["id"])
        self.assertIs(again["duplicate"], True)
        self.assertEqual(again["state"], "queued")
        self.assertTrue(again["token"])
        self.assertEqual(s.counts(q)["queued"], 1)
        self.assertEqual(self.get(first["id"])["payload"], 1)
        self.assertEqual(self.get(first["id"])["idempotency_key"], key)
        # Still the same job once it has run.
        s.complete(s.claim(q)[0])
        third = self.assertStatus(s.request("POST", "/v1/jobs", {"queue": q, "payload": 1, "idempotency_key": key}),
                                  200, "repeat after success")
        self.assertEqual((third["id"], third["state"]), (first["id"], "succeeded"))

    def test_idempotency_keys_are_per_queue_and_a_different_repeat_is_a_conflict(self):
        # A leaked producer key must not be able to take another queue's key
        # first, nor answer the app's enqueue with the attacker's job.
        s, q = self.server, self.q()
        key = f"signup-{q}"
        mine = self.assertStatus(s.request("POST", "/v1/jobs", {"queue": q, "payload": {"to": "a"},
                                                                "idempotency_key": key}), 202, "first")
        other = self.assertStatus(s.request("POST", "/v1/jobs", {"queue": q + "x", "payload": {"to": "evil"},
                                                                 "idempotency_key": key}), 202, "other queue")
        self.assertNotEqual(other["id"], mine["id"])
        self.assertFalse(other.get("duplicate", False))
        for changed in ({"payload": {"to": "b"}}, {"payload": {"to": "a"}, "type": "other"}):
            r = s.request("POST", "/v1/jobs", dict({"queue": q, "idempotency_key": key}, **changed))
            self.assertError(r, 409, "conflict", field="idempotency_key")
            self.assertIn(mine["id"], r.body["error"]["message"])
        self.assertEqual(s.counts(q)["queued"], 1)

    def test_idempotency_key_in_a_batch(self):
        s, q = self.server, self.q()
        key = f"batch-{q}"
        first = s.enqueue(q, idempotency_key=key)["id"]
        r = s.request("POST", "/v1/jobs/batch", {"jobs": [{"queue": q}, {"queue": q, "idempotency_key": key}]})
        jobs = self.assertStatus(r, 202, "batch with a repeated key")["jobs"]
        self.assertNotEqual(jobs[0]["id"], first)
        self.assertFalse(jobs[0].get("duplicate", False))
        self.assertEqual(jobs[1]["id"], first)
        self.assertIs(jobs[1]["duplicate"], True)
        self.assertEqual(s.counts(q)["queued"], 2)

    # ---- ordering ---------------------------------------------------------------------

    def test_higher_priority_first_fifo_within_a_priority(self):
        s, q = self.server, self.q()
        order = [("a", 0), ("b", 0), ("c", 10), ("d", -5), ("e", 10), ("f", 0)]
        ids = {name: s.enqueue(q, payload=name, priority=p)["id"] for name, p in order}
        got = [s.claim(q)[0]["payload"] for _ in order]
        self.assertEqual(got, ["c", "e", "a", "b", "f", "d"])
        self.assertEqual(s.claim(q), [])
        self.assertEqual(len(ids), 6)

    def test_claim_max_takes_several_in_order(self):
        s, q = self.server, self.q()
        ids = [j["id"] for j in s.enqueue_batch([{"queue": q, "payload": i} for i in range(5)])]
        got = s.claim(q, max=3)
        self.assertEqual([j["id"] for j in got], ids[:3])
        self.assertEqual(len({j["lease_id"] for j in got}), 3)
        self.assertEqual([j["id"] for j in s.claim(q, max=10)], ids[3:])

    def test_claim_tries_queues_in_order(self):
        s, first, second = self.server, self.q(), self.q()
        b = s.enqueue(second)["id"]
        a = s.enqueue(first)["id"]
        self.assertEqual(s.claim([first, second])[0]["id"], a)
        self.assertEqual(s.claim([first, second])[0]["id"], b)

    def test_paused_queue_is_skipped_by_claim(self):
        s, q = self.server, self.q()
        r = s.request("POST", f"/v1/queues/{q}/pause")
        paused = self.assertStatus(r, 200, "pause")
        self.assertEqual(paused["name"], q)
        self.assertIs(paused["paused"], True)
        jid = s.enqueue(q)["id"]
        self.assertEqual(s.claim(q), [])
        self.assertIs(s.queue(q)["paused"], True)
        resumed = self.assertStatus(s.request("POST", f"/v1/queues/{q}/resume"), 200, "resume")
        self.assertIs(resumed["paused"], False)
        self.assertEqual(s.claim(q)[0]["id"], jid)

    # ---- acks -------------------------------------------------------------------------

    def test_acks_mixed_each_on_its_own(self):
        s, q = self.server, self.q()
        s.enqueue_batch([{"queue": q, "payload": i} for i in range(4)])
        a, b, c, d = s.claim(q, max=4)
        r = s.request("POST", "/v1/acks", {"acks": [
            {"id": a["id"], "lease_id": a["lease_id"], "result": {"n": 1}},
            {"id": b["id"], "lease_id": b["lease_id"], "error": "nope", "retry": False},
            {"id": c["id"], "lease_id": "not-the-lease"},
            {"id": d["id"], "lease_id": d["lease_id"], "error": "later", "retry_in": "1h"},
        ]})
        results = self.assertStatus(r, 200, "acks")["results"]
        self.assertEqual([x["id"] for x in results], [a["id"], b["id"], c["id"], d["id"]])
        self.assertEqual(results[0], {"id": a["id"], "ok": True, "state": "succeeded"})
        self.assertEqual(results[1], {"id": b["id"], "ok": True, "state": "dead"})
        self.assertIs(results[2]["ok"], False)
        self.assertEqual(results[2]["error"]["code"], "conflict")
        self.assertTrue(results[2]["error"]["message"])
        self.assertEqual(results[3], {"id": d["id"], "ok": True, "state": "failed"})
        self.assertEqual(self.get(a["id"])["result"], {"n": 1})
        self.assertEqual(self.get(b["id"])["state"], "dead")
        self.assertEqual(self.get(c["id"])["state"], "running")
        self.assertEqual(self.get(d["id"])["errors"][0]["message"], "later")
        s.complete(c)

    def test_acks_unknown_job_is_not_found_for_that_item_only(self):
        s, q = self.server, self.q()
        s.enqueue(q)
        a = s.claim(q)[0]
        r = s.request("POST", "/v1/acks", {"acks": [
            {"id": "01JDQ7Z3K5X9V2M4N6P8R0T2W4", "lease_id": "x"},
            {"id": a["id"], "lease_id": a["lease_id"]},
        ]})
        results = self.assertStatus(r, 200, "acks")["results"]
        self.assertIs(results[0]["ok"], False)
        self.assertEqual(results[0]["error"]["code"], "not_found")
        self.assertEqual(results[1]["state"], "succeeded")

    # ---- queues and health ------------------------------------------------------------

    def test_queue_counts_and_totals(self):
        s, q = self.server, self.q()
        self.assertIsNone(s.queue(q))
        s.enqueue_batch([{"queue": q}, {"queue": q}, {"queue": q}, {"queue": q, "delay": "1h"}])
        s.complete(s.claim(q)[0])
        s.fail(s.claim(q)[0], retry=False)
        s.claim(q)
        info = s.queue(q)
        self.assertEqual(set(info), {"name", "paused", "counts", "processed", "failed_total", "config"})
        self.assertEqual(info["counts"], {"scheduled": 1, "queued": 0, "running": 1, "succeeded": 1,
                                          "failed": 0, "dead": 1, "cancelled": 0, "blocked": 0,
                                          "waiting": 0})
        self.assertEqual(info["processed"], 1)
        self.assertEqual(info["failed_total"], 1)
        self.assertIs(info["paused"], False)
        names = [x["name"] for x in s.queues()]
        self.assertEqual(names, sorted(names))

    def test_healthz(self):
        r = self.server.request("GET", "/healthz")
        body = self.assertStatus(r, 200, "healthz")
        self.assertEqual(set(body), {"status", "node"})
        self.assertEqual(body["status"], "ok")
        self.assertRegex(body["node"], r"^[0-9a-f]{16}$", "this server's id in GET /v1/nodes")

    def test_keep_alive_many_requests_one_connection(self):
        conn = self.server.connection()
        for _ in range(50):
            self.assertEqual(conn.request("GET", "/healthz", retry=False).status, 200)
        conn.close()

    def test_run_at_in_the_past_is_queued_in_the_future_scheduled(self):
        s, q = self.server, self.q()
        past = s.enqueue(q, run_at="2020-01-01T00:00:00Z")
        self.assertEqual(past["state"], "queued")
        future = s.enqueue(q, run_at="2999-01-01T00:00:00.000Z")
        self.assertEqual(future["state"], "scheduled")
        self.assertEqual(self.get(future["id"])["run_at"], "2999-01-01T00:00:00.000Z")
        offset = s.enqueue(q, run_at="2999-01-01T02:00:00+02:00")
        self.assertEqual(self.get(offset["id"])["run_at"], "2999-01-01T00:00:00.000Z")
        self.assertEqual(s.claim(q)[0]["id"], past["id"])
        self.assertEqual(s.claim(q), [])


if __name__ == "__main__":
    unittest.main()
