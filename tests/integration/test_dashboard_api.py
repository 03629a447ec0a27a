"""What the dashboard stands on, over real HTTP: its pages, the login
(session cookie + CSRF token), GET /v1/stats, POST /v1/jobs/bulk and the
jobs list's filters; and the origin check of a server without keys."""

import datetime
import itertools
import re
import subprocess
import unittest

from harness import ErrandServer, ErrandTestCase, SharedServerTestCase, errand_bin, poll_until

ADMIN = "admin-key-for-dashboard-tests"
PRODUCER = "producer-key-for-dashboard-tests"
WORKER = "worker-key-for-dashboard-tests"
PASSWORD = "dashboard password 1"
_counter = itertools.count()


def cookie_of(resp):
    m = re.match(r"errand_session=([^;]*)", resp.headers.get("set-cookie", ""))
    return m.group(1) if m else None


class DashboardCase(SharedServerTestCase):
    @classmethod
    def make_server(cls):
        return ErrandServer(keys=(("admin", ADMIN), ("producer", PRODUCER), ("worker", WORKER)),
                            extra_args=["--dashboard-password", PASSWORD])

    def q(self):
        return f"dash{next(_counter)}"

    def login(self, **body):
        r = self.server.request("POST", "/v1/session", body or {"key": ADMIN}, key=None)
        self.assertEqual(r.status, 200, r.body)
        return cookie_of(r), r.body["csrf_token"]

    def as_session(self, method, path, body=None, cookie=None, csrf=None, headers=None):
        hdrs = dict(headers or {})
        if cookie is not None:
            hdrs["Cookie"] = f"errand_session={cookie}"
        if csrf is not None:
            hdrs["X-CSRF-Token"] = csrf
        return self.server.request(method, path, body, key=None, headers=hdrs)


class PagesTest(DashboardCase):
    def test_the_dashboard_is_served_from_the_binary_with_a_strict_policy(self):
        r = self.server.request("GET", "/", key=None)
        self.assertEqual(r.status, 200)
        self.assertTrue(r.headers["content-type"].startswith("text/html"))
        self.assertIn("/dashboard/app.js", r.body)
        self.assertIn("default-src 'self'", r.headers["content-security-policy"])
        self.assertIn("frame-ancestors 'none'", r.headers["content-security-policy"])
        self.assertEqual(r.headers["x-content-type-options"], "nosniff")
        for name, kind in (("app.js", "application/javascript"), ("app.css", "text/css"),
                           ("uPlot.iife.min.js", "application/javascript"), ("uPlot.min.css", "text/css")):
            with self.subTest(name=name):
                asset = self.server.request("GET", f"/dashboard/{name}", key=None)
                self.assertEqual(asset.status, 200)
                self.assertTrue(asset.headers["content-type"].startswith(kind), asset.headers)
                self.assertGreater(len(asset.body), 100)

    def test_an_unchanged_asset_is_not_sent_again(self):
        first = self.server.request("GET", "/dashboard/app.js", key=None)
        etag = first.headers["etag"]
        again = self.server.request("GET", "/dashboard/app.js", key=None, headers={"If-None-Match": etag})
        self.assertEqual(again.status, 304)
        self.assertFalse(again.body)

    def test_unknown_files_are_404(self):
        self.assertError(self.server.request("GET", "/dashboard/nope.js", key=None), 404, "not_found")
        self.assertError(self.server.request("GET", "/dashboard/../errand.db", key=None), 404, "not_found")


