"""Push delivery (docs/API.md, "Push delivery (serverless)"): the server calls
an HTTP endpoint with each job of a push queue and records the answer.

The endpoint is tests/integration/push_endpoint.py, in this process, told per
test how to answer. Covered: the call (headers, signature, body), the answers
(2xx, 5xx, Errand-No-Retry, 429/503 with Retry-After, redirects, continue
chains with state, progress and delay), time-outs and refused connections,
push concurrency, push queues and claims, back to pull mode, the
private-address guard, HTTPS with a test CA, the push-secret endpoints and
rotation, progress from inside a call authorized by the lease, validation of
`push`, both examples/push handlers run by a real server, and the README
commands. Waits poll with a deadline; a held call is released at clean-up.
"""

import email.utils
import hmac
import itertools
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

from harness import Connection, ErrandServer, SharedServerTestCase, dead_url, log, parse_time, poll_until
from push_endpoint import (PushEndpoint, free_port, make_test_certs, parse_signature, sign,
                           signature_valid)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ALLOW_PRIVATE = ["--push-allow-private"]
ADMIN, PRODUCER, WORKER = "admin-secret-0123456789", "producer-secret-0123456789", "worker-secret-0123456789"
KEYS = (("admin", ADMIN), ("producer", PRODUCER), ("worker", WORKER))
_counter = itertools.count()


def ok(body=None, headers=None):
    return (200, headers or {}, body)


def continue_with(state, **fields):
    return (202, {}, {"continue": dict(fields, state=state)})


class PushCase(SharedServerTestCase):
    @classmethod
    def make_server(cls):
        return ErrandServer(extra_args=ALLOW_PRIVATE)

    def setUp(self):
        super().setUp()
        self.q = f"push{next(_counter)}"

    def endpoint(self, behaviour=ok({}), **kw):
        ep = PushEndpoint(behaviour, **kw).start()
        self.addCleanup(ep.stop)
        return ep

    def put_queue(self, body, queue=None, server=None):
        return (server or self.server).request("PUT", f"/v1/queues/{queue or self.q}", body)

    def put_push(self, url, queue=None, server=None, **push):
        body = {"push": dict(push, url=url)}
        return self.assertStatus(self.put_queue(body, queue, server), 200, f"PUT {body}")

    def secret(self, queue=None, server=None):
        resp = (server or self.server).request("GET", f"/v1/queues/{queue or self.q}/push-secret")
        return self.assertStatus(resp, 200, "GET push-secret")["secret"]

    def push_queue(self, ep, **push):
        """Points the test's queue at `ep` and has `ep` check signatures."""
        self.put_push(ep.url, **push)
        ep.secret = self.secret()
        return ep.secret

    def wait_state(self, job_id, *states, timeout=30, server=None):
        server = server or self.server

        def reached():
            job = server.get_job(job_id)
            return job if job["state"] in states else None
        return poll_until(reached, timeout, message=f"job {job_id} to be {states}")

    def assertCallsSigned(self, ep):
        self.assertTrue(ep.calls)
        self.assertEqual([c.signature_ok for c in ep.calls], [True] * len(ep.calls), ep.calls)


