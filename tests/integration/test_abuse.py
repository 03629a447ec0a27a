"""Abuse limits (docs/API.md, "Authentication" and "HTTP"): wrong API keys
and job tokens are limited per client address (429 with Retry-After once an
address sent --auth-max-failures of them within a minute), logged a few lines
per window; slow clients cannot delay others. (The connection limit's 503:
integration.security.)
"""

import unittest

from harness import ErrandServer, ErrandTestCase, poll_until

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




class SlowClientsTest(ErrandTestCase):
    """Slow clients hold no more than their own connections: while 2,000 of
    them trickle request heads a byte at a time, never finish their bodies,
    or open event streams they never read, /healthz still answers at once."""

    CONNECTIONS = 2000

    def setUp(self):
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = self.CONNECTIONS + 512
        if soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
        if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < want:
            self.skipTest(f"needs {want} file descriptors (ulimit -n)")

    def test_healthz_answers_while_2000_slow_connections_are_open(self):
        import socket
        import time
        with ErrandServer(keys=(ADMIN,), extra_args=["--max-connections", "10000"]) as s:
            job = s.enqueue("slow")
            claimed = s.claim_one("slow")  # running: its event stream stays open
            self.assertEqual(claimed["id"], job["id"])
            socks = []
            try:
                for i in range(self.CONNECTIONS):
                    c = socket.create_connection((s.host, s.port), timeout=10)
                    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                    kind = i % 3
                    if kind == 0:  # a request head, trickled
                        c.sendall(b"G")
                    elif kind == 1:  # a body that never ends
                        c.sendall(b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                                  + ADMIN.split(":", 1)[1].encode()
                                  + b"\r\nContent-Type: application/json\r\n"
                                  b"Content-Length: 1000000\r\n\r\n{\"queue\":")
                    else:  # an event stream nobody reads
                        c.sendall(f"GET /v1/jobs/{job['id']}/events?token={job['token']} "
                                  "HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                    socks.append(c)
                for c in socks[::3][:100]:
                    c.sendall(b"E")  # more of the trickled heads
                took = []
                for _ in range(20):
                    started = time.monotonic()
                    r = s.request("GET", "/healthz", key=None)
                    took.append((time.monotonic() - started) * 1000)
                    self.assertEqual(r.status, 200, r.body)
                took.sort()
                print(f"/healthz with {len(socks)} slow connections open: "
                      f"median {took[len(took) // 2]:.1f} ms, max {took[-1]:.1f} ms")
                # Progress written while the streams are not read does not stall the server.
                for p in range(10):
                    r = s.request("POST", f"/v1/jobs/{claimed['id']}/progress",
                                  {"lease_id": claimed["lease_id"], "percent": p * 10,
                                   "message": "x" * 2000})
                    self.assertEqual(r.status, 200, r.body)
                self.assertEqual(s.request("GET", "/healthz", key=None).status, 200)
            finally:
                for c in socks:
                    c.close()


if __name__ == "__main__":
    unittest.main()