class LoginTest(DashboardCase):
    def test_not_logged_in(self):
        r = self.server.request("GET", "/v1/session", key=None)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, {"authenticated": False, "mode": "keys", "methods": ["key", "password"],
                                  "csrf_token": None, "expires_at": None})

    def test_only_an_admin_key_or_the_password_logs_in(self):
        cases = [({"key": PRODUCER}, 403, "forbidden", "key"),
                 ({"key": WORKER}, 403, "forbidden", "key"),
                 ({"key": "not-a-key-at-all-000"}, 401, "unauthorized", "key"),
                 ({"password": "wrong password!"}, 401, "unauthorized", "password"),
                 ({}, 400, "invalid_argument", "key"),
                 ({"key": ADMIN, "password": PASSWORD}, 400, "invalid_argument", "password"),
                 ({"user": "admin"}, 400, "invalid_argument", "user"),
                 ("[1]", 400, "invalid_argument", "body")]
        for body, status, code, field in cases:
            with self.subTest(body=body):
                r = self.server.request("POST", "/v1/session", body, key=None)
                self.assertError(r, status, code, field=field)
                self.assertNotIn("set-cookie", r.headers)

    def test_a_login_sets_an_http_only_strict_cookie_and_returns_a_csrf_token(self):
        for body in ({"key": ADMIN}, {"password": PASSWORD}):
            with self.subTest(body=list(body)):
                r = self.server.request("POST", "/v1/session", body, key=None)
                self.assertEqual(r.status, 200, r.body)
                cookie = r.headers["set-cookie"]
                self.assertRegex(cookie, r"^errand_session=[0-9a-f]{64}; Path=/; Max-Age=43200; HttpOnly; SameSite=Strict$")
                self.assertTrue(r.body["authenticated"])
                self.assertRegex(r.body["csrf_token"], r"^[0-9a-f]{48}$")
                seen = self.as_session("GET", "/v1/session", cookie=cookie_of(r))
                self.assertEqual(seen.body["csrf_token"], r.body["csrf_token"])
                self.assertTrue(seen.body["authenticated"])

    def test_a_session_reads_freely_and_writes_only_with_its_csrf_token(self):
        cookie, csrf = self.login()
        q = self.q()
        self.server.enqueue(q, key=PRODUCER)
        listed = self.as_session("GET", f"/v1/jobs?queue={q}", cookie=cookie)
        self.assertEqual(listed.status, 200)
        self.assertEqual(len(listed.body["jobs"]), 1)
        job = listed.body["jobs"][0]["id"]
        for token in (None, "", csrf[:-1] + ("0" if csrf[-1] != "0" else "1")):
            with self.subTest(token=token):
                r = self.as_session("POST", f"/v1/jobs/{job}/cancel", cookie=cookie, csrf=token)
                self.assertError(r, 403, "forbidden", field="X-CSRF-Token")
        self.assertEqual(self.server.get_job(job, key=ADMIN)["state"], "queued")  # nothing changed
        r = self.as_session("POST", f"/v1/jobs/{job}/cancel", cookie=cookie, csrf=csrf)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.body["state"], "cancelled")

    def test_another_sessions_csrf_token_does_not_do(self):
        cookie, _ = self.login()
        _, other_csrf = self.login(password=PASSWORD)
        r = self.as_session("PUT", f"/v1/queues/{self.q()}", {"concurrency": 2}, cookie=cookie, csrf=other_csrf)
        self.assertError(r, 403, "forbidden", field="X-CSRF-Token")

    def test_a_key_in_the_request_wins_over_the_cookie(self):
        cookie, _ = self.login()
        r = self.server.request("POST", "/v1/jobs", {"queue": self.q()}, key=PRODUCER,
                                headers={"Cookie": f"errand_session={cookie}"})
        self.assertEqual(r.status, 202)  # no CSRF token needed with a key
        r = self.server.request("DELETE", f"/v1/jobs/{r.body['id']}", key=PRODUCER,
                                headers={"Cookie": f"errand_session={cookie}"})
        self.assertError(r, 403, "forbidden")  # the producer key's role, not the session's

    def test_logout_needs_the_csrf_token_and_ends_the_session(self):
        cookie, csrf = self.login()
        self.assertError(self.as_session("DELETE", "/v1/session", cookie=cookie), 403, "forbidden",
                         field="X-CSRF-Token")
        self.assertEqual(self.as_session("GET", "/v1/queues", cookie=cookie).status, 200)
        r = self.as_session("DELETE", "/v1/session", cookie=cookie, csrf=csrf)
        self.assertEqual(r.status, 200)
        self.assertFalse(r.body["authenticated"])
        self.assertIn("Max-Age=0", r.headers["set-cookie"])
        self.assertError(self.as_session("GET", "/v1/queues", cookie=cookie), 401, "unauthorized", field="session")
        self.assertFalse(self.as_session("GET", "/v1/session", cookie=cookie).body["authenticated"])

    def test_a_made_up_cookie_is_refused(self):
        self.assertError(self.as_session("GET", "/v1/queues", cookie="0" * 64), 401, "unauthorized",
                         field="session")
        self.assertError(self.as_session("GET", "/v1/queues", cookie=""), 401, "unauthorized")


