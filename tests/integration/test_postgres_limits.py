"""A queue's limits are exact across nodes (README, "Run several nodes"): with
three `errand server` nodes on one PostgreSQL schema, a queue's concurrency
limit, its push calls and its rate limit count every node's claims together,
because each is decided under the queue row's lock in the database.

Measured by the handlers, not by Errand's counters: workers (threads of this
process, spread over the three nodes) count the jobs they hold from a claim's
answer to the moment they send its complete — a span inside the job's
`running` time on the server — and the push endpoint counts the calls it is
answering. Run with a Python that has psycopg (ERRAND_PG_PYTHON).
"""

import secrets
import threading
import time
import unittest

from cluster_harness import TRANSPORT_ERRORS, ErrandCluster
from harness import ErrandTestCase, log, poll_until
from push_endpoint import PushEndpoint


class Workers:
    """Worker threads, `per_node` on each node, claiming from one queue until
    stopped and completing what they claim in one POST /v1/acks. Hooks:
    `on_claim(t, jobs)` as a claim's answer arrives, `handle(job)` for each
    job, then `before_ack(jobs)` just before the acks are sent."""

    def __init__(self, cluster, queue, per_node, max_jobs=1, wait="1s", handle=None, on_claim=None,
                 before_ack=None):
        self.cluster, self.queue = cluster, queue
        self.max_jobs, self.wait = max_jobs, wait
        self.handle = handle or (lambda job: None)
        self.on_claim = on_claim or (lambda t, jobs: None)
        self.before_ack = before_ack or (lambda jobs: None)
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.completed = {}  # job id -> count of 200 completes
        self.claimed_via = [0] * len(cluster)
        self.errors = []
        self.threads = [threading.Thread(target=self.run, args=(n, i), daemon=True)
                        for i in range(per_node) for n in range(len(cluster))]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(60)

    def run(self, node_index, serial):
        node = self.cluster[node_index]
        conn = node.connection(timeout=60)
        worker = f"n{node_index + 1}-w{serial}"
        try:
            while not self.stopping.is_set():
                r = conn.request("POST", "/v1/claim", {"queues": [self.queue], "worker": worker,
                                                       "max": self.max_jobs, "wait": self.wait}, retry=False)
                now = time.monotonic()
                if r.status != 200:
                    raise AssertionError(f"claim via {node}: {r.status} {r.body}")
                jobs = r.body["jobs"]
                self.on_claim(now, jobs)
                with self.lock:
                    self.claimed_via[node_index] += len(jobs)
                acks = []
                for job in jobs:
                    self.handle(job)
                    acks.append({"id": job["id"], "lease_id": job["lease_id"]})
                if not acks:
                    continue
                self.before_ack(jobs)
                done = conn.request("POST", "/v1/acks", {"acks": acks}, retry=False)
                if done.status != 200:
                    raise AssertionError(f"acks via {node}: {done.status} {done.body}")
                with self.lock:
                    for result in done.body["results"]:
                        if not result["ok"]:
                            self.errors.append(result)
                        else:
                            self.completed[result["id"]] = self.completed.get(result["id"], 0) + 1
        except (AssertionError, *TRANSPORT_ERRORS) as e:
            with self.lock:
                self.errors.append(f"{worker}: {e!r}")
        finally:
            conn.close()


