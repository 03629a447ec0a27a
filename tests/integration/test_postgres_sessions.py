"""Dashboard sessions across servers: two `errand server` processes on one
PostgreSQL schema act as one service, so a login on one is valid on the
other, a change made there with the session's CSRF token goes through, and
a logout on either ends the session on both at once.

Each ErrandServer gets a schema of its own by default (harness._pg_schema_for);
here the second is given the first's, so both run with the same
`--store …?schema=…`. Run with ERRAND_TEST_STORE=postgres and a Python that
has psycopg (ctest's integration.postgres_sessions, tests/integration.cmake).
"""

import re
import unittest

import harness
from harness import ErrandServer, ErrandTestCase

if not harness.ON_POSTGRES:
    raise unittest.SkipTest("run with ERRAND_TEST_STORE=postgres (ctest's integration.postgres_sessions)")

ADMIN = "admin-key-for-session-tests"
PRODUCER = "producer-key-for-session-tests"
KEYS = (("admin", ADMIN), ("producer", PRODUCER))


def cookie_of(resp):
    m = re.match(r"errand_session=([^;]*)", resp.headers.get("set-cookie", ""))
    return m.group(1) if m else None


def as_session(server, method, path, cookie, csrf=None, body=None):
    headers = {"Cookie": f"errand_session={cookie}"}
    if csrf is not None:
        headers["X-CSRF-Token"] = csrf
    return server.request(method, path, body, key=None, headers=headers)


class TwoServersShareSessionsTest(ErrandTestCase):
    @classmethod
    def setUpClass(cls):
        cls.one = ErrandServer(keys=KEYS)
        cls.two = ErrandServer(keys=KEYS)
        cls.two.pg_schema = cls.one.pg_schema  # one service: the same store URL
        cls.one.start()
        try:
            cls.two.start()
        except BaseException:
            cls.one.cleanup()
            raise
        assert cls.one.store_url() == cls.two.store_url()

    @classmethod
    def tearDownClass(cls):
        cls.two.cleanup()
        cls.one.cleanup()

    def login(self, server):
        r = server.request("POST", "/v1/session", {"key": ADMIN}, key=None)
        self.assertEqual(r.status, 200, r.body)
        return cookie_of(r), r.body["csrf_token"]

    def test_a_login_on_one_server_works_on_the_other_until_a_logout_there(self):
        cookie, csrf = self.login(self.one)
        job = self.one.enqueue("shared-sessions", key=PRODUCER)["id"]

        seen = as_session(self.two, "GET", "/v1/session", cookie)
        self.assertEqual(seen.status, 200, seen.body)
        self.assertTrue(seen.body["authenticated"])
        self.assertEqual(seen.body["csrf_token"], csrf)
        listed = as_session(self.two, "GET", "/v1/jobs?queue=shared-sessions", cookie)
        self.assertEqual(listed.status, 200, listed.body)
        self.assertEqual([j["id"] for j in listed.body["jobs"]], [job])
        # A change on the second server needs the session's CSRF token there too.
        self.assertError(as_session(self.two, "POST", f"/v1/jobs/{job}/cancel", cookie), 403, "forbidden",
                         field="X-CSRF-Token")
        cancelled = as_session(self.two, "POST", f"/v1/jobs/{job}/cancel", cookie, csrf)
        self.assertEqual(cancelled.status, 200, cancelled.body)
        self.assertEqual(self.one.get_job(job)["state"], "cancelled")

        out = as_session(self.two, "DELETE", "/v1/session", cookie, csrf)
        self.assertEqual(out.status, 200, out.body)
        self.assertFalse(out.body["authenticated"])
        # Ended on the first server at once: nothing there remembers it.
        self.assertError(as_session(self.one, "GET", "/v1/queues", cookie), 401, "unauthorized", field="session")
        self.assertFalse(as_session(self.one, "GET", "/v1/session", cookie).body["authenticated"])
        self.assertError(as_session(self.two, "GET", "/v1/queues", cookie), 401, "unauthorized", field="session")

    def test_a_logout_on_the_first_server_ends_the_session_on_the_second(self):
        cookie, csrf = self.login(self.one)
        self.assertEqual(as_session(self.two, "GET", "/v1/queues", cookie).status, 200)
        self.assertEqual(as_session(self.one, "DELETE", "/v1/session", cookie, csrf).status, 200)
        self.assertError(as_session(self.two, "GET", "/v1/queues", cookie), 401, "unauthorized", field="session")

    def test_a_session_outlives_the_restart_of_the_server_that_made_it(self):
        cookie, csrf = self.login(self.two)
        self.two.restart()
        for server in (self.one, self.two):
            with self.subTest(server=server.url):
                seen = as_session(server, "GET", "/v1/session", cookie)
                self.assertTrue(seen.body["authenticated"], seen.body)
                self.assertEqual(seen.body["csrf_token"], csrf)

    def test_the_servers_share_one_session_key_and_keep_only_digests(self):
        cookie, _ = self.login(self.two)
        keys = self.one.sql("SELECT value FROM settings WHERE name = 'session_key'")
        self.assertEqual(len(keys), 1)
        self.assertEqual(len(keys[0][0]), 64)
        self.assertEqual(self.one.sql("SELECT count(*) FROM sessions WHERE digest = ?", cookie), [(0,)])


if __name__ == "__main__":
    unittest.main()