class SessionExpiryTest(unittest.TestCase):
    def test_sessions_expire(self):
        with ErrandServer(keys=(("admin", ADMIN),), extra_args=["--session-ttl", "1s"]) as server:
            r = server.request("POST", "/v1/session", {"key": ADMIN}, key=None)
            self.assertEqual(r.status, 200)
            self.assertIn("Max-Age=1;", r.headers["set-cookie"])
            headers = {"Cookie": f"errand_session={cookie_of(r)}"}
            poll_until(lambda: server.request("GET", "/v1/queues", key=None, headers=headers).status == 401,
                       10, interval=0.1, message="the session to expire")
            r = server.request("GET", "/v1/queues", key=None, headers=headers)
            self.assertEqual(r.body["error"]["field"], "session")

    def test_bad_settings_stop_the_server_with_a_message(self):
        for args, words in ((["--dashboard-password", "short"], "at least 12"),
                            (["--session-ttl", "soon"], "--session-ttl")):
            with self.subTest(args=args):
                p = subprocess.run([errand_bin(), "server", "--listen", "127.0.0.1:0", "--data", "/nonexistent/x",
                                    *args], capture_output=True, text=True, timeout=30)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertIn(words, p.stderr)


class SessionRestartTest(ErrandTestCase):
    """Sessions are kept in the store: a restart logs nobody out, and a
    logout before it stays a logout after it."""

    def test_a_session_outlives_a_restart_and_a_logout_stays_one(self):
        with ErrandServer(keys=(("admin", ADMIN),)) as server:
            def as_session(method, path, cookie, csrf=None):
                headers = {"Cookie": f"errand_session={cookie}"}
                if csrf is not None:
                    headers["X-CSRF-Token"] = csrf
                return server.request(method, path, key=None, headers=headers)

            r = server.request("POST", "/v1/session", {"key": ADMIN}, key=None)
            self.assertEqual(r.status, 200, r.body)
            kept, kept_csrf = cookie_of(r), r.body["csrf_token"]
            r = server.request("POST", "/v1/session", {"key": ADMIN}, key=None)
            ended, ended_csrf = cookie_of(r), r.body["csrf_token"]
            self.assertStatus(as_session("DELETE", "/v1/session", ended, ended_csrf), 200, "logout")
            server.stop()
            # The store holds a digest of each id, never the cookie's value.
            digests = [row[0] for row in server.sql("SELECT digest FROM sessions")]
            self.assertEqual(len(digests), 1)
            self.assertNotIn(kept, digests)
            self.assertNotIn(ended, digests)

            server.start()
            seen = as_session("GET", "/v1/session", kept)
            self.assertEqual(seen.status, 200, seen.body)
            self.assertTrue(seen.body["authenticated"])
            self.assertEqual(seen.body["csrf_token"], kept_csrf)
            r = server.request("PUT", "/v1/queues/after-restart", {"concurrency": 2}, key=None,
                               headers={"Cookie": f"errand_session={kept}", "X-CSRF-Token": kept_csrf})
            self.assertEqual(r.status, 200, r.body)
            self.assertError(as_session("GET", "/v1/queues", ended), 401, "unauthorized", field="session")
            self.assertFalse(as_session("GET", "/v1/session", ended).body["authenticated"])


