"""The node registry on one server: GET /v1/nodes lists the server itself,
up; a clean stop leaves it stopped and the next start is a new node; /healthz
names the node; /v1/stats carries this node's figures beside the sums.

Several servers on one PostgreSQL schema: test_postgres_registry.py.
"""

import threading
import unittest

import harness
from harness import ErrandServer, ErrandTestCase, parse_time, poll_until

ADMIN, PRODUCER, WORKER = "admin-secret-nodes", "producer-secret-nodes", "worker-secret-nodes"
KEYS = (f"admin:{ADMIN}", f"producer:{PRODUCER}", f"worker:{WORKER}")


def nodes_of(server, key=harness._NO_KEY):
    r = server.request("GET", "/v1/nodes", key=key)
    assert r.status == 200, r
    return r.body["nodes"]


def self_node(server):
    """This server's own row, once its first heartbeat is in the registry."""
    return poll_until(lambda: next((n for n in nodes_of(server) if n["self"]), None), 15,
                      interval=0.05, message="the server's own node in GET /v1/nodes")


class NodesTest(ErrandTestCase):
    def test_the_server_lists_itself_up(self):
        with ErrandServer() as server:
            me = self_node(server)
            self.assertEqual(me["state"], "up")
            self.assertEqual(me["address"], server.url)
            self.assertEqual(me["store"], harness.STORE)
            self.assertRegex(me["id"], r"^[0-9a-f]{16}$")
            self.assertTrue(me["name"])
            self.assertRegex(me["version"], r"^\d+\.\d+\.\d+")
            self.assertIsNone(me["stopped_at"])
            self.assertLessEqual(parse_time(me["started_at"]), parse_time(me["last_seen"]))
            self.assertEqual(set(me["workers"]), {"waiting", "connected"})
            self.assertEqual(me["event_streams"], 0)
            self.assertEqual(len([n for n in nodes_of(server) if n["self"]]), 1)
            health = server.request("GET", "/healthz")
            self.assertEqual(health.status, 200, health.body)
            self.assertEqual(health.body, {"status": "ok", "node": me["id"]})

    def test_heartbeats_move_last_seen(self):
        with ErrandServer() as server:
            first = parse_time(self_node(server)["last_seen"])
            poll_until(lambda: parse_time(self_node(server)["last_seen"]) > first, 15, interval=0.2,
                       message="a second heartbeat (every 5 s)")

    def test_a_clean_stop_leaves_a_stopped_node_and_a_restart_is_a_new_one(self):
        with ErrandServer() as server:
            before = self_node(server)
            server.restart()
            after = self_node(server)
            self.assertNotEqual(after["id"], before["id"])
            old = next(n for n in nodes_of(server) if n["id"] == before["id"])
            self.assertEqual(old["state"], "stopped")
            self.assertFalse(old["self"])
            self.assertIsNotNone(old["stopped_at"])
            self.assertEqual(after["state"], "up")

    def test_the_figures_of_this_node_are_counted_now(self):
        with ErrandServer() as server:
            self_node(server)
            box = {}
            waiter = threading.Thread(
                target=lambda: box.setdefault("jobs", server.claim("nodes-q", worker="w", wait="20s",
                                                                  timeout=60)),
                daemon=True)
            waiter.start()

            def waiting():
                s = server.request("GET", "/v1/stats").body
                return s if s["workers"]["this_node"]["waiting"] == 1 else None

            stats = poll_until(waiting, 10, interval=0.02, message="the claim waiting")
            self.assertEqual(stats["workers"]["waiting"], 1)
            self.assertEqual(stats["nodes"], {"up": 1, "gone": 0, "stopped": 0})
            self.assertEqual(stats["event_streams"], {"open": 0, "this_node": 0})
            me = poll_until(lambda: next(n for n in nodes_of(server) if n["self"]), 5)
            self.assertEqual(me["workers"]["waiting"], 1, "this node's row shows its figures now")
            server.enqueue("nodes-q")
            waiter.join(30)
            self.assertEqual(len(box["jobs"]), 1)


class NodesAccessTest(ErrandTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = ErrandServer(keys=KEYS).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)

    def test_producer_role_as_for_stats(self):
        self.assertEqual(self.server.request("GET", "/v1/nodes", key=PRODUCER).status, 200)
        self.assertEqual(self.server.request("GET", "/v1/nodes", key=ADMIN).status, 200)
        self.assertError(self.server.request("GET", "/v1/nodes", key=WORKER), 403, "forbidden")
        self.assertError(self.server.request("GET", "/v1/nodes", key=None), 401, "unauthorized")

    def test_healthz_needs_no_key(self):
        self.assertEqual(self.server.request("GET", "/healthz", key=None).status, 200)

    def test_a_query_parameter_is_named(self):
        self.assertError(self.server.request("GET", "/v1/nodes?state=up", key=ADMIN), 400,
                         "invalid_argument", field="state")


class AdvertiseUrlTest(ErrandTestCase):
    def test_the_advertised_url_is_the_address(self):
        with ErrandServer(extra_args=["--advertise-url", "https://errand-1.example.com"]) as server:
            self.assertEqual(self_node(server)["address"], "https://errand-1.example.com")

    def test_a_bad_advertised_url_is_a_usage_error(self):
        server = ErrandServer(extra_args=["--advertise-url", "errand-1:8740"])
        with self.assertRaises(harness.ServerError):
            server.start()
        self.assertEqual(server.exit_code, 2)
        self.assertIn("--advertise-url must be an http:// or https:// URL", server.log_text())
        server.cleanup()


if __name__ == "__main__":
    unittest.main()
