"""Live job status for the app's users (docs/API.md, "Job events"): the SSE
stream of GET /v1/jobs/{id}/events, resuming with Last-Event-ID, the scope of
job tokens, CORS and the browser script GET /v1/errand.js.
"""

import http.client
import itertools
import json
import unittest
import urllib.parse

from harness import (ErrandServer, ErrandTestCase, SharedServerTestCase, poll_until,
                     read_sse_event)

ADMIN, PRODUCER, WORKER = "admin-secret-0123456789", "producer-secret-0123456789", "worker-secret-0123456789"
KEYS = (("admin", ADMIN), ("producer", PRODUCER), ("worker", WORKER))
APP = "https://app.example.com"
_counter = itertools.count()


class EventStream:
    """One SSE response, read event by event."""

    def __init__(self, server, path, headers=None, timeout=30):
        self.conn = http.client.HTTPConnection(server.host, server.port, timeout=timeout)
        self.conn.request("GET", path, headers=headers or {})
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.headers = {k.lower(): v for k, v in self.resp.getheaders()}
        self.comments = 0

    def next(self):
        """The next event as {"event", "id", "data"}, or None at the end of the stream."""
        return read_sse_event(self.resp, on_comment=self._comment)

    def _comment(self):
        self.comments += 1

    def until_end(self):
        events = []
        while (e := self.next()) is not None:
            events.append(e)
        return events

    def close(self):
        self.conn.close()


def summary(events):
    """Events as short strings: "state running 1", "progress 30", "succeeded 2"."""
    out = []
    for e in events:
        d = e["data"]
        if e["event"] == "progress":
            out.append(f"progress {d['percent']}")
        elif e["event"] == "snapshot":
            out.append(f"snapshot {d['state']}")
        else:
            out.append(f"{e['event']} {d['state']} {d['attempt']}")
    return out


def seq_of(event_id):
    return int(event_id.split("-")[1])


class EventStreamTest(SharedServerTestCase):
    def setUp(self):
        super().setUp()
        self.q = f"ev{next(_counter)}"

    def stream(self, job_id, headers=None):
        s = EventStream(self.server, f"/v1/jobs/{job_id}/events", headers)
        self.addCleanup(s.close)
        return s

    def progress(self, job, percent, message=""):
        r = self.server.request("POST", f"/v1/jobs/{job['id']}/progress",
                                {"lease_id": job["lease_id"], "percent": percent, "message": message})
        self.assertEqual(r.status, 200, r.body)

    def test_stream_of_a_job_that_progresses_fails_once_and_succeeds(self):
        s = self.server
        jid = s.enqueue(self.q, max_attempts=3)["id"]
        stream = self.stream(jid)
        self.assertEqual(stream.status, 200)
        self.assertTrue(stream.headers["content-type"].startswith("text/event-stream"))
        snapshot = stream.next()
        self.assertEqual(snapshot["event"], "snapshot")
        self.assertEqual(snapshot["data"]["id"], jid)
        self.assertEqual(snapshot["data"]["state"], "queued")
        self.assertEqual(snapshot["data"], s.get_job(jid))  # as GET /v1/jobs/{id} has it

        job = s.claim_one(self.q)
        self.progress(job, 30, "reading rows")
        s.fail(job, "database busy", retry_in="100ms")
        job = s.claim_one(self.q)  # after the timer promoted it
        self.progress(job, 60)
        self.progress(job, 100, "all rows")
        s.complete(job, {"rows": 1200})
        events = stream.until_end()
        got = summary(events)
        # 60 and 100 come faster than 10 a second, which the API lets the
        # stream coalesce (the latest wins): the event of 60 may show 100.
        # (On PostgreSQL a watcher's server reads the row when it hears of
        # the change, by which time 100 may be in it.)
        self.assertGreater(len(got), 5, got)
        self.assertIn(got[5], ["progress 60", "progress 100"])
        got[5] = "progress 60"
        self.assertEqual(got, [
            "state running 1", "progress 30", "state failed 1", "state queued 1", "state running 2",
            "progress 60", "progress 100", "succeeded succeeded 2"])
        self.assertEqual(events[1]["data"]["message"], "reading rows")
        self.assertEqual(events[2]["data"]["error"], "database busy")
        self.assertEqual(events[-1]["data"]["result"], {"rows": 1200})
        seqs = [seq_of(e["id"]) for e in [snapshot] + events]
        self.assertEqual(seqs, list(range(seqs[0], seqs[0] + len(seqs))))
        self.assertTrue(events[-1]["id"].endswith("-end"))

    def test_dead_job_ends_with_its_last_error(self):
        s = self.server
        jid = s.enqueue(self.q, max_attempts=1)["id"]
        stream = self.stream(jid)
        stream.next()
        s.fail(s.claim_one(self.q), "bad input")
        events = stream.until_end()
        self.assertEqual(summary(events), ["state running 1", "dead dead 1"])
        self.assertEqual(events[-1]["data"]["error"], "bad input")

    def test_cancelled_job_ends_the_stream(self):
        s = self.server
        jid = s.enqueue(self.q, delay="1h")["id"]
        stream = self.stream(jid)
        self.assertEqual(stream.next()["data"]["state"], "scheduled")
        self.assertEqual(s.request("POST", f"/v1/jobs/{jid}/cancel").status, 200)
        self.assertEqual(summary(stream.until_end()), ["cancelled cancelled 0"])

    def test_finished_job_gets_its_snapshot_and_final_event(self):
        s = self.server
        jid = s.enqueue(self.q)["id"]
        s.complete(s.claim_one(self.q), "ok")
        events = self.stream(jid).until_end()
        self.assertEqual(summary(events), ["snapshot succeeded", "succeeded succeeded 1"])
        self.assertEqual(events[1]["data"]["result"], "ok")

    def test_reconnect_with_last_event_id_has_no_gap_and_no_repeat(self):
        s = self.server
        jid = s.enqueue(self.q)["id"]
        first = self.stream(jid)
        first.next()
        job = s.claim_one(self.q)
        running = first.next()
        self.assertEqual(summary([running]), ["state running 1"])
        first.close()

        self.progress(job, 10)
        self.progress(job, 20)  # coalesced with 10: delivered up to 100 ms later
        again = self.stream(jid, {"Last-Event-ID": running["id"]})
        self.assertEqual(again.status, 200)
        resumed = [again.next(), again.next()]
        s.complete(job)
        resumed += again.until_end()
        self.assertEqual(summary(resumed), ["progress 10", "progress 20", "succeeded succeeded 1"])
        seqs = [seq_of(e["id"]) for e in [running] + resumed]
        self.assertEqual(seqs, list(range(seqs[0], seqs[0] + 4)))

        # After the final event, an EventSource is told to stop reconnecting.
        done = self.stream(jid, {"Last-Event-ID": resumed[-1]["id"]})
        self.assertEqual(done.status, 204)

    def test_unknown_last_event_id_gets_a_fresh_snapshot(self):
        s = self.server
        jid = s.enqueue(self.q)["id"]
        for last in ("1-1", "garbage"):
            stream = self.stream(jid, {"Last-Event-ID": last})
            self.assertEqual(stream.next()["event"], "snapshot")
            stream.close()

    def test_unknown_job_is_404(self):
        stream = self.stream("01JDQ7Z3K5X9V2M4N6P8R0T2W4")
        self.assertEqual(stream.status, 404)

    def test_shutdown_ends_open_streams(self):
        # A server of its own: it is stopped while a stream is open.
        with ErrandServer() as server:
            jid = server.enqueue(self.q)["id"]
            stream = EventStream(server, f"/v1/jobs/{jid}/events")
            self.addCleanup(stream.close)
            self.assertEqual(stream.next()["event"], "snapshot")
            self.assertEqual(server.stop(), 0)
            self.assertIsNone(stream.next())


