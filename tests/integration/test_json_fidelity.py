"""Client JSON comes back exactly as it was sent (docs/API.md, "JSON").

Payloads, results, progress data and continuation state are opaque to
Errand: each value below goes in as text and must come back as the same
bytes through every path: GET, the job list, a claim, the SSE stream, a push
call and a completed job's result. Answers are read as raw bytes here, since
Python's json module would itself turn 1e400 into infinity.

A row that cannot be read (planted with sqlite3 while the server is down)
must take down nothing but itself.
"""

import http.client
import json
import os
import sqlite3
import unittest

from harness import ErrandServer, ErrandTestCase, SharedServerTestCase, poll_until
from push_endpoint import PushEndpoint

# Values Boost.JSON, JavaScript or Python would all rewrite if they parsed them.
VERBATIM = [
    "1e400",
    "-1e400",
    "1e-400",
    "123456789012345678901234567890",
    "0.1",
    "0.5",
    "-0.0",
    "1E2",
    "1.50",
    '"\\u0000 inside"',
    '"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00"',
    '{"a":1,"a":2}',
    '{"z":1,"a":[1e400,{"x":-1e-400}]}',
    "[" * 64 + "]" * 64,
]


def raw_request(server, method, path, body=None):
    """(status, body bytes): the answer exactly as the server wrote it."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=body.encode() if isinstance(body, str) else body,
                     headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


class JsonFidelityTest(SharedServerTestCase):
    @classmethod
    def make_server(cls):
        return ErrandServer(extra_args=["--push-allow-private"])

    def enqueue_raw(self, queue, payload_text):
        status, body = raw_request(self.server, "POST", "/v1/jobs",
                                   '{"queue":"%s","payload":%s}' % (queue, payload_text))
        self.assertEqual(status, 202, body)
        return json.loads(body)["id"]

    def test_every_value_round_trips_through_every_read_path(self):
        for i, value in enumerate(VERBATIM):
            with self.subTest(value=value[:40]):
                queue = f"fid{i}"
                job_id = self.enqueue_raw(queue, value)
                member = b'"payload":' + value.encode()
                status, got = raw_request(self.server, "GET", f"/v1/jobs/{job_id}")
                self.assertEqual(status, 200, got)
                self.assertIn(member, got)
                status, page = raw_request(self.server, "GET", f"/v1/jobs?queue={queue}&include=payload")
                self.assertEqual(status, 200, page)
                self.assertIn(member, page)
                status, claimed = raw_request(self.server, "POST", "/v1/claim",
                                              '{"queues":["%s"],"worker":"w"}' % queue)
                self.assertEqual(status, 200, claimed)
                self.assertIn(member, claimed)
                lease = json.loads(claimed, parse_constant=lambda c: c)["jobs"][0]["lease_id"]
                status, body = raw_request(
                    self.server, "POST", f"/v1/jobs/{job_id}/progress",
                    '{"lease_id":"%s","percent":50,"data":%s}' % (lease, value))
                self.assertEqual(status, 200, body)
                status, got = raw_request(self.server, "GET", f"/v1/jobs/{job_id}")
                self.assertIn(b'"data":' + value.encode(), got)
                status, body = raw_request(
                    self.server, "POST", f"/v1/jobs/{job_id}/complete",
                    '{"lease_id":"%s","result":%s}' % (lease, value))
                self.assertEqual(status, 200, body)
                status, got = raw_request(self.server, "GET", f"/v1/jobs/{job_id}")
                self.assertIn(b'"result":' + value.encode(), got)
                # The stream of a finished job: its snapshot, then its end.
                status, stream = raw_request(self.server, "GET", f"/v1/jobs/{job_id}/events")
                self.assertEqual(status, 200, stream)
                self.assertIn(member, stream)
                self.assertIn(b'"result":' + value.encode(), stream)

    def test_whitespace_between_tokens_is_dropped_and_nothing_else(self):
        job_id = self.enqueue_raw("fidws", '{ "a b" : [ 1e400 , "x  y" ] ,\n "n": 0.10 }')
        _, got = raw_request(self.server, "GET", f"/v1/jobs/{job_id}")
        self.assertIn(b'"payload":{"a b":[1e400,"x  y"],"n":0.10}', got)

    def test_a_batch_keeps_each_payload(self):
        status, body = raw_request(self.server, "POST", "/v1/jobs/batch",
                                   '{"jobs":[{"queue":"fidb","payload":1e400},'
                                   '{"queue":"fidb","payload":{"n":123456789012345678901234567890}}]}')
        self.assertEqual(status, 202, body)
        first, second = [j["id"] for j in json.loads(body)["jobs"]]
        self.assertIn(b'"payload":1e400', raw_request(self.server, "GET", f"/v1/jobs/{first}")[1])
        self.assertIn(b'"payload":{"n":123456789012345678901234567890}',
                      raw_request(self.server, "GET", f"/v1/jobs/{second}")[1])

    def test_poison_inputs_leave_lists_and_claims_working(self):
        other = self.enqueue_raw("fidother", '{"ok":true}')
        for value in ["1e400", "-1e400", "1e-400", "123456789012345678901234567890"]:
            with self.subTest(value=value):
                self.enqueue_raw("fidpoison", value)
                status, body = raw_request(self.server, "GET", "/v1/jobs?limit=50")
                self.assertEqual(status, 200, body)
                status, body = raw_request(self.server, "POST", "/v1/claim",
                                           '{"queues":["fidpoison"],"worker":"w","max":5}')
                self.assertEqual(status, 200, body)
                self.assertIn(value.encode(), body)
        status, body = raw_request(self.server, "POST", "/v1/claim",
                                   '{"queues":["fidpoison","fidother"],"worker":"w","max":5}')
        self.assertEqual(status, 200, body)
        self.assertIn(other.encode(), body)

    def test_too_deep_and_malformed_payloads_are_refused_naming_the_field(self):
        deep = "[" * 65 + "]" * 65
        status, body = raw_request(self.server, "POST", "/v1/jobs",
                                   '{"queue":"fiddeep","payload":%s}' % deep)
        self.assertEqual(status, 400, body)
        error = json.loads(body)["error"]
        self.assertEqual(error["field"], "payload")
        self.assertIn("nested more than 64 levels deep", error["message"])
        for bad, where in [('{"queue":"q","payload":[1,]}', "line 1, column 27"),
                           ('{"queue":"q",\n"payload":NaN}', "line 2, column 11"),
                           ('{"queue":"q","payload":Infinity}', "line 1, column 24")]:
            status, body = raw_request(self.server, "POST", "/v1/jobs", bad)
            self.assertEqual(status, 400, body)
            self.assertIn(where, json.loads(body)["error"]["message"])
        status, body = raw_request(self.server, "POST", "/v1/jobs", "")
        self.assertEqual(status, 400, body)
        self.assertIn("the request body is empty", json.loads(body)["error"]["message"])

    def test_push_calls_carry_the_payload_and_keep_the_answer_and_state(self):
        answers = iter([
            (202, {}, '{"continue":{"state":{"offset":1e400,"m":0.50}}}'),
            (200, {}, '{"sent":123456789012345678901234567890}'),
        ])
        with PushEndpoint(lambda call: next(answers)) as ep:
            status, body = raw_request(self.server, "PUT", "/v1/queues/fidpush",
                                       json.dumps({"push": {"url": ep.url}}))
            self.assertEqual(status, 200, body)
            job_id = self.enqueue_raw("fidpush", '{"x":1e400,"y":-0.0}')
            ep.wait_calls(2, timeout=30)
            self.assertIn(b'"payload":{"x":1e400,"y":-0.0}', ep.calls[0].raw)
            self.assertIn(b'"state":{"offset":1e400,"m":0.50}', ep.calls[1].raw)

            def succeeded():
                status, got = raw_request(self.server, "GET", f"/v1/jobs/{job_id}")
                return b'"state":"succeeded"' in got and got
            got = poll_until(succeeded, 30)
            self.assertIn(b'"result":{"sent":123456789012345678901234567890}', got)
            # Readers see the continuation's count and its state's size, not the state.
            self.assertIn(b'"push":{"continuations":1,"state_bytes":%d}' % len('{"offset":1e400,"m":0.50}'), got)

    def test_a_job_list_leaves_client_json_out_unless_asked(self):
        job_id = self.enqueue_raw("fidlist", '{"big":"' + "x" * 1000 + '"}')
        _, page = raw_request(self.server, "GET", "/v1/jobs?queue=fidlist")
        self.assertIn(job_id.encode(), page)
        self.assertNotIn(b'"payload"', page)
        _, page = raw_request(self.server, "GET", "/v1/jobs?queue=fidlist&include=payload")
        self.assertIn(b'"payload":{"big":', page)
        status, body = raw_request(self.server, "GET", "/v1/jobs?include=everything")
        self.assertEqual(status, 400, body)
        self.assertEqual(json.loads(body)["error"]["field"], "include")


class UnreadableRowTest(ErrandTestCase):
    """A row written by an older version (`Infinity` in its payload) or damaged
    on disk: its read answers a clear error naming it; lists and claims of its
    queue and of others go on; it is counted in /v1/stats and can be deleted."""

    def test_an_unreadable_row_takes_down_nothing_but_itself(self):
        with ErrandServer() as server:
            bad = server.enqueue("poisoned", payload={"n": 1})["id"]
            good = server.enqueue("poisoned", payload={"n": 2})["id"]
            other = server.enqueue("healthy", payload={"n": 3})["id"]
            listed = server.enqueue("poisoned", payload={"n": 4})["id"]
            server.stop()
            db = sqlite3.connect(os.path.join(server.data_dir, "errand.db"))
            rowid = db.execute("SELECT id FROM jobs ORDER BY id LIMIT 1").fetchone()[0]
            db.execute("UPDATE jobs SET payload = '{\"n\":Infinity}' WHERE id = ?", (rowid,))
            db.commit()
            db.close()
            server.start()

            resp = server.request("GET", f"/v1/jobs/{bad}")
            self.assertEqual(resp.status, 500, resp.body)
            message = resp.body["error"]["message"]
            self.assertIn(bad, message)
            self.assertIn("DELETE /v1/jobs/" + bad, message)
            self.assertNotIn(".hpp", message)
            self.assertNotIn("boost", message)

            resp = server.request("GET", "/v1/jobs?limit=50&include=payload")
            self.assertEqual(resp.status, 200, resp.body)
            ids = [j["id"] for j in resp.body["jobs"]]
            self.assertNotIn(bad, ids)
            self.assertIn(listed, ids)

            resp = server.request("POST", "/v1/claim",
                                  {"queues": ["poisoned", "healthy"], "worker": "w", "max": 5})
            self.assertEqual(resp.status, 200, resp.body)
            claimed = sorted(j["id"] for j in resp.body["jobs"])
            self.assertEqual(claimed, sorted([good, listed, other]))

            stats = server.request("GET", "/v1/stats")
            self.assertEqual(stats.status, 200, stats.body)
            self.assertEqual(stats.body["unreadable_jobs"], 1)
            self.assertEqual(server.log_text().count(f"job {bad} of queue poisoned cannot be read"), 1)

            resp = server.request("DELETE", f"/v1/jobs/{bad}")
            self.assertEqual(resp.status, 200, resp.body)
            self.assertEqual(server.request("GET", f"/v1/jobs/{bad}").status, 404)


if __name__ == "__main__":
    unittest.main()
