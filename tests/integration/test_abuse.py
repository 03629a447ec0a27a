"""Abuse limits (docs/API.md, "Limits"): wrong API keys and job tokens are
limited per client address (429 with Retry-After once an address sent
--auth-max-failures of them within a minute), logged a few lines per window.
"""

import unittest

from harness import ErrandServer, ErrandTestCase

ADMIN = "admin:abuse-admin-secret-000001"


class KeyGuessingTest(ErrandTestCase):
    def test_an_address_sending_wrong_keys_is_locked_out(self):
        with ErrandServer(keys=(ADMIN,), extra_args=["--auth-max-failures", "5"]) as s:
            job = s.enqueue("q")
            # Requests without a key are refused, but are no guesses.
            for _ in range(10):
                self.assertError(s.request("GET", "/v1/queues", key=None), 401, "unauthorized")
            for i in range(5):
                self.assertError(s.request("GET", "/v1/queues", key=f"wrong-key-{i:020d}"), 401,
                                 "unauthorized", "authorization")
            # The 6th attempt from this address, even with the right key: 429.
            r = s.request("GET", "/v1/queues")
            self.assertError(r, 429, "too_many_requests", "authorization")
            self.assertIn("too many wrong API keys or tokens from 127.0.0.1", r.body["error"]["message"])
            retry = int(r.headers["retry-after"])
            self.assertGreaterEqual(retry, 1)
            self.assertLessEqual(retry, 60)
            # A job token is a credential too; open routes stay open.
            r = s.request("GET", f"/v1/jobs/{job['id']}?token={job['token']}", key=None)
            self.assertEqual(r.status, 429, r.body)
            self.assertEqual(s.request("GET", "/healthz", key=None).status, 200)
            log = s.log_text()
            self.assertEqual(log.count("API key or job token failed from 127.0.0.1"), 1, log)
            self.assertEqual(log.count("API key or job token: 127.0.0.1 failed 5 times within 1m"),
                             1, log)
            for i in range(5):
                self.assertNotIn(f"wrong-key-{i:020d}", log)

    def test_wrong_job_tokens_count_too(self):
        with ErrandServer(keys=(ADMIN,), extra_args=["--auth-max-failures", "3"]) as s:
            job = s.enqueue("q")
            other = s.enqueue("q")
            for _ in range(3):
                r = s.request("GET", f"/v1/jobs/{job['id']}?token={other['token']}", key=None)
                self.assertError(r, 401, "unauthorized", "token")
            r = s.request("GET", f"/v1/jobs/{job['id']}?token={job['token']}", key=None)
            self.assertError(r, 429, "too_many_requests")


if __name__ == "__main__":
    unittest.main()
