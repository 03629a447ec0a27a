"""Keys, roles and job tokens (docs/API.md, "Authentication").

admin may do everything; producer may enqueue, read jobs and queues, cancel
and retry; worker may claim, heartbeat, progress, complete, fail and ack. A
job's token reads that one job and nothing else. Without keys the server only
accepts loopback clients and refuses to listen elsewhere unless --insecure.
"""

import itertools
import unittest
import urllib.parse

from harness import ErrandServer, ErrandTestCase, ServerError, SharedServerTestCase

ADMIN, PRODUCER, WORKER = "admin-secret-0123456789", "producer-secret-0123456789", "worker-secret-0123456789"
KEYS = (("admin", ADMIN), ("producer", PRODUCER), ("worker", WORKER))
UNKNOWN_ID = "01JDQ7Z3K5X9V2M4N6P8R0T2W4"
_counter = itertools.count()


class AuthTest(SharedServerTestCase):
    @classmethod
    def make_server(cls):
        return ErrandServer(keys=KEYS)

    def setUp(self):
        super().setUp()
        self.q = f"auth{next(_counter)}"

    def call(self, method, path, body=None, key=None, headers=None):
        return self.server.request(method, path, body, key=key, headers=headers)

    def running_job(self):
        s = self.server
        jid = s.enqueue(self.q, key=ADMIN)["id"]
        job = s.claim(self.q, key=ADMIN)[0]
        self.assertEqual(job["id"], jid)
        return job

    # ---- 401 ------------------------------------------------------------------------

    def test_missing_key_is_401(self):
        jid = self.server.enqueue(self.q, key=ADMIN)["id"]
        for method, path, body in (("GET", "/v1/queues", None), ("POST", "/v1/jobs", {"queue": self.q}),
                                   ("GET", f"/v1/jobs/{jid}", None), ("GET", "/v1/jobs", None),
                                   ("POST", "/v1/claim", {"queues": [self.q]}),
                                   ("POST", f"/v1/jobs/{jid}/cancel", None)):
            with self.subTest(method=method, path=path):
                self.assertError(self.call(method, path, body, key=None), 401, "unauthorized")
        self.assertEqual(self.server.get_job(jid, key=ADMIN)["state"], "queued")
        self.assertEqual(self.server.counts(self.q, key=ADMIN)["queued"], 1)

    def test_wrong_key_is_401(self):
        for key in ("nope", ADMIN + "x", ADMIN[:-1], "admin:" + ADMIN, "", PRODUCER.upper()):
            with self.subTest(key=key):
                self.assertError(self.call("GET", "/v1/queues", key=key), 401, "unauthorized")
                self.assertError(self.call("POST", "/v1/jobs", {"queue": self.q}, key=key), 401, "unauthorized")
        self.assertIsNone(self.server.queue(self.q, key=ADMIN))

    def test_malformed_authorization_header_is_401(self):
        for value in (f"Basic {ADMIN}", ADMIN, "Bearer", f"Token {ADMIN}"):
            with self.subTest(header=value):
                r = self.call("GET", "/v1/queues", headers={"Authorization": value})
                self.assertError(r, 401, "unauthorized")

    # ---- roles ------------------------------------------------------------------------

    def test_admin_may_do_everything(self):
        s, q = self.server, self.q
        jid = s.enqueue(q, key=ADMIN)["id"]
        self.assertEqual(s.get_job(jid, key=ADMIN)["state"], "queued")
        self.assertEqual(self.call("GET", f"/v1/jobs?queue={q}", key=ADMIN).status, 200)
        job = s.claim(q, key=ADMIN)[0]
        self.assertStatus(self.call("POST", f"/v1/jobs/{jid}/heartbeat", {"lease_id": job["lease_id"]}, ADMIN),
                          200, "heartbeat")
        self.assertStatus(self.call("POST", f"/v1/jobs/{jid}/progress", {"lease_id": job["lease_id"], "percent": 5},
                                    ADMIN), 200, "progress")
        s.complete(job, key=ADMIN)
        self.assertStatus(self.call("POST", f"/v1/queues/{q}/pause", key=ADMIN), 200, "pause")
        self.assertStatus(self.call("POST", f"/v1/queues/{q}/resume", key=ADMIN), 200, "resume")
        self.assertStatus(self.call("GET", "/v1/queues", key=ADMIN), 200, "queues")
        self.assertStatus(self.call("DELETE", f"/v1/jobs/{jid}", key=ADMIN), 200, "delete")

    def test_producer_may_enqueue_read_cancel_retry(self):
        s, q = self.server, self.q
        jid = s.enqueue(q, key=PRODUCER)["id"]
        self.assertEqual(s.get_job(jid, key=PRODUCER)["id"], jid)
        self.assertStatus(self.call("GET", f"/v1/jobs?queue={q}", key=PRODUCER), 200, "list")
        self.assertStatus(self.call("GET", "/v1/queues", key=PRODUCER), 200, "queues")
        self.assertEqual(len(s.enqueue_batch([{"queue": q}], key=PRODUCER)), 1)
        self.assertStatus(self.call("POST", f"/v1/jobs/{jid}/cancel", key=PRODUCER), 200, "cancel")
        self.assertStatus(self.call("POST", f"/v1/jobs/{jid}/retry", key=PRODUCER), 200, "retry")
        self.assertEqual(s.get_job(jid, key=ADMIN)["state"], "queued")

    def test_producer_may_not_work_jobs(self):
        s, q = self.server, self.q
        job = self.running_job()
        base = f"/v1/jobs/{job['id']}"
        lease = job["lease_id"]
        for method, path, body in (("POST", "/v1/claim", {"queues": [q]}),
                                   ("POST", f"{base}/heartbeat", {"lease_id": lease}),
                                   ("POST", f"{base}/progress", {"lease_id": lease, "percent": 1}),
                                   ("POST", f"{base}/complete", {"lease_id": lease}),
                                   ("POST", f"{base}/fail", {"lease_id": lease, "error": "x"}),
                                   ("POST", "/v1/acks", {"acks": [{"id": job["id"], "lease_id": lease}]})):
            with self.subTest(path=path):
                self.assertError(self.call(method, path, body, key=PRODUCER), 403, "forbidden")
        after = s.get_job(job["id"], key=ADMIN)
        self.assertEqual(after["state"], "running")
        self.assertIsNone(after["progress"])
        self.assertEqual(after["lease_expires_at"], job["lease_expires_at"])

    def test_producer_may_not_administer(self):
        s, q = self.server, self.q
        jid = s.enqueue(q, key=ADMIN)["id"]
        self.assertError(self.call("DELETE", f"/v1/jobs/{jid}", key=PRODUCER), 403, "forbidden")
        self.assertError(self.call("POST", f"/v1/queues/{q}/pause", key=PRODUCER), 403, "forbidden")
        self.assertEqual(s.get_job(jid, key=ADMIN)["state"], "queued")
        self.assertIs(s.queue(q, key=ADMIN)["paused"], False)

    def test_worker_may_work_jobs(self):
        s, q = self.server, self.q
        jids = [j["id"] for j in s.enqueue_batch([{"queue": q}, {"queue": q}, {"queue": q}], key=ADMIN)]
        a, b, c = s.claim(q, key=WORKER, max=3)
        self.assertEqual([a["id"], b["id"], c["id"]], jids)
        self.assertStatus(self.call("POST", f"/v1/jobs/{a['id']}/heartbeat", {"lease_id": a["lease_id"]}, WORKER),
                          200, "heartbeat")
        self.assertStatus(self.call("POST", f"/v1/jobs/{a['id']}/progress", {"lease_id": a["lease_id"], "percent": 9},
                                    WORKER), 200, "progress")
        s.complete(a, key=WORKER)
        s.fail(b, key=WORKER, retry=False)
        r = self.call("POST", "/v1/acks", {"acks": [{"id": c["id"], "lease_id": c["lease_id"]}]}, WORKER)
        self.assertEqual(self.assertStatus(r, 200, "acks")["results"][0]["ok"], True)
        self.assertEqual([s.get_job(j, key=ADMIN)["state"] for j in jids], ["succeeded", "dead", "succeeded"])

    def test_worker_may_not_produce_read_or_administer(self):
        s, q = self.server, self.q
        jid = s.enqueue(q, key=ADMIN)["id"]
        for method, path, body in (("POST", "/v1/jobs", {"queue": q}),
                                   ("POST", "/v1/jobs/batch", {"jobs": [{"queue": q}]}),
                                   ("GET", f"/v1/jobs/{jid}", None),
                                   ("GET", f"/v1/jobs?queue={q}", None),
                                   ("GET", "/v1/queues", None),
                                   ("POST", f"/v1/jobs/{jid}/cancel", None),
                                   ("POST", f"/v1/jobs/{jid}/retry", None),
                                   ("DELETE", f"/v1/jobs/{jid}", None),
                                   ("POST", f"/v1/queues/{q}/pause", None)):
            with self.subTest(method=method, path=path):
                self.assertError(self.call(method, path, body, key=WORKER), 403, "forbidden")
        self.assertEqual(s.get_job(jid, key=ADMIN)["state"], "queued")
        self.assertEqual(s.counts(q, key=ADMIN)["queued"], 1)

    # ---- job tokens --------------------------------------------------------------------

    def test_job_token_reads_only_its_job(self):
        s, q = self.server, self.q
        mine = s.enqueue(q, key=PRODUCER, payload={"secret": 1})
        other = s.enqueue(q, key=PRODUCER)
        token = mine["token"]
        quoted = urllib.parse.quote(token, safe="")
        r = self.call("GET", f"/v1/jobs/{mine['id']}?token={quoted}")
        self.assertEqual(self.assertStatus(r, 200, "token as query")["id"], mine["id"])
        r = self.call("GET", f"/v1/jobs/{mine['id']}", key=token)
        self.assertEqual(self.assertStatus(r, 200, "token as bearer")["id"], mine["id"])
        # Nothing else: not another job, not lists, not writes.
        for method, path, body in (("GET", f"/v1/jobs/{other['id']}?token={quoted}", None),
                                   ("GET", f"/v1/jobs/{other['id']}", None),
                                   ("GET", f"/v1/jobs?queue={q}", None),
                                   ("GET", "/v1/queues", None),
                                   ("POST", "/v1/jobs", {"queue": q}),
                                   ("POST", "/v1/claim", {"queues": [q]}),
                                   ("POST", f"/v1/jobs/{mine['id']}/cancel", None),
                                   ("DELETE", f"/v1/jobs/{mine['id']}", None)):
            with self.subTest(method=method, path=path):
                key = None if "token=" in path else token
                r = self.call(method, path, body, key=key)
                self.assertIn(r.status, (401, 403), r)
                self.assertError(r, r.status, "unauthorized" if r.status == 401 else "forbidden")
        self.assertEqual(s.get_job(mine["id"], key=ADMIN)["state"], "queued")
        self.assertEqual(s.counts(q, key=ADMIN)["queued"], 2)

    def test_job_token_does_not_show_the_workers_log(self):
        s = self.server
        mine = s.enqueue(self.q, key=PRODUCER)
        job = s.claim(self.q, key=ADMIN)[0]
        r = self.call("POST", f"/v1/jobs/{job['id']}/complete",
                      {"lease_id": job["lease_id"], "log": "internal host db-3 reached"}, key=ADMIN)
        self.assertStatus(r, 200, "complete with a log")
        self.assertEqual(s.get_job(mine["id"], key=PRODUCER)["log"], "internal host db-3 reached")
        quoted = urllib.parse.quote(mine["token"], safe="")
        seen = self.assertStatus(self.call("GET", f"/v1/jobs/{mine['id']}?token={quoted}"), 200, "get")
        self.assertEqual(seen["state"], "succeeded")
        self.assertNotIn("log", seen)
        r = self.call("GET", f"/v1/jobs/{mine['id']}/logs?token={quoted}")
        self.assertError(r, 401, "unauthorized")
        r = self.call("GET", f"/v1/jobs/{mine['id']}/logs", key=PRODUCER)
        logs = self.assertStatus(r, 200, "logs")["logs"]
        self.assertEqual([(l["attempt"], l["log"]) for l in logs], [(1, "internal host db-3 reached")])

    def test_tampered_token_is_401(self):
        mine = self.server.enqueue(self.q, key=PRODUCER)
        token = mine["token"]
        flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
        for bad in (flipped, token + "x", token[: len(token) // 2], "x" + token):
            with self.subTest(token=bad):
                r = self.call("GET", f"/v1/jobs/{mine['id']}?token={urllib.parse.quote(bad, safe='')}")
                self.assertError(r, 401, "unauthorized")

    def test_tokens_differ_per_job(self):
        a = self.server.enqueue(self.q, key=PRODUCER)["token"]
        b = self.server.enqueue(self.q, key=PRODUCER)["token"]
        self.assertNotEqual(a, b)

    def test_keys_from_environment(self):
        with ErrandServer(env={"ERRAND_KEYS": f"admin:{ADMIN},worker:{WORKER}"}) as s:
            self.assertError(s.request("GET", "/v1/queues", key=None), 401, "unauthorized")
            self.assertEqual(s.request("GET", "/v1/queues", key=ADMIN).status, 200)
            self.assertError(s.request("GET", "/v1/queues", key=WORKER), 403, "forbidden")


class BindTest(ErrandTestCase):
    def test_non_loopback_without_keys_refuses_to_start(self):
        s = ErrandServer(listen="0.0.0.0:0", start_timeout=15)
        try:
            with self.assertRaises(ServerError) as ctx:
                s.start()
            self.assertFalse(s.running(), "the server must not keep running")
            code = s.exit_code if s.exit_code is not None else s.proc.poll()
            self.assertNotEqual(code, 0, "refusing to start must be a failure exit")
            self.assertNotIn("errand listening", s.log_text())
            out = s.log_text().lower()
            self.assertTrue("insecure" in out or "key" in out,
                            f"the refusal should say what to do (--key or --insecure):\n{s.log_text()}")
            self.assertIn("exited", str(ctx.exception))
        finally:
            s.cleanup()

    def test_non_loopback_with_insecure_starts(self):
        with ErrandServer(listen="0.0.0.0:0", extra_args=["--insecure"]) as s:
            self.assertEqual(s.request("GET", "/healthz").status, 200)
            self.assertEqual(s.enqueue("insecure")["state"], "queued")
            self.assertEqual(s.stop(), 0)

    def test_non_loopback_with_keys_starts(self):
        with ErrandServer(listen="0.0.0.0:0", keys=[("admin", ADMIN)]) as s:
            self.assertError(s.request("GET", "/v1/queues", key=None), 401, "unauthorized")
            self.assertEqual(s.request("GET", "/v1/queues").status, 200)

    def test_loopback_without_keys_treats_requests_as_admin(self):
        with ErrandServer() as s:
            jid = s.enqueue("open", key=None)["id"]
            self.assertEqual(s.claim("open", key=None)[0]["id"], jid)
            self.assertEqual(s.request("DELETE", f"/v1/jobs/{jid}", key=None).status, 200)


if __name__ == "__main__":
    unittest.main()
