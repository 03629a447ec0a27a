"""W3C trace context and span export (docs/API.md "Trace context"): a
traceparent given at enqueue (header, or field) is kept with the job, shown
on it and on the claim, sent on push calls and completion webhooks, handed
to `errand work`'s command as TRACEPARENT and written in the job's debug log
lines; with --otlp-endpoint every attempt becomes one OTLP/JSON span under
the enqueue's span, which a receiver in this test checks.
"""

import itertools
import json
import re
import sys
import unittest

from harness import ErrandServer, SharedServerTestCase, poll_until
from push_endpoint import PushEndpoint
from work_harness import WorkerProcess

_counter = itertools.count(1)

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"
TRACESTATE = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"

# The collector stand-in: every export call is recorded (PushEndpoint, path /v1/traces).
COLLECTOR = PushEndpoint((200, {}, {}), path="/v1/traces")


def attributes(items):
    """An OTLP attribute list as {key: value} (intValue as int)."""
    out = {}
    for a in items:
        v = a["value"]
        out[a["key"]] = int(v["intValue"]) if "intValue" in v else v.get("stringValue")
    return out


def setUpModule():
    COLLECTOR.start()


def tearDownModule():
    COLLECTOR.stop()


class TraceTest(SharedServerTestCase):
    @classmethod
    def make_server(cls):
        return ErrandServer(extra_args=["--push-allow-private", "--log-level", "debug",
                                        "--otlp-endpoint", COLLECTOR.url,
                                        "--otlp-header", "x-collector-key=k1"])

    def setUp(self):
        super().setUp()
        self.q = f"trace{next(_counter)}"

    def endpoint(self, behaviour=(200, {}, {})):
        ep = PushEndpoint(behaviour).start()
        self.addCleanup(ep.stop)
        return ep

    def enqueue(self, body, headers=None, queue=None):
        r = self.server.request("POST", "/v1/jobs", dict(body, queue=queue or self.q),
                                headers=headers)
        return self.assertStatus(r, 202, "enqueue")["id"]

    def spans(self):
        out = []
        for call in COLLECTOR.calls[:]:
            for rs in (call.body or {}).get("resourceSpans", []):
                for ss in rs["scopeSpans"]:
                    for span in ss["spans"]:
                        out.append((call, rs, span))
        return out

    def span_of(self, job_id, attempt=1):
        def found():
            for call, rs, span in self.spans():
                attrs = attributes(span["attributes"])
                if attrs.get("errand.job.id") == job_id and attrs.get("errand.attempt") == attempt:
                    return call, rs, span
            return None
        return poll_until(found, 30, message=f"the span of {job_id} attempt {attempt}")

    def wait_state(self, job_id, *states):
        def reached():
            job = self.server.get_job(job_id)
            return job if job["state"] in states else None
        return poll_until(reached, 30, interval=0.02, message=f"job {job_id} to be {states}")

    # ---- enqueue, read, claim ------------------------------------------------

    def test_a_traceparent_header_travels_from_enqueue_to_claim_log_and_span(self):
        job_id = self.enqueue({"type": "send", "payload": {"n": 1}},
                              headers={"traceparent": TRACEPARENT, "tracestate": TRACESTATE})
        self.assertEqual(self.server.get_job(job_id)["trace"],
                         {"traceparent": TRACEPARENT, "tracestate": TRACESTATE})
        job = self.server.claim_one(self.q)
        self.assertEqual(job["id"], job_id)
        self.assertEqual(job["trace"], {"traceparent": TRACEPARENT, "tracestate": TRACESTATE})
        self.server.complete(job, {"ok": True})

        # The transition lines name the job and its trace id, never its lease.
        def lines():
            text = self.server.log_text()
            found = [l for l in text.splitlines() if f"job {job_id} " in l]
            return found if any(" completed " in l for l in found) else None
        found = poll_until(lines, 10, message="the job's log lines")
        events = [re.search(rf"job {job_id} (\S+)", l).group(1) for l in found]
        self.assertEqual(events, ["enqueued", "claimed", "completed"], found)
        for line in found:
            self.assertIn(f"queue={self.q}", line)
            self.assertIn(f"trace_id={TRACE_ID}", line)
            self.assertNotIn(job["lease_id"], line)
        self.assertIn("attempt=1", found[1])

        call, rs, span = self.span_of(job_id)
        self.assertEqual(call.path, "/v1/traces")
        self.assertEqual(call.headers.get("content-type"), "application/json")
        self.assertEqual(call.headers.get("x-collector-key"), "k1")
        resource = attributes(rs["resource"]["attributes"])
        self.assertEqual(resource["service.name"], "errand")
        self.assertTrue(resource["service.version"])
        self.assertEqual(span["traceId"], TRACE_ID)
        self.assertEqual(span["parentSpanId"], PARENT_ID)
        self.assertRegex(span["spanId"], r"^[0-9a-f]{16}$")
        self.assertNotEqual(span["spanId"], PARENT_ID)
        self.assertEqual(span["kind"], 5)
        self.assertEqual(span["name"], "errand.job send")
        self.assertLessEqual(int(span["startTimeUnixNano"]), int(span["endTimeUnixNano"]))
        self.assertNotIn("status", span)
        attrs = attributes(span["attributes"])
        self.assertEqual(attrs["errand.queue"], self.q)
        self.assertEqual(attrs["errand.job.type"], "send")
        self.assertEqual(attrs["errand.outcome"], "succeeded")
        self.assertGreaterEqual(attrs["errand.queue_wait_ms"], 0)
        self.assertGreaterEqual(attrs["errand.run_ms"], 0)

    def test_a_failed_attempt_has_an_error_status_and_the_retry_its_own_span(self):
        job_id = self.enqueue({"traceparent": TRACEPARENT, "max_attempts": 2})
        self.server.fail(self.server.claim_one(self.q), error="smtp down", retry_in="0s")
        self.server.fail(self.server.claim_one(self.q), error="still down")
        self.assertEqual(self.wait_state(job_id, "dead")["state"], "dead")
        for attempt, outcome, message in ((1, "failed", "smtp down"), (2, "dead", "still down")):
            _, _, span = self.span_of(job_id, attempt)
            self.assertEqual(span["traceId"], TRACE_ID)
            self.assertEqual(span["parentSpanId"], PARENT_ID)
            self.assertEqual(span["status"], {"code": 2, "message": message})
            self.assertEqual(attributes(span["attributes"])["errand.outcome"], outcome)
            self.assertEqual(span["name"], f"errand.job {self.q}")  # no type: the queue

    def test_a_job_without_trace_gets_a_span_of_a_fresh_trace(self):
        job_id = self.enqueue({})
        self.assertNotIn("trace", self.server.get_job(job_id))
        job = self.server.claim_one(self.q)
        self.assertNotIn("trace", job)
        self.server.complete(job)
        _, _, span = self.span_of(job_id)
        self.assertRegex(span["traceId"], r"^[0-9a-f]{32}$")
        self.assertNotEqual(span["traceId"], TRACE_ID)
        self.assertNotIn("parentSpanId", span)

    def test_batch_items_keep_their_own_trace_and_the_header_fills_the_rest(self):
        own = f"00-{'ab' * 16}-{'cd' * 8}-00"
        r = self.server.request("POST", "/v1/jobs/batch",
                                {"jobs": [{"queue": self.q, "traceparent": own},
                                          {"queue": self.q}]},
                                headers={"traceparent": TRACEPARENT})
        ids = [j["id"] for j in self.assertStatus(r, 202, "batch")["jobs"]]
        self.assertEqual(self.server.get_job(ids[0])["trace"], {"traceparent": own})
        self.assertEqual(self.server.get_job(ids[1])["trace"], {"traceparent": TRACEPARENT})

    def test_a_bad_traceparent_field_is_refused_and_a_bad_header_ignored(self):
        for body, field in (({"traceparent": "00-nope"}, "traceparent"),
                            ({"traceparent": f"00-{'0' * 32}-{PARENT_ID}-01"}, "traceparent"),
                            ({"traceparent": f"ff-{TRACE_ID}-{PARENT_ID}-01"}, "traceparent"),
                            ({"traceparent": 7}, "traceparent"),
                            ({"tracestate": "a=1"}, "tracestate"),
                            ({"traceparent": TRACEPARENT, "tracestate": "a=\u00e9"}, "tracestate")):
            r = self.server.request("POST", "/v1/jobs", dict(body, queue=self.q))
            self.assertError(r, 400, "invalid_argument", field)
            self.assertIn(field, r.body["error"]["message"])
        r = self.server.request("POST", "/v1/jobs/batch",
                                {"jobs": [{"queue": self.q}, {"queue": self.q, "traceparent": "x"}]})
        self.assertError(r, 400, "invalid_argument", "jobs[1].traceparent")
        self.assertEqual(self.server.counts(self.q).get("queued", 0), 0, "a refused enqueue adds nothing")
        job_id = self.enqueue({}, headers={"traceparent": "00-garbage", "tracestate": "a=1"})
        self.assertNotIn("trace", self.server.get_job(job_id))
        later = self.enqueue({}, headers={"traceparent": f"01-{TRACE_ID}-{PARENT_ID}-01-more"})
        self.assertEqual(self.server.get_job(later)["trace"],
                         {"traceparent": f"01-{TRACE_ID}-{PARENT_ID}-01"})

    # ---- push calls, webhooks, errand work -------------------------------------

    def test_push_calls_and_the_completion_webhook_carry_the_trace_headers(self):
        push = self.endpoint((200, {}, {"done": True}))
        hook = self.endpoint()
        self.assertStatus(self.server.request("PUT", f"/v1/queues/{self.q}",
                                              {"push": {"url": push.url}}), 200)
        job_id = self.enqueue({"on_done": {"url": hook.url}},
                              headers={"traceparent": TRACEPARENT, "tracestate": TRACESTATE})
        call = push.wait_calls(1)[0]
        self.assertEqual(call.headers.get("traceparent"), TRACEPARENT)
        self.assertEqual(call.headers.get("tracestate"), TRACESTATE)
        self.assertEqual(call.body["job"]["trace"]["traceparent"], TRACEPARENT)
        self.wait_state(job_id, "succeeded")
        webhook = hook.wait_calls(1)[0]
        self.assertEqual(webhook.headers.get("traceparent"), TRACEPARENT)
        self.assertEqual(webhook.headers.get("tracestate"), TRACESTATE)
        _, _, span = self.span_of(job_id)
        self.assertEqual(span["parentSpanId"], PARENT_ID)
        # A job without trace: no trace headers.
        plain = self.enqueue({})
        poll_until(lambda: push.calls_for(plain), 30, message="the plain job's push call")
        self.assertNotIn("traceparent", push.calls_for(plain)[0].headers)

    def test_errand_work_hands_the_trace_to_its_command(self):
        script = ("import json, os; print('::result ' + json.dumps("
                  "{k: os.environ.get(k) for k in ('TRACEPARENT', 'TRACESTATE')}))")
        w = WorkerProcess(self.server, [self.q], command=(sys.executable, "-c", script))
        self.addCleanup(w.kill)
        job_id = self.enqueue({"traceparent": TRACEPARENT, "tracestate": TRACESTATE})
        job = self.wait_state(job_id, "succeeded")
        self.assertEqual(job["result"], {"TRACEPARENT": TRACEPARENT, "TRACESTATE": TRACESTATE})
        self.assertEqual(w.stop(), 0, w.describe())


