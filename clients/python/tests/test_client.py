"""Every call of errand.Client against the real server."""

import threading
import unittest

from tests.server import ErrandProcess, poll_until

from errand import Client, ErrandError

ADMIN = "a" * 24


class ClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = ErrandProcess(keys=[f"admin:{ADMIN}", "producer:" + "p" * 24], args=["--push-allow-private"]).start()
        cls.c = Client(cls.server.url, key=ADMIN)

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def test_enqueue_get_token_and_errors(self):
        job = self.c.enqueue("emails", {"to": "ada@example.com"}, type="welcome", max_attempts=3, tags=["signup"])
        self.assertEqual(job["state"], "queued")
        got = self.c.get(job["id"])
        self.assertEqual(got["payload"], {"to": "ada@example.com"})
        seen = Client(self.server.url).get(job["id"], token=job["token"])
        self.assertNotIn("payload", seen)
        dup = self.c.enqueue("emails", {"to": "ada@example.com"}, idempotency_key="k")
        self.assertTrue(self.c.enqueue("emails", {"to": "ada@example.com"}, idempotency_key="k")["duplicate"])
        self.assertEqual(self.c.get(dup["id"])["idempotency_key"], "k")
        with self.assertRaises(ErrandError) as e:
            self.c.enqueue("emails", priority="high")
        self.assertEqual((e.exception.code, e.exception.status, e.exception.field), ("invalid_argument", 400, "priority"))
        with self.assertRaises(ErrandError) as e:
            Client(self.server.url, key="p" * 24).queues.set("x")
        self.assertEqual(e.exception.status, 403)
        with self.assertRaises(ErrandError) as e:
            Client("http://127.0.0.1:1").health()
        self.assertEqual((e.exception.code, e.exception.status), ("unavailable", 0))

    def test_batch_list_cancel_retry_bulk_delete_logs(self):
        jobs = self.c.enqueue_many([{"queue": "listing", "payload": {"n": n}} for n in range(5)])
        self.assertEqual([j["payload"]["n"] for j in self.c.list(queue="listing", limit=2, include="payload")],
                         [4, 3, 2, 1, 0])
        self.assertEqual(self.c.cancel(jobs[0]["id"])["state"], "cancelled")
        self.assertEqual(self.c.retry(jobs[0]["id"])["state"], "queued")
        results = self.c.bulk("cancel", [jobs[1]["id"], "1M8HZ4NKB0007"])
        self.assertEqual([r["ok"] for r in results], [True, False])
        self.assertEqual(self.c.logs(jobs[2]["id"]), [])
        self.assertEqual(self.c.delete(jobs[2]["id"]), {"id": jobs[2]["id"], "deleted": True})
        self.assertEqual(len(self.c.list_page(queue="listing", limit=2)["jobs"]), 2)

    def test_worker_calls(self):
        ids = [self.c.enqueue("work", {"n": n})["id"] for n in range(4)]
        jobs = self.c.claim("work", worker="w", max=4, wait="1s")["jobs"]
        self.assertEqual([j["id"] for j in jobs], ids)
        a, b, c, d = jobs
        self.assertFalse(self.c.heartbeat(a["id"], a["lease_id"], "1m")["cancel_requested"])
        self.assertEqual(self.c.progress(a["id"], a["lease_id"], 40, "rows"), {"ok": True})
        self.assertEqual(self.c.complete(a["id"], a["lease_id"], {"done": True}, log="hi")["state"], "succeeded")
        self.assertEqual(self.c.fail(b["id"], b["lease_id"], "boom", retry=False)["state"], "dead")
        self.assertEqual(self.c.fail(c["id"], c["lease_id"], "later", retry_in="1h")["state"], "failed")
        acks = self.c.acks([{"id": d["id"], "lease_id": d["lease_id"], "result": 4}])
        self.assertTrue(acks[0]["ok"])
        self.assertEqual(self.c.logs(a["id"])[0]["log"], "hi")
        with self.assertRaises(ErrandError) as e:
            self.c.complete(a["id"], a["lease_id"])
        self.assertEqual(e.exception.status, 409)

    def test_queues_and_push_secret(self):
        q = self.c.queues.set("limited", concurrency=2, rate_limit={"limit": 10, "per": "1s"})
        self.assertEqual(q["config"]["concurrency"], 2)
        self.assertTrue(self.c.queues.pause("limited")["paused"])
        self.assertFalse(self.c.queues.resume("limited")["paused"])
        self.assertEqual(self.c.queues.get("limited")["name"], "limited")
        self.assertIn("limited", [x["name"] for x in self.c.queues.list(limit=1)])
        self.c.queues.set("hooks", push={"url": "http://127.0.0.1:9/never"})
        secret = self.c.queues.push_secret("hooks")["secret"]
        self.assertEqual(self.c.queues.rotate_push_secret("hooks", keep_previous="1h")["previous"], secret)

    def test_schedules(self):
        s = self.c.schedules.set("nightly", "0 2 * * *", "reports", timezone="Europe/Berlin")
        self.assertEqual(len(s["next"]), 5)
        self.assertEqual(self.c.schedules.get("nightly")["timezone"], "Europe/Berlin")
        self.assertIn("nightly", [x["name"] for x in self.c.schedules.list()])
        fired = self.c.schedules.trigger("nightly")
        self.assertEqual(self.c.get(fired["id"])["queue"], "reports")
        self.assertTrue(self.c.schedules.pause("nightly")["paused"])
        self.assertFalse(self.c.schedules.resume("nightly")["paused"])
        self.assertTrue(self.c.schedules.delete("nightly")["deleted"])

    def test_continue_job_and_signal(self):
        job_id = self.c.enqueue("steps", {"order": 7})["id"]
        job = self.c.claim("steps", wait="1s")["jobs"][0]
        for options, field in (({"delay": "1s", "signal": {"timeout": "1h"}}, "signal"), ({"delay": "soon"}, "delay")):
            with self.assertRaises(ErrandError) as e:
                self.c.continue_job(job_id, job["lease_id"], **options)
            self.assertEqual((e.exception.code, e.exception.status, e.exception.field),
                             ("invalid_argument", 400, field))
        with self.assertRaises(ErrandError) as e:
            self.c.continue_job(job_id, "stale")
        self.assertEqual((e.exception.code, e.exception.status), ("conflict", 409))
        waiting = self.c.continue_job(job_id, job["lease_id"], state={"charge": "ch_1"}, signal={"timeout": "1h"})
        self.assertEqual(waiting["state"], "waiting")
        self.assertRegex(waiting["signal_url"], r"^/v1/signals/.")
        self.assertIn("signal_timeout_at", waiting)
        self.assertEqual(self.c.get(job_id)["signal"], {"status": "waiting", "url": waiting["signal_url"]})
        # Whoever holds the URL signals, with no key: here a client of another
        # server, given the absolute URL.
        stranger = Client("http://127.0.0.1:1")
        self.assertEqual(stranger.signal(self.server.url + waiting["signal_url"], {"paid": True}),
                         {"id": job_id, "state": "queued"})
        with self.assertRaises(ErrandError) as e:
            self.c.signal(waiting["signal_url"], {"paid": True})
        self.assertEqual((e.exception.code, e.exception.status, e.exception.field), ("conflict", 409, "signal"))
        with self.assertRaises(ErrandError) as e:
            self.c.signal("not-a-token")
        self.assertEqual((e.exception.code, e.exception.status, e.exception.field), ("unauthorized", 401, "signal"))
        job = self.c.claim("steps", wait="1s")["jobs"][0]
        self.assertEqual((job["id"], job["attempt"], job["continuation"], job["state"], job["signal"]),
                         (job_id, 1, 1, {"charge": "ch_1"}, {"paid": True}))
        slept = self.c.continue_job(job_id, job["lease_id"], state={"step": 3}, delay="1m", progress={"percent": 5})
        self.assertEqual(slept["state"], "scheduled")
        self.assertNotIn("signal_url", slept)
        self.assertEqual(self.c.get(job_id)["progress"]["percent"], 5)

    def test_batches(self):
        created = self.c.batches.create([{"queue": "rows", "payload": {"row": 1}}],
                                        on_complete={"queue": "rows-done", "payload": {"report": "rows"}}, open=True)
        self.assertEqual((created["state"], len(created["jobs"])), ("open", 1))
        page = [{"queue": "rows", "payload": {"row": n}, "idempotency_key": f"row-{n}"} for n in (2, 3)]
        added = self.c.batches.add(created["id"], page)
        self.assertEqual((added["id"], added["state"], len(added["jobs"])), (created["id"], "open", 2))
        again = self.c.batches.add(created["id"], page)  # a page sent twice adds nothing twice
        self.assertEqual([j["id"] for j in again["jobs"]], [j["id"] for j in added["jobs"]])
        sealed = self.c.batches.seal(created["id"])
        self.assertEqual(sealed["state"], "sealed")
        self.assertEqual(sealed["counts"], {"total": 3, "succeeded": 0, "dead": 0, "cancelled": 0, "pending": 3})
        self.assertEqual(sealed["callbacks"], {"complete": {"queue": "rows-done", "job_id": None}})
        self.assertEqual(self.c.batches.seal(created["id"])["state"], "sealed")
        self.assertEqual(self.c.batches.get(created["id"]), sealed)
        self.assertEqual([j["batch"] for j in self.c.list(batch=created["id"], limit=2)], [created["id"]] * 3)
        misspelt = {"queue": "x", "retries": 1}
        for call, expected in ((lambda: self.c.batches.add(created["id"], [{"queue": "rows"}]), (409, "batch")),
                               (lambda: self.c.batches.create([]), (400, "jobs")),
                               (lambda: self.c.batches.create([{"queue": "rows"}], on_death=misspelt),
                                (400, "on_death.retries")),
                               (lambda: self.c.batches.get("1M8HZ4NKB0007"), (404, "id"))):
            with self.assertRaises(ErrandError) as e:
                call()
            self.assertEqual((e.exception.status, e.exception.field), expected)

    def test_keys(self):
        for key in ("team/a", "team/a", "team b"):
            self.c.enqueue("tenants", {}, key=key)
        key = self.c.queues.set_key("tenants", "team/a", concurrency=2, rate_limit={"limit": 10, "per": "1m"}, weight=3)
        self.assertEqual((key["queue"], key["key"], key["queued"], key["overridden"], key["concurrency"],
                          key["rate_limit"]["limit"], key["weight"]), ("tenants", "team/a", 2, True, 2, 10, 3))
        self.assertEqual(self.c.queues.get_key("tenants", "team/a"), key)
        self.assertEqual([k["key"] for k in self.c.queues.keys("tenants", limit=1)], ["team b", "team/a"])
        self.assertEqual([k["key"] for k in self.c.queues.keys("tenants", sort="busiest")], ["team/a", "team b"])
        deleted = self.c.queues.delete_key("tenants", "team/a")
        self.assertEqual((deleted["overridden"], deleted["concurrency"], deleted["weight"]), (False, None, None))
        for call, expected in ((lambda: self.c.queues.delete_key("tenants", "team/a"), ("not_found", 404, "key")),
                               (lambda: self.c.queues.get_key("tenants", "nobody"), ("not_found", 404, "key")),
                               (lambda: self.c.queues.set_key("tenants", "team/a", weight=0),
                                ("invalid_argument", 400, "weight")),
                               (lambda: Client(self.server.url, key="p" * 24).queues.set_key("tenants", "x"),
                                ("forbidden", 403, "authorization"))):
            with self.assertRaises(ErrandError) as e:
                call()
            self.assertEqual((e.exception.code, e.exception.status, e.exception.field), expected)

    def test_several_urls(self):
        import socket

        def dead_url():
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                return f"http://127.0.0.1:{s.getsockname()[1]}"

        dead, dead2 = dead_url(), dead_url()
        moves = []
        both = Client(f"{dead},{self.server.url}", key=ADMIN, on_failover=lambda a, b, why: moves.append((a, b)))
        job = both.enqueue("failover", {"n": 1})
        self.assertEqual(both.get(job["id"])["queue"], "failover")
        self.assertEqual(moves, [(dead, self.server.url)])
        self.assertEqual(both.url, self.server.url)
        with self.assertRaises(ErrandError) as e:
            Client([dead, dead2]).health()
        self.assertEqual(e.exception.code, "unavailable")
        self.assertRegex(e.exception.message, rf"any of its 2 URLs: {dead}: .*refused.*; {dead2}: .*refused")

    def test_server_calls(self):
        self.assertEqual(self.c.stats(window="5m")["window"], "5m")
        self.assertTrue(self.c.nodes()[0]["self"])
        self.assertEqual(self.c.health()["status"], "ok")
        self.assertTrue(self.c.openapi()["openapi"].startswith("3.1"))

    def test_watch_to_the_end_and_across_a_restart(self):
        job = self.c.enqueue("watched", {})
        events = []
        reader = threading.Thread(target=lambda: events.extend(Client(self.server.url).watch(job["id"], token=job["token"])))
        reader.start()
        poll_until(lambda: events, "the snapshot")
        claimed = self.c.claim("watched", wait="1s", lease="1m")["jobs"][0]
        poll_until(lambda: any(e[0] == "state" for e in events), "the running state")
        self.server.stop()
        self.server.start()
        poll_until(lambda: [e[0] for e in events].count("snapshot") == 2, "a snapshot from the restarted server")
        self.c.progress(claimed["id"], claimed["lease_id"], 50, "half")
        poll_until(lambda: any(e[0] == "progress" for e in events), "progress")
        self.c.complete(claimed["id"], claimed["lease_id"], "done")
        reader.join(20)
        self.assertEqual(events[-1][0], "succeeded")
        self.assertEqual(events[-1][2]["result"], "done")


if __name__ == "__main__":
    unittest.main()