class CallAndAnswerTest(PushCase):
    """What a call carries, and what each kind of answer does to the job."""

    def test_a_2xx_answer_succeeds_with_the_body_as_result(self):
        ep = self.endpoint(ok({"sent": True, "to": "ada"}))
        queue = self.put_push(ep.url, headers={"x-token": "tok-0123"})
        self.assertEqual(queue["config"]["push"], {"url": ep.url, "timeout": "30s", "concurrency": 10,
                                                   "headers": {"x-token": "***"}})
        secret = self.secret()
        self.assertTrue(secret.startswith("whsec_"), secret)
        before = time.time()
        jid = self.server.enqueue(self.q, type="welcome", payload={"to": "ada"}, tags=["signup"])["id"]
        job = self.wait_state(jid, "succeeded")
        after = time.time()
        self.assertEqual(job["result"], {"sent": True, "to": "ada"})
        self.assertEqual((job["attempt"], job["errors"]), (1, []))

        [call] = ep.calls
        h = call.headers
        self.assertEqual((call.method, call.path), ("POST", "/hook"))
        self.assertTrue(h.get("content-type", "").startswith("application/json"), h)
        self.assertTrue(h.get("user-agent", "").startswith("errand"), h)
        self.assertEqual(h.get("errand-job-id"), jid)
        self.assertEqual(h.get("errand-attempt"), "1")
        self.assertEqual(h.get("x-token"), "tok-0123")
        t, v1 = parse_signature(h.get("errand-signature"))
        self.assertRegex(t or "", r"^[0-9]+$", h)
        self.assertLessEqual(int(before) - 1, int(t))
        self.assertLessEqual(int(t), after + 1)
        self.assertEqual(len(v1), 1, h)
        self.assertRegex(v1[0], r"^[0-9a-f]{64}$")
        self.assertTrue(hmac.compare_digest(v1[0], sign(secret, t, call.raw)), "signature does not verify")

        body = call.body
        self.assertEqual(set(body), {"job", "lease_id", "attempt", "continuation", "state",
                                     "signal_url"}, body)
        self.assertEqual((body["attempt"], body["continuation"], body["state"]), (1, 0, None))
        self.assertIsInstance(body["lease_id"], str)
        self.assertTrue(body["lease_id"])
        sent = body["job"]
        self.assertEqual((sent["id"], sent["state"], sent["attempt"]), (jid, "running", 1))
        for key in ("queue", "type", "payload", "priority", "max_attempts", "timeout", "tags",
                    "idempotency_key", "created_at"):
            self.assertEqual(sent.get(key), job[key], key)
        # The job as GET renders it: every field (but those an ended attempt adds).
        self.assertLessEqual(set(job) - {"log", "push"}, set(sent), sent)

    def test_an_empty_or_non_json_body_gives_a_null_result(self):
        def behaviour(call):
            kind = call.body["job"]["payload"]["kind"]
            return (204, {}, None) if kind == "empty" else (200, {"Content-Type": "text/plain"}, "thanks!")
        self.push_queue(self.endpoint(behaviour))
        for kind in ("empty", "text"):
            jid = self.server.enqueue(self.q, payload={"kind": kind})["id"]
            job = self.wait_state(jid, "succeeded")
            self.assertIsNone(job["result"], kind)

    def test_a_500_is_a_failed_attempt_and_the_job_is_retried(self):
        ep = self.endpoint(lambda call: (500, {}, "database is down") if call.index == 0 else ok({"ok": True}))
        self.push_queue(ep)
        jid = self.server.enqueue(self.q)["id"]
        job = self.wait_state(jid, "succeeded")
        self.assertEqual(job["attempt"], 2)
        self.assertEqual(job["result"], {"ok": True})
        self.assertEqual(len(job["errors"]), 1, job["errors"])
        self.assertEqual(job["errors"][0]["attempt"], 1)
        self.assertTrue(job["errors"][0]["message"].startswith("HTTP 500"), job["errors"])
        self.assertIn("database is down", job["errors"][0]["message"])
        first, second = ep.calls
        self.assertEqual([c.headers["errand-attempt"] for c in ep.calls], ["1", "2"])
        self.assertEqual([c.body["attempt"] for c in ep.calls], [1, 2])
        self.assertNotEqual(first.body["lease_id"], second.body["lease_id"])
        self.assertCallsSigned(ep)

    def test_errand_no_retry_makes_the_job_dead_after_one_call(self):
        ep = self.endpoint((422, {"Errand-No-Retry": "true"}, {"error": "no such account"}))
        self.push_queue(ep)
        jid = self.server.enqueue(self.q, max_attempts=5)["id"]
        job = self.wait_state(jid, "dead")
        self.assertEqual(job["attempt"], 1)
        self.assertTrue(job["errors"][0]["message"].startswith("HTTP 422"), job["errors"])
        self.assertIn("no such account", job["errors"][0]["message"])
        self.assertEqual(len(ep.calls), 1)

    def test_429_with_retry_after_calls_again_without_counting_an_attempt(self):
        ep = self.endpoint(lambda call: (429, {"Retry-After": "1"}, "slow down") if call.index == 0
                           else ok({"ok": True}))
        self.push_queue(ep)
        jid = self.server.enqueue(self.q)["id"]
        job = self.wait_state(jid, "succeeded")
        self.assertEqual((job["attempt"], job["errors"]), (1, []))
        first, second = ep.calls
        self.assertEqual(second.headers["errand-attempt"], "1")
        waited = second.arrived - first.arrived
        log(f"429 Retry-After: 1 -> called again after {waited:.2f}s")
        self.assertGreaterEqual(waited, 0.8)

    def test_503_with_an_http_date_retry_after_calls_again_then(self):
        def behaviour(call):
            if call.index == 0:
                return (503, {"Retry-After": email.utils.formatdate(time.time() + 2, usegmt=True)}, "")
            return ok({"ok": True})
        ep = self.endpoint(behaviour)
        self.push_queue(ep)
        jid = self.server.enqueue(self.q)["id"]
        job = self.wait_state(jid, "succeeded")
        self.assertEqual((job["attempt"], job["errors"]), (1, []))
        first, second = ep.calls
        # An HTTP date has whole seconds: "now + 2s" is at least 1s away.
        self.assertGreaterEqual(second.arrived - first.arrived, 0.8)

    def test_three_429s_in_a_row_count_as_one_failed_attempt(self):
        ep = self.endpoint(lambda call: (429, {"Retry-After": "1"}, "busy") if call.index < 3 else ok({}))
        self.push_queue(ep)
        jid = self.server.enqueue(self.q)["id"]
        job = self.wait_state(jid, "succeeded")
        self.assertEqual(job["attempt"], 2)
        self.assertEqual(len(job["errors"]), 1, job["errors"])
        self.assertTrue(job["errors"][0]["message"].startswith("HTTP 429"), job["errors"])
        self.assertEqual([c.headers["errand-attempt"] for c in ep.calls], ["1", "1", "1", "2"])

    def test_a_redirect_or_a_404_is_a_failed_attempt(self):
        target = self.endpoint(ok({"wrong": "place"}))
        for status, headers in ((302, {"Location": target.url}), (404, {})):
            with self.subTest(status=status):
                ep = self.endpoint((status, headers, "moved" if status == 302 else "no route"))
                queue = f"{self.q}-{status}"
                self.put_push(ep.url, queue=queue)
                jid = self.server.enqueue(queue, max_attempts=1)["id"]
                job = self.wait_state(jid, "dead")
                self.assertTrue(job["errors"][0]["message"].startswith(f"HTTP {status}"), job["errors"])
        self.assertEqual(target.calls, [], "a redirect is not followed")

    def test_a_call_that_outlasts_push_timeout_is_a_failed_attempt(self):
        ep = self.endpoint()
        ep.behaviour = ep.hold()  # released when the test ends
        self.push_queue(ep, timeout="1s")
        start = time.monotonic()
        jid = self.server.enqueue(self.q, max_attempts=1)["id"]
        job = self.wait_state(jid, "dead")
        took = time.monotonic() - start
        message = job["errors"][0]["message"]
        log(f"time-out error after {took:.2f}s: {message}")
        self.assertTrue(message.startswith("push:"), message)
        self.assertIn("1s", message)
        self.assertRegex(message.lower(), r"no response|time")
        self.assertLess(took, 10, "the call ends at push.timeout, not at the lease's end")
        self.assertEqual(len(ep.calls), 1)

    def test_a_refused_connection_is_a_failed_attempt(self):
        port = free_port()
        self.put_push(f"http://127.0.0.1:{port}/hook")
        jid = self.server.enqueue(self.q, max_attempts=1)["id"]
        job = self.wait_state(jid, "dead")
        message = job["errors"][0]["message"]
        self.assertTrue(message.startswith("push:"), message)
        self.assertIn("refused", message.lower())
        self.assertIn(str(port), message)


