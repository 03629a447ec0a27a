"""The server's log (docs/operations.md "Logs"): --log-format json writes one
JSON object a line; --log-requests writes one line per request with its
request id (X-Request-Id taken when sane, else made, and echoed in the
answer), method, route pattern, status, duration and bytes; keys, job
tokens, payloads and results never reach the log.
"""

import json
import re
import unittest

from harness import ErrandServer, ErrandTestCase, ServerError, poll_until

ADMIN_SECRET = "logs-admin-secret-do-not-log-1"


class LogTest(ErrandTestCase):
    def lines(self, server):
        """The server's output (without the harness's own "==== start" lines,
        which show the command line with its keys)."""
        with open(server.log_path, "rb") as f:
            lines = [line for line in f.read().decode("utf-8", "replace").splitlines()
                     if not line.startswith("==== ")]
        return "\n".join(lines), [line for line in lines if line.startswith("{")]

    def test_json_request_lines_carry_the_request_id_and_never_a_secret(self):
        with ErrandServer(keys=(f"admin:{ADMIN_SECRET}",),
                          extra_args=["--log-format", "json", "--log-requests"]) as s:
            created = s.enqueue("logq", payload={"card": "payload-secret-4242"})
            token = created["token"]
            r = s.request("GET", f"/v1/jobs/{created['id']}?token={token}", key=None,
                          headers={"X-Request-Id": "trace-abc.123"})
            self.assertEqual(r.status, 200, r.body)
            self.assertEqual(r.headers.get("X-Request-Id") or r.headers.get("x-request-id"),
                             "trace-abc.123")
            job = s.claim_one("logq")
            s.complete(job, {"receipt": "result-secret-9999"})
            made = s.request("GET", "/v1/queues/logq", headers={"X-Request-Id": "bad id with spaces"})
            made_id = made.headers.get("X-Request-Id") or made.headers.get("x-request-id")
            self.assertRegex(made_id, r"^[0-9a-f]{16}$")  # an insane one is replaced
            self.assertEqual(s.request("GET", "/v1/jobs/NOPE", key="wrong-key-0123456789").status, 401)

            def logged():
                _, objects = self.lines(s)
                parsed = [json.loads(line) for line in objects]
                # The lines reach the log file through the harness's reader:
                # wait for the last request's (the refused one) too.
                seen = any(p.get("request_id") == made_id for p in parsed) and any(
                    p.get("status") == 401 for p in parsed)
                return parsed if seen else None

            parsed = poll_until(logged, 10, message="the request lines in the log")
            for p in parsed:
                self.assertRegex(p["ts"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
                self.assertIn(p["level"], ("trace", "debug", "info", "warning", "error", "critical"))
            mine = [p for p in parsed if p.get("request_id") == "trace-abc.123"]
            self.assertEqual(len(mine), 1, mine)
            self.assertEqual((mine[0]["msg"], mine[0]["method"], mine[0]["route"], mine[0]["status"]),
                             ("request", "GET", "/v1/jobs/:id", 200))
            self.assertGreater(mine[0]["bytes"], 0)
            self.assertGreaterEqual(mine[0]["duration_ms"], 0)
            refused = [p for p in parsed if p.get("status") == 401]
            self.assertEqual([(p["route"], p["method"]) for p in refused], [("/v1/jobs/:id", "GET")])
            text, _ = self.lines(s)
            for secret in (ADMIN_SECRET, token, token.split(".")[-1], "payload-secret-4242",
                           "result-secret-9999", "wrong-key-0123456789", created["id"]):
                self.assertNotIn(secret, text)

    def test_text_lines_without_log_requests_leave_requests_out(self):
        with ErrandServer(extra_args=["--log-format", "text"]) as s:
            s.enqueue("quiet")
            text, objects = self.lines(s)
            self.assertEqual(objects, [])
            self.assertNotIn("request_id=", text)

    def test_a_bad_log_format_is_a_usage_error(self):
        with self.assertRaises(ServerError) as caught:
            with ErrandServer(extra_args=["--log-format", "xml"]):
                pass
        self.assertIn('--log-format must be text, json or auto; got "xml"', str(caught.exception))


if __name__ == "__main__":
    unittest.main()
