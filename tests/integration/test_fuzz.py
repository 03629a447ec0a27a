"""No input crashes the server: every endpoint gets many malformed requests.

A deterministic stream of mutated bodies (wrong types for every field, odd
values, deep nesting, huge numbers, bad UTF-8) and raw HTTP garbage is sent;
every answer must be a 4xx (or a 2xx/409 where the input happens to be valid)
with the documented JSON error shape, and the server must still answer
/healthz afterwards. Standard library only.
"""

import json
import random
import socket

from harness import SharedServerTestCase

ODD_VALUES = [None, True, False, 0, -1, 2**63, -(2**63) - 1, 1e308, 0.5, "", "x" * 5000,
              "-1s", "1.5s", "10", "2026-13-45T99:99:99Z", "\u0000", "\ud7ff", [], [1, "a"],
              {}, {"a": {"b": {"c": []}}}, "01JDQ7Z3K5X9V2M4N6P8R0T2W4", "Q", "a b"]

ENDPOINTS = [
    ("POST", "/v1/jobs", ["queue", "type", "payload", "delay", "run_at", "priority",
                          "max_attempts", "timeout", "idempotency_key", "tags"]),
    ("POST", "/v1/jobs/batch", ["jobs"]),
    ("POST", "/v1/claim", ["queues", "worker", "max", "wait", "lease"]),
    ("POST", "/v1/acks", ["acks"]),
    ("POST", "/v1/jobs/{id}/heartbeat", ["lease_id", "extend"]),
    ("POST", "/v1/jobs/{id}/progress", ["lease_id", "percent", "message", "data"]),
    ("POST", "/v1/jobs/{id}/complete", ["lease_id", "result"]),
    ("POST", "/v1/jobs/{id}/fail", ["lease_id", "error", "retry", "retry_in"]),
]

GET_PATHS = ["/v1/jobs?limit=0", "/v1/jobs?limit=abc", "/v1/jobs?state=nope", "/v1/jobs?cursor=%00",
             "/v1/jobs?queue=A%20B", "/v1/jobs?zzz=1", "/v1/jobs/%ff%fe", "/v1/jobs/" + "a" * 3000,
             "/v1/queues/%2F%2F/pause", "/v1//jobs", "/%", "/v1/jobs?limit=99999999999999999999"]


class FuzzTest(SharedServerTestCase):
    def setUp(self):
        super().setUp()
        self.rng = random.Random(20261127)
        status, body, _ = self.server.request("POST", "/v1/jobs", {"queue": "fuzz"})
        self.assertEqual(status, 202, body)
        self.job_id = body["id"]

    def check_answer(self, resp, what):
        status, body, _ = resp
        self.assertLess(status, 500, f"{what} -> {status} {body!r}")
        if status >= 400:
            self.assertIsInstance(body, dict, f"{what} -> non-JSON error {body!r}")
            self.assertIn("error", body, what)
            self.assertTrue(body["error"].get("message"), what)

    def mutated(self, fields):
        body = {}
        for name in fields:
            if self.rng.random() < 0.6:
                body[name] = self.rng.choice(ODD_VALUES)
        if self.rng.random() < 0.2:
            body["unexpected_" + str(self.rng.randint(0, 9))] = 1
        if self.rng.random() < 0.3 and "queue" in fields:
            body["queue"] = "fuzz"
        return body

    def test_mutated_bodies_never_crash_the_server(self):
        for method, path, fields in ENDPOINTS:
            path = path.replace("{id}", self.job_id)
            for _ in range(60):
                body = self.mutated(fields)
                resp = self.server.request(method, path, body)
                self.check_answer(resp, f"{method} {path} {json.dumps(body)[:200]}")

    def test_non_object_and_broken_bodies(self):
        bodies = [b"", b"null", b"[]", b"42", b'"s"', b"{", b'{"queue":}', b"\xff\xfe\x00",
                  b"[" * 10000 + b"]" * 10000, b'{"queue":"fuzz","payload":' + b"[" * 5000 + b"]" * 5000 + b"}"]
        for method, path, _ in ENDPOINTS:
            path = path.replace("{id}", self.job_id)
            for raw in bodies:
                resp = self.server.request(method, path, raw,
                                           headers={"Content-Type": "application/json"})
                self.check_answer(resp, f"{method} {path} {raw[:40]!r}")

    def test_odd_paths_and_queries(self):
        for path in GET_PATHS:
            self.check_answer(self.server.request("GET", path), f"GET {path}")

    def test_raw_http_garbage(self):
        host, port = self.server.url.split("//", 1)[1].rsplit(":", 1)
        garbage = [b"GARBAGE\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"\x00\x01\x02\r\n\r\n",
                   b"POST /v1/jobs HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
                   b"POST /v1/jobs HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                   b"GET /healthz HTTP/1.1\r\n" + b"X-Long: " + b"a" * 40000 + b"\r\n\r\n"]
        for raw in garbage:
            with socket.create_connection((host, int(port)), timeout=10) as s:
                answer = b""
                try:  # the server may answer and close before it has read it all
                    s.sendall(raw)
                    s.shutdown(socket.SHUT_WR)
                    while True:
                        chunk = s.recv(65536)
                        if not chunk:
                            break
                        answer += chunk
                except (ConnectionResetError, BrokenPipeError, OSError):
                    pass
            if answer:
                status = int(answer.split(b" ", 2)[1])
                self.assertGreaterEqual(status, 400, raw[:40])
                self.assertLess(status, 500, raw[:40])
        status, _, _ = self.server.request("GET", "/healthz")
        self.assertEqual(status, 200)
