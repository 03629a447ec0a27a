"""Work that spans jobs and time (docs/API.md, "Workflows"): dependencies
(`after`, `after_failure`, batch `ref`s), parents' results handed down a
3-level DAG, a dead parent cancelling its descendants, pull workers that
continue (sleep, then run on with their state), jobs waiting for a signal
resumed by a plain POST to their signal URL with no key (replay refused,
forged refused, timeout path), and every bad input answered 400 naming the
field with nothing changed.
"""

import itertools
import json
import subprocess
import time
import unittest
import urllib.error
import urllib.request

from harness import ErrandServer, SharedServerTestCase, poll_until
from test_events import EventStream

_counter = itertools.count()


class WorkflowsTest(SharedServerTestCase):
    @classmethod
    def make_server(cls):
        # With a key: the signal URL must work without one.
        return ErrandServer(keys=("admin:workflows-admin-secret",))

    def setUp(self):
        super().setUp()
        self.q = f"wf{next(_counter)}"

    def take(self, queue, **fields):
        return self.server.claim_one(queue, **fields)

    def state_of(self, job_id):
        return self.server.get_job(job_id)["state"]

    def post_signal(self, url, body=b'{"paid":true}', content_type="application/json"):
        """POSTs like a bank's webhook would: plain HTTP, no Authorization header."""
        req = urllib.request.Request(self.server.url + url, data=body, method="POST",
                                     headers={"Content-Type": content_type})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def continue_job(self, job, **fields):
        body = dict(fields, lease_id=job["lease_id"])
        return self.server.request("POST", f"/v1/jobs/{job['id']}/continue", body)

    # ---- dependencies ----

    def test_a_three_level_dag_passes_results_down(self):
        resize, zip_q, mail = f"{self.q}.resize", f"{self.q}.zip", f"{self.q}.mail"
        items = [{"queue": resize, "ref": f"resize-{i}", "payload": {"image": i}} for i in range(3)]
        items.append({"queue": zip_q, "ref": "zip", "after": [f"resize-{i}" for i in range(3)]})
        items.append({"queue": mail, "after": ["zip"], "payload": {"to": "a@example.com"}})
        out = self.server.enqueue_batch(items)
        self.assertEqual([o["state"] for o in out], ["queued"] * 3 + ["blocked"] * 2)
        zip_job = self.server.get_job(out[3]["id"])
        self.assertEqual([p["id"] for p in zip_job["parents"]], [o["id"] for o in out[:3]])
        self.assertEqual(zip_job["after_failure"], "cancel")
        self.assertEqual(self.server.get_job(out[0]["id"])["children"], [out[3]["id"]])
        self.assertEqual(self.server.counts(zip_q)["blocked"], 1)
        self.assertEqual(self.server.claim(zip_q), [])
        for _ in range(3):
            job = self.take(resize)
            self.server.complete(job, {"url": f"s3://thumbs/{job['payload']['image']}.png"})
        zipped = self.take(zip_q)
        self.assertEqual(sorted(p["result"]["url"] for p in zipped["parents"]),
                         [f"s3://thumbs/{i}.png" for i in range(3)])
        self.assertTrue(all(p["state"] == "succeeded" for p in zipped["parents"]))
        self.assertEqual(self.state_of(out[4]["id"]), "blocked")
        self.server.complete(zipped, {"zip": "s3://zips/all.zip"})
        email = self.take(mail)
        self.assertEqual(email["parents"], [{"id": out[3]["id"], "state": "succeeded",
                                             "result": {"zip": "s3://zips/all.zip"}}])

    def test_a_dead_parent_cancels_its_children_unless_they_run_after_failures(self):
        parent = self.server.enqueue(self.q, max_attempts=1)
        child = self.server.enqueue(f"{self.q}.child", after=[parent["id"]])
        grandchild = self.server.enqueue(f"{self.q}.grand", after=[child["id"]])
        cleanup = self.server.enqueue(f"{self.q}.cleanup", after=[parent["id"]],
                                      after_failure="run")
        self.server.fail(self.take(self.q), "card declined")
        got = self.server.get_job(child["id"])
        self.assertEqual(got["state"], "cancelled")
        self.assertEqual(got["errors"][-1]["message"], f"parent {parent['id']} ended dead")
        self.assertEqual(self.state_of(grandchild["id"]), "cancelled")
        job = self.take(f"{self.q}.cleanup")
        self.assertEqual(job["id"], cleanup["id"])
        self.assertEqual(job["parents"][0]["state"], "dead")
        # A child of a parent already dead is cancelled at once.
        late = self.server.enqueue(f"{self.q}.child", after=[parent["id"]])
        self.assertEqual(late["state"], "cancelled")

    # ---- continue: sleep, and wait for a signal ----

    def test_a_pull_worker_sleeps_then_continues_with_its_state(self):
        self.server.enqueue(self.q, payload={"pages": 3})
        job = self.take(self.q)
        self.assertNotIn("continuation", job)
        before = time.monotonic()
        r = self.continue_job(job, state={"page": 2}, delay="2s",
                              progress={"percent": 33, "message": "page 1 done"})
        self.assertStatus(r, 200)
        self.assertEqual(r.body["state"], "scheduled")
        self.assertEqual(self.state_of(job["id"]), "scheduled")
        again = self.take(self.q, timeout=30, wait="10s")
        self.assertGreaterEqual(time.monotonic() - before, 1.9)
        self.assertEqual(again["id"], job["id"])
        self.assertEqual(again["state"], {"page": 2})
        self.assertEqual(again["continuation"], 1)
        self.assertEqual(again["attempt"], 1)
        self.assertNotIn("signal", again)
        self.assertEqual(self.server.get_job(job["id"])["progress"]["percent"], 33)
        self.server.complete(again)

    def test_a_job_waiting_for_a_signal_is_resumed_by_a_plain_post(self):
        created = self.server.enqueue(self.q, payload={"order": 7})
        job = self.take(self.q)
        r = self.continue_job(job, state={"charge": "ch_1"}, signal={"timeout": "7d"})
        self.assertStatus(r, 200)
        self.assertEqual(r.body["state"], "waiting")
        url = r.body["signal_url"]
        self.assertTrue(url.startswith("/v1/signals/"), url)
        read = self.server.get_job(created["id"])
        self.assertEqual(read["state"], "waiting")
        self.assertEqual(read["signal"], {"status": "waiting", "url": url})
        stream = EventStream(self.server, f"/v1/jobs/{created['id']}/events",
                             {"Authorization": f"Bearer {self.server.default_key}"})
        self.addCleanup(stream.close)
        self.assertEqual(stream.next()["data"]["signal"], read["signal"])  # the live view too
        self.assertEqual(self.server.counts(self.q)["waiting"], 1)
        self.assertEqual(self.server.claim(self.q), [])

        forged = url[:-4] + ("AAAA" if not url.endswith("AAAA") else "BBBB")
        self.assertEqual(self.post_signal(forged)[0], 401)
        self.assertEqual(self.post_signal(url, b"{not json")[0], 400)
        self.assertEqual(self.state_of(created["id"]), "waiting")
        # curl, as a bank's or Stripe's webhook: no key.
        out = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                              "-H", "Content-Type: application/json", "-d", '{"paid": true}',
                              self.server.url + url], capture_output=True, text=True, timeout=30)
        self.assertEqual(out.stdout, "200", out.stderr)
        status, body = self.post_signal(url)
        self.assertEqual(status, 409, body)
        self.assertEqual(body["error"]["field"], "signal")
        resumed = self.take(self.q)
        self.assertEqual(resumed["state"], {"charge": "ch_1"})
        self.assertEqual(resumed["signal"], {"paid": True})
        self.assertEqual(self.server.get_job(created["id"])["signal"]["status"], "received")
        self.server.complete(resumed)

    def test_a_signal_wait_times_out_with_signal_null(self):
        self.server.enqueue(self.q)
        job = self.take(self.q)
        r = self.continue_job(job, state=1, signal={"timeout": "1s"})
        self.assertStatus(r, 200)
        resumed = self.take(self.q, timeout=30, wait="10s")
        self.assertIn("signal", resumed)
        self.assertIsNone(resumed["signal"])
        self.assertEqual(resumed["state"], 1)
        status, body = self.post_signal(r.body["signal_url"])
        self.assertEqual(status, 404, body)
        self.server.complete(resumed)

    # ---- batches ----

    def drain(self, queue, fail_every=0):
        """Claims every job of `queue` in pages of 1,000 and acknowledges each page at once;
        every `fail_every`-th job fails for good. Returns how many it took."""
        taken = 0
        while True:
            jobs = self.server.claim(queue, max=1000)
            if not jobs:
                return taken
            acks = []
            for i, job in enumerate(jobs, start=taken):
                ack = {"id": job["id"], "lease_id": job["lease_id"]}
                if fail_every and i % fail_every == 0:
                    ack.update(error="bad row", retry=False)
                acks.append(ack)
            results = self.assertStatus(self.server.request("POST", "/v1/acks", {"acks": acks}),
                                        200)["results"]
            self.assertTrue(all(r["ok"] for r in results), results[:3])
            taken += len(jobs)

    def callback_jobs(self, queue):
        return self.server.list_all(queue=queue)

    def test_a_ten_thousand_job_batch_fires_each_callback_once(self):
        work, cb = f"{self.q}.work", f"{self.q}.cb"
        jobs = [{"queue": work, "payload": {"row": i}} for i in range(10_000)]
        r = self.assertStatus(self.server.request("POST", "/v1/batches", {
            "jobs": jobs,
            "on_success": {"queue": cb, "type": "success", "payload": {"report": "r1"}},
            "on_complete": {"queue": cb, "type": "complete"},
            "on_death": {"queue": cb, "type": "death"}}), 202)
        batch = r["id"]
        self.assertEqual(r["state"], "sealed")
        self.assertEqual(len(r["jobs"]), 10_000)
        self.assertEqual(self.server.get_job(r["jobs"][0]["id"])["batch"], batch)
        listed = self.assertStatus(self.server.request("GET", f"/v1/jobs?batch={batch}&limit=10"), 200)
        self.assertEqual(len(listed["jobs"]), 10)
        self.assertEqual(self.drain(work, fail_every=5000), 10_000)  # jobs 0 and 5000 die
        got = self.assertStatus(self.server.request("GET", f"/v1/batches/{batch}"), 200)
        self.assertEqual(got["state"], "done")
        self.assertEqual(got["counts"], {"total": 10_000, "succeeded": 9_998, "dead": 2,
                                         "cancelled": 0, "pending": 0})
        fired = self.callback_jobs(cb)
        self.assertEqual(sorted(j["type"] for j in fired), ["complete", "death"])
        complete = next(j for j in fired if j["type"] == "complete")
        self.assertEqual(complete["payload"]["batch"]["id"], batch)
        self.assertEqual(complete["payload"]["batch"]["succeeded"], 9_998)
        self.assertEqual(got["callbacks"]["complete"]["job_id"], complete["id"])
        self.assertIsNone(got["callbacks"]["success"]["job_id"])

    def test_a_batch_in_pages_survives_a_kill_and_fires_exactly_once(self):
        work, cb = f"{self.q}.work", f"{self.q}.cb"
        r = self.assertStatus(self.server.request("POST", "/v1/batches", {
            "open": True,
            "on_success": {"queue": cb, "type": "success", "payload": {"n": 1}},
            "on_complete": {"queue": cb, "type": "complete"}}), 202)
        batch = r["id"]
        self.assertEqual(r["state"], "open")
        for page in range(4):
            items = [{"queue": work, "idempotency_key": f"{batch}-{page}-{i}"} for i in range(2_500)]
            self.assertStatus(self.server.request("POST", f"/v1/batches/{batch}/jobs",
                                                  {"jobs": items}), 202)
        # A page sent twice (a client retrying) adds nothing: idempotency keys.
        again = [{"queue": work, "idempotency_key": f"{batch}-3-{i}"} for i in range(2_500)]
        self.assertStatus(self.server.request("POST", f"/v1/batches/{batch}/jobs", {"jobs": again}), 202)
        self.assertEqual(self.assertStatus(self.server.request("GET", f"/v1/batches/{batch}"),
                                           200)["counts"]["total"], 10_000)
        half = 0
        while half < 5_000:
            jobs = self.server.claim(work, max=1000)
            acks = [{"id": j["id"], "lease_id": j["lease_id"]} for j in jobs]
            self.assertStatus(self.server.request("POST", "/v1/acks", {"acks": acks}), 200)
            half += len(jobs)
        self.server.kill9()
        self.server.start()
        self.assertEqual(self.callback_jobs(cb), [])
        sealed = self.assertStatus(self.server.request("POST", f"/v1/batches/{batch}/seal"), 200)
        self.assertEqual(sealed["state"], "sealed")
        self.assertError(self.server.request("POST", f"/v1/batches/{batch}/jobs",
                                             {"jobs": [{"queue": work}]}), 409, "conflict", "batch")
        self.drain(work)
        got = self.assertStatus(self.server.request("GET", f"/v1/batches/{batch}"), 200)
        self.assertEqual(got["counts"]["succeeded"], 10_000)
        self.server.kill9()
        self.server.start()
        self.assertStatus(self.server.request("POST", f"/v1/batches/{batch}/seal"), 200)
        fired = self.callback_jobs(cb)
        self.assertEqual(sorted(j["type"] for j in fired), ["complete", "success"])
        success = next(j for j in fired if j["type"] == "success")
        self.assertEqual(success["payload"]["n"], 1)
        self.assertEqual(success["payload"]["batch"]["total"], 10_000)

    def test_bad_batches_are_refused_naming_the_field(self):
        before = self.server.counts(self.q)
        bad = [
            ({}, "jobs"),
            ({"jobs": []}, "jobs"),
            ({"jobs": [{"queue": self.q}], "on_success": "x"}, "on_success"),
            ({"jobs": [{"queue": self.q}], "on_death": {"queue": "BAD"}}, "on_death.queue"),
            ({"jobs": [{"queue": self.q}], "on_complete": {"queue": self.q, "after": ["x"]}},
             "on_complete.after"),
            ({"jobs": [{"queue": self.q, "unique": {"key": "k"}}]}, "jobs[0].unique"),
            ({"jobs": [{"queue": self.q}], "open": "yes"}, "open"),
            ({"jobs": [{"queue": self.q}], "extra": 1}, "extra"),
        ]
        for body, field in bad:
            with self.subTest(body=body):
                self.assertError(self.server.request("POST", "/v1/batches", body), 400,
                                 "invalid_argument", field)
        self.assertEqual(self.server.counts(self.q), before)
        self.assertError(self.server.request("GET", "/v1/batches/0000000000001"), 404, "not_found")
        self.assertError(self.server.request("POST", "/v1/batches/0000000000001/seal"), 404,
                         "not_found")
        self.assertError(self.server.request("GET", "/v1/jobs?batch=nope"), 400, "invalid_argument",
                         "batch")

    # ---- bad input ----

    def test_bad_input_is_refused_naming_the_field_and_changes_nothing(self):
        parent = self.server.enqueue(self.q)
        before = self.server.counts(self.q)
        bad = [
            ({"queue": self.q, "after": "x"}, "after"),
            ({"queue": self.q, "after": []}, "after"),
            ({"queue": self.q, "after": [7]}, "after[0]"),
            ({"queue": self.q, "after": ["not-an-id"]}, "after[0]"),
            ({"queue": self.q, "after": ["0000000000000"]}, "after[0]"),
            ({"queue": self.q, "after": [parent["id"]], "after_failure": "maybe"}, "after_failure"),
            ({"queue": self.q, "after_failure": "run"}, "after_failure"),
            ({"queue": self.q, "ref": "a"}, "ref"),
            ({"queue": self.q, "after": [parent["id"]],
              "debounce": {"key": "k", "period": "1s"}}, "after"),
        ]
        for body, field in bad:
            with self.subTest(body=body):
                self.assertError(self.server.request("POST", "/v1/jobs", body), 400,
                                 "invalid_argument", field)
        batches = [
            ([{"queue": self.q, "ref": "a", "after": ["b"]}, {"queue": self.q, "ref": "b"}],
             "jobs[0].after[0]"),
            ([{"queue": self.q, "ref": "a", "after": ["a"]}], "jobs[0].after[0]"),
            ([{"queue": self.q, "ref": "a"}, {"queue": self.q, "ref": "a"}], "jobs[1].ref"),
            ([{"queue": self.q, "ref": "a"}, {"queue": self.q, "after": ["c"]}], "jobs[1].after[0]"),
        ]
        for jobs, field in batches:
            with self.subTest(jobs=jobs):
                self.assertError(self.server.request("POST", "/v1/jobs/batch", {"jobs": jobs}), 400,
                                 "invalid_argument", field)
        self.assertEqual(self.server.counts(self.q), before)
        job = self.take(self.q)
        for body, field in [({"delay": "1s", "signal": {"timeout": "1h"}}, "signal"),
                            ({"signal": {}}, "signal.timeout"),
                            ({"signal": {"timeout": "1h", "x": 1}}, "signal.x"),
                            ({"delay": "forever"}, "delay"),
                            ({"state": 1, "until": "tomorrow"}, "until"),
                            ({"nope": 1}, "nope")]:
            with self.subTest(body=body):
                self.assertError(self.continue_job(job, **body), 400, "invalid_argument", field)
        self.assertError(self.server.request("POST", f"/v1/jobs/{job['id']}/continue",
                                             {"lease_id": "stale"}), 409, "conflict")
        self.assertEqual(self.state_of(job["id"]), "running")
        self.server.complete(job)


if __name__ == "__main__":
    unittest.main()
