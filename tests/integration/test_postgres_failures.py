"""A server on PostgreSQL when things fail: the server killed, the database
restarted or down, and the refusals at start (issue 16, "Losing the database").

What every test here holds to: a 2xx means the change committed, so it is
there afterwards; a request the store could not serve gets 503 `unavailable`
with a message saying why; the server recovers by itself once the database is
back, and never crashes or hangs.

Tests that restart or stop PostgreSQL run their own throwaway cluster
(scripts/pg-cluster.sh in a temporary directory), one per test class, so they
cannot disturb the other suites sharing the ctest fixture's cluster; the rest
use the fixture's (ERRAND_TEST_STORE=postgres, a schema of their own).
Run with a Python that has psycopg (ERRAND_PG_PYTHON, tests/postgres.cmake).
"""

import http.client
import os
import re
import secrets
import socket
import subprocess
import threading
import time
import unittest

import harness
from cluster_harness import PG_CLUSTER, with_schema
from cluster_harness import PostgresCluster as Cluster
from harness import ErrandServer, ErrandTestCase, errand_bin, log, poll_until, postgres_base_url

if not harness.ON_POSTGRES:
    raise unittest.SkipTest("run with ERRAND_TEST_STORE=postgres (ctest's integration.postgres_failures)")


def new_schema():
    return f"f_{os.getpid()}_{secrets.token_hex(4)}"


class ClusterServer(ErrandServer):
    """An errand server on a cluster of the test's own (URL given), in a schema of its own."""

    def __init__(self, base_url, schema=None, **kw):
        super().__init__(**kw)
        self.base_url = base_url
        self.pg_schema = schema or new_schema()

    def store_url(self):
        return with_schema(self.base_url, self.pg_schema)


def run_errand(args, timeout=60, env=None):
    """Runs errand to its exit; returns (exit code, stdout + stderr, seconds taken)."""
    full = dict(os.environ)
    full.pop("ERRAND_STORE", None)
    full.update(env or {})
    started = time.monotonic()
    out = subprocess.run([errand_bin(), *args], capture_output=True, text=True, timeout=timeout, env=full,
                         stdin=subprocess.DEVNULL)
    return out.returncode, out.stdout + out.stderr, time.monotonic() - started


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_waiting_claim(server):
    def waiting():
        r = server.request("GET", "/v1/stats?window=5m")
        return r.status == 200 and r.body["workers"]["waiting"] >= 1

    poll_until(waiting, 10, interval=0.02, message="a claim long-polling")


