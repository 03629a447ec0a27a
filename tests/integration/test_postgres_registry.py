"""Several servers on one PostgreSQL schema act as one service: each is a node
in GET /v1/nodes; one killed with kill -9 is shown gone 15 s after its last
heartbeat; one stopped cleanly is shown stopped; /v1/stats sums the waiting
workers of the nodes that are up; every node charts the same throughput
samples, one per 10 s step; /healthz answers 503 while this node's heartbeat
cannot reach the database.

The harness gives each server a schema of its own: here the second and third
servers are pointed at the first one's (the same --store URL with ?schema=…).
Run with a Python that has psycopg (ERRAND_PG_PYTHON, tests/postgres.cmake).
"""

import threading
import unittest

import harness
from harness import ErrandServer, ErrandTestCase, parse_time, poll_until

if not harness.ON_POSTGRES:
    raise unittest.SkipTest("run with ERRAND_TEST_STORE=postgres (ctest's integration.postgres_registry)")


def sharing(first):
    """A server on `first`'s schema (not started)."""
    server = ErrandServer()
    server.pg_schema = first.pg_schema
    return server


def nodes_of(server):
    r = server.request("GET", "/v1/nodes")
    assert r.status == 200, r
    return r.body


def node_id(server):
    return poll_until(lambda: server.request("GET", "/healthz").body.get("node"), 10)


def node(server, id_):
    return next((n for n in nodes_of(server)["nodes"] if n["id"] == id_), None)