class SessionAdminTest(DashboardCase):
    """An admin lists the dashboard's sessions and ends one (GET /v1/sessions,
    DELETE /v1/sessions/{id}): its next request is not logged in."""

    def sessions(self, **kw):
        r = self.server.request("GET", "/v1/sessions", **kw)
        self.assertEqual(r.status, 200, r.body)
        return r.body["sessions"]

    def test_sessions_are_listed_and_revoked(self):
        first, first_csrf = self.login()
        second, _ = self.login(password=PASSWORD)
        listed = self.sessions()
        self.assertGreaterEqual(len(listed), 2)
        for item in listed:
            self.assertRegex(item["id"], r"^[0-9a-f]{64}$")
            self.assertEqual(item["client"], "127.0.0.1")
            self.assertFalse(item["current"])  # an admin key, no session
        # Neither the cookie nor the CSRF token is shown.
        text = str(listed)
        self.assertNotIn(first, text)
        self.assertNotIn(first_csrf, text)
        # With its own cookie, the session sees which one it is.
        mine = [x for x in self.sessions(key=None, headers={"Cookie": f"errand_session={first}"})
                if x["current"]]
        self.assertEqual(len(mine), 1)
        self.assertEqual(listed[1]["created_at"] <= listed[0]["created_at"], True)
        self.assertError(self.server.request("GET", "/v1/sessions", key=PRODUCER), 403, "forbidden")
        # Revoke the first: its cookie no longer logs in, the second's still does.
        r = self.server.request("DELETE", f"/v1/sessions/{mine[0]['id']}")
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.body, {"id": mine[0]["id"], "revoked": True})
        self.assertError(self.as_session("GET", "/v1/stats", cookie=first), 401, "unauthorized")
        self.assertEqual(self.as_session("GET", "/v1/stats", cookie=second).status, 200)
        self.assertNotIn(mine[0]["id"], [x["id"] for x in self.sessions()])
        self.assertError(self.server.request("DELETE", f"/v1/sessions/{mine[0]['id']}"), 404,
                         "not_found", "session")
        self.assertError(self.server.request("DELETE", "/v1/sessions/not-a-session"), 400,
                         "invalid_argument", "id")
        self.assertIn("dashboard session " + mine[0]["id"][:8], self.server.log_text())


class BulkTest(DashboardCase):
    def test_one_request_changes_many_jobs_each_with_its_own_answer(self):
        q = self.q()
        ids = [self.server.enqueue(q, key=ADMIN)["id"] for _ in range(5)]
        running = self.server.claim_one(q, key=WORKER)
        self.server.complete(running, {"ok": True}, key=WORKER)
        unknown = "01JDQ7Z3K5X9V2M4N6P8R0T2W4"
        r = self.server.request("POST", "/v1/jobs/bulk", {"action": "cancel", "ids": ids + [unknown]}, key=ADMIN)
        self.assertEqual(r.status, 200, r.body)
        by_id = {x["id"]: x for x in r.body["results"]}
        self.assertEqual([x["id"] for x in r.body["results"]], ids + [unknown])
        self.assertFalse(by_id[running["id"]]["ok"])
        self.assertEqual(by_id[running["id"]]["error"]["code"], "conflict")
        self.assertEqual(by_id[unknown]["error"]["code"], "not_found")
        cancelled = [i for i in ids if i != running["id"]]
        for i in cancelled:
            self.assertEqual(by_id[i], {"id": i, "ok": True, "state": "cancelled"})
        r = self.server.request("POST", "/v1/jobs/bulk", {"action": "retry", "ids": cancelled}, key=ADMIN)
        self.assertTrue(all(x["ok"] and x["state"] == "queued" for x in r.body["results"]), r.body)
        r = self.server.request("POST", "/v1/jobs/bulk", {"action": "delete", "ids": ids}, key=ADMIN)
        self.assertEqual(r.body["results"], [{"id": i, "ok": True, "state": None} for i in ids])
        self.assertEqual(self.server.request("GET", f"/v1/jobs/{ids[0]}", key=ADMIN).status, 404)

    def test_bad_requests_name_the_field_and_change_nothing(self):
        q = self.q()
        job = self.server.enqueue(q, key=ADMIN)["id"]
        cases = [({"ids": [job]}, "action"),
                 ({"action": "explode", "ids": [job]}, "action"),
                 ({"action": "cancel"}, "ids"),
                 ({"action": "cancel", "ids": []}, "ids"),
                 ({"action": "cancel", "ids": job}, "ids"),
                 ({"action": "cancel", "ids": [job, "nope"]}, "ids[1]"),
                 ({"action": "cancel", "ids": [job, 7]}, "ids[1]"),
                 ({"action": "cancel", "ids": [job] * 1001}, "ids"),
                 ({"action": "cancel", "ids": [job], "force": True}, "force")]
        for body, field in cases:
            with self.subTest(field=field, body=str(body)[:80]):
                self.assertError(self.server.request("POST", "/v1/jobs/bulk", body, key=ADMIN), 400,
                                 "invalid_argument", field=field)
        self.assertEqual(self.server.get_job(job, key=ADMIN)["state"], "queued")

    def test_bulk_changes_need_an_admin(self):
        job = self.server.enqueue(self.q(), key=ADMIN)["id"]
        r = self.server.request("POST", "/v1/jobs/bulk", {"action": "cancel", "ids": [job]}, key=PRODUCER)
        self.assertError(r, 403, "forbidden")


