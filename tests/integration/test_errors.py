"""Every class of bad request gets its documented status and a JSON error that
names the field at fault, and changes nothing (docs/API.md, "Errors").

Each rejected request is bracketed by a snapshot of every queue's counts and
of the jobs the test watches; the two snapshots must be equal.
"""

import itertools
import json
import unittest

from harness import ErrandServer, ServerError, SharedServerTestCase, log

UNKNOWN_ID = "01JDQ7Z3K5X9V2M4N6P8R0T2W4"
SMALL_PAYLOAD_LIMIT = 4096
_counter = itertools.count()


class ErrorsTest(SharedServerTestCase):
    payload_limit = SMALL_PAYLOAD_LIMIT

    @classmethod
    def setUpClass(cls):
        # A small --max-payload keeps the 413 test cheap; fall back to the
        # documented 1 MiB default if the server has no such flag.
        try:
            super().setUpClass()
        except ServerError as e:
            log(f"\n(no --max-payload flag? falling back to the 1 MiB default: {str(e)[:300]})")
            cls.payload_limit = 1024 * 1024
            cls.server = ErrandServer()
            cls.server.__enter__()

    @classmethod
    def make_server(cls):
        if cls.payload_limit == SMALL_PAYLOAD_LIMIT:
            return ErrandServer(extra_args=["--max-payload", str(SMALL_PAYLOAD_LIMIT)])
        return ErrandServer()

    def setUp(self):
        super().setUp()
        self.q = f"err{next(_counter)}"
        self.watched = []

    # ---- helpers ----------------------------------------------------------------

    def snapshot(self):
        s = self.server
        return {"queues": s.queues(), "jobs": {j: s.get_job(j) for j in self.watched}}

    def rejected(self, method, path, body, status, code, field=None, fields=None, headers=None):
        """Sends a bad request; asserts the error and that nothing changed."""
        before = self.snapshot()
        r = self.server.request(method, path, body, headers=headers)
        err = self.assertError(r, status, code, field=field, fields=fields)
        self.assertEqual(self.snapshot(), before, f"{method} {path} {body!r:.200} changed data")
        return err

    def running_job(self, **fields):
        s = self.server
        jid = s.enqueue(self.q, **fields)["id"]
        job = s.claim(self.q, lease="5m")[0]
        self.assertEqual(job["id"], jid)
        self.watched.append(jid)
        return job

    # ---- enqueue ------------------------------------------------------------------

    def test_malformed_json_is_400(self):
        for raw in ('{"queue": "x",', "{'queue': 'x'}", "nope", '{"queue": "x"} trailing', "",
                    b'{"queue": "\xff\xfe"}', '{"queue": "x", "queue": }'):
            with self.subTest(body=raw):
                self.rejected("POST", "/v1/jobs", raw, 400, "invalid_argument")

    def test_body_must_be_an_object(self):
        for body in ([], [{"queue": "x"}], "x", 5, None):
            with self.subTest(body=body):
                raw = json.dumps(body)
                self.rejected("POST", "/v1/jobs", raw, 400, "invalid_argument")

    def test_missing_queue(self):
        self.rejected("POST", "/v1/jobs", {}, 400, "invalid_argument", field="queue")
        self.rejected("POST", "/v1/jobs", {"payload": 1}, 400, "invalid_argument", field="queue")

    def test_wrongly_typed_fields(self):
        q = self.q
        cases = [
            ({"queue": 5}, "queue"),
            ({"queue": None}, "queue"),
            ({"queue": ["a"]}, "queue"),
            ({"queue": q, "type": 5}, "type"),
            ({"queue": q, "delay": 10}, "delay"),
            ({"queue": q, "run_at": 1769846400}, "run_at"),
            ({"queue": q, "priority": "high"}, "priority"),
            ({"queue": q, "priority": 1.5}, "priority"),
            ({"queue": q, "priority": True}, "priority"),
            ({"queue": q, "max_attempts": "3"}, "max_attempts"),
            ({"queue": q, "timeout": 60}, "timeout"),
            ({"queue": q, "idempotency_key": 42}, "idempotency_key"),
            ({"queue": q, "tags": "signup"}, "tags"),
        ]
        for body, field in cases:
            with self.subTest(body=body):
                self.rejected("POST", "/v1/jobs", body, 400, "invalid_argument", field=field)

    def test_unknown_fields(self):
        for body, field in (({"queue": self.q, "colour": "red"}, "colour"),
                            ({"queue": self.q, "Queue": "x"}, "Queue"),
                            ({"queue": self.q, "retries": 3}, "retries")):
            with self.subTest(body=body):
                self.rejected("POST", "/v1/jobs", body, 400, "invalid_argument", field=field)

    def test_bad_queue_names(self):
        for name in ("", "Emails", "with space", "slash/q", "q!", "caf\u00e9", "x" * 65, "tab\tq"):
            with self.subTest(queue=name):
                err = self.rejected("POST", "/v1/jobs", {"queue": name}, 400, "invalid_argument", field="queue")
                self.assertIn("queue", err["message"])
        self.assertEqual(self.server.counts("x" * 64)["queued"], 0)

    def test_bad_type_and_labels(self):
        q = self.q
        for body, fields in (({"queue": q, "type": ""}, {"type"}),
                             ({"queue": q, "type": "two words"}, {"type"}),
                             ({"queue": q, "type": "t" * 129}, {"type"}),
                             ({"queue": q, "idempotency_key": ""}, {"idempotency_key"}),
                             ({"queue": q, "idempotency_key": "k" * 257}, {"idempotency_key"}),
                             ({"queue": q, "tags": [1]}, {"tags", "tags[0]"}),
                             ({"queue": q, "tags": ["ok", ""]}, {"tags", "tags[1]"}),
                             ({"queue": q, "tags": ["t" * 65]}, {"tags", "tags[0]"}),
                             ({"queue": q, "tags": [f"t{i}" for i in range(33)]}, {"tags"})):
            with self.subTest(body={k: (v[:40] if isinstance(v, str) else v) for k, v in body.items()}):
                self.rejected("POST", "/v1/jobs", body, 400, "invalid_argument", fields=fields)

    def test_bad_durations(self):
        q = self.q
        for body, field in (({"queue": q, "delay": "-1s"}, "delay"),
                            ({"queue": q, "delay": "5x"}, "delay"),
                            ({"queue": q, "delay": "10"}, "delay"),
                            ({"queue": q, "delay": "1.5s"}, "delay"),
                            ({"queue": q, "delay": ""}, "delay"),
                            ({"queue": q, "timeout": "-5m"}, "timeout"),
                            ({"queue": q, "timeout": "5 minutes"}, "timeout"),
                            ({"queue": q, "timeout": "500ms"}, "timeout"),
                            ({"queue": q, "timeout": "2d"}, "timeout")):
            with self.subTest(body=body):
                err = self.rejected("POST", "/v1/jobs", body, 400, "invalid_argument", field=field)
                self.assertIn(field, err["message"])

    def test_negative_delay_message_quotes_the_input(self):
        err = self.rejected("POST", "/v1/jobs", {"queue": self.q, "delay": "-1s"}, 400, "invalid_argument",
                            field="delay")
        self.assertIn('"-1s"', err["message"])

    def test_bad_run_at(self):
        for value in ("tomorrow", "2026-02-30T00:00:00Z", "2026-01-31T08:00:00", ""):
            with self.subTest(run_at=value):
                self.rejected("POST", "/v1/jobs", {"queue": self.q, "run_at": value}, 400, "invalid_argument",
                              field="run_at")

    def test_delay_and_run_at_together(self):
        self.rejected("POST", "/v1/jobs", {"queue": self.q, "delay": "1s", "run_at": "2030-01-01T00:00:00Z"},
                      400, "invalid_argument", fields={"delay", "run_at"})

    def test_numbers_out_of_range(self):
        q = self.q
        for body, field in (({"queue": q, "priority": 1_000_001}, "priority"),
                            ({"queue": q, "priority": -1_000_001}, "priority"),
                            ({"queue": q, "priority": 2 ** 70}, "priority"),
                            ({"queue": q, "max_attempts": 0}, "max_attempts"),
                            ({"queue": q, "max_attempts": 1001}, "max_attempts"),
                            ({"queue": q, "max_attempts": -1}, "max_attempts")):
            with self.subTest(body=body):
                self.rejected("POST", "/v1/jobs", body, 400, "invalid_argument", field=field)

    def test_boundaries_are_accepted(self):
        s, q = self.server, self.q
        for fields in ({"priority": 1_000_000}, {"priority": -1_000_000}, {"max_attempts": 1},
                       {"max_attempts": 1000}, {"timeout": "1s"}, {"timeout": "1d"}, {"type": "t" * 128},
                       {"idempotency_key": f"{q}-" + "k" * 200}, {"tags": [f"t{i}" for i in range(32)]},
                       {"delay": "0s"}):
            with self.subTest(fields=fields):
                s.enqueue(q, **fields)

    def test_oversize_payload_is_413(self):
        big = "x" * (self.payload_limit + 100)
        err = self.rejected("POST", "/v1/jobs", {"queue": self.q, "payload": big}, 413, "payload_too_large")
        self.assertIn(err.get("field"), (None, "payload"))
        # Just under the limit is fine.
        self.server.enqueue(self.q, payload="y" * (self.payload_limit - 100))

    def test_oversize_payload_in_a_batch_is_413_and_nothing_is_enqueued(self):
        big = "x" * (self.payload_limit + 100)
        self.rejected("POST", "/v1/jobs/batch", {"jobs": [{"queue": self.q}, {"queue": self.q, "payload": big}]},
                      413, "payload_too_large")

    # ---- batch ----------------------------------------------------------------------

    def test_bad_batches(self):
        q = self.q
        for body, fields in (({}, {"jobs"}),
                             ({"jobs": []}, {"jobs"}),
                             ({"jobs": {"queue": q}}, {"jobs"}),
                             ({"jobs": [{"queue": q}, 5]}, {"jobs[1]"}),
                             ({"jobs": [{"queue": q}, {"queue": q, "priority": "x"}]}, {"jobs[1].priority"}),
                             ({"jobs": [{"queue": q, "nope": 1}]}, {"jobs[0].nope"}),
                             ({"jobs": [{"queue": q}], "extra": True}, {"extra"})):
            with self.subTest(body=body):
                self.rejected("POST", "/v1/jobs/batch", body, 400, "invalid_argument", fields=fields)

    # ---- list ---------------------------------------------------------------------------

    def test_bad_list_parameters(self):
        for query, field in (("limit=0", "limit"), ("limit=1001", "limit"), ("limit=ten", "limit"),
                             ("limit=-5", "limit"), ("state=done", "state")):
            with self.subTest(query=query):
                self.rejected("GET", f"/v1/jobs?{query}", None, 400, "invalid_argument", field=field)

    # ---- unknown jobs, routes and methods ------------------------------------------------

    def test_unknown_job_is_404(self):
        for method, path, body in (("GET", f"/v1/jobs/{UNKNOWN_ID}", None),
                                   ("DELETE", f"/v1/jobs/{UNKNOWN_ID}", None),
                                   ("POST", f"/v1/jobs/{UNKNOWN_ID}/cancel", None),
                                   ("POST", f"/v1/jobs/{UNKNOWN_ID}/retry", None),
                                   ("POST", f"/v1/jobs/{UNKNOWN_ID}/heartbeat", {"lease_id": "x"}),
                                   ("POST", f"/v1/jobs/{UNKNOWN_ID}/progress", {"lease_id": "x"}),
                                   ("POST", f"/v1/jobs/{UNKNOWN_ID}/complete", {"lease_id": "x"}),
                                   ("POST", f"/v1/jobs/{UNKNOWN_ID}/fail", {"lease_id": "x", "error": "e"}),
                                   ("GET", f"/v1/jobs/{UNKNOWN_ID}/events", None)):
            with self.subTest(method=method, path=path):
                self.rejected(method, path, body, 404, "not_found")

    def test_malformed_job_id_is_not_a_crash(self):
        for jid in ("nope", "01jdq7z3k5x9v2m4n6p8r0t2w4", "%00", "..%2F..%2Fetc", "x" * 300):
            with self.subTest(id=jid):
                r = self.server.request("GET", f"/v1/jobs/{jid}")
                self.assertIn(r.status, (400, 404), r)
                self.assertError(r, r.status, "not_found" if r.status == 404 else "invalid_argument")

    def test_unknown_route_is_404(self):
        for method, path in (("GET", "/v1/nope"), ("GET", "/v2/jobs"), ("POST", f"/v1/jobs/{UNKNOWN_ID}/explode"),
                             ("GET", "/v1/jobs/a/b/c/d"), ("GET", "/nothing/here")):
            with self.subTest(method=method, path=path):
                self.rejected(method, path, None, 404, "not_found")

    def test_wrong_method_is_405(self):
        for method, path in (("PUT", "/v1/jobs"), ("DELETE", "/v1/jobs"), ("GET", "/v1/claim"),
                             ("DELETE", "/v1/claim"), ("GET", "/v1/acks"), ("PATCH", f"/v1/jobs/{UNKNOWN_ID}"),
                             ("GET", f"/v1/jobs/{UNKNOWN_ID}/complete"), ("GET", "/v1/jobs/batch"),
                             ("POST", "/healthz"), ("DELETE", "/v1/queues")):
            with self.subTest(method=method, path=path):
                self.rejected(method, path, None, 405, "method_not_allowed")

    # ---- workers ----------------------------------------------------------------------------

    def test_bad_claims(self):
        q = self.q
        for body, fields in (({}, {"queues"}),
                             ({"queues": []}, {"queues"}),
                             ({"queues": q}, {"queues"}),
                             ({"queues": ["Bad!"]}, {"queues", "queues[0]"}),
                             ({"queues": [q, 5]}, {"queues", "queues[1]"}),
                             ({"queues": [f"q{i}" for i in range(33)]}, {"queues"}),
                             ({"queues": [q], "max": 0}, {"max"}),
                             ({"queues": [q], "max": 1001}, {"max"}),
                             ({"queues": [q], "max": "1"}, {"max"}),
                             ({"queues": [q], "wait": "6m"}, {"wait"}),
                             ({"queues": [q], "wait": "-1s"}, {"wait"}),
                             ({"queues": [q], "wait": 5}, {"wait"}),
                             ({"queues": [q], "lease": "500ms"}, {"lease"}),
                             ({"queues": [q], "lease": "2d"}, {"lease"}),
                             ({"queues": [q], "lease": "forever"}, {"lease"}),
                             ({"queues": [q], "worker": 7}, {"worker"}),
                             ({"queues": [q], "colour": "red"}, {"colour"})):
            with self.subTest(body=body):
                self.rejected("POST", "/v1/claim", body, 400, "invalid_argument", fields=fields)

    def test_bad_claim_does_not_take_a_job(self):
        s = self.server
        jid = s.enqueue(self.q)["id"]
        self.watched.append(jid)
        self.rejected("POST", "/v1/claim", {"queues": [self.q], "lease": "nope"}, 400, "invalid_argument",
                      field="lease")
        self.assertEqual(s.get_job(jid)["state"], "queued")

    def test_bad_worker_calls_leave_the_job_unchanged(self):
        job = self.running_job()
        base = f"/v1/jobs/{job['id']}"
        lease = job["lease_id"]
        cases = [
            ("heartbeat", {}, {"lease_id"}),
            ("heartbeat", {"lease_id": 5}, {"lease_id"}),
            ("heartbeat", {"lease_id": lease, "extend": "zz"}, {"extend"}),
            ("heartbeat", {"lease_id": lease, "extend": "-1s"}, {"extend"}),
            ("progress", {"lease_id": lease, "percent": 101}, {"percent"}),
            ("progress", {"lease_id": lease, "percent": -1}, {"percent"}),
            ("progress", {"lease_id": lease, "percent": "half"}, {"percent"}),
            ("progress", {"lease_id": lease, "message": "m" * 4097}, {"message"}),
            ("progress", {"lease_id": lease, "eta": "soon"}, {"eta"}),
            ("complete", {}, {"lease_id"}),
            ("complete", {"lease_id": lease, "outcome": 1}, {"outcome"}),
            ("complete", {"lease_id": lease, "log": ["line"]}, {"log"}),
            ("fail", {"lease_id": lease, "error": "e", "log": 5}, {"log"}),
            ("fail", {"lease_id": lease}, {"error"}),
            ("fail", {"lease_id": lease, "error": 5}, {"error"}),
            ("fail", {"lease_id": lease, "error": "e", "retry": "yes"}, {"retry"}),
            ("fail", {"lease_id": lease, "error": "e", "retry_in": "-1s"}, {"retry_in"}),
            ("fail", {"lease_id": lease, "error": "e", "retry_in": "soon"}, {"retry_in"}),
        ]
        for verb, body, fields in cases:
            with self.subTest(verb=verb, body={k: (v[:20] if isinstance(v, str) else v) for k, v in body.items()}):
                self.rejected("POST", f"{base}/{verb}", body, 400, "invalid_argument", fields=fields)
        for verb in ("heartbeat", "progress", "complete", "fail"):
            with self.subTest(verb=verb, body="malformed"):
                self.rejected("POST", f"{base}/{verb}", '{"lease_id": ', 400, "invalid_argument")
        self.assertEqual(self.server.get_job(job["id"])["state"], "running")

    def test_wrong_lease_is_409_and_the_job_is_unchanged(self):
        job = self.running_job()
        base = f"/v1/jobs/{job['id']}"
        for verb, body in (("heartbeat", {"extend": "1h"}), ("progress", {"percent": 99}),
                           ("complete", {"result": 1}), ("fail", {"error": "stale", "retry": False})):
            with self.subTest(verb=verb):
                self.rejected("POST", f"{base}/{verb}", dict(body, lease_id="0" * 32), 409, "conflict")
        # The real lease still works afterwards.
        self.assertEqual(self.server.complete(job)["state"], "succeeded")

    def test_finished_job_rejects_its_old_lease(self):
        s = self.server
        job = self.running_job()
        s.complete(job, result="first")
        for verb, body in (("heartbeat", {}), ("progress", {"percent": 1}), ("complete", {"result": "again"}),
                           ("fail", {"error": "late"})):
            with self.subTest(verb=verb):
                self.rejected("POST", f"/v1/jobs/{job['id']}/{verb}", dict(body, lease_id=job["lease_id"]), 409,
                              "conflict")
        self.assertEqual(s.get_job(job["id"])["result"], "first")

    def test_complete_of_a_queued_job_is_409(self):
        jid = self.server.enqueue(self.q)["id"]
        self.watched.append(jid)
        self.rejected("POST", f"/v1/jobs/{jid}/complete", {"lease_id": "x"}, 409, "conflict")

    def test_bad_acks(self):
        for body, fields in (({}, {"acks"}), ({"acks": 5}, {"acks"}), ({"acks": "x"}, {"acks"})):
            with self.subTest(body=body):
                self.rejected("POST", "/v1/acks", body, 400, "invalid_argument", fields=fields)

    # ---- the server survives all of the above -------------------------------------------------

    def test_server_still_healthy(self):
        self.assertEqual(self.server.request("GET", "/healthz").status, 200)


if __name__ == "__main__":
    unittest.main()