class TwoNodesTest(ErrandTestCase):
    def setUp(self):
        self.a = ErrandServer().__enter__()
        self.addCleanup(self.a.__exit__, None, None, None)
        self.b = sharing(self.a).__enter__()
        self.addCleanup(self.b.__exit__, None, None, None)
        self.a_id, self.b_id = node_id(self.a), node_id(self.b)

        def both_up():
            states = {n["id"]: n["state"] for n in nodes_of(self.a)["nodes"]}
            return states.get(self.a_id) == "up" and states.get(self.b_id) == "up"
        poll_until(both_up, 15, interval=0.05, message="both nodes up in the registry")

    def test_both_are_listed_each_answering_as_self(self):
        for server, me, other in ((self.a, self.a_id, self.b_id), (self.b, self.b_id, self.a_id)):
            listed = {n["id"]: n for n in nodes_of(server)["nodes"]}
            self.assertEqual(set(listed), {me, other})
            self.assertTrue(listed[me]["self"])
            self.assertFalse(listed[other]["self"])
            self.assertEqual(listed[me]["address"], server.url)
            self.assertEqual(listed[me]["store"], "postgres")
        self.assertEqual(node(self.a, self.b_id)["address"], self.b.url)

    def test_a_node_killed_is_gone_after_fifteen_seconds(self):
        self.b.kill9()
        killed = node(self.a, self.b_id)
        self.assertEqual(killed["state"], "up", "its last heartbeat is less than 15 s old")

        def gone():
            answer = nodes_of(self.a)
            n = next(n for n in answer["nodes"] if n["id"] == self.b_id)
            return (answer, n) if n["state"] == "gone" else None
        answer, n = poll_until(gone, 40, interval=0.2, message="the killed node gone")
        silent = parse_time(answer["at"]) - parse_time(n["last_seen"])
        self.assertGreaterEqual(silent, 15, f"gone after {silent} s without a heartbeat")
        self.assertIsNone(n["stopped_at"])
        self.assertEqual(node(self.a, self.a_id)["state"], "up")
        stats = self.a.request("GET", "/v1/stats").body
        self.assertEqual(stats["nodes"], {"up": 1, "gone": 1, "stopped": 0})

    def test_a_node_stopped_cleanly_is_stopped(self):
        self.assertEqual(self.b.stop(), 0)
        n = node(self.a, self.b_id)
        self.assertEqual(n["state"], "stopped")
        self.assertIsNotNone(n["stopped_at"])
        self.assertEqual(self.a.request("GET", "/v1/stats").body["nodes"], {"up": 1, "gone": 0, "stopped": 1})

    def test_stats_sum_the_waiting_workers_of_both_nodes(self):
        q = "nodes-waiting"
        done = []

        def wait_on(server):
            done.append(server.claim(q, worker=f"w-{server.port}", wait="30s", timeout=90))
        threads = [threading.Thread(target=wait_on, args=(s,), daemon=True) for s in (self.a, self.b, self.b)]
        for t in threads:
            t.start()

        def summed():
            s = self.a.request("GET", "/v1/stats").body
            return s if s["workers"]["waiting"] == 3 else None
        stats = poll_until(summed, 20, interval=0.1, message="3 waiting claims over both nodes")
        self.assertEqual(stats["workers"]["this_node"]["waiting"], 1)
        poll_until(lambda: self.b.request("GET", "/v1/stats").body["workers"]["this_node"]["waiting"] == 2, 5)
        self.assertEqual(node(self.a, self.b_id)["workers"]["waiting"], 2, "b's heartbeat carries its figures")
        for _ in range(3):
            self.a.enqueue(q)
        for t in threads:
            t.join(60)
        self.assertEqual(sorted(len(jobs) for jobs in done), [1, 1, 1])

    def test_healthz_is_503_while_the_heartbeat_cannot_reach_the_database(self):
        self.a.sql("CREATE FUNCTION refuse_heartbeat() RETURNS trigger LANGUAGE plpgsql AS "
                   "$$ BEGIN RAISE EXCEPTION 'heartbeats refused by the test'; END $$")
        self.a.sql("CREATE TRIGGER refuse_heartbeat BEFORE INSERT OR UPDATE ON nodes "
                   "FOR EACH ROW EXECUTE FUNCTION refuse_heartbeat()")
        refused = poll_until(lambda: (lambda r: r if r.status == 503 else None)(self.a.request("GET", "/healthz")),
                             15, interval=0.1, message="healthz 503 after a failed heartbeat")
        err = self.assertError(refused, 503, "unavailable")
        self.assertIn("heartbeat", err["message"])
        self.assertEqual(self.a.request("GET", "/v1/queues").status, 200, "the store itself still serves")
        self.a.sql("DROP TRIGGER refuse_heartbeat ON nodes")
        poll_until(lambda: self.a.request("GET", "/healthz").status == 200, 15, interval=0.1,
                   message="healthz 200 after the next heartbeat")

    def test_every_node_charts_the_same_samples_one_per_step(self):
        q = "nodes-chart"
        for _ in range(3):
            self.a.enqueue(q)
            self.b.complete(self.b.claim_one(q))

        def series(server):
            return server.request("GET", "/v1/stats?window=5m").body["series"]

        def busy(server):
            s = series(server)
            return [(t, n) for t, n in zip(s["t"], s["processed"]) if n > 0]

        def same_work_on(servers):
            # Every node charts the same buckets, and they hold all three
            # jobs (a node may read the samples before the last one is taken).
            got = [busy(s) for s in servers]
            whole = got[0] and round(sum(n for _, n in got[0]) * 10, 2) == 3
            return got[0] if whole and all(g == got[0] for g in got) else None
        charted = poll_until(lambda: same_work_on([self.a, self.b]), 60, interval=0.2,
                             message="the same busy buckets on both nodes")
        self.assertAlmostEqual(sum(n for _, n in charted) * 10, 3, places=2, msg=charted)
        # A node started later reads the samples back: still one per step.
        c = sharing(self.a).__enter__()
        self.addCleanup(c.__exit__, None, None, None)
        self.assertEqual(poll_until(lambda: same_work_on([self.a, c]), 20, interval=0.2), charted)
        for server in (self.a, self.b, c):
            t = series(server)["t"]
            self.assertTrue(all(x % 10 == 0 for x in t), t)
            self.assertTrue(all(y - x == 10 for x, y in zip(t, t[1:])), t)


if __name__ == "__main__":
    unittest.main()