class ContinuationTest(PushCase):
    def test_a_chain_of_20_continues_carries_state_and_progress(self):
        # 20 calls answer continue (continuation 0..19), the 21st succeeds.
        ep = self.endpoint()

        def behaviour(call):
            c = call.continuation
            if c == 10:
                ep.release.wait(30)  # the test reads the job mid-chain
            if c < 20:
                return continue_with({"step": c + 1, "trail": list(range(c + 1))},
                                     progress={"percent": (c + 1) * 5, "message": f"step {c + 1}/20"})
            return ok({"steps": 20})
        ep.behaviour = behaviour
        self.push_queue(ep)
        jid = self.server.enqueue(self.q, payload={"chain": True})["id"]

        poll_until(lambda: len(ep.calls) >= 11, 30, message="the 11th call")
        mid = self.server.get_job(jid)
        self.assertEqual(mid["state"], "running")
        self.assertEqual((mid["progress"]["percent"], mid["progress"]["message"]), (50, "step 10/20"))
        def state_bytes(c):  # the state of the c-th continuation, stored minified
            return len(json.dumps({"step": c, "trail": list(range(c))}, separators=(",", ":")))
        self.assertEqual(mid.get("push"), {"continuations": 10, "state_bytes": state_bytes(10)})
        ep.release.set()

        job = self.wait_state(jid, "succeeded")
        self.assertEqual(job["result"], {"steps": 20})
        self.assertEqual(job.get("push"), {"continuations": 20, "state_bytes": state_bytes(20)})
        self.assertEqual((job["progress"]["percent"], job["progress"]["message"]), (100, "step 20/20"))
        self.assertEqual((job["attempt"], job["errors"]), (1, []))
        calls = ep.calls
        self.assertEqual([c.continuation for c in calls], list(range(21)))
        self.assertIsNone(calls[0].state)
        for c in calls[1:]:
            self.assertEqual(c.state, {"step": c.continuation, "trail": list(range(c.continuation))})
        self.assertEqual({(c.job_id, c.headers["errand-attempt"], c.body["attempt"]) for c in calls},
                         {(jid, "1", 1)})
        self.assertCallsSigned(ep)

    def test_continue_with_a_delay_waits_scheduled(self):
        ep = self.endpoint(lambda call: continue_with({"n": 1}, delay="1s", progress={"percent": 30})
                           if call.continuation == 0 else ok({"done": True}))
        self.push_queue(ep)
        jid = self.server.enqueue(self.q)["id"]
        waiting = self.wait_state(jid, "scheduled", "succeeded")
        self.assertEqual(waiting["state"], "scheduled", "between calls the job waits for the delay")
        self.assertEqual(waiting["progress"]["percent"], 30)
        job = self.wait_state(jid, "succeeded")
        self.assertEqual(job["result"], {"done": True})
        first, second = ep.calls
        self.assertEqual((second.continuation, second.state), (1, {"n": 1}))
        self.assertGreaterEqual(second.arrived - first.arrived, 0.8)

    def test_a_continue_that_waits_for_a_signal_resumes_with_its_body(self):
        urls = []

        def behaviour(call):
            if call.continuation == 0:
                urls.append(call.body["signal_url"])  # the handler hands it to the bank
                return (202, {}, {"continue": {"state": {"charge": "ch_9"},
                                               "signal": {"timeout": "1h"}}})
            return ok({"shipped": call.body["signal"]["paid"], "state": call.state})
        ep = self.endpoint(behaviour)
        self.push_queue(ep)
        jid = self.server.enqueue(self.q)["id"]
        waiting = self.wait_state(jid, "waiting", "succeeded")
        self.assertEqual(waiting["state"], "waiting")
        self.assertEqual(waiting["signal"]["status"], "waiting")
        self.assertEqual(waiting["signal"]["url"], urls[0])
        self.assertEqual(len(ep.calls), 1)
        # The bank's webhook: no key, just the URL.
        self.assertStatus(self.server.request("POST", urls[0], {"paid": True}, key=None), 200)
        self.assertError(self.server.request("POST", urls[0], {"paid": True}, key=None), 409,
                         "conflict", "signal")
        job = self.wait_state(jid, "succeeded")
        self.assertEqual(job["result"], {"shipped": True, "state": {"charge": "ch_9"}})
        second = ep.calls[1]
        self.assertEqual(second.body["signal"], {"paid": True})
        self.assertEqual(second.continuation, 1)
        self.assertNotEqual(second.body["signal_url"], urls[0])  # each call offers a fresh one
        self.assertCallsSigned(ep)

    def test_a_completion_webhook_is_retried_until_a_2xx_then_never_again(self):
        # The app's backend: fails twice, then takes it.
        ep = self.endpoint(lambda call: (500, {}, "not yet") if call.index < 2 else ok({}))
        q = f"{self.q}-pull"
        jid = self.server.enqueue(q, payload={"report": 7}, on_done={"url": ep.url})["id"]
        self.assertEqual(self.server.get_job(jid)["on_done"], {"url": ep.url})
        job = self.server.claim_one(q)
        self.server.complete(job, {"rows": 3})
        delivered = poll_until(
            lambda: (lambda j: j if j["on_done"].get("state") == "delivered" else None)(
                self.server.get_job(jid)), 30, message="the webhook delivered")
        self.assertEqual(delivered["on_done"]["attempts"], 3)
        self.assertEqual(delivered["on_done"]["last_status"], 200)
        self.assertEqual(len(ep.calls), 3)
        calls = ep.calls
        self.assertEqual([c.headers["errand-event"] for c in calls], ["job.succeeded"] * 3)
        self.assertEqual({c.body["id"] for c in calls}, {jid})
        self.assertEqual(calls[0].body["result"], {"rows": 3})
        self.assertGreaterEqual(calls[2].arrived - calls[1].arrived, 1.5)  # 1 s, then 2 s
        secret = self.assertStatus(self.server.request("GET", f"/v1/queues/{q}/push-secret"),
                                   200)["secret"]
        for c in calls:
            self.assertTrue(signature_valid(c.headers["errand-signature"], c.raw, secret))
        # Delivered: no more calls, however long one waits for the next tick.
        self.server.enqueue(q)  # other work goes on
        self.server.complete(self.server.claim_one(q))
        self.assertEqual(len(ep.calls), 3)
        self.assertEqual(self.server.get_job(jid)["on_done"]["state"], "delivered")

    def test_a_queue_default_webhook_goes_to_each_job_that_names_none(self):
        ep = self.endpoint(lambda call: ok({}))
        own = self.endpoint(lambda call: ok({}))
        q = f"{self.q}-hooked"
        put = self.assertStatus(self.server.request(
            "PUT", f"/v1/queues/{q}", {"defaults": {"on_done": {"url": ep.url}}}), 200)
        self.assertEqual(put["config"]["defaults"]["on_done"], {"url": ep.url})
        plain = self.server.enqueue(q, payload={"n": 1})["id"]
        mine = self.server.enqueue(q, payload={"n": 2}, on_done={"url": own.url})["id"]
        self.assertEqual(self.server.get_job(plain)["on_done"], {"url": ep.url})
        for _ in range(2):
            self.server.complete(self.server.claim_one(q))
        poll_until(lambda: len(ep.calls) == 1 and len(own.calls) == 1, 30,
                   message="each job's webhook delivered")
        self.assertEqual(ep.calls[0].body["id"], plain)
        self.assertEqual(own.calls[0].body["id"], mine)
        # Taken off the queue: new jobs get none; the one already enqueued keeps its own.
        self.assertStatus(self.server.request("PUT", f"/v1/queues/{q}", {}), 200)
        later = self.server.enqueue(q)["id"]
        self.assertNotIn("on_done", self.server.get_job(later))

    def test_bad_on_done_is_refused_naming_the_field(self):
        for on_done, field in [("https://x", "on_done"), ({}, "on_done.url"),
                               ({"url": "ftp://x"}, "on_done.url"),
                               ({"url": "https://x", "secret": "y"}, "on_done.secret")]:
            with self.subTest(on_done=on_done):
                self.assertError(self.server.request("POST", "/v1/jobs",
                                                     {"queue": self.q, "on_done": on_done}),
                                 400, "invalid_argument", field)
                self.assertError(self.server.request("PUT", f"/v1/queues/{self.q}-bad",
                                                     {"defaults": {"on_done": on_done}}),
                                 400, "invalid_argument", f"defaults.{field}")
        self.assertEqual(self.server.request("GET", f"/v1/queues/{self.q}-bad").status, 404)

    def test_a_failure_inside_a_chain_retries_that_call_with_its_state(self):
        def behaviour(call):
            if call.continuation == 0:
                return continue_with({"offset": 100})
            return (500, {}, "flaky") if call.index == 1 else ok({"imported": 200})
        ep = self.endpoint(behaviour)
        self.push_queue(ep)
        jid = self.server.enqueue(self.q)["id"]
        job = self.wait_state(jid, "succeeded")
        self.assertEqual(job["result"], {"imported": 200})
        self.assertEqual(job["attempt"], 2)
        self.assertEqual([(c.continuation, c.state, c.body["attempt"]) for c in ep.calls],
                         [(0, None, 1), (1, {"offset": 100}, 1), (1, {"offset": 100}, 2)])

    def test_an_invalid_continue_is_a_failed_attempt_naming_the_field(self):
        ep = self.endpoint(continue_with({"n": 1}, delay="soon"))
        self.push_queue(ep)
        jid = self.server.enqueue(self.q, max_attempts=1)["id"]
        job = self.wait_state(jid, "dead")
        self.assertIn("delay", job["errors"][0]["message"])