class TokenScopeTest(SharedServerTestCase):
    @classmethod
    def make_server(cls):
        return ErrandServer(keys=KEYS)

    def setUp(self):
        super().setUp()
        self.q = f"tok{next(_counter)}"

    def enqueue(self):
        return self.server.enqueue(self.q, key=PRODUCER)

    def get(self, path, token=None, bearer=None):
        if token is not None:
            path += "?token=" + urllib.parse.quote(token)
        return self.server.request("GET", path, key=bearer)

    def events_status(self, job_id, token=None, bearer=None):
        path = f"/v1/jobs/{job_id}/events"
        if token is not None:
            path += "?token=" + urllib.parse.quote(token)
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        stream = EventStream(self.server, path, headers)
        try:
            if stream.status == 200:
                self.assertEqual(stream.next()["event"], "snapshot")
            return stream.status
        finally:
            stream.close()

    def test_the_jobs_token_reads_it_by_query_or_bearer(self):
        job = self.enqueue()
        r = self.get(f"/v1/jobs/{job['id']}", token=job["token"])
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.body["id"], job["id"])
        self.assertEqual(self.get(f"/v1/jobs/{job['id']}", bearer=job["token"]).status, 200)
        self.assertEqual(self.events_status(job["id"], token=job["token"]), 200)
        self.assertEqual(self.events_status(job["id"], bearer=job["token"]), 200)

    def test_another_jobs_token_is_401(self):
        job, other = self.enqueue(), self.enqueue()
        self.assertEqual(self.get(f"/v1/jobs/{other['id']}", token=job["token"]).status, 401)
        self.assertEqual(self.events_status(other["id"], token=job["token"]), 401)

    def test_tampered_token_is_401(self):
        job = self.enqueue()
        token = job["token"]
        flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
        later = token.split(".")
        later[1] = str(int(later[1]) + 3600)
        for bad in (flipped, ".".join(later)):
            self.assertEqual(self.get(f"/v1/jobs/{job['id']}", token=bad).status, 401, bad)
            self.assertEqual(self.events_status(job["id"], token=bad), 401, bad)

    def test_no_token_on_a_server_with_keys_is_401(self):
        job = self.enqueue()
        self.assertEqual(self.get(f"/v1/jobs/{job['id']}").status, 401)
        self.assertEqual(self.events_status(job["id"]), 401)

    def test_keys_can_watch(self):
        job = self.enqueue()
        self.assertEqual(self.events_status(job["id"], bearer=PRODUCER), 200)
        self.assertEqual(self.events_status(job["id"], bearer=ADMIN), 200)

    def test_a_token_cannot_write(self):
        job = self.enqueue()
        r = self.server.request("POST", f"/v1/jobs/{job['id']}/cancel", key=job["token"])
        self.assertIn(r.status, (401, 403))