class StatsTest(DashboardCase):
    def test_counts_depths_waiting_ages_latency_and_workers(self):
        q = self.q()
        for _ in range(3):
            self.server.enqueue(q, key=ADMIN)
        self.server.enqueue(q, key=ADMIN, delay="1h")
        job = self.server.claim_one(q, worker=f"{q}-worker", key=WORKER)
        r = self.server.request("GET", "/v1/stats", key=PRODUCER)
        self.assertEqual(r.status, 200, r.body)
        s = r.body
        self.assertEqual((s["window"], s["step_seconds"]), ("1h", 10))
        self.assertEqual(set(s["series"]), {"t", "processed", "failed"})
        self.assertEqual(len(s["series"]["t"]), len(s["series"]["processed"]))
        self.assertEqual(set(s["states"]), {"scheduled", "queued", "running", "succeeded", "failed", "dead",
                                            "cancelled", "blocked", "waiting"})
        self.assertGreaterEqual(s["states"]["queued"], 2)
        mine = next(x for x in s["queues"] if x["name"] == q)
        self.assertEqual(mine["depth"], 2)
        self.assertIsInstance(mine["oldest_waiting_ms"], int)
        self.assertGreaterEqual(mine["oldest_waiting_ms"], 0)
        self.assertGreaterEqual(s["latency"]["samples"], 1)
        self.assertGreaterEqual(s["latency"]["p95_ms"], s["latency"]["p50_ms"])
        self.assertGreaterEqual(s["workers"]["connected"], 1)
        self.server.complete(job, key=WORKER)

    def test_a_queue_without_waiting_jobs_has_no_age(self):
        q = self.q()
        self.server.enqueue(q, key=ADMIN)
        self.server.complete(self.server.claim_one(q, key=WORKER), key=WORKER)
        mine = next(x for x in self.server.request("GET", "/v1/stats?window=5m", key=ADMIN).body["queues"]
                    if x["name"] == q)
        self.assertEqual((mine["depth"], mine["oldest_waiting_ms"]), (0, None))

    def test_bad_windows_and_parameters_are_named(self):
        self.assertError(self.server.request("GET", "/v1/stats?window=2h", key=ADMIN), 400, "invalid_argument",
                         field="window")
        self.assertError(self.server.request("GET", "/v1/stats?span=1h", key=ADMIN), 400, "invalid_argument",
                         field="span")
        self.assertError(self.server.request("GET", "/v1/stats", key=WORKER), 403, "forbidden")