class DeliveryTest(PushCase):
    """Concurrency, claims, pull mode again, the examples, the README."""

    def test_push_concurrency_bounds_calls_in_flight(self):
        ep = self.endpoint()

        def behaviour(call):
            # Answer once 8 are in flight (or after 50 ms): the server has
            # every chance to go over the limit if it would.
            ep.wait_in_flight(8, 0.05)
            return ok({"i": call.body["job"]["payload"]["i"]})
        ep.behaviour = behaviour
        self.push_queue(ep, concurrency=8)
        start = time.monotonic()
        for batch in range(4):
            self.server.enqueue_batch([{"queue": self.q, "payload": {"i": batch * 250 + i}} for i in range(250)])
        poll_until(lambda: self.server.counts(self.q)["succeeded"] == 1000, 120, interval=0.1,
                   message="1000 jobs to succeed")
        log(f"1000 pushed jobs in {time.monotonic() - start:.2f}s, at most {ep.max_in_flight} in flight")
        self.assertLessEqual(ep.max_in_flight, 8)
        self.assertGreaterEqual(ep.max_in_flight, 2)
        self.assertEqual(len(ep.calls), 1000)
        self.assertEqual(len({c.job_id for c in ep.calls}), 1000)
        self.assertEqual(self.server.counts(self.q)["dead"] + self.server.counts(self.q)["failed"], 0)

    def test_the_queue_concurrency_limit_applies_to_push_too(self):
        ep = self.endpoint()

        def behaviour(call):
            ep.wait_in_flight(5, 0.05)
            return ok({})
        ep.behaviour = behaviour
        self.assertStatus(self.put_queue({"concurrency": 2, "push": {"url": ep.url, "concurrency": 5}}), 200)
        self.server.enqueue_batch([{"queue": self.q} for _ in range(20)])
        poll_until(lambda: self.server.counts(self.q)["succeeded"] == 20, 60, message="20 jobs to succeed")
        self.assertLessEqual(ep.max_in_flight, 2)

    def test_a_push_queues_jobs_are_not_handed_to_claim(self):
        ep = self.endpoint()
        ep.behaviour = ep.hold(ok({}))
        self.push_queue(ep, concurrency=1)
        first = self.server.enqueue(self.q)["id"]
        second = self.server.enqueue(self.q)["id"]
        ep.wait_calls(1)
        self.assertEqual(self.server.claim(self.q, wait="0s"), [])
        self.assertEqual(self.server.get_job(second)["state"], "queued")
        ep.release.set()
        self.wait_state(first, "succeeded")
        self.wait_state(second, "succeeded")
        self.assertEqual([c.job_id for c in ep.calls], [first, second])

    def test_put_without_push_returns_the_queue_to_pull_mode(self):
        ep = self.endpoint()
        ep.behaviour = ep.hold(ok({"pushed": True}))
        self.push_queue(ep, concurrency=1)
        first = self.server.enqueue(self.q)["id"]
        second = self.server.enqueue(self.q)["id"]
        ep.wait_calls(1)
        queue = self.assertStatus(self.put_queue({}), 200)
        self.assertIsNone(queue["config"]["push"])
        job = self.server.claim_one(self.q)
        self.assertEqual(job["id"], second)
        self.server.complete(job, {"pulled": True})
        ep.release.set()  # the call in flight finishes
        self.assertEqual(self.wait_state(first, "succeeded")["result"], {"pushed": True})
        self.assertEqual(self.server.get_job(second)["result"], {"pulled": True})
        self.assertEqual(len(ep.calls), 1)

    # ---- the examples ------------------------------------------------------

    def start_example(self, command, port, secret):
        log_dir = tempfile.mkdtemp(prefix="errand-push-example-")
        self.addCleanup(shutil.rmtree, log_dir, True)
        self.example_log = os.path.join(log_dir, "log")
        # A dead server first: the progress calls from inside a call go on to the live one.
        env = dict(os.environ, PORT=str(port), ERRAND_PUSH_SECRET=secret,
                   ERRAND_URL=f"{dead_url()},{self.server.url}")
        with open(self.example_log, "wb") as out:
            proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                    env=env)

        def stop():
            if proc.poll() is None:
                proc.kill()
            proc.wait(10)
        self.addCleanup(stop)

        def listening():
            if proc.poll() is not None:
                self.fail(f"{command} exited with {proc.returncode}:\n{self.example_output()}")
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                return True
            except OSError:
                return False
        poll_until(listening, 20, message=f"{command[-1]} to listen on {port}")

    def example_output(self):
        with open(self.example_log, encoding="utf-8", errors="replace") as f:
            return f.read()

    def post_to(self, port, call, signature):
        """POSTs a call straight to an example; signature: header value, or a function of the raw body."""
        raw = json.dumps(call).encode()
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["Errand-Signature"] = signature(raw) if callable(signature) else signature
        conn = Connection("127.0.0.1", port, timeout=10, check_openapi=False)  # the example app, not Errand
        try:
            return conn.request("POST", "/api/errand", raw, headers=headers)
        finally:
            conn.close()

    def check_example(self, command):
        port = free_port()
        self.put_push(f"http://127.0.0.1:{port}/api/errand")
        secret = self.secret()
        self.start_example(command, port, secret)

        jid = self.server.enqueue(self.q, payload={"rows": 50, "rows_per_call": 10})["id"]
        percents = []

        def done():
            job = self.server.get_job(jid)
            if job["progress"] is not None and job["progress"].get("percent") is not None:
                if not percents or percents[-1] != job["progress"]["percent"]:
                    percents.append(job["progress"]["percent"])
            return job if job["state"] in ("succeeded", "dead") else None
        job = poll_until(done, 30, message=f"job {jid} to end")
        self.assertEqual(job["state"], "succeeded", f"{job}\n{self.example_output()}")
        self.assertEqual(job["result"], {"imported": 50})
        self.assertEqual(job["push"]["continuations"], 4)
        self.assertGreater(job["push"]["state_bytes"], 0)
        self.assertEqual((job["attempt"], job["errors"]), (1, []))
        # The last call answers without progress: 100% is its in-call POST.
        self.assertEqual((job["progress"]["percent"], job["progress"]["message"]), (100, "imported 50/50 rows"))
        self.assertEqual(percents, sorted(percents), "progress only moves forward")

        bad = self.server.enqueue(self.q, payload={"columns": 3}, max_attempts=5)["id"]
        job = self.wait_state(bad, "dead")
        self.assertEqual(job["attempt"], 1)
        self.assertTrue(job["errors"][0]["message"].startswith("HTTP 422"), job["errors"])
        self.assertIn("expected a payload", job["errors"][0]["message"])

        # Straight to the handler: the steps, then forged and stale signatures.
        def signed(t=None, key=secret):
            def header(raw):
                when = str(int(time.time()) if t is None else t)
                return f"t={when},v1={sign(key, when, raw)}"
            return header

        state, answers = None, []
        for continuation in range(5):
            call = {"job": {"id": jid, "payload": {"rows": 50, "rows_per_call": 10}}, "lease_id": "gone",
                    "attempt": 1, "continuation": continuation, "state": state}
            status, answer, _ = self.post_to(port, call, signed())
            answers.append((status, answer))
            if status != 202:
                break
            state = answer["continue"]["state"]
        self.assertEqual([s for s, _ in answers], [202, 202, 202, 202, 200], answers)
        self.assertEqual([a["continue"]["progress"]["percent"] for _, a in answers[:4]], [20, 40, 60, 80])
        self.assertEqual(answers[3][1]["continue"]["state"], {"offset": 40})
        self.assertEqual(answers[4][1], {"imported": 50})

        first = {"job": {"id": jid, "payload": {"rows": 50, "rows_per_call": 10}}, "lease_id": "x",
                 "attempt": 1, "continuation": 0, "state": None}
        now = int(time.time())
        for what, signature in (("forged", signed(key="whsec_not-the-secret")),
                                ("10 minutes old", signed(t=now - 600)),
                                ("10 minutes ahead", signed(t=now + 600)),
                                ("missing", None),
                                ("malformed", "t=soon,v1=zz")):
            with self.subTest(signature=what):
                self.assertEqual(self.post_to(port, first, signature).status, 401)
        rotated = lambda raw: f"t={now},v1={sign('whsec_new', str(now), raw)},v1={sign(secret, str(now), raw)}"
        self.assertEqual(self.post_to(port, first, rotated).status, 202, "any v1 may match")

    def test_python_example_handler(self):
        self.check_example([sys.executable, os.path.join(ROOT, "examples", "push", "handler.py")])

    @unittest.skipUnless(shutil.which("node"), "node is not installed")
    def test_node_example_function(self):
        self.check_example([shutil.which("node"), os.path.join(ROOT, "examples", "push", "vercel-function.mjs")])

    # ---- the README ----------------------------------------------------------

    @unittest.skipUnless(shutil.which("curl"), "curl is not installed")
    def test_the_readme_serverless_commands_run(self):
        with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
            readme = f.read()
        section = readme.split("## Serverless: let Errand call your function", 1)[1].split("\n## ", 1)[0]
        block = re.findall(r"```sh\n(.*?)```", section, re.S)[0]
        lines = [line for line in block.splitlines() if line.startswith("curl ")]
        self.assertEqual(len(lines), 3, "configure, read the secret, enqueue")
        ep = self.endpoint(ok({"imported": 500}))
        example_url = re.search(r'"url": "([^"]+)"', lines[0]).group(1)
        hostport = self.server.url.split("//", 1)[1]
        answers = []
        for line in lines:
            line = line.replace("localhost:8740", hostport).replace(example_url, ep.url)
            out = subprocess.run(shlex.split(line), capture_output=True, text=True, timeout=30)
            self.assertEqual(out.returncode, 0, f"{line}\n{out.stderr}")
            answers.append(json.loads(out.stdout))
        self.assertEqual(answers[0]["config"]["push"]["url"], ep.url)
        secret = answers[1]["secret"]
        job = self.wait_state(answers[2]["id"], "succeeded")
        self.assertEqual(job["result"], {"imported": 500})
        [call] = ep.calls
        t, v1 = parse_signature(call.headers["errand-signature"])
        self.assertEqual(v1, [sign(secret, t, call.raw)])
        self.assertEqual(call.body["job"]["payload"], {"rows": 500})


