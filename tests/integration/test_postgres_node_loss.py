"""What a node's death costs when several nodes share one PostgreSQL (README,
"Run several nodes"): nothing but time. An every-second schedule keeps
firing once per second on the nodes left; a lease held through a node that
was killed expires and its job is handed out through another; a delayed job
enqueued through it becomes runnable on time. And a node whose own clock is
wrong judges time by the database's: it neither expires a live lease early
nor hands out a delayed job early (docs/API.md, "Several servers on one
database": every node looks at the database's next deadline at least every
second, by the database's clock).

The nodes share the ctest fixture's cluster (a schema of their own). Run with
a Python that has psycopg (ERRAND_PG_PYTHON, tests/postgres.cmake).
"""

import secrets
import time
import unittest

from cluster_harness import ErrandCluster
from harness import ErrandTestCase, log, parse_time, poll_until

EVERY_SECOND = "* * * * * *"


def fire_times(cluster, schedule):
    """The schedule's fire times (unix ms), from the jobs it enqueued: each
    carries the idempotency key schedule:<name>:<fire time, unix ms>."""
    rows = cluster.sql("SELECT idempotency_key FROM jobs WHERE idempotency_key LIKE ?", f"schedule:{schedule}:%")
    return sorted(int(key.rsplit(":", 1)[1]) for (key,) in rows)


def gaps(fires, step_ms=1000):
    """(before, after) pairs of consecutive fire times further apart than one step."""
    return [(a, b) for a, b in zip(fires, fires[1:]) if b - a != step_ms]


class DeadNodeTest(ErrandTestCase):
    cluster = None

    @classmethod
    def setUpClass(cls):
        cls.cluster = ErrandCluster(3)
        cls.cluster.__enter__()

    @classmethod
    def tearDownClass(cls):
        if cls.cluster is not None:
            cls.cluster.__exit__(None, None, None)

    def setUp(self):
        self.q = f"loss-{secrets.token_hex(4)}"
        self.cluster.start()  # nodes a previous test killed

    def test_an_every_second_schedule_keeps_firing_once_a_second_while_nodes_die(self):
        name = f"beat-{secrets.token_hex(3)}"
        one = self.cluster[0]
        self.assertStatus(one.request("PUT", f"/v1/schedules/{name}", {"cron": EVERY_SECOND, "queue": self.q}),
                          201, "create the schedule")
        self.addCleanup(lambda: self.cluster.running_nodes()[0].request("DELETE", f"/v1/schedules/{name}"))

        def fired_after(t_ms, n):
            return poll_until(lambda: len([f for f in fire_times(self.cluster, name) if f > t_ms]) >= n, 30,
                              interval=0.1, message=f"{n} fires after {t_ms}")

        fired_after(0, 2)
        killed_1 = self.cluster.db_now_ms()
        self.cluster.kill9(0)
        fired_after(killed_1, 3)
        killed_2 = self.cluster.db_now_ms()
        self.cluster.kill9(1)  # one node left
        fired_after(killed_2, 3)
        back = self.cluster.db_now_ms()
        self.cluster.start()
        fired_after(back, 3)
        self.assertStatus(self.cluster[2].request("POST", f"/v1/schedules/{name}/pause"), 200, "pause")
        fires = fire_times(self.cluster, name)
        jobs = self.cluster[2].list_all(queue=self.q)
        lateness = [parse_time(j["created_at"]) * 1000 - int(j["idempotency_key"].rsplit(":", 1)[1]) for j in jobs]
        log(f"every-second schedule over node deaths: {len(fires)} fires, {len(gaps(fires))} gaps, "
            f"{len(fires) - len(set(fires))} duplicates; fired at most {max(lateness):.0f} ms late")
        self.assertEqual(len(fires), len(set(fires)), "a fire time fired twice")
        self.assertEqual(len(jobs), len(fires))
        self.assertEqual(gaps(fires), [], "a fire time was skipped")
        self.assertTrue(any(killed_2 < f < back for f in fires), "fired while one node was left")

    def test_a_dead_nodes_lease_expires_and_its_job_is_handed_out_through_another_node(self):
        one, two = self.cluster[0], self.cluster[1]
        enqueued = one.enqueue(self.q, timeout="3s")
        job = one.claim_one(self.q, lease="3s")
        expires = parse_time(job["lease_expires_at"])
        self.cluster.kill9(0)
        again = poll_until(lambda: (two.claim(self.q, worker="w2") or [None])[0], expires - time.time() + 10,
                           interval=0.05, message="the job handed out again after its lease")
        took = time.time() - expires
        log(f"a lease held through a killed node: its job handed out through another {took:.2f}s after it expired")
        self.assertEqual((again["id"], again["attempt"]), (enqueued["id"], 2))
        self.assertGreaterEqual(took, -0.05, "handed out again before the lease expired")
        self.assertEqual(two.get_job(again["id"])["errors"][0]["message"], "lease expired")

    def test_a_delayed_job_enqueued_through_a_dead_node_becomes_runnable_on_time(self):
        one, three = self.cluster[0], self.cluster[2]
        enqueued = one.enqueue(self.q, delay="4s")
        run_at = parse_time(one.get_job(enqueued["id"])["run_at"])
        self.cluster.kill9(0)
        got = poll_until(lambda: three.claim(self.q, worker="w3"), run_at - time.time() + 10, interval=0.05,
                         message="the delayed job handed out")
        late = time.time() - run_at
        log(f"a delayed job enqueued through a killed node: handed out {late:.2f}s after its run_at")
        self.assertEqual([j["id"] for j in got], [enqueued["id"]])
        self.assertGreaterEqual(late, -0.05, "handed out before its run_at")
        self.assertLess(late, 2.5, "not promoted within the timer's one-second re-check")


