"""Chaos: three nodes on one PostgreSQL, one of them killed with SIGKILL
every few seconds and restarted, and the database itself crash-restarted
once, while producers enqueue, workers claim and complete, and an
every-second schedule fires. What "Run several nodes" (README) promises must
hold afterwards:

- every acknowledged enqueue (202, or 200 for a repeated idempotency key) is
  a job, and every idempotency key is one job;
- every acknowledged complete (an ack answered ok) left its job succeeded,
  and no job was completed twice;
- every job ends (succeeded: the workers complete everything they run);
- the schedule fired each second exactly once: no fire time twice, and no
  second skipped except while the database was down (a time missed then
  fires once if it is the latest one, never as a backlog: core/schedule.hpp).

Producers and workers are threads of this process speaking HTTP, each with
the three nodes' URLs, moving to the next one when a connection fails
(FailoverClient) and sending again what they do not know the outcome of —
an enqueue with its idempotency key, acks with their lease ids — and an
`errand work` worker given every node's URL (`--server A,B,C`). The run prints its figures: rounds, jobs, losses,
duplicates, re-deliveries.

The database is a PostgreSQL cluster of the test's own, so its restart does
not disturb the suites sharing the ctest fixture's. ERRAND_CHAOS_ROUNDS
(default 20) and ERRAND_CHAOS_SEED change the run. Run with a Python that has
psycopg (ERRAND_PG_PYTHON, tests/postgres.cmake).
"""

import collections
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from cluster_harness import TRANSPORT_ERRORS, ErrandCluster, FailoverClient, PostgresCluster
from harness import ErrandTestCase, errand_bin, log, poll_until
from work_harness import WORK_JOB

ROUNDS = int(os.environ.get("ERRAND_CHAOS_ROUNDS", "20"))
QUEUE, CLI_QUEUE, TICKS = "chaos", "chaos-cli", "chaos-ticks"
SCHEDULE = "chaos-beat"
LEASE = "4s"  # a claim lost with its node comes back this soon
PAUSE_AFTER_REFUSAL = 0.05  # a 503 or a refused connection: the next node, a moment later