class Load:
    """Client threads enqueueing, claiming and completing until stopped.

    Records what the server acknowledged (enqueues answered 202, completes
    answered 200) and every other answer, so a test can check afterwards that
    each acknowledgement stuck and that the refusals were 503s."""

    def __init__(self, server, queue, producers=3, workers=2):
        self.server, self.queue = server, queue
        self.lock = threading.Lock()
        self.enqueued = {}        # id -> idempotency key, answered 202
        self.refused_keys = []    # (idempotency key, message) of enqueues answered 503
        self.completed = set()    # ids whose complete was answered 200
        self.statuses = {}        # status -> count
        self.others = []          # answers neither 2xx nor 503, and transport errors
        self.unavailable = []     # 503 bodies
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.produce, args=(i,), daemon=True) for i in range(producers)]
        self.threads += [threading.Thread(target=self.work, args=(i,), daemon=True) for i in range(workers)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(60)

    def count(self, status, body):
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if status == 503:
                self.unavailable.append(body)
            elif status >= 300:
                self.others.append((status, body))

    def produce(self, index):
        conn = self.server.connection(timeout=30)
        serial = 0
        while not self.stopping.is_set():
            serial += 1
            key = f"p{index}-{serial}"
            try:
                r = conn.request("POST", "/v1/jobs", {"queue": self.queue, "payload": {"key": key},
                                                      "idempotency_key": key}, retry=False)
            except (OSError, http.client.HTTPException) as e:
                with self.lock:
                    self.others.append(("transport", repr(e)))
                return
            self.count(r.status, r.body)
            with self.lock:
                if r.status == 202:
                    self.enqueued[r.body["id"]] = key
                elif r.status == 503:
                    self.refused_keys.append((key, r.body["error"]["message"]))

    def work(self, index):
        conn = self.server.connection(timeout=30)
        while not self.stopping.is_set():
            try:
                r = conn.request("POST", "/v1/claim", {"queues": [self.queue], "worker": f"w{index}", "max": 5,
                                                       "wait": "200ms"}, retry=False)
                self.count(r.status, r.body)
                if r.status != 200:
                    continue
                for job in r.body["jobs"]:
                    c = conn.request("POST", f"/v1/jobs/{job['id']}/complete", {"lease_id": job["lease_id"]},
                                     retry=False)
                    self.count(c.status, c.body)
                    if c.status == 200:
                        with self.lock:
                            self.completed.add(job["id"])
            except (OSError, http.client.HTTPException) as e:
                with self.lock:
                    self.others.append(("transport", repr(e)))
                return

    def wait_for(self, enqueued, completed, timeout=30):
        poll_until(lambda: len(self.enqueued) >= enqueued and len(self.completed) >= completed, timeout,
                   message=f"{enqueued} enqueues and {completed} completes acknowledged")


class AcknowledgedChecks:
    """Every acknowledged enqueue present, every acknowledged complete kept."""

    def assert_acknowledged_kept(self, server, load):
        self.assertTrue(load.enqueued, "no enqueue was acknowledged")
        jobs = {j["id"]: j for j in server.list_all(queue=load.queue)}
        missing = sorted(set(load.enqueued) - set(jobs))
        self.assertEqual(missing, [], f"{len(missing)} of {len(load.enqueued)} acknowledged enqueues are gone")
        undone = sorted(i for i in load.completed if jobs[i]["state"] != "succeeded")
        self.assertEqual(undone, [], f"acknowledged completes not kept: {[(i, jobs[i]['state']) for i in undone]}")
        return jobs


class ServerKilledTest(ErrandTestCase, AcknowledgedChecks):
    """kill -9 of the errand server (on the fixture's cluster) under load."""

    def test_kill9_under_concurrent_enqueue_and_complete_keeps_every_acknowledgement(self):
        with ErrandServer() as server:
            load = Load(server, "killed").start()
            try:
                load.wait_for(enqueued=300, completed=100)
                server.kill9()
            finally:
                load.stop()
            log(f"kill -9 under load: {len(load.enqueued)} enqueues and {len(load.completed)} completes "
                f"acknowledged; answers {load.statuses}")
            self.assertEqual([o for o in load.others if o[0] != "transport"], [])
            server.start()
            self.assert_acknowledged_kept(server, load)


class DatabaseRestartTest(ErrandTestCase, AcknowledgedChecks):
    """PostgreSQL crash-restarted and stopped under a running server: a cluster of our own."""

    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster()

    @classmethod
    def tearDownClass(cls):
        cls.cluster.destroy()

    def setUp(self):
        if subprocess.run([PG_CLUSTER, "status", self.cluster.dir], capture_output=True).returncode != 0:
            self.cluster.start()  # a test that failed half-way left it down

    def server(self, **kw):
        s = ClusterServer(self.cluster.url, **kw)
        self.addCleanup(s.cleanup)
        return s.start()

    def assert_serving_again(self, server, within):
        """/healthz 200 and an enqueue acknowledged, `within` seconds of the database being back."""
        started = time.monotonic()
        poll_until(lambda: server.request("GET", "/healthz").status == 200, within, interval=0.05,
                   message="/healthz 200 after the database came back")
        poll_until(lambda: server.request("POST", "/v1/jobs", {"queue": "after"}).status == 202, within,
                   interval=0.05, message="an enqueue acknowledged after the database came back")
        return time.monotonic() - started

    def assert_unavailable(self, resp):
        err = self.assertError(resp, 503, "unavailable")
        self.assertIn("database", err["message"])
        return err

    def test_restart_immediate_under_load_keeps_every_acknowledgement_and_recovers(self):
        server = self.server()
        load = Load(server, "restarted").start()
        try:
            load.wait_for(enqueued=200, completed=50)
            before = len(load.enqueued)
            self.cluster.restart_immediate()
            back = time.monotonic()
            recovered = self.assert_serving_again(server, within=15)
            poll_until(lambda: len(load.enqueued) > before + 100, 30, message="enqueues acknowledged again")
        finally:
            load.stop()
        log(f"pg_ctl restart -m immediate under load: serving again {recovered:.2f}s after the database was "
            f"back ({time.monotonic() - back:.1f}s to 100 more enqueues); answers {load.statuses}")
        self.assertEqual(load.others, [], "every answer is a 2xx or a 503")
        for body in load.unavailable:
            self.assertEqual(body["error"]["code"], "unavailable", body)
            self.assertIn("database", body["error"]["message"], body)
        jobs = self.assert_acknowledged_kept(server, load)
        # A 503 means not committed, unless its message says nobody knows.
        stored_keys = {j["payload"]["key"] for j in jobs.values()}
        unknown = [(k, m) for k, m in load.refused_keys if "may or may not" in m]
        committed_anyway = [(k, m) for k, m in load.refused_keys if k in stored_keys and (k, m) not in unknown]
        self.assertEqual(committed_anyway, [], "enqueues answered 503 (not 'may or may not') that committed")
        log(f"503s whose commit outcome was unknown: {len(unknown)}, of which committed: "
            f"{sum(1 for k, _ in unknown if k in stored_keys)}")
        # A refused enqueue retried with its idempotency key gives one job.
        for key, _ in unknown + load.refused_keys[:20]:
            r = server.request("POST", "/v1/jobs", {"queue": load.queue, "payload": {"key": key},
                                                    "idempotency_key": key})
            self.assertIn(r.status, (200, 202), r)
            self.assertEqual(r.status == 200, key in stored_keys, r)
        after = server.list_all(queue=load.queue)
        keys = [j["payload"]["key"] for j in after]
        self.assertEqual(len(keys), len(set(keys)), "an idempotency key gave two jobs")
        self.assertGreaterEqual(len(after), len(jobs))

    def test_long_poll_claim_waiting_across_a_restart_gets_a_job_enqueued_after_it(self):
        server = self.server()
        server.enqueue("warmup")  # the writer's session exists before the restart
        box = {}

        def claim():
            conn = server.connection(timeout=90)
            box["resp"] = conn.request("POST", "/v1/claim", {"queues": ["late"], "worker": "w", "wait": "60s"},
                                       retry=False)

        waiter = threading.Thread(target=claim, daemon=True)
        waiter.start()
        wait_for_waiting_claim(server)
        self.cluster.restart_immediate()
        self.assert_serving_again(server, within=15)
        self.assertTrue(waiter.is_alive(), f"the claim returned during the restart: {box.get('resp')}")
        job = server.enqueue("late", payload={"n": 1})
        waiter.join(30)
        self.assertFalse(waiter.is_alive(), "the waiting claim was not woken by the enqueue")
        self.assertEqual(box["resp"].status, 200, box["resp"])
        self.assertEqual([j["id"] for j in box["resp"].body["jobs"]], [job["id"]])

    def test_listener_hears_another_server_after_a_restart(self):
        """The LISTEN connection is re-established: a job enqueued through
        another server wakes a claim waiting on this one."""
        first = self.server()
        second = self.server(schema=first.pg_schema)
        first.enqueue("shared")
        self.cluster.restart_immediate()
        self.assert_serving_again(first, within=15)
        self.assert_serving_again(second, within=15)
        poll_until(lambda: "LISTEN connection" in first.log_text() and "restored" in first.log_text(), 15,
                   message="the LISTEN connection restored")
        box = {}

        def claim():
            conn = first.connection(timeout=60)
            box["resp"] = conn.request("POST", "/v1/claim", {"queues": ["woken"], "worker": "w", "wait": "30s"},
                                       retry=False)

        waiter = threading.Thread(target=claim, daemon=True)
        waiter.start()
        wait_for_waiting_claim(first)
        started = time.monotonic()
        job = second.enqueue("woken")
        waiter.join(30)
        self.assertEqual(box["resp"].status, 200, box["resp"])
        self.assertEqual([j["id"] for j in box["resp"].body["jobs"]], [job["id"]])
        self.assertLess(time.monotonic() - started, 5, "woken by the notification, not by a timer")

    def test_during_an_outage_healthz_and_requests_say_503_then_recover(self):
        server = self.server()
        server.enqueue("outage")
        self.cluster.stop_immediate()
        try:
            poll_until(lambda: server.request("GET", "/healthz").status == 503, 15, interval=0.05,
                       message="/healthz 503 while the database is down")
            self.assert_unavailable(server.request("GET", "/healthz"))
            self.assert_unavailable(server.request("POST", "/v1/jobs", {"queue": "outage"}))
            self.assert_unavailable(server.request("POST", "/v1/claim", {"queues": ["outage"]}))
            self.assert_unavailable(server.request("GET", "/v1/jobs?queue=outage"))
        finally:
            self.cluster.start()
        took = self.assert_serving_again(server, within=15)
        log(f"after a stop of the database: serving again {took:.2f}s after it was back")
        self.assertEqual(server.counts("outage")["queued"], 1)

    def test_sigterm_while_the_database_is_down_exits_promptly(self):
        server = self.server()
        server.enqueue("stopping")
        self.cluster.stop_immediate()
        try:
            poll_until(lambda: server.request("GET", "/healthz").status == 503, 15, interval=0.05,
                       message="/healthz 503 while the database is down")
            started = time.monotonic()
            self.assertEqual(server.stop(timeout=30), 0, server.log_tail())
            log(f"SIGTERM with the database down: exited in {time.monotonic() - started:.2f}s")
            self.assertLess(time.monotonic() - started, 15)
        finally:
            self.cluster.start()

    def test_database_that_comes_up_late(self):
        self.cluster.stop_immediate()
        server = ClusterServer(self.cluster.url, extra_args=["--store-timeout", "30s"], start_timeout=60)
        self.addCleanup(server.cleanup)
        started = threading.Event()

        def start_cluster_once_errand_waits():
            try:
                poll_until(lambda: "trying again" in server.log_text(), 30, interval=0.05,
                           message="errand waiting for the database")
                self.cluster.start()
            finally:
                started.set()

        helper = threading.Thread(target=start_cluster_once_errand_waits, daemon=True)
        helper.start()
        server.start()
        started.wait(60)
        self.assertIn("trying again for up to", server.log_text())
        job = server.enqueue("late-db")
        self.assertEqual(server.get_job(job["id"])["queue"], "late-db")

    def test_password_never_in_output_or_in_the_command_line(self):
        password = "pw-" + secrets.token_hex(8)
        self.cluster.superuser_sql(f"ALTER ROLE errand PASSWORD '{password}'")
        self.addCleanup(self.cluster.superuser_sql, "ALTER ROLE errand PASSWORD 'errand'")
        url = self.cluster.tcp_url.replace("errand:errand@", f"errand:{password}@")
        server = ClusterServer(url, keys=["admin:admin-key-of-the-test"])
        self.addCleanup(server.cleanup)
        server.start()
        job = server.enqueue("secret")
        with open(f"/proc/{server.proc.pid}/cmdline", "rb") as f:
            cmdline = f.read().decode("utf-8", "replace")
        self.assertIn("--store", cmdline)
        self.assertNotIn(password, cmdline)
        stats = server.request("GET", "/v1/stats")
        self.assertNotIn(password, repr(stats.body))
        # An outage makes it log the lost connection and the reconnection.
        self.cluster.restart_immediate()
        self.assert_serving_again(server, within=15)
        self.assertEqual(server.get_job(job["id"])["id"], job["id"])
        server.stop()
        # (The harness writes the command it ran into the log: not errand's output.)
        output = "\n".join(line for line in server.log_text().splitlines() if not line.startswith("==== start"))
        self.assertIn("PostgreSQL", output)
        self.assertNotIn(password, output)

    def test_wrong_password_over_tcp_is_refused_at_once_naming_the_cause(self):
        wrong = "wrong-" + secrets.token_hex(6)
        url = with_schema(self.cluster.tcp_url.replace("errand:errand@", f"errand:{wrong}@"), new_schema())
        code, out, took = run_errand(["server", "--listen", "127.0.0.1:0", "--store", url])
        self.assertEqual(code, 1, out)
        self.assertIn("password authentication failed", out)
        self.assertIn(f"127.0.0.1:{self.cluster.port}", out)
        self.assertNotIn(wrong, out)
        self.assertNotIn("trying again", out)
        self.assertEqual(len(out.strip().splitlines()), 1, out)
        self.assertLess(took, 20)  # not the 30 s of --store-timeout (a sanitized binary starts slowly)


class StartRefusalTest(ErrandTestCase):
    """What a start says when it cannot use the database (the fixture's cluster, untouched)."""

    def test_bad_url_exits_2(self):
        for url in ("postgres://errand:hunter2@localhost:notaport/errand",
                    "postgres://errand:hunter2@localhost/errand?nosuchoption=1",
                    "postgres://errand:hunter2@[::1/errand"):
            with self.subTest(url=url):
                code, out, took = run_errand(["server", "--listen", "127.0.0.1:0", "--store", url])
                self.assertEqual(code, 2, out)
                self.assertNotIn("hunter2", out)
                self.assertNotIn("trying again", out)
                self.assertEqual(len(out.strip().splitlines()), 1, out)

    def test_unreachable_is_retried_for_the_store_timeout_one_line_a_try_then_exit_1(self):
        port = free_port()
        url = f"postgres://errand:hunter2@127.0.0.1:{port}/errand?schema=nowhere"
        code, out, took = run_errand(["server", "--listen", "127.0.0.1:0", "--store", url,
                                      "--store-timeout", "2s"])
        self.assertEqual(code, 1, out)
        lines = out.strip().splitlines()
        self.assertGreaterEqual(len(lines), 3, out)
        for line in lines[:-1]:
            self.assertIn("trying again for up to", line)
            self.assertIn(f"127.0.0.1:{port}", line)
        self.assertNotIn("trying again", lines[-1])
        self.assertIn(f"127.0.0.1:{port}", lines[-1])
        self.assertIn("Connection refused", lines[-1])
        self.assertNotIn("hunter2", out)
        self.assertGreaterEqual(took, 1.5)
        self.assertLess(took, 25)  # --store-timeout 2s, not the default 30s

    def test_missing_database_is_refused_at_once(self):
        base = postgres_base_url()
        url = with_schema(re.sub(r"/errand\?", "/no_such_db?", base, count=1), new_schema())
        self.assertIn("no_such_db", url)
        code, out, took = run_errand(["server", "--listen", "127.0.0.1:0", "--store", url])
        self.assertEqual(code, 1, out)
        self.assertIn('database "no_such_db" does not exist', out)
        self.assertNotIn("trying again", out)
        self.assertEqual(len(out.strip().splitlines()), 1, out)

    def test_newer_schema_is_refused_naming_both_versions(self):
        with ErrandServer() as server:
            server.enqueue("versions")
            version = server.sql("SELECT max(version) FROM schema_version")[0][0]
            server.stop()
            server.sql("INSERT INTO schema_version(version) VALUES (?)", version + 7)
            code, out, took = run_errand(["server", "--listen", "127.0.0.1:0", "--store", server.store_url()])
            self.assertEqual(code, 1, out)
            self.assertIn(f"schema version {version + 7}", out)
            self.assertIn(str(version), out.replace(f"{version + 7}", ""))
            self.assertNotIn("trying again", out)
            code, out, took = run_errand(["migrate", "--store", server.store_url()])
            self.assertEqual(code, 1, out)
            self.assertIn(f"schema version {version + 7}", out)
            server.sql("DELETE FROM schema_version WHERE version = ?", version + 7)


if __name__ == "__main__":
    unittest.main()
