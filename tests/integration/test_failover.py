"""Clients given several server URLs move on when one fails.

`--server URL1,URL2` and `ERRAND_URL=URL1,URL2` name every node of one
service. The CLI and `errand work` (the C++ client library) use the first URL
until it fails, then the next. Here: a list whose first URL is a dead port
still enqueues, reads and runs jobs; a list where every URL is dead names
each in the error; a worker whose server dies carries on with the next one.
On SQLite two servers share nothing, which is enough to see the worker move:
jobs enqueued on server B get done by a worker that was on server A when A
died. On PostgreSQL (ERRAND_TEST_STORE=postgres) the two servers share one
database, and a job running when its server dies is heartbeated and
completed through the other.
"""

import itertools
import json
import os
import subprocess
import unittest

from harness import (ON_POSTGRES, ErrandServer, ErrandTestCase, SharedServerTestCase, dead_url, errand_bin,
                     poll_until)
from work_harness import WorkerProcess

_counter = itertools.count()


def wait_state(server, job_id, *states, timeout=30):
    def reached():
        job = server.get_job(job_id)
        return job if job["state"] in states else None
    return poll_until(reached, timeout, interval=0.02, message=f"job {job_id} to be {states}")


def worker(test, urls, queue, *args):
    """`ERRAND_URL=URLS errand work QUEUE ARGS -- work_job.py`, killed at cleanup."""
    w = WorkerProcess(None, [queue], args, urls=urls)
    test.addCleanup(w.kill)
    return w


class DeadFirstUrlTest(SharedServerTestCase):
    """The first URL refuses connections; the second is a live server."""

    def q(self):
        return f"failover{next(_counter)}"

    def setUp(self):
        super().setUp()
        self.dead = dead_url()
        self.urls = f"{self.dead},{self.server.url}"

    def cli(self, *args, urls=None, via_env=False):
        env = dict(os.environ)
        env.pop("ERRAND_KEY", None)
        env.pop("ERRAND_URL", None)
        urls = urls or self.urls
        if via_env:
            env["ERRAND_URL"] = urls
        else:
            args = ("--server", urls, *args)
        return subprocess.run([errand_bin(), *args], env=env, capture_output=True, text=True, timeout=60)

    def ok(self, *args, **kw):
        p = self.cli(*args, **kw)
        self.assertEqual((p.returncode, p.stderr), (0, ""), f"errand {args}: {p.stdout}")
        return p.stdout

    def test_the_cli_enqueues_and_reads_through_the_second_url(self):
        q = self.q()
        job = json.loads(self.ok("--json", "enqueue", q, '{"n": 1}'))
        self.assertEqual(self.server.get_job(job["id"])["queue"], q)
        listed = json.loads(self.ok("--json", "jobs", "--queue", q, via_env=True))
        self.assertEqual([j["id"] for j in listed["jobs"]], [job["id"]])
        self.assertIn(job["id"], self.ok("job", job["id"], via_env=True))
        self.assertIn(q, self.ok("queues"))
        # Spaces after the commas are fine, as is a trailing '/'.
        self.ok("queue", "get", q, urls=f"{self.dead}/ , {self.server.url}/")

    def test_errand_work_claims_and_runs_jobs_through_the_second_url(self):
        q = self.q()
        w = worker(self, self.urls, q)
        job_id = self.server.enqueue(q, payload={"echo_env": True})["id"]
        job = wait_state(self.server, job_id, "succeeded")
        self.assertEqual(job["attempt"], 1)
        # The job's command gets every URL, the one in use first.
        self.assertEqual(job["result"]["env"]["ERRAND_URL"], f"{self.server.url},{self.dead}")
        w.wait_for_stdout(f"✓ {q} {job_id} ")
        w.wait_for_stderr(f"moving on from {self.dead} to {self.server.url}: cannot reach errand at {self.dead}")
        self.assertEqual(w.stop(), 0, w.describe())

    def test_when_every_url_is_dead_the_error_names_each(self):
        other = dead_url()
        while other == self.dead:  # the port may be handed out again
            other = dead_url()
        p = self.cli("queues", urls=f"{self.dead},{other}")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(f"errand: cannot reach errand at any of its 2 URLs: {self.dead}: ", p.stderr)
        self.assertIn(f"; {other}: ", p.stderr)
        self.assertIn("--server URL or ERRAND_URL=URL (every node's: URL1,URL2,...)", p.stderr)

    def test_a_bad_url_list_is_refused_naming_the_entry(self):
        p = self.cli("queues", urls=f"{self.server.url},,{self.dead}")
        self.assertEqual(p.returncode, 1)
        self.assertIn("has an empty entry (number 2)", p.stderr)
        p = self.cli("queues", urls=f"{self.server.url},ftp://errand.example.com", via_env=True)
        self.assertEqual(p.returncode, 1)
        self.assertIn("server URL ftp://errand.example.com must start with http:// or https://",
                      p.stderr)
        p = self.cli("queues", urls=f"{self.server.url},{self.server.url}/")
        self.assertIn(f"names {self.server.url} twice", p.stderr)


