"""The server when its store fails (ERRAND_TEST_STORE_FAULTS makes the real
store fail the calls it names, as one that lost its disk would): no 2xx is
answered for a change that did not persist, the failure is a clear 503, the
server stays up, and the next call works once the store does. Job event
streams and waiting claims live through the failure: they see no event and
get no job of a change that was not stored, see what is stored after it, and
the server's counts of them (/v1/stats, /metrics) come back to where they
were once they are gone.
"""

import http.client
import json
import re
import threading
import unittest

import openapi_check
from harness import ErrandServer, ErrandTestCase, log, poll_until, read_sse_event

DEADLINE = 15  # seconds: for a condition polled, a stream read, a thread joined


class EventStream:
    """One GET /v1/jobs/{id}/events response, read event by event. A read
    that waits DEADLINE seconds for a byte raises (a hang fails the test).
    An answer other than 200 is read whole: `body` (checked against the
    OpenAPI document, as the harness checks every answer)."""

    def __init__(self, server, job_id):
        path = f"/v1/jobs/{job_id}/events"
        self.conn = http.client.HTTPConnection(server.host, server.port, timeout=DEADLINE)
        self.conn.request("GET", path)
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.content_type = self.resp.getheader("Content-Type", "")
        self.body = None
        if self.status != 200:
            self.body = json.loads(self.resp.read() or b"null")
            openapi_check.check_answer("GET", path, self.status, self.content_type, self.body)

    def next(self):
        """The next event as {"event", "id", "data"}; None at the end of the stream."""
        return read_sse_event(self.resp)

    def close(self):
        # The response holds the socket (the server said Connection: close):
        # closing the connection alone leaves it open.
        self.resp.close()
        self.conn.close()


def stats(s):
    r = s.request("GET", "/v1/stats")
    if r.status != 200:
        raise AssertionError(f"/v1/stats: {r.status} {r.body!r}")
    return r.body


def metric(s, name):
    """The value of an unlabelled gauge in /metrics."""
    r = s.request("GET", "/metrics")
    if r.status != 200:
        raise AssertionError(f"/metrics: {r.status} {r.body!r}")
    m = re.search(rf"^{name} (\S+)$", r.body, re.M)
    if not m:
        raise AssertionError(f"/metrics has no {name}")
    return float(m.group(1))


def open_streams(s):
    return stats(s)["event_streams"]["this_node"]


def waiting_claims(s):
    return stats(s)["workers"]["this_node"]["waiting"]


def until_equal(fn, expected, what):
    """Polls fn() until it returns `expected` (within DEADLINE); the last value shows on failure."""
    seen = []

    def check():
        seen[:] = [fn()]
        return seen[0] == expected

    try:
        poll_until(check, DEADLINE, interval=0.02, message=what)
    except AssertionError:
        raise AssertionError(f"{what}: expected {expected!r}, still {seen[0]!r} after {DEADLINE}s") from None