class StatsHistoryTest(unittest.TestCase):
    def test_the_throughput_history_outlives_a_restart(self):
        """The chart's samples are kept in the database: a restarted server
        still shows the work done before it stopped (samples every 10 s)."""
        with ErrandServer() as server:
            for _ in range(3):
                server.enqueue("history")
                server.complete(server.claim_one("history"))

            def busy_buckets():
                series = server.request("GET", "/v1/stats").body["series"]
                return [t for t, n in zip(series["t"], series["processed"]) if n > 0]
            before = poll_until(busy_buckets, 40, interval=0.2, message="a bucket with the 3 jobs")
            server.restart()
            # The history is read back as the engine starts, alongside the first requests.
            after = poll_until(lambda: busy_buckets()[:len(before)] == before and busy_buckets(), 10,
                               message=f"the buckets {before} after the restart")
            self.assertEqual(after[:len(before)], before)


class ListFiltersTest(DashboardCase):
    def test_tag_text_and_time_range(self):
        q = self.q()
        a = self.server.enqueue(q, key=ADMIN, tags=["vip"], payload={"email": "ann@example.com"})["id"]
        b = self.server.enqueue(q, key=ADMIN, tags=["vip", "eu"], payload={"email": "bo@example.com"})["id"]
        self.server.enqueue(q, key=ADMIN, payload={"email": "cy@example.org"})

        def ids(query):
            r = self.server.request("GET", f"/v1/jobs?queue={q}&{query}", key=ADMIN)
            self.assertEqual(r.status, 200, r.body)
            return [j["id"] for j in r.body["jobs"]]
        self.assertEqual(ids("tag=vip"), [b, a])
        self.assertEqual(ids("tag=eu"), [b])
        self.assertEqual(ids("q=example.com"), [b, a])
        self.assertEqual(ids("q=ann%40"), [a])
        created = self.server.get_job(b, key=ADMIN)["created_at"]
        self.assertEqual(ids(f"until={created}&tag=vip"), [a])
        self.assertEqual(ids(f"since={created}&tag=vip"), [b])
        later = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.assertEqual(ids(f"since={later}"), [])
        # A search that read every job it needed is not partial.
        page = self.server.request("GET", f"/v1/jobs?queue={q}&tag=vip", key=ADMIN).body
        self.assertIs(page["partial"], False)

    def test_bad_filters_are_named(self):
        for query, field in (("since=yesterday", "since"), ("until=2026-13-01T00:00:00Z", "until"),
                             ("tag=", "tag"), ("q=" + "x" * 300, "q"), ("text=x", "text")):
            with self.subTest(query=query[:40]):
                self.assertError(self.server.request("GET", f"/v1/jobs?{query}", key=ADMIN), 400,
                                 "invalid_argument", field=field)


class LoopbackModeTest(unittest.TestCase):
    """No keys: the dashboard needs no login, and foreign pages cannot make changes."""

    @classmethod
    def setUpClass(cls):
        # A keyless server takes --cors-origin only with --insecure (issue 25, row 9).
        cls.server = ErrandServer(extra_args=["--cors-origin", "https://app.example.com", "--insecure"])
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.server.cleanup()

    def test_the_session_says_loopback_mode(self):
        r = self.server.request("GET", "/v1/session")
        self.assertEqual(r.body, {"authenticated": True, "mode": "loopback", "methods": ["key"],
                                  "csrf_token": None, "expires_at": None})
        r = self.server.request("POST", "/v1/session", {"key": "x" * 20})
        self.assertEqual(r.status, 409)

    def test_changes_from_a_foreign_page_are_refused(self):
        own = f"http://{self.server.host}:{self.server.port}"
        for origin, status in (("https://evil.example", 403), ("null", 403), (own, 202),
                               ("https://app.example.com", 202)):
            with self.subTest(origin=origin):
                r = self.server.request("POST", "/v1/jobs", {"queue": "loopback"}, headers={"Origin": origin})
                self.assertEqual(r.status, status, r.body)
                if status == 403:
                    self.assertEqual(r.body["error"]["field"], "origin")
        r = self.server.request("GET", "/v1/queues", headers={"Origin": "https://evil.example"})
        self.assertEqual(r.status, 200)  # reads are guarded by CORS, which gives evil.example nothing
        self.assertNotIn("access-control-allow-origin", r.headers)


if __name__ == "__main__":
    unittest.main()