class TraceJsonLogTest(SharedServerTestCase):
    @classmethod
    def make_server(cls):
        return ErrandServer(extra_args=["--log-level", "debug", "--log-format", "json"])

    def test_json_transition_lines_are_objects_without_secrets(self):
        q = f"tracejson{next(_counter)}"
        r = self.server.request("POST", "/v1/jobs", {"queue": q, "payload": {"card": "pay-secret-1"}},
                                headers={"traceparent": TRACEPARENT})
        job_id = self.assertStatus(r, 202, "enqueue")["id"]
        job = self.server.claim_one(q)
        self.server.fail(job, error="nope", retry=False)

        def lines():
            parsed = [json.loads(l) for l in self.server.log_text().splitlines() if l.startswith("{")]
            mine = [p for p in parsed if p.get("msg") == "job" and p.get("job_id") == job_id]
            return mine if any(p["event"] == "dead" for p in mine) else None
        mine = poll_until(lines, 10, message="the job's JSON log lines")
        self.assertEqual([p["event"] for p in mine], ["enqueued", "claimed", "dead"])
        for p in mine:
            self.assertEqual(p["level"], "debug")
            self.assertEqual(p["queue"], q)
            self.assertEqual(p["trace_id"], TRACE_ID)
        self.assertEqual(mine[1]["attempt"], 1)
        text = self.server.log_text()
        self.assertNotIn(job["lease_id"], text)
        self.assertNotIn("pay-secret-1", text)


if __name__ == "__main__":
    unittest.main()