class ExpiredTokenTest(ErrandTestCase):
    def test_expired_token_is_401(self):
        with ErrandServer(keys=KEYS, extra_args=["--token-ttl", "1s"]) as server:
            job = server.enqueue("expiring", key=PRODUCER)
            path = f"/v1/jobs/{job['id']}?token=" + urllib.parse.quote(job["token"])
            poll_until(lambda: server.request("GET", path, key=None).status == 401, 10,
                       interval=0.1, message="the token to expire")
            stream = EventStream(server, f"/v1/jobs/{job['id']}/events?token=" +
                                 urllib.parse.quote(job["token"]))
            self.addCleanup(stream.close)
            self.assertEqual(stream.status, 401)


class CorsTest(SharedServerTestCase):
    @classmethod
    def make_server(cls):
        return ErrandServer(keys=KEYS, extra_args=["--cors-origin", APP,
                                                   "--cors-origin", "http://localhost:3000"])

    def test_allowed_origin_is_echoed_on_reads_and_streams(self):
        s = self.server
        job = s.enqueue("cors", key=PRODUCER)
        path = f"/v1/jobs/{job['id']}?token=" + urllib.parse.quote(job["token"])
        r = s.request("GET", path, key=None, headers={"Origin": APP})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers.get("access-control-allow-origin"), APP)
        self.assertIn("Origin", r.headers.get("vary", ""))
        stream = EventStream(s, f"/v1/jobs/{job['id']}/events?token=" +
                             urllib.parse.quote(job["token"]), {"Origin": "http://localhost:3000"})
        self.addCleanup(stream.close)
        self.assertEqual(stream.headers.get("access-control-allow-origin"), "http://localhost:3000")
        # Errors are readable too, so the page can tell an expired token.
        r = s.request("GET", f"/v1/jobs/{job['id']}", key=None, headers={"Origin": APP})
        self.assertEqual(r.status, 401)
        self.assertEqual(r.headers.get("access-control-allow-origin"), APP)

    def test_other_origins_get_no_cors_headers(self):
        s = self.server
        job = s.enqueue("cors", key=PRODUCER)
        path = f"/v1/jobs/{job['id']}?token=" + urllib.parse.quote(job["token"])
        r = s.request("GET", path, key=None, headers={"Origin": "https://evil.example"})
        self.assertEqual(r.status, 200)
        self.assertNotIn("access-control-allow-origin", r.headers)
        r = s.request("OPTIONS", f"/v1/jobs/{job['id']}/events", key=None,
                      headers={"Origin": "https://evil.example",
                               "Access-Control-Request-Method": "GET"})
        self.assertEqual(r.status, 204)
        self.assertNotIn("access-control-allow-origin", r.headers)
        self.assertNotIn("access-control-allow-methods", r.headers)

    def test_preflight_for_an_allowed_origin(self):
        r = self.server.request("OPTIONS", "/v1/jobs/01JDQ7Z3K5X9V2M4N6P8R0T2W4/events", key=None,
                                headers={"Origin": APP, "Access-Control-Request-Method": "GET",
                                         "Access-Control-Request-Headers": "last-event-id"})
        self.assertEqual(r.status, 204)
        self.assertEqual(r.headers.get("access-control-allow-origin"), APP)
        self.assertIn("GET", r.headers["access-control-allow-methods"])
        allowed = r.headers["access-control-allow-headers"].lower()
        for header in ("authorization", "content-type", "last-event-id"):
            self.assertIn(header, allowed)
        r = self.server.request("OPTIONS", "/v1/jobs", key=None,
                                headers={"Origin": APP, "Access-Control-Request-Method": "POST"})
        self.assertEqual(r.status, 204)
        self.assertIn("POST", r.headers["access-control-allow-methods"])
        r = self.server.request("OPTIONS", "/v1/nothing", key=None, headers={"Origin": APP})
        self.assertEqual(r.status, 404)

    def test_errand_js_is_served_without_a_key(self):
        r = self.server.request("GET", "/v1/errand.js", key=None)
        self.assertEqual(r.status, 200)
        self.assertTrue(r.headers["content-type"].startswith("application/javascript"))
        self.assertIn("max-age", r.headers["cache-control"])
        for needle in ("Errand", "EventSource", "progressbar", "aria-valuenow", "Last-Event-ID"):
            self.assertIn(needle, r.body)

    def test_bad_cors_origin_is_refused_at_start(self):
        server = ErrandServer(extra_args=["--cors-origin", "app.example.com/path"])
        self.addCleanup(server.cleanup)
        with self.assertRaises(Exception):
            server.start()


if __name__ == "__main__":
    unittest.main()