class LimitsTest(ErrandTestCase):
    cluster = None

    @classmethod
    def setUpClass(cls):
        cls.cluster = ErrandCluster(3, extra_args=["--push-allow-private"])
        cls.cluster.__enter__()

    @classmethod
    def tearDownClass(cls):
        if cls.cluster is not None:
            cls.cluster.__exit__(None, None, None)

    def setUp(self):
        self.q = f"limits-{secrets.token_hex(4)}"

    def configure(self, queue, config):
        self.assertStatus(self.cluster[0].request("PUT", f"/v1/queues/{queue}", config), 200, "configure")

    def enqueue_spread(self, queue, count, **fields):
        """`count` jobs, enqueued in batches through every node in turn."""
        ids = []
        for start in range(0, count, 100):
            node = self.cluster[(start // 100) % len(self.cluster)]
            batch = [dict(fields, queue=queue, payload={"n": n}) for n in range(start, min(count, start + 100))]
            ids += [j["id"] for j in node.enqueue_batch(batch)]
        return ids

    def test_concurrency_5_over_three_nodes_never_runs_a_sixth_job(self):
        self.configure(self.q, {"concurrency": 5})
        ids = self.enqueue_spread(self.q, 1000)
        held = threading.Condition()
        release = threading.Event()
        running = {"now": 0, "most": 0}

        def on_claim(t, jobs):
            with held:
                running["now"] += len(jobs)
                running["most"] = max(running["most"], running["now"])
                held.notify_all()

        def handle(job):
            release.wait(60)  # the first jobs are held until the test has seen five at once

        def before_ack(jobs):
            with held:
                running["now"] -= len(jobs)

        started = time.monotonic()
        workers = Workers(self.cluster, self.q, per_node=3, max_jobs=2, handle=handle, on_claim=on_claim,
                          before_ack=before_ack).start()
        try:
            with held:
                five = held.wait_for(lambda: running["now"] >= 5 or workers.errors, 60)
            self.assertTrue(five, f"five jobs running at once: {running}, {workers.errors}")
            for node in self.cluster.nodes:
                self.assertEqual(node.claim(self.q, worker="sixth"), [], f"a sixth job handed out via {node}")
            release.set()
            poll_until(lambda: len(workers.completed) >= 1000 or workers.errors, 180, interval=0.1,
                       message="1000 jobs completed")
        finally:
            release.set()
            workers.stop()
        took = time.monotonic() - started
        log(f"concurrency 5 over 3 nodes: 1000 jobs in {took:.1f}s by 9 workers; at most {running['most']} "
            f"running at once (handlers' count); claimed via the nodes: {workers.claimed_via}")
        self.assertEqual(workers.errors, [])
        self.assertEqual(running["most"], 5, "the limit is reached and never passed")
        self.assertEqual(sorted(workers.completed), sorted(ids))
        self.assertEqual(set(workers.completed.values()), {1})
        self.assertTrue(all(workers.claimed_via), f"every node handed out jobs: {workers.claimed_via}")
        self.assertEqual(self.cluster[2].counts(self.q)["succeeded"], 1000)

    def test_key_concurrency_1_over_three_nodes_never_runs_two_jobs_of_a_key(self):
        keys, per_key = 20, 15
        self.configure(self.q, {"key_concurrency": 1})
        ids = []
        for k in range(per_key):
            node = self.cluster[k % len(self.cluster)]
            batch = [{"queue": self.q, "key": f"tenant-{n}", "payload": {"n": n}} for n in range(keys)]
            ids += [j["id"] for j in node.enqueue_batch(batch)]
        lock = threading.Lock()
        running = {}
        overlaps = []

        def on_claim(t, jobs):
            with lock:
                for j in jobs:
                    running[j["key"]] = running.get(j["key"], 0) + 1
                    if running[j["key"]] > 1:
                        overlaps.append(j["key"])

        def before_ack(jobs):
            with lock:
                for j in jobs:
                    running[j["key"]] -= 1

        workers = Workers(self.cluster, self.q, per_node=3, max_jobs=4, handle=lambda job: None,
                          on_claim=on_claim, before_ack=before_ack).start()
        try:
            poll_until(lambda: len(workers.completed) >= len(ids) or workers.errors, 180, interval=0.1,
                       message=f"{len(ids)} jobs completed")
        finally:
            workers.stop()
        log(f"key_concurrency 1 over 3 nodes: {len(ids)} jobs of {keys} keys; claimed via the nodes: "
            f"{workers.claimed_via}; two of one key at once: {len(overlaps)}")
        self.assertEqual(workers.errors, [])
        self.assertEqual(overlaps, [])
        self.assertEqual(sorted(workers.completed), sorted(ids))
        self.assertTrue(all(workers.claimed_via), f"every node handed out jobs: {workers.claimed_via}")

    def test_push_calls_over_three_nodes_each_node_its_push_concurrency_the_queue_its_concurrency(self):
        held = threading.Event()
        mode = {"hold": True}

        def answer(call):
            if mode["hold"]:
                held.wait(60)  # the first calls are held until the test has seen them all at once
            else:
                time.sleep(0.1)  # the function's work
            return 200, {}, {"ok": True}

        endpoint = PushEndpoint(behaviour=answer).start()
        self.addCleanup(endpoint.stop)
        self.addCleanup(held.set)
        # push.concurrency is per node: 2 calls at once on each of the three.
        self.configure(self.q, {"push": {"url": endpoint.url, "concurrency": 2}})
        ids = self.enqueue_spread(self.q, 12)
        six = endpoint.wait_in_flight(6, 30)
        mode["hold"] = False
        held.set()
        poll_until(lambda: self.cluster[1].counts(self.q)["succeeded"] == 12, 60, interval=0.1,
                   message="12 pushed jobs succeeded")
        log(f"push, push.concurrency 2 on each of 3 nodes, no queue limit: at most {endpoint.max_in_flight} "
            "calls at once")
        self.assertTrue(six, f"every node calls the endpoint: at most {endpoint.max_in_flight} calls at once")
        self.assertEqual(endpoint.max_in_flight, 6, "two calls at once per node, no more")
        self.assertEqual(sorted({c.job_id for c in endpoint.calls}), sorted(ids))

        # The queue's concurrency counts every node's calls together.
        self.configure(self.q, {"concurrency": 4, "push": {"url": endpoint.url, "concurrency": 10}})
        with endpoint._cond:
            endpoint.max_in_flight = endpoint.in_flight
        ids = self.enqueue_spread(self.q, 60)
        poll_until(lambda: self.cluster[1].counts(self.q)["succeeded"] == 72, 120, interval=0.2,
                   message="60 more pushed jobs succeeded")
        log(f"push, queue concurrency 4, push.concurrency 10 on each of 3 nodes: at most "
            f"{endpoint.max_in_flight} calls at once")
        self.assertEqual(endpoint.max_in_flight, 4, "the queue's limit, across the nodes, reached and never passed")
        self.assertTrue(set(ids) <= {c.job_id for c in endpoint.calls})

    def test_rate_limit_of_50_per_second_over_three_nodes_admits_50_per_second(self):
        self.configure(self.q, {"rate_limit": {"limit": 50, "per": "1s"}})
        self.assertStatus(self.cluster[0].request("POST", f"/v1/queues/{self.q}/pause"), 200, "pause")
        self.enqueue_spread(self.q, 500)
        lock = threading.Lock()
        starts = []

        def on_claim(t, jobs):
            with lock:
                starts.extend([t] * len(jobs))

        workers = Workers(self.cluster, self.q, per_node=3, max_jobs=10, wait="200ms", on_claim=on_claim).start()
        try:
            self.assertStatus(self.cluster[1].request("POST", f"/v1/queues/{self.q}/resume"), 200, "resume")
            poll_until(lambda: starts and time.monotonic() - starts[0] >= 5.5, 30, interval=0.05,
                       message="5.5 s of claims")
        finally:
            workers.stop()
        self.assertEqual(workers.errors, [])
        t0 = starts[0]
        per_second = [sum(1 for t in starts if t0 + s <= t < t0 + s + 1) for s in range(5)]
        in_5s = sum(per_second)
        after_burst = sum(per_second[1:])
        log(f"rate limit 50/1s over 3 nodes (9 workers): started per second {per_second}, {in_5s} in 5 s "
            f"(at most one burst of 50 + 50/s = 300; 3 separate buckets would allow 900)")
        # Give or take the claims' answers travelling: the window opens at the
        # first answer to arrive, which may be later than the first admission.
        self.assertLessEqual(in_5s, 50 + 50 * 5 + 15, "more than the burst plus 50/s")
        self.assertGreaterEqual(in_5s, 50 * 5 - 50, "far fewer than 50/s")
        self.assertLessEqual(after_burst, 50 * 4 + 50, "after the burst: 50/s, give or take one burst")
        self.assertGreaterEqual(after_burst, 50 * 4 - 50)
        self.assertEqual(len(workers.completed), len(starts))


if __name__ == "__main__":
    unittest.main()
