"""Three `errand server` nodes on one PostgreSQL schema act as one service
(README, "Run several nodes"): a job enqueued through one node is claimed,
heartbeated, cancelled and read through the others; a job token one node
issued reads the job on another; a claim waiting on one node is woken by an
enqueue on another; a queue's configuration and pause hold on every node; a
job's event stream follows changes made through any node and resumes on
another. Also scripts/dev-cluster.sh, which starts such a cluster by hand.

The nodes share the ctest fixture's cluster (a schema of their own). Run with
a Python that has psycopg (ERRAND_PG_PYTHON, tests/postgres.cmake).
"""

import os
import re
import secrets
import signal
import subprocess
import threading
import time
import unittest
import urllib.parse

import harness
from cluster_harness import REPO, ErrandCluster, node_port
from harness import ErrandTestCase, log, poll_until
from push_endpoint import PushEndpoint
from test_events import EventStream, seq_of, summary

ADMIN = "admin-key-of-the-nodes-test-0001"
WORKER = "worker-key-of-the-nodes-test-001"
KEYS = (("admin", ADMIN), ("worker", WORKER))


def waiting_claims(node):
    r = node.request("GET", "/v1/stats?window=5m")
    return r.body["workers"]["waiting"] if r.status == 200 else 0


def process_runs(pid):
    """Whether a process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class ClaimInThread:
    """A long-poll claim on one node, answered in a thread of its own."""

    def __init__(self, node, queue, wait="30s", key=WORKER):
        self.answer = None
        self.answered_at = None

        def run():
            conn = node.connection(timeout=120)
            try:
                self.answer = conn.request("POST", "/v1/claim", {"queues": [queue], "worker": "waiter", "wait": wait},
                                           key=key, retry=False)
                self.answered_at = time.monotonic()
            finally:
                conn.close()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def join(self, timeout):
        self.thread.join(timeout)
        return self.answer


class NodesTest(ErrandTestCase):
    """One cluster of three nodes for the class; each test uses queues of its own."""

    cluster = None

    @classmethod
    def setUpClass(cls):
        cls.cluster = ErrandCluster(3, keys=KEYS, extra_args=["--push-allow-private"])
        cls.cluster.__enter__()
        cls.one, cls.two, cls.three = cls.cluster.nodes

    @classmethod
    def tearDownClass(cls):
        if cls.cluster is not None:
            cls.cluster.__exit__(None, None, None)

    def setUp(self):
        self.q = f"nodes-{secrets.token_hex(4)}"
        for node in self.cluster.nodes:
            if not node.running():
                node.start()
        self.addCleanup(self.check_nodes_alive)

    def check_nodes_alive(self):
        dead = [n for n in self.cluster.nodes if not n.running()]
        if dead:
            self.fail(f"a node died during the test:\n{self.cluster.log_tails()}")

    def claim_one(self, node, queue=None, **fields):
        return node.claim_one(queue or self.q, key=WORKER, **fields)

    def lease_call(self, node, job, verb, **fields):
        return node.request("POST", f"/v1/jobs/{job['id']}/{verb}", dict(fields, lease_id=job["lease_id"]),
                            key=WORKER)

    def test_a_job_enqueued_on_one_node_is_claimed_run_and_read_on_the_others(self):
        one, two, three = self.one, self.two, self.three
        enqueued = one.enqueue(self.q, payload={"rows": 12}, type="import")
        self.assertEqual(three.get_job(enqueued["id"])["state"], "queued")
        job = self.claim_one(two)
        self.assertEqual((job["id"], job["payload"], job["attempt"]), (enqueued["id"], {"rows": 12}, 1))
        self.assertEqual(three.get_job(job["id"])["state"], "running")

        self.assertStatus(self.lease_call(two, job, "progress", percent=40, message="rows 5/12"), 200, "progress")
        seen = three.get_job(job["id"])
        self.assertEqual((seen["progress"]["percent"], seen["progress"]["message"]), (40, "rows 5/12"))
        self.assertEqual(seen["worker"], "w1")

        self.assertStatus(self.lease_call(two, job, "complete", result={"imported": 12}), 200, "complete")
        done = three.get_job(job["id"])
        self.assertEqual((done["state"], done["result"], done["attempt"]), ("succeeded", {"imported": 12}, 1))
        self.assertEqual([j["id"] for j in three.list_all(queue=self.q)], [job["id"]])
        self.assertEqual(one.counts(self.q)["succeeded"], 1)
        self.assertEqual(three.counts(self.q), one.counts(self.q))
        # The lease is spent: no node takes it again.
        for node in (one, two, three):
            self.assertError(self.lease_call(node, job, "complete"), 409, "conflict")

    def test_a_job_token_one_node_issued_reads_the_job_on_another_and_after_its_restart(self):
        one, three = self.one, self.three
        job = one.enqueue(self.q, payload={"secret": "kept"})
        path = f"/v1/jobs/{job['id']}?token={urllib.parse.quote(job['token'])}"
        r = three.request("GET", path, key=None)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual((r.body["id"], r.body["state"]), (job["id"], "queued"))
        self.assertNotIn("payload", r.body)  # a token sees the status, not the app's data
        events = EventStream(three, f"/v1/jobs/{job['id']}/events?token={urllib.parse.quote(job['token'])}")
        try:
            self.assertEqual(events.status, 200)
            self.assertEqual(events.next()["event"], "snapshot")
        finally:
            events.close()
        # Signed, not merely present: an altered token is refused on every node.
        flipped = job["token"][:-1] + ("A" if job["token"][-1] != "A" else "B")
        for node in self.cluster.nodes:
            bad = f"/v1/jobs/{job['id']}?token={urllib.parse.quote(flipped)}"
            self.assertError(node.request("GET", bad, key=None), 401, "unauthorized")
        # The secret is the database's: a node started afresh knows it too.
        three.stop()
        three.start()
        self.assertEqual(three.request("GET", path, key=None).status, 200)
        self.assertEqual(self.two.request("GET", path, key=None).status, 200)

    def test_a_claim_waiting_on_one_node_is_woken_by_an_enqueue_on_another(self):
        waiter = ClaimInThread(self.three, self.q, wait="30s")
        poll_until(lambda: waiting_claims(self.three) >= 1, 15, interval=0.02, message="the claim waiting on node 3")
        started = time.monotonic()
        job = self.one.enqueue(self.q)
        answer = waiter.join(35)
        self.assertIsNotNone(answer, "the claim did not return")
        took = waiter.answered_at - started
        log(f"a claim waiting on node 3 got the job enqueued on node 1 after {took * 1000:.0f} ms")
        self.assertEqual(answer.status, 200, answer.body)
        self.assertEqual([j["id"] for j in answer.body["jobs"]], [job["id"]])
        self.assertLess(took, 3, "woken by the notification, not at the end of its 30 s wait")

    def test_cancel_on_one_node_reaches_the_heartbeat_of_a_worker_on_another(self):
        enqueued = self.one.enqueue(self.q)
        job = self.claim_one(self.two)
        beat = self.assertStatus(self.lease_call(self.two, job, "heartbeat"), 200, "heartbeat")
        self.assertFalse(beat["cancel_requested"])
        cancelled = self.assertStatus(self.three.request("POST", f"/v1/jobs/{enqueued['id']}/cancel"), 200, "cancel")
        self.assertEqual((cancelled["state"], cancelled["cancel_requested"]), ("running", True))
        beat = self.assertStatus(self.lease_call(self.two, job, "heartbeat"), 200, "heartbeat")
        self.assertTrue(beat["cancel_requested"], beat)
        failed = self.assertStatus(self.lease_call(self.two, job, "fail", error="stopped: cancelled"), 200, "fail")
        self.assertEqual(failed["state"], "cancelled")
        self.assertEqual(self.one.get_job(job["id"])["state"], "cancelled")

    def test_queue_configuration_set_on_one_node_holds_on_every_node(self):
        one, two, three = self.one, self.two, self.three
        three.enqueue(self.q)  # node 3 has met the queue before it is configured
        config = {"concurrency": 2, "rate_limit": {"limit": 1000, "per": "1m"},
                  "defaults": {"priority": 7, "max_attempts": 3, "timeout": "45s",
                               "on_done": {"url": "https://app.example.com/done"}}}
        self.assertStatus(one.request("PUT", f"/v1/queues/{self.q}", config), 200, "configure")
        for node in (two, three):
            shown = self.assertStatus(node.request("GET", f"/v1/queues/{self.q}"), 200, "read the queue")["config"]
            self.assertEqual((shown["concurrency"], shown["rate_limit"], shown["defaults"]),
                             (2, config["rate_limit"], config["defaults"]), node)
        later = three.get_job(three.enqueue(self.q)["id"])
        self.assertEqual((later["priority"], later["max_attempts"], later["timeout"]), (7, 3, "45s"))
        for _ in range(3):
            one.enqueue(self.q)

        # Concurrency 2, whichever node the claims go through.
        first, second = self.claim_one(one), self.claim_one(two)
        self.assertEqual(three.claim(self.q, key=WORKER), [], "a third job running at once")
        self.assertEqual(one.claim(self.q, key=WORKER), [], "a third job running at once")
        waiter = ClaimInThread(three, self.q, wait="30s")
        poll_until(lambda: waiting_claims(three) >= 1, 15, interval=0.02, message="the claim waiting on node 3")
        self.assertStatus(self.lease_call(one, first, "complete"), 200, "complete")
        answer = waiter.join(35)
        self.assertEqual(answer.status, 200, answer.body)
        self.assertEqual(len(answer.body["jobs"]), 1, "the finished job made room on another node")
        self.assertStatus(self.lease_call(two, second, "complete"), 200, "complete")
        self.assertStatus(self.lease_call(three, answer.body["jobs"][0], "complete"), 200, "complete")

        # Pause on node 2 holds for claims on nodes 1 and 3; resume on node 3
        # wakes a claim waiting on node 1.
        self.assertTrue(self.assertStatus(two.request("POST", f"/v1/queues/{self.q}/pause"), 200, "pause")["paused"])
        for node in (one, three):
            r = self.assertStatus(node.request("POST", "/v1/claim", {"queues": [self.q]}, key=WORKER), 200, "claim")
            self.assertEqual(r["jobs"], [])
            self.assertEqual([w["code"] for w in r.get("warnings", [])], ["queue_paused"], node)
        waiter = ClaimInThread(one, self.q, wait="30s")
        poll_until(lambda: waiting_claims(one) >= 1, 15, interval=0.02, message="the claim waiting on node 1")
        started = time.monotonic()
        self.assertFalse(self.assertStatus(three.request("POST", f"/v1/queues/{self.q}/resume"), 200,
                                           "resume")["paused"])
        answer = waiter.join(35)
        self.assertEqual(answer.status, 200, answer.body)
        self.assertEqual(len(answer.body["jobs"]), 1, answer.body)
        self.assertLess(time.monotonic() - started, 3, "woken by the resume on another node")

    def test_a_push_endpoint_set_through_one_node_is_called_by_every_node_and_outlives_it(self):
        one, two, three = self.one, self.two, self.three
        release = threading.Event()
        self.addCleanup(release.set)
        mode = {"a": "hold"}

        def at_a(call):
            if mode["a"] == "hold":
                release.wait(60)
                return 200, {}, {"at": "a"}
            return 503, {"Retry-After": "1"}, None  # moved: the job comes back for the new URL

        def at_b(call):
            release.wait(60)
            return 200, {}, {"at": "b"}

        a = PushEndpoint(behaviour=at_a).start()
        b = PushEndpoint(behaviour=at_b).start()
        self.addCleanup(a.stop)
        self.addCleanup(b.stop)

        def succeeded():
            return one.counts(self.q)["succeeded"]

        # Set through node 1: all three nodes call it, two calls at once each.
        self.assertStatus(one.request("PUT", f"/v1/queues/{self.q}", {"push": {"url": a.url, "concurrency": 2}}),
                          200, "configure")
        two.enqueue_batch([{"queue": self.q, "payload": {"n": n}} for n in range(12)])
        self.assertTrue(a.wait_in_flight(6, 30), f"three nodes calling: at most {a.max_in_flight} calls at once")
        release.set()
        poll_until(lambda: succeeded() == 12, 60, interval=0.1, message="12 pushed jobs succeeded")
        self.assertEqual(a.max_in_flight, 6)

        # A new URL set through node 2 is taken up by every node.
        release.clear()
        mode["a"] = "moved"
        self.assertStatus(two.request("PUT", f"/v1/queues/{self.q}", {"push": {"url": b.url, "concurrency": 2}}),
                          200, "configure")
        three.enqueue_batch([{"queue": self.q, "payload": {"n": n}} for n in range(12, 24)])
        self.assertTrue(b.wait_in_flight(6, 30), f"three nodes calling the new URL: at most {b.max_in_flight}")
        release.set()
        poll_until(lambda: succeeded() == 24, 90, interval=0.1, message="24 pushed jobs succeeded")

        # Node 1, which configured the queue first, dies: the others deliver.
        self.cluster.kill9(0)
        ids = {j["id"] for j in three.enqueue_batch([{"queue": self.q} for _ in range(4)])}
        poll_until(lambda: two.counts(self.q)["succeeded"] == 28, 60, interval=0.1,
                   message="the jobs enqueued after node 1 died succeeded")
        self.assertTrue(ids <= {c.job_id for c in b.calls})
        one.start()

    def test_a_dashboard_login_on_one_node_holds_on_every_node(self):
        one, two, three = self.one, self.two, self.three
        login = one.request("POST", "/v1/session", {"key": ADMIN}, key=None)
        self.assertEqual(login.status, 200, login.body)
        cookie = login.headers["set-cookie"].split(";", 1)[0]
        csrf = login.body["csrf_token"]
        for node in (two, three):
            seen = self.assertStatus(node.request("GET", "/v1/session", key=None, headers={"Cookie": cookie}), 200,
                                     f"the session on {node}")
            self.assertTrue(seen["authenticated"], node)
        changed = three.request("POST", f"/v1/queues/{self.q}/pause", key=None,
                                headers={"Cookie": cookie, "X-CSRF-Token": csrf})
        self.assertStatus(changed, 200, "a change on node 3 with the session made on node 1")
        self.assertStatus(two.request("DELETE", "/v1/session", key=None,
                                      headers={"Cookie": cookie, "X-CSRF-Token": csrf}), 200, "log out on node 2")
        after = self.assertStatus(one.request("GET", "/v1/session", key=None, headers={"Cookie": cookie}), 200,
                                  "the session on node 1 after the logout")
        self.assertFalse(after["authenticated"])

    def test_every_node_lists_the_three_nodes(self):
        def up(node):
            return [n for n in node.request("GET", "/v1/nodes").body["nodes"] if n["state"] == "up"]

        for node in self.cluster.nodes:
            poll_until(lambda: len(up(node)) == 3, 30, interval=0.2, message=f"three nodes up, listed by {node}")
            self.assertEqual(sum(1 for n in up(node) if n["self"]), 1)

    def test_event_stream_on_one_node_follows_changes_made_through_the_others_and_resumes_on_another(self):
        one, two, three = self.one, self.two, self.three
        enqueued = one.enqueue(self.q)
        path = f"/v1/jobs/{enqueued['id']}/events?token={urllib.parse.quote(enqueued['token'])}"

        def stream(node, last=None):
            s = EventStream(node, path, headers={"Last-Event-ID": last} if last else None, timeout=15)
            self.addCleanup(s.close)
            self.assertEqual(s.status, 200, node)
            return s

        watched = stream(three)
        self.assertEqual(summary([watched.next()]), ["snapshot queued"])
        held = stream(one)  # node 1 has a watcher of the job: it holds the job's events
        self.assertEqual(summary([held.next()]), ["snapshot queued"])
        job = self.claim_one(two)

        def progress(node, percent):
            self.assertStatus(self.lease_call(node, job, "progress", percent=percent), 200, f"progress {percent}")
            time.sleep(0.15)  # paced past the 100 ms coalescing of progress events

        progress(two, 10)
        progress(one, 20)
        before = [watched.next() for _ in range(3)]
        self.assertEqual(summary(before), ["state running 1", "progress 10", "progress 20"])
        watched.close()
        last = before[-1]["id"]

        progress(two, 30)
        progress(one, 40)
        on_one = stream(one, last)  # a node that holds the events: exactly those after `last`
        resumed = [on_one.next(), on_one.next()]
        self.assertEqual(summary(resumed), ["progress 30", "progress 40"])
        on_two = stream(two, last)  # a node that does not: those events, or a snapshot of now
        first = on_two.next()
        if first["event"] == "snapshot":
            self.assertEqual((first["data"]["state"], first["data"]["progress"]["percent"]), ("running", 40))
            self.assertEqual(seq_of(first["id"]), seq_of(resumed[-1]["id"]))
        else:
            self.assertEqual(summary([first, on_two.next()]), ["progress 30", "progress 40"])

        self.assertStatus(self.lease_call(two, job, "complete", result="done"), 200, "complete")
        resumed += on_one.until_end()
        self.assertEqual(summary(resumed), ["progress 30", "progress 40", "succeeded succeeded 1"])
        seqs = [seq_of(e["id"]) for e in before + resumed]
        self.assertEqual(seqs, list(range(seqs[0], seqs[0] + len(seqs))), "no gap and no repeat across nodes")
        self.assertEqual(summary(on_two.until_end()), ["succeeded succeeded 1"])
        self.assertEqual(summary(held.until_end())[-1], "succeeded succeeded 1")


class DevClusterScriptTest(ErrandTestCase):
    """README, "Run several nodes": scripts/dev-cluster.sh starts PostgreSQL
    and three nodes, prints their URLs, and Ctrl-C stops them all."""

    SCRIPT = os.path.join(REPO, "scripts", "dev-cluster.sh")

    def test_dev_cluster_starts_three_nodes_that_answer_and_sigint_stops_everything(self):
        d = f"/tmp/errand-devc-{secrets.token_hex(4)}"
        self.addCleanup(subprocess.run, [os.path.join(REPO, "scripts", "pg-cluster.sh"), "stop", d],
                        capture_output=True, timeout=120)
        out_path = f"{d}.out"
        self.addCleanup(lambda: os.path.exists(out_path) and os.remove(out_path))
        env = dict(os.environ, ERRAND_BIN=harness.errand_bin())
        with open(out_path, "wb") as out:
            proc = subprocess.Popen([self.SCRIPT, "--dir", d, "--port", str(node_port())], stdout=out,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                    start_new_session=True)
        self.addCleanup(lambda: proc.poll() is None and os.killpg(proc.pid, signal.SIGKILL))

        def printed():
            with open(out_path, encoding="utf-8", errors="replace") as f:
                return f.read()

        poll_until(lambda: "Ctrl-C" in printed() or proc.poll() is not None, 120, interval=0.1,
                   message="dev-cluster.sh to print its nodes")
        text = printed()
        self.assertIsNone(proc.poll(), text)
        urls = re.findall(r"^node \d: (http://127\.0\.0\.1:\d+)", text, re.M)
        self.assertEqual(len(urls), 3, text)
        self.assertIn(f"ERRAND_URL={','.join(urls)}", text)
        self.assertIn(f"dashboard: {urls[0]}/", text)
        for url in urls:
            host, port = urllib.parse.urlsplit(url).hostname, urllib.parse.urlsplit(url).port
            conn = harness.Connection(host, port, timeout=10)
            self.assertEqual(conn.request("GET", "/healthz").status, 200, url)
            conn.close()
        # One service: a job enqueued on the first node is claimed on the third.
        first, third = (harness.Connection("127.0.0.1", urllib.parse.urlsplit(u).port) for u in (urls[0], urls[2]))
        job = first.request("POST", "/v1/jobs", {"queue": "dev"}).body
        claimed = third.request("POST", "/v1/claim", {"queues": ["dev"]}).body["jobs"]
        self.assertEqual([j["id"] for j in claimed], [job["id"]])
        first.close()
        third.close()
        pids = [int(p) for p in re.findall(r"pid (\d+)", text)]
        self.assertEqual(len(pids), 3, text)

        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        self.assertEqual(proc.wait(60), 0, printed())
        log(f"dev-cluster.sh stopped {time.monotonic() - started:.1f}s after SIGINT")
        for pid in pids:
            self.assertFalse(process_runs(pid), f"node pid {pid} still runs")
        self.assertFalse(os.path.exists(d), "the PostgreSQL cluster's directory is left")


if __name__ == "__main__":
    unittest.main()