class ClockSkewTest(ErrandTestCase):
    """Node 2's own clock runs 5 s ahead (ERRAND_TEST_CLOCK_SKEW_MS, a test
    hook applied before the node corrects its clock by the database's)."""

    cluster = None

    @classmethod
    def setUpClass(cls):
        cls.cluster = ErrandCluster(2, node_env={1: {"ERRAND_TEST_CLOCK_SKEW_MS": "5000"}})
        cls.cluster.__enter__()

    @classmethod
    def tearDownClass(cls):
        if cls.cluster is not None:
            cls.cluster.__exit__(None, None, None)

    def setUp(self):
        self.q = f"skew-{secrets.token_hex(4)}"

    def test_a_node_5s_ahead_expires_no_live_lease_early(self):
        right, ahead = self.cluster[0], self.cluster[1]
        right.enqueue(self.q, timeout="7s")
        job = right.claim_one(self.q, lease="7s")
        expires = parse_time(job["lease_expires_at"])
        # The skewed node's timer ticks at least every second meanwhile: had it
        # believed its own clock, the lease would have expired 5 s early.
        poll_until(lambda: ahead.get_job(job["id"])["state"] != "running" or time.time() >= expires - 1.5, 10,
                   interval=0.2, message="the lease's last 1.5 s")
        self.assertEqual(ahead.get_job(job["id"])["state"], "running")
        done = right.request("POST", f"/v1/jobs/{job['id']}/complete", {"lease_id": job["lease_id"]})
        self.assertStatus(done, 200, f"complete {expires - time.time():.1f}s before the lease's end")

    def test_a_node_5s_ahead_hands_out_no_delayed_job_early_nor_delays_its_own_late(self):
        right, ahead = self.cluster[0], self.cluster[1]
        enqueued = right.enqueue(self.q, delay="3s")
        run_at = parse_time(right.get_job(enqueued["id"])["run_at"])
        got = poll_until(lambda: ahead.claim(self.q, worker="ahead"), 15, interval=0.05,
                         message="the delayed job handed out")
        early = run_at - time.time()
        self.assertEqual([j["id"] for j in got], [enqueued["id"]])
        self.assertLessEqual(early, 0.05, f"handed out {early:.2f}s before its run_at by the node 5 s ahead")

        asked = time.time()
        own = ahead.enqueue(self.q, delay="2s")
        own_run_at = parse_time(ahead.get_job(own["id"])["run_at"])
        self.assertLess(abs(own_run_at - (asked + 2)), 1.0, "the skewed node's delay counted from the right time")


if __name__ == "__main__":
    unittest.main()