class ValidationTest(PushCase):
    def test_bad_push_fields_are_400_naming_the_field_and_change_nothing(self):
        good = "https://app.example.com/api/errand"
        self.put_push(good, timeout="5s", concurrency=3, headers={"x-a": "1"})
        before = self.assertStatus(self.server.request("GET", f"/v1/queues/{self.q}"), 200)["config"]
        secret = self.secret()
        cases = [
            ({"url": "ftp://app.example.com/x"}, "push.url"),
            ({"url": "app.example.com/x"}, "push.url"),
            ({"url": "https://"}, "push.url"),
            ({"url": "https://user:pw@app.example.com/x"}, "push.url"),
            ({"url": "https://app.example.com/x#part"}, "push.url"),
            ({"url": "https://app.example.com/" + "a" * 2100}, "push.url"),
            ({"url": 42}, "push.url"),
            ({}, "push.url"),
            ({"url": good, "timeout": "500ms"}, "push.timeout"),
            ({"url": good, "timeout": "16m"}, "push.timeout"),
            ({"url": good, "timeout": "soon"}, "push.timeout"),
            ({"url": good, "concurrency": 0}, "push.concurrency"),
            ({"url": good, "concurrency": 1001}, "push.concurrency"),
            ({"url": good, "concurrency": "8"}, "push.concurrency"),
            ({"url": good, "retries": 3}, "push.retries"),
        ]
        for push, field in cases:
            with self.subTest(push=push):
                self.assertError(self.put_queue({"push": push}), 400, "invalid_argument", field=field)
        header_cases = [
            ({"Errand-Foo": "x"}, "errand-foo"),
            ({"Content-Type": "text/plain"}, "content-type"),
            ({"User-Agent": "me"}, "user-agent"),
            ({"Host": "elsewhere"}, "host"),
            ({"bad name": "x"}, "bad name"),
            ({"x-a": "line\nbreak"}, "x-a"),
            ({"x-a": 5}, "x-a"),
            ({"x-a": "v" * 4097}, "x-a"),
            ({f"x-{i}": "v" for i in range(33)}, ""),
        ]
        for headers, name in header_cases:
            with self.subTest(headers=list(headers)[:2]):
                err = self.assertError(self.put_queue({"push": {"url": good, "headers": headers}}), 400,
                                       "invalid_argument")
                self.assertTrue(str(err.get("field", "")).startswith("push.headers"), err)
                self.assertIn(name, (str(err.get("field")) + " " + err["message"]).lower(), err)
        self.assertError(self.put_queue({"push": good}), 400, "invalid_argument", field="push")
        after = self.assertStatus(self.server.request("GET", f"/v1/queues/{self.q}"), 200)["config"]
        self.assertEqual(after, before)
        self.assertEqual(self.secret(), secret)