class WorkerMovesOnTest(ErrandTestCase):
    """A worker on server A, given A and B, carries on with B when A goes."""

    def setUp(self):
        self.a = ErrandServer()
        self.a.__enter__()
        self.addCleanup(self.a.__exit__, None, None, None)
        self.b = ErrandServer()
        self.b.__enter__()
        self.addCleanup(self.b.__exit__, None, None, None)
        self.q = f"failover{next(_counter)}"

    def check_moves_on(self, stop_a):
        w = worker(self, f"{self.a.url},{self.b.url}", self.q)
        on_a = self.a.enqueue(self.q, payload={"result": "a"})["id"]
        self.assertEqual(wait_state(self.a, on_a, "succeeded")["result"], "a")
        stop_a()
        on_b = self.b.enqueue(self.q, payload={"result": "b"})["id"]
        self.assertEqual(wait_state(self.b, on_b, "succeeded")["result"], "b")
        w.wait_for_stdout(f"✓ {self.q} {on_b} ")
        w.wait_for_stderr(f"moving on from {self.a.url} to {self.b.url}")
        self.assertEqual(w.stop(), 0, w.describe())

    def test_a_killed_server(self):
        self.check_moves_on(self.a.kill9)

    def test_a_server_that_stops(self):
        self.check_moves_on(self.a.stop)


@unittest.skipUnless(ON_POSTGRES, "two servers share a database only on PostgreSQL")
class SharedDatabaseTest(ErrandTestCase):
    """Two servers on one PostgreSQL schema: one service."""

    def setUp(self):
        self.a = ErrandServer()
        self.a.__enter__()
        self.addCleanup(self.a.__exit__, None, None, None)
        self.b = ErrandServer(data_dir=self.a.data_dir)  # the same schema: the same jobs
        self.b.__enter__()
        self.addCleanup(self.b.__exit__, None, None, None)
        self.q = f"failover{next(_counter)}"

    def test_a_running_job_is_heartbeated_and_completed_through_the_other_server(self):
        flag = os.path.join(self.a.data_dir, f"{self.q}-go")
        w = worker(self, f"{self.a.url},{self.b.url}", self.q, "--lease", "1s")
        job_id = self.a.enqueue(self.q, payload={"wait_for": flag, "result": "done"})["id"]
        poll_until(lambda: self.b.get_job(job_id)["state"] == "running", 30, message="the job to run")
        self.a.kill9()
        # A 1s lease lives on only through heartbeats, which now go to B.
        w.wait_for_stderr(f"moving on from {self.a.url} to {self.b.url}")
        beats = self.b.get_job(job_id)["lease_expires_at"]
        poll_until(lambda: self.b.get_job(job_id)["lease_expires_at"] != beats, 10,
                   message="a heartbeat through B")
        with open(flag, "w"):
            pass
        job = wait_state(self.b, job_id, "succeeded")
        self.assertEqual((job["attempt"], job["result"], job["errors"]), (1, "done", []))
        self.assertEqual(w.stop(), 0, w.describe())


if __name__ == "__main__":
    unittest.main()