class Ledger:
    """What the clients were told, from several threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acked = {}  # idempotency key -> job id, from a 202 or a 200 duplicate
        self.ack_ids = collections.defaultdict(set)  # key -> every id an acknowledgement named
        self.unknown = 0  # requests whose answer was lost (the node died or the connection broke)
        self.dropped = 0  # jobs a worker dropped, to come back after their lease
        self.completed = collections.Counter()  # job id -> acks answered ok
        self.runs = collections.Counter()  # job id -> times a worker got it
        self.statuses = collections.Counter()
        self.unexpected = []  # answers that break the API's promises

    def count(self, what):
        with self.lock:
            self.statuses[what] += 1


class Producer(threading.Thread):
    def __init__(self, index, urls, ledger, stopping, queues):
        super().__init__(name=f"producer-{index}", daemon=True)
        self.index, self.ledger, self.stopping, self.queues = index, ledger, stopping, queues
        self.client = FailoverClient(urls, start=index, timeout=30)

    def run(self):
        try:
            self.produce()
        finally:
            self.client.close()

    def produce(self):
        serial = 0
        while not self.stopping.is_set():
            serial += 1
            key = f"p{self.index}-{serial}"
            queue = self.queues[serial % len(self.queues)]
            self.enqueue(key, queue)
            time.sleep(0.02)  # paces the producer: about 50 enqueues a second each

    def enqueue(self, key, queue):
        """Sends until acknowledged: a lost answer or a 503 is sent again, to
        the next node, with the same idempotency key."""
        body = {"queue": queue, "payload": {"key": key}, "idempotency_key": key, "timeout": LEASE}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                r = self.client.request("POST", "/v1/jobs", body)
            except TRANSPORT_ERRORS:
                with self.ledger.lock:
                    self.ledger.unknown += 1
                    self.ledger.statuses["transport"] += 1
                time.sleep(PAUSE_AFTER_REFUSAL)
                continue
            self.ledger.count(r.status)
            if r.status in (200, 202):
                with self.ledger.lock:
                    self.ledger.acked.setdefault(key, r.body["id"])
                    self.ledger.ack_ids[key].add(r.body["id"])
                return
            if r.status == 503:
                self.client.move_on()
                time.sleep(PAUSE_AFTER_REFUSAL)
                continue
            with self.ledger.lock:
                self.ledger.unexpected.append(("enqueue", key, r.status, r.body))
            return


class Worker(threading.Thread):
    """Claims, and completes what it claims — but drops one job in 50 on the
    floor, as a worker that dies does, so leases expire during the run."""

    def __init__(self, index, urls, ledger, stopping, seed):
        super().__init__(name=f"worker-{index}", daemon=True)
        self.index, self.ledger, self.stopping = index, ledger, stopping
        self.client = FailoverClient(urls, start=index, timeout=30)
        self.random = random.Random(seed)

    def call(self, path, body, deadline):
        """One answer to the request, sent again to the next node after a
        lost answer or a 503 until `deadline`; None when it never came."""
        while time.monotonic() < deadline:
            try:
                r = self.client.request("POST", path, body, timeout=15)
            except TRANSPORT_ERRORS:
                with self.ledger.lock:
                    self.ledger.unknown += 1
                    self.ledger.statuses["transport"] += 1
                time.sleep(PAUSE_AFTER_REFUSAL)
                continue
            self.ledger.count(r.status)
            if r.status != 503:
                return r
            self.client.move_on()
            time.sleep(PAUSE_AFTER_REFUSAL)
        return None

    def run(self):
        try:
            self.work()
        finally:
            self.client.close()

    def work(self):
        while not self.stopping.is_set():
            claim = {"queues": [QUEUE, TICKS], "worker": f"chaos-{self.index}", "max": 10, "wait": "1s",
                     "lease": LEASE}
            try:
                r = self.client.request("POST", "/v1/claim", claim, timeout=15)
            except TRANSPORT_ERRORS:
                self.ledger.count("transport")
                time.sleep(PAUSE_AFTER_REFUSAL)
                continue  # a claim whose answer is lost: its jobs come back after their lease
            self.ledger.count(r.status)
            if r.status == 503:
                self.client.move_on()
                time.sleep(PAUSE_AFTER_REFUSAL)
                continue
            if r.status != 200:
                with self.ledger.lock:
                    self.ledger.unexpected.append(("claim", r.status, r.body))
                continue
            jobs = r.body["jobs"]
            if not jobs:
                continue
            dropped = [j for j in jobs if self.random.random() < 0.02]
            with self.ledger.lock:
                for job in jobs:
                    self.ledger.runs[job["id"]] += 1
                self.ledger.dropped += len(dropped)
            acks = [{"id": j["id"], "lease_id": j["lease_id"], "result": {"by": self.index}}
                    for j in jobs if j not in dropped]
            if not acks:
                continue
            done = self.call("/v1/acks", {"acks": acks}, time.monotonic() + 60)
            if done is None or done.status != 200:
                with self.ledger.lock:
                    self.ledger.unexpected.append(("acks", None if done is None else (done.status, done.body)))
                continue
            with self.ledger.lock:
                for result in done.body["results"]:
                    if result["ok"]:
                        self.ledger.completed[result["id"]] += 1
                    elif result["error"]["code"] != "conflict":
                        # (A conflict: the lease ended, or this is a resend of acks whose answer was lost.)
                        self.ledger.unexpected.append(("ack", result))


class ChaosTest(ErrandTestCase):
    def setUp(self):
        self.seed = int(os.environ.get("ERRAND_CHAOS_SEED") or random.randrange(1 << 30))
        self.random = random.Random(self.seed)
        self.postgres = PostgresCluster()
        self.addCleanup(self.postgres.destroy)
        self.cluster = ErrandCluster(3, postgres=self.postgres)
        self.addCleanup(self.cluster.cleanup)
        self.cluster.start()

    def admin(self):
        """A node that answers (any: they are one service)."""
        return poll_until(lambda: next((n for n in self.cluster.running_nodes()
                                        if n.request("GET", "/healthz").status == 200), None), 60, interval=0.1,
                          message="a node answering /healthz")

    def start_cli_worker(self, directory):
        """`errand work --server A,B,C` on CLI_QUEUE."""
        env = {k: v for k, v in os.environ.items() if k not in ("ERRAND_URL", "ERRAND_KEY")}
        out = open(os.path.join(directory, "work.out"), "wb")
        self.addCleanup(out.close)
        proc = subprocess.Popen([errand_bin(), "--server", ",".join(self.cluster.urls), "work", CLI_QUEUE, "-c", "4",
                                 "--", "/bin/sh", "-c", "exec cat >/dev/null"], stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, env=env)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        return proc

    def assert_nodes_alive(self):
        """No node died by itself (a crash is not one of the test's kills)."""
        crashed = [n for n in self.cluster.nodes if not n.running()]
        self.assertEqual(crashed, [], f"a node exited by itself:\n{self.cluster.log_tails()}")

    def restart_database(self):
        """pg_ctl restart -m immediate; returns (down, back) as unix seconds:
        from just before the restart to every node answering /healthz 200."""
        down = time.time()
        self.postgres.restart_immediate()
        for node in self.cluster.running_nodes():
            poll_until(lambda: node.request("GET", "/healthz").status == 200, 60, interval=0.05,
                       message=f"{node} serving again after the database's restart")
        return down, time.time()

    def test_nodes_killed_and_the_database_restarted_lose_nothing_and_do_nothing_twice(self):
        started = time.monotonic()
        log(f"chaos: seed {self.seed} (ERRAND_CHAOS_SEED), {ROUNDS} rounds")
        admin = self.admin()
        for queue in (QUEUE, CLI_QUEUE, TICKS):
            self.assertStatus(admin.request("PUT", f"/v1/queues/{queue}", {"defaults": {"timeout": LEASE}}), 200,
                              f"configure {queue}")
        self.assertStatus(admin.request("PUT", f"/v1/schedules/{SCHEDULE}",
                                        {"cron": "* * * * * *", "queue": TICKS}), 201, "create the schedule")
        work_dir = tempfile.mkdtemp(prefix="errand-chaos-")
        self.addCleanup(shutil.rmtree, work_dir, True)
        cli = self.start_cli_worker(work_dir)
        queues = [QUEUE] * 7 + [CLI_QUEUE]  # a command per job is costly on a small machine: one job in 8

        ledger, stopping, stopping_work = Ledger(), threading.Event(), threading.Event()
        producers = [Producer(i, self.cluster.urls, ledger, stopping, queues) for i in range(3)]
        workers = [Worker(i, self.cluster.urls, ledger, stopping_work, self.seed + i) for i in range(6)]
        for t in producers + workers:
            t.start()
        self.addCleanup(stopping_work.set)
        self.addCleanup(stopping.set)

        kills, outage, restart_round = collections.Counter(), None, ROUNDS // 2
        for round_ in range(ROUNDS):
            time.sleep(self.random.uniform(1.0, 2.0))  # paces the chaos: the load runs between kills
            self.assert_nodes_alive()
            victim = self.random.randrange(len(self.cluster))
            self.cluster.kill9(victim)
            kills[victim + 1] += 1
            time.sleep(self.random.uniform(0.2, 1.0))  # the node stays dead a moment
            self.cluster.start_node(victim)
            if round_ == restart_round:
                outage = self.restart_database()
        chaos_took = time.monotonic() - started
        self.assert_nodes_alive()
        self.assertIsNone(cli.poll(), "errand work exited during the run")

        stopping.set()
        for t in producers:
            t.join(150)
        admin = self.admin()
        self.assertStatus(admin.request("POST", f"/v1/schedules/{SCHEDULE}/pause"), 200, "pause the schedule")

        def unfinished():
            counts = [admin.counts(q) for q in (QUEUE, CLI_QUEUE, TICKS)]
            return sum(c[s] for c in counts for s in ("scheduled", "queued", "running", "failed"))

        try:
            poll_until(lambda: unfinished() == 0, 180, interval=0.5, message="every job ended")
        finally:
            stopping_work.set()
            for t in workers:
                t.join(60)
            cli.send_signal(signal.SIGTERM)
            self.assertEqual(cli.wait(60), 0, "errand work's exit after SIGTERM")
        jobs = {j["id"]: j for j in admin.list_all(include="payload")}
        self.report(ledger, jobs, kills, outage, chaos_took, time.monotonic() - started)
        self.check(ledger, jobs, outage)

    def fire_times(self, jobs):
        return sorted(int(j["idempotency_key"].rsplit(":", 1)[1]) for j in jobs.values() if j["queue"] == TICKS)

    def schedule_gaps(self, fires, outage):
        """Seconds the schedule skipped: (missed fire time, allowed) pairs,
        allowed while the database was down (and the nodes reconnecting)."""
        down, back = outage
        fired = set(fires)
        missed = [t for t in range(fires[0], fires[-1], 1000) if t not in fired]
        return [(t, down * 1000 - 1000 <= t <= back * 1000 + 5000) for t in missed]

    def report(self, ledger, jobs, kills, outage, chaos_took, took):
        fires = self.fire_times(jobs)
        gaps = self.schedule_gaps(fires, outage)
        lost = [k for k, i in ledger.acked.items() if i not in jobs]
        twice = [i for i, n in ledger.completed.items() if n > 1]
        again = [i for i, n in ledger.runs.items() if n > 1]
        states = collections.Counter(j["state"] for j in jobs.values())
        log(f"chaos: {sum(kills.values())} rounds of kill -9 (per node {dict(sorted(kills.items()))}) and 1 "
            f"pg_ctl restart -m immediate (the nodes served again {outage[1] - outage[0]:.1f}s after it began) "
            f"in {chaos_took:.0f}s; {took:.0f}s in all")
        log(f"chaos: {len(ledger.acked)} enqueues acknowledged, {len(jobs)} jobs ({dict(states)}), "
            f"{len(lost)} lost; {sum(ledger.completed.values())} completes acknowledged, {len(twice)} jobs "
            f"completed twice; {len(again)} jobs run more than once (the workers dropped {ledger.dropped} claimed "
            f"jobs on purpose, and claims' answers were lost with their node); {ledger.unknown} requests whose "
            f"answer was lost; answers {dict(ledger.statuses)}")
        log(f"chaos: schedule fired {len(fires)} times, {len(fires) - len(set(fires))} fire times twice, "
            f"{sum(1 for _, ok in gaps if ok)} seconds skipped while the database was down, "
            f"{sum(1 for _, ok in gaps if not ok)} skipped otherwise")

    def check(self, ledger, jobs, outage):
        self.assertEqual(ledger.unexpected, [], "answers the API does not allow")
        self.assertGreater(len(ledger.acked), 500, "the producers got work through")
        lost = sorted(k for k, i in ledger.acked.items() if i not in jobs)
        self.assertEqual(lost, [], "acknowledged enqueues that are not jobs")
        self.assertEqual([k for k, ids in ledger.ack_ids.items() if len(ids) > 1], [],
                         "one idempotency key acknowledged as two jobs")
        keys = collections.Counter(j["payload"]["key"] for j in jobs.values() if j["queue"] != TICKS)
        self.assertEqual([k for k, n in keys.items() if n > 1], [], "one idempotency key made two jobs")
        self.assertEqual([i for i, n in ledger.completed.items() if n > 1], [], "completed twice")
        undone = [(i, jobs[i]["state"] if i in jobs else None) for i in ledger.completed
                  if i not in jobs or jobs[i]["state"] != "succeeded"]
        self.assertEqual(undone, [], "acknowledged completes not kept")
        self.assertEqual([(i, j["state"]) for i, j in jobs.items() if j["state"] != "succeeded"], [],
                         "jobs that did not succeed")
        fires = self.fire_times(jobs)
        self.assertEqual(len(fires), len(set(fires)), "a fire time fired twice")
        self.assertGreater(len(fires), ROUNDS, "the schedule fired through the run")
        self.assertEqual([t for t, allowed in self.schedule_gaps(fires, outage) if not allowed], [],
                         "seconds the schedule skipped while the database was up")


class WorkFailoverTest(ErrandTestCase):
    """`errand work` given every node's URL (`--server A,B,C`, or ERRAND_URL
    with commas) keeps working while the nodes die one after another."""

    def setUp(self):
        self.cluster = ErrandCluster(3)
        self.addCleanup(self.cluster.cleanup)
        self.cluster.start()

    def worker(self, directory, name, args=(), env_url=None):
        env = {k: v for k, v in os.environ.items() if k not in ("ERRAND_URL", "ERRAND_KEY")}
        if env_url:
            env["ERRAND_URL"] = env_url
        out = open(os.path.join(directory, f"{name}.out"), "wb")
        self.addCleanup(out.close)
        proc = subprocess.Popen([errand_bin(), *args, "work", "failover", "-c", "2", "--", sys.executable, WORK_JOB],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        return proc

    def test_errand_work_with_every_nodes_url_goes_on_while_nodes_die(self):
        directory = tempfile.mkdtemp(prefix="errand-work-failover-")
        self.addCleanup(shutil.rmtree, directory, True)
        urls = ",".join(self.cluster.urls)
        workers = [self.worker(directory, "flag", args=["--server", urls]), self.worker(directory, "env", env_url=urls)]
        self.cluster[0].request("PUT", "/v1/queues/failover", {"defaults": {"timeout": "5s"}})
        for victim in range(len(self.cluster)):  # each node dies once
            self.cluster.kill9(victim)
            live = self.cluster[(victim + 1) % len(self.cluster)]
            ids = [j["id"] for j in live.enqueue_batch([{"queue": "failover", "payload": {"sleep": 0.1}}
                                                        for _ in range(6)])]
            poll_until(lambda: all(live.get_job(i)["state"] == "succeeded" for i in ids), 60, interval=0.1,
                       message=f"the jobs enqueued while node {victim + 1} is down succeeded")
            self.cluster.start_node(victim)
        self.assertEqual([w.poll() for w in workers], [None, None], "the workers are still running")
        for w in workers:
            w.send_signal(signal.SIGTERM)
            self.assertEqual(w.wait(60), 0)


if __name__ == "__main__":
    unittest.main()