class KeysTest(PushCase):
    """A server with keys: the push-secret endpoints, and progress by lease."""

    @classmethod
    def make_server(cls):
        return ErrandServer(keys=KEYS, extra_args=ALLOW_PRIVATE)

    def test_progress_from_inside_a_call_is_authorized_by_the_lease(self):
        seen = {}

        def behaviour(call):
            jid, lease = call.job_id, call.body["lease_id"]
            wrong = lease[:-1] + ("0" if lease[-1] != "0" else "1")
            conn = self.server.connection()
            try:
                path = f"/v1/jobs/{jid}/progress"
                seen["ok"] = conn.request("POST", path, {"lease_id": lease, "percent": 40, "message": "inside"},
                                          key=None)
                seen["wrong"] = conn.request("POST", path, {"lease_id": wrong, "percent": 90}, key=None)
                seen["progress"] = conn.request("GET", f"/v1/jobs/{jid}", key=ADMIN).body["progress"]
            finally:
                conn.close()
            return ok({"done": True})
        ep = self.endpoint(behaviour)
        self.push_queue(ep)
        self.assertError(self.server.request("GET", "/v1/queues", key=None), 401, "unauthorized")
        jid = self.server.enqueue(self.q)["id"]
        job = self.wait_state(jid, "succeeded")
        self.assertStatus(seen["ok"], 200, "progress with the call's lease and no key")
        self.assertError(seen["wrong"], 409, "conflict")
        self.assertEqual((seen["progress"]["percent"], seen["progress"]["message"]), (40, "inside"))
        self.assertEqual(job["progress"]["percent"], 40)
        stale = self.server.request("POST", f"/v1/jobs/{jid}/progress",
                                    {"lease_id": ep.calls[0].body["lease_id"], "percent": 99}, key=None)
        self.assertError(stale, 409, "conflict")

    def test_push_secret_endpoints_and_rotation(self):
        path = f"/v1/queues/{self.q}/push-secret"
        self.assertError(self.server.request("GET", path), 404, "not_found", field="queue")
        self.assertStatus(self.put_queue({"concurrency": 2}), 200)
        self.assertError(self.server.request("GET", path), 404, "not_found", field="queue")

        ep = self.endpoint(ok({}))
        self.put_push(ep.url)
        got = self.assertStatus(self.server.request("GET", path), 200)
        old = got["secret"]
        self.assertEqual(got, {"queue": self.q, "secret": old, "previous": None, "previous_expires_at": None})
        self.assertTrue(old.startswith("whsec_"), old)
        for key, status, code in ((PRODUCER, 403, "forbidden"), (WORKER, 403, "forbidden"),
                                  (None, 401, "unauthorized")):
            with self.subTest(key=key):
                self.assertError(self.server.request("GET", path, key=key), status, code)
                self.assertError(self.server.request("POST", path + "/rotate", key=key), status, code)
        for body, field in (({"keep_previous": "31d"}, "keep_previous"), ({"keep_previous": "soon"}, "keep_previous"),
                            ({"keep": "1h"}, "keep")):
            with self.subTest(body=body):
                self.assertError(self.server.request("POST", path + "/rotate", body), 400, "invalid_argument",
                                 field=field)
        self.assertEqual(self.secret(), old)

        rotated = self.assertStatus(self.server.request("POST", path + "/rotate", {"keep_previous": "1h"}), 200)
        new = rotated["secret"]
        self.assertNotEqual(new, old)
        self.assertEqual((rotated["queue"], rotated["previous"]), (self.q, old))
        self.assertAlmostEqual(parse_time(rotated["previous_expires_at"]), time.time() + 3600, delta=60)
        self.assertEqual(self.assertStatus(self.server.request("GET", path), 200), rotated)

        jid = self.server.enqueue(self.q)["id"]
        self.wait_state(jid, "succeeded")
        [call] = ep.calls
        t, v1 = parse_signature(call.headers["errand-signature"])
        self.assertEqual(v1, [sign(new, t, call.raw), sign(old, t, call.raw)], "new first, then previous")

        again = self.assertStatus(self.server.request("POST", path + "/rotate"), 200)
        self.assertEqual(again["previous"], new)
        self.assertAlmostEqual(parse_time(again["previous_expires_at"]), time.time() + 86400, delta=60)

        # Kept when push is removed and set again.
        self.assertStatus(self.put_queue({}), 200)
        self.assertEqual(self.secret(), again["secret"])
        self.put_push(ep.url)
        self.assertEqual(self.secret(), again["secret"])