class StoreFaultTest(ErrandTestCase):
    def test_no_enqueue_is_acknowledged_that_was_not_stored(self):
        env = {"ERRAND_TEST_STORE_FAULTS": "job_insert_many:3,job_insert_many:5"}
        with ErrandServer(env=env) as s:
            acknowledged, refused = [], 0
            for i in range(8):
                r = s.request("POST", "/v1/jobs", {"queue": "faults", "payload": {"n": i}})
                if r.status == 202:
                    acknowledged.append(r.body["id"])
                else:
                    self.assertError(r, 503, "unavailable")
                    self.assertIn("the store failed", r.body["error"]["message"])
                    refused += 1
            self.assertEqual(refused, 2)
            # A batch: all or nothing.
            r = s.request("POST", "/v1/jobs/batch", {"jobs": [{"queue": "faults"}] * 3})
            self.assertEqual(r.status, 202, r.body)
            acknowledged += [j["id"] for j in r.body["jobs"]]
            stored = sorted(j["id"] for j in s.list_all(queue="faults"))
            self.assertEqual(stored, sorted(acknowledged))
            self.assertEqual(s.request("GET", "/healthz").status, 200)
            self.assertIn("ERRAND_TEST_STORE_FAULTS", s.log_text())

    def test_a_failed_complete_leaves_the_job_running_until_one_succeeds(self):
        with ErrandServer(env={"ERRAND_TEST_STORE_FAULTS": "job_complete:1"}) as s:
            s.enqueue("faults")
            job = s.claim_one("faults")
            r = s.request("POST", f"/v1/jobs/{job['id']}/complete",
                          {"lease_id": job["lease_id"], "result": {"ok": True}})
            self.assertError(r, 503, "unavailable")
            self.assertEqual(s.get_job(job["id"])["state"], "running")
            r = s.request("POST", f"/v1/jobs/{job['id']}/complete",
                          {"lease_id": job["lease_id"], "result": {"ok": True}})
            self.assertEqual(r.status, 200, r.body)
            self.assertEqual(s.get_job(job["id"])["state"], "succeeded")

    def test_a_failing_claim_answers_the_waiting_worker_and_leaks_nothing(self):
        with ErrandServer(env={"ERRAND_TEST_STORE_FAULTS": "job_claim:1"}) as s:
            r = s.request("POST", "/v1/claim", {"queues": ["faults"], "worker": "w"})
            self.assertError(r, 503, "unavailable")
            stats = s.request("GET", "/v1/stats").body
            self.assertEqual(stats["workers"]["this_node"]["waiting"], 0)
            s.enqueue("faults")
            self.assertEqual(s.claim_one("faults")["queue"], "faults")

    # ---- job event streams ---------------------------------------------------

    def watch(self, s, job_id, state):
        """A stream of the job that opened and gave its snapshot, in `state`."""
        w = EventStream(s, job_id)
        self.addCleanup(w.close)
        self.assertEqual(w.status, 200)
        snapshot = w.next()
        self.assertEqual((snapshot["event"], snapshot["data"]["id"], snapshot["data"]["state"]),
                         ("snapshot", job_id, state))
        return w

    def assertEvent(self, w, event, state=None, **data):
        e = w.next()
        self.assertIsNotNone(e, f"the stream ended before its {event} event")
        self.assertEqual(e["event"], event, e)
        if state is not None:
            self.assertEqual(e["data"]["state"], state, e)
        for k, v in data.items():
            self.assertEqual(e["data"][k], v, e)
        return e

    def test_watchers_see_no_event_of_a_complete_that_failed_and_every_event_after_it(self):
        # Three jobs, three streams each. The first complete (of job a) fails
        # in the store: a's streams see no `succeeded`, every stream stays
        # open, and each sees what is stored afterwards.
        with ErrandServer(env={"ERRAND_TEST_STORE_FAULTS": "job_complete:1"}) as s:
            baseline = open_streams(s)
            ids = {name: s.enqueue(f"watched-{name}", payload={"job": name})["id"] for name in "abc"}
            streams = {name: [self.watch(s, jid, "queued") for _ in range(3)] for name, jid in ids.items()}
            until_equal(lambda: open_streams(s), baseline + 9, "open event streams")
            leases = {name: s.claim_one(f"watched-{name}") for name in "abc"}
            for name, ws in streams.items():
                for w in ws:
                    self.assertEvent(w, "state", "running", id=ids[name], attempt=1)

            r = s.request("POST", f"/v1/jobs/{ids['a']}/complete",
                          {"lease_id": leases["a"]["lease_id"], "result": {"done": "a"}})
            self.assertError(r, 503, "unavailable")
            self.assertIn("the store failed", r.body["error"]["message"])
            # The next event of a's streams is the progress stored after the
            # failure, not a `succeeded` of the complete that was not.
            r = s.request("POST", f"/v1/jobs/{ids['a']}/progress",
                          {"lease_id": leases["a"]["lease_id"], "percent": 50, "message": "after the fault"})
            self.assertEqual(r.status, 200, r.body)
            for w in streams["a"]:
                self.assertEvent(w, "progress", percent=50, message="after the fault", id=ids["a"])
            self.assertEqual(open_streams(s), baseline + 9, "a stream was dropped by the failed complete")
            self.assertEqual(s.get_job(ids["a"])["state"], "running")

            # The store works again: the complete of b, and a's second one.
            s.complete(leases["b"], {"done": "b"})
            s.complete(leases["a"], {"done": "a"})
            for name in "ab":
                for w in streams[name]:
                    self.assertEvent(w, "succeeded", "succeeded", result={"done": name}, attempt=1)
                    self.assertIsNone(w.next(), "the stream goes on after the final event")
            # c's streams were not disturbed: they see c's next change.
            r = s.request("POST", f"/v1/jobs/{ids['c']}/progress",
                          {"lease_id": leases["c"]["lease_id"], "percent": 10})
            self.assertEqual(r.status, 200, r.body)
            for w in streams["c"]:
                self.assertEvent(w, "progress", percent=10, id=ids["c"])
            until_equal(lambda: open_streams(s), baseline + 3, "open event streams once a's and b's ended")

            # c's watchers leave (the client closes): nothing stays counted.
            for w in streams["c"]:
                w.close()
            until_equal(lambda: open_streams(s), baseline, "open event streams once every watcher left")
            self.assertEqual(metric(s, "errand_sse_watchers"), baseline)
            self.assertEqual(s.get_job(ids["a"])["result"], {"done": "a"})
            self.assertEqual(s.request("GET", "/healthz").status, 200)

    def test_a_watch_whose_read_fails_is_refused_at_once_and_not_counted(self):
        # The 2nd, 3rd and 4th job_get fail: the reads of three watches.
        with ErrandServer(env={"ERRAND_TEST_STORE_FAULTS": "job_get:2,job_get:3,job_get:4"}) as s:
            baseline = open_streams(s)
            jid = s.enqueue("watched")["id"]
            healthy = self.watch(s, jid, "queued")  # job_get 1
            for _ in range(3):
                refused = EventStream(s, jid)
                try:
                    self.assertEqual(refused.status, 503, "a watch whose read failed was answered with a stream")
                    self.assertTrue(refused.content_type.startswith("application/json"), refused.content_type)
                    self.assertError((refused.status, refused.body, {}), 503, "unavailable")
                    self.assertIn("the store failed", refused.body["error"]["message"])
                finally:
                    refused.close()
            until_equal(lambda: open_streams(s), baseline + 1, "open event streams after three refused")
            self.assertEqual(metric(s, "errand_sse_watchers"), baseline + 1)

            # The stream opened before goes on; one opened now works.
            job = s.claim_one("watched")
            self.assertEvent(healthy, "state", "running", attempt=1)
            late = self.watch(s, jid, "running")  # job_get 5
            until_equal(lambda: open_streams(s), baseline + 2, "open event streams")
            s.complete(job, {"ok": True})
            for w in (healthy, late):
                self.assertEvent(w, "succeeded", "succeeded", result={"ok": True})
                self.assertIsNone(w.next())
            until_equal(lambda: open_streams(s), baseline, "open event streams once both ended")
            self.assertEqual(metric(s, "errand_sse_watchers"), baseline)

    # ---- waiting claims ---------------------------------------------------------

    def test_waiting_claims_get_no_job_of_a_failed_enqueue_and_the_stored_ones_after(self):
        # Enqueues 1 (one job) and 3 (a batch of two) fail in the store.
        env = {"ERRAND_TEST_STORE_FAULTS": "job_insert_many:1,job_insert_many:3"}
        with ErrandServer(env=env) as s:
            q, waiters = "waited", 3
            answers = [[] for _ in range(waiters)]  # per waiter: (status, body) of each claim
            errors = []

            def waiter(i):
                conn = s.connection(timeout=30)
                try:
                    while True:  # until a job (an empty answer is clean: wait again)
                        r = conn.request("POST", "/v1/claim", {"queues": [q], "worker": f"w{i}", "wait": "20s"})
                        answers[i].append((r.status, r.body))
                        if r.status != 200 or r.body["jobs"]:
                            return
                except Exception as e:  # noqa: BLE001 — reported by the test's thread
                    errors.append(f"waiter {i}: {e!r}")
                finally:
                    conn.close()

            def got():
                return {i: a[-1][1]["jobs"] for i, a in enumerate(answers)
                        if a and a[-1][0] == 200 and a[-1][1]["jobs"]}

            threads = [threading.Thread(target=waiter, args=(i,), daemon=True) for i in range(waiters)]
            for t in threads:
                t.start()
            until_equal(lambda: waiting_claims(s), waiters, "waiting claims")

            r = s.request("POST", "/v1/jobs", {"queue": q, "payload": {"n": "lost-1"}})
            self.assertError(r, 503, "unavailable")
            until_equal(lambda: waiting_claims(s), waiters, "waiting claims after the failed enqueue")
            self.assertEqual(got(), {})

            first = s.enqueue(q, payload={"n": "kept-1"})["id"]
            poll_until(got, DEADLINE, message="a waiting claim to get the stored job")
            until_equal(lambda: waiting_claims(s), waiters - 1, "waiting claims after one got a job")

            r = s.request("POST", "/v1/jobs/batch",
                          {"jobs": [{"queue": q, "payload": {"n": "lost-2a"}},
                                    {"queue": q, "payload": {"n": "lost-2b"}}]})
            self.assertError(r, 503, "unavailable")
            until_equal(lambda: waiting_claims(s), waiters - 1, "waiting claims after the failed batch")
            self.assertEqual(len(got()), 1)

            rest = [j["id"] for j in s.enqueue_batch([{"queue": q, "payload": {"n": "kept-2a"}},
                                                      {"queue": q, "payload": {"n": "kept-2b"}}])]
            for t in threads:
                t.join(DEADLINE)
                self.assertFalse(t.is_alive(), "a waiting claim was never answered")
            self.assertEqual(errors, [])

            acknowledged = sorted([first] + rest)
            for i, a in enumerate(answers):
                for status, body in a:
                    self.assertEqual(status, 200, f"waiter {i}: {body!r}")
            received = got()
            self.assertEqual(sorted(received), list(range(waiters)), answers)
            self.assertTrue(all(len(jobs) == 1 for jobs in received.values()), received)
            self.assertEqual(sorted(jobs[0]["id"] for jobs in received.values()), acknowledged)
            self.assertEqual(sorted(jobs[0]["payload"]["n"] for jobs in received.values()),
                             ["kept-1", "kept-2a", "kept-2b"])
            self.assertEqual(sorted(j["id"] for j in s.list_all(queue=q)), acknowledged)
            until_equal(lambda: waiting_claims(s), 0, "waiting claims once all were answered")
            self.assertEqual(metric(s, "errand_workers_waiting"), 0)
            empty = sum(1 for a in answers for _, body in a if not body["jobs"])
            self.assertEqual(s.request("GET", "/healthz").status, 200)
            if empty:
                log(f"{empty} waiting claims were answered empty and waited again")

    # Several faults of one verb each count every call of it.
    def test_faults_of_one_verb_fail_the_calls_they_name(self):
        with ErrandServer(env={"ERRAND_TEST_STORE_FAULTS": "job_get:2,job_get:3"}) as s:
            jid = s.enqueue("faults")["id"]
            got = [s.request("GET", f"/v1/jobs/{jid}").status for _ in range(5)]
            self.assertEqual(got, [200, 503, 503, 200, 200])

    def test_a_bad_fault_list_is_refused_at_start(self):
        s = ErrandServer(env={"ERRAND_TEST_STORE_FAULTS": "job_claim:zero"})
        try:
            with self.assertRaises(AssertionError):
                s.start()
            self.assertIn("ERRAND_TEST_STORE_FAULTS", s.log_text())
        finally:
            s.cleanup()


if __name__ == "__main__":
    unittest.main()