class PrivateAddressTest(PushCase):
    """A server without --push-allow-private refuses loopback endpoints."""

    @classmethod
    def make_server(cls):
        return ErrandServer()

    def test_a_loopback_push_url_is_refused_when_the_queue_is_configured(self):
        for host in ("127.0.0.1", "localhost", "[::1]", "10.0.0.7"):
            with self.subTest(host=host):
                resp = self.put_queue({"push": {"url": f"http://{host}:3000/hook"}})
                err = self.assertError(resp, 400, "invalid_argument", field="push.url")
                self.assertIn("--push-allow-private", err["message"])
                self.assertIn("--push-allow ", err["message"])
                self.assertEqual(self.server.request("GET", f"/v1/queues/{self.q}").status, 404,
                                 "a refused PUT creates nothing")

    def test_a_refused_address_at_delivery_fails_the_job_and_is_logged_once(self):
        """A URL accepted by an earlier, more permissive server is refused at
        every call, and the log says so once for the queue."""
        ep = self.endpoint(ok({}))
        with ErrandServer(extra_args=ALLOW_PRIVATE) as permissive:
            self.put_push(ep.url, server=permissive)
            permissive.stop()
            strict = ErrandServer(data_dir=permissive.data_dir)
            with strict:
                ids = [strict.enqueue(self.q, max_attempts=1)["id"] for _ in range(3)]
                for jid in ids:
                    message = self.wait_state(jid, "dead", server=strict)["errors"][0]["message"]
                    self.assertTrue(message.startswith("push:"), message)
                    self.assertRegex(message, r"127\.0\.0\.1")
                log = strict.log_text()
                self.assertEqual(log.count(f"push: queue {self.q}:"), 1, log)
                self.assertIn("--push-allow-private", log)
        self.assertEqual(ep.calls, [])

    def test_push_allow_lifts_the_guard_for_listed_networks(self):
        ep = self.endpoint(ok({"allowed": True}))
        with ErrandServer(extra_args=["--push-allow", "127.0.0.0/8"]) as server:
            self.put_push(ep.url, server=server)
            jid = server.enqueue(self.q)["id"]
            self.assertEqual(self.wait_state(jid, "succeeded", server=server)["result"], {"allowed": True})


@unittest.skipUnless(shutil.which("openssl"), "openssl is not installed")
class TlsTest(PushCase):
    @classmethod
    def setUpClass(cls):
        cls.cert_dir = tempfile.mkdtemp(prefix="errand-push-tls-")
        cls.certs = make_test_certs(cls.cert_dir)
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.cert_dir, ignore_errors=True)

    @classmethod
    def make_server(cls):
        return ErrandServer(extra_args=[*ALLOW_PRIVATE, "--push-ca-file", cls.certs["ca"]])

    def test_https_with_the_test_ca_succeeds(self):
        ep = self.endpoint(ok({"secure": True}), tls=self.certs, host="localhost")
        self.push_queue(ep)
        jid = self.server.enqueue(self.q)["id"]
        job = self.wait_state(jid, "succeeded")
        self.assertEqual(job["result"], {"secure": True})
        self.assertCallsSigned(ep)

    def test_https_without_the_ca_fails_certificate_verification(self):
        ep = self.endpoint(ok({"secure": True}), tls=self.certs, host="localhost")
        with ErrandServer(extra_args=ALLOW_PRIVATE) as server:
            self.put_push(ep.url, server=server)
            jid = server.enqueue(self.q, max_attempts=1)["id"]
            message = self.wait_state(jid, "dead", server=server)["errors"][0]["message"]
        self.assertTrue(message.startswith("push:"), message)
        self.assertIn("certificate", message.lower())
        self.assertEqual(ep.calls, [])


class LimitsTest(PushCase):
    @classmethod
    def make_server(cls):
        return ErrandServer(extra_args=[*ALLOW_PRIVATE, "--push-max-continuations", "3",
                                        "--push-max-state", "1000"])

    def test_more_continuations_than_the_limit_make_the_job_dead(self):
        ep = self.endpoint(lambda call: continue_with({"n": call.continuation + 1}))
        self.push_queue(ep)
        jid = self.server.enqueue(self.q, max_attempts=5)["id"]
        job = self.wait_state(jid, "dead")
        self.assertIn("continuations", job["errors"][0]["message"])
        self.assertEqual(len(ep.calls), 4, "3 continues are allowed, the 4th is over the limit")

    def test_a_state_over_the_limit_makes_the_job_dead(self):
        ep = self.endpoint(continue_with({"blob": "x" * 2000}))
        self.push_queue(ep)
        jid = self.server.enqueue(self.q, max_attempts=5)["id"]
        job = self.wait_state(jid, "dead")
        self.assertIn("state", job["errors"][0]["message"])
        self.assertEqual(len(ep.calls), 1)


if __name__ == "__main__":
    unittest.main()
