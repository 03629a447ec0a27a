"""Reloading the configuration without a restart (docs/operations.md
"Reload"): SIGHUP and POST /v1/admin/reload read errand.toml and the key files
again and apply keys, CORS origins, queues and schedules; a broken file is
refused whole and the running configuration kept. And --metrics-listen:
GET /metrics without credentials on its own address.
"""

import os
import signal
import tempfile
import textwrap
import urllib.request

from harness import ErrandServer, ErrandTestCase, poll_until

ADMIN = "admin:reload-admin-secret-0001"
PRODUCER = "producer:reload-producer-secret-1"
WORKER = "worker:reload-worker-secret-0001"


def secret(key):
    return key.split(":", 1)[1]


class ReloadTest(ErrandTestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="errand-reload-")
        self.config = os.path.join(self.dir, "errand.toml")
        self.keys = os.path.join(self.dir, "keys")

    def write_keys(self, *keys):
        with open(self.keys, "w") as f:
            f.write("# the file's keys\n" + "".join(k + "\n" for k in keys))
        os.chmod(self.keys, 0o600)

    def write_config(self, text):
        with open(self.config, "w") as f:
            f.write(textwrap.dedent(text))

    def config_v1(self):
        self.write_keys(PRODUCER)
        self.write_config("""\
            [server]
            key_file = "keys"
            cors_origins = ["https://one.example"]

            [[queue]]
            name = "mail"
            concurrency = 3

            [[schedule]]
            name = "nightly"
            cron = "0 3 * * *"
            queue = "reports"
            """)

    def config_v2(self):
        self.write_keys(WORKER)
        self.write_config("""\
            [server]
            key_file = "keys"
            cors_origins = ["https://two.example"]

            [[queue]]
            name = "mail"
            concurrency = 7

            [[schedule]]
            name = "nightly"
            cron = "0 3 * * *"
            queue = "reports"

            [[schedule]]
            name = "hourly"
            cron = "0 * * * *"
            queue = "reports"
            """)

    def server(self, *extra):
        return ErrandServer(keys=(ADMIN,), extra_args=["--config", self.config, *extra])

    def allowed_origin(self, s, origin):
        r = s.request("GET", "/v1/stats", headers={"Origin": origin})
        self.assertEqual(r.status, 200, r.body)
        return r.headers.get("access-control-allow-origin") == origin

    def schedule_names(self, s):
        return sorted(x["name"] for x in s.request("GET", "/v1/schedules").body["schedules"])

    def assert_v1(self, s):
        self.assertEqual(s.request("GET", "/v1/queues", key=secret(PRODUCER)).status, 200)
        self.assertEqual(s.request("GET", "/v1/queues", key=secret(WORKER)).status, 401)
        self.assertTrue(self.allowed_origin(s, "https://one.example"))
        self.assertFalse(self.allowed_origin(s, "https://two.example"))
        self.assertEqual(s.queue("mail")["config"]["concurrency"], 3)
        self.assertEqual(self.schedule_names(s), ["nightly"])

    def test_sighup_applies_keys_cors_queues_and_schedules(self):
        self.config_v1()
        with self.server() as s:
            self.assert_v1(s)
            self.config_v2()
            s.send_signal(signal.SIGHUP)
            # The removed key's next call is refused.
            poll_until(lambda: s.request("GET", "/v1/queues", key=secret(PRODUCER)).status == 401,
                       10, message="the producer key removed from the key file still works")
            poll_until(lambda: "configuration reloaded" in s.log_text(), 10)
            self.assertError(s.request("GET", "/v1/queues", key=secret(PRODUCER)), 401,
                             "unauthorized", "authorization")
            # The worker key added works (as a worker: claims), the flag's admin key stays.
            r = s.request("POST", "/v1/claim", {"queues": ["mail"], "worker": "w", "wait": "0s"},
                          key=secret(WORKER))
            self.assertIn(r.status, (200, 204), r.body)
            self.assertEqual(s.request("GET", "/v1/stats", key=secret(ADMIN)).status, 200)
            self.assertTrue(self.allowed_origin(s, "https://two.example"))
            self.assertFalse(self.allowed_origin(s, "https://one.example"))
            poll_until(lambda: s.queue("mail")["config"]["concurrency"] == 7, 10)
            poll_until(lambda: self.schedule_names(s) == ["hourly", "nightly"], 10)
            # Reloading the same file again changes nothing and says so.
            r = s.request("POST", "/v1/admin/reload")
            self.assertEqual(r.status, 200, r.body)
            self.assertEqual(r.body["schedules"], {"created": [], "updated": [], "removed": []})
            self.assertEqual(r.body["keys"], 2)
            self.assertEqual(r.body["cors_origins"], 1)
            self.assertEqual(r.body["queues"], 1)
            self.assertEqual(r.body["tls"], False)
            self.assertEqual(r.body["config"], self.config)
            # No secret in what the server logged (the harness's own start line
            # shows its command line).
            log = "\n".join(l for l in s.log_text().splitlines() if not l.startswith("==== start"))
            for key in (ADMIN, PRODUCER, WORKER):
                self.assertNotIn(secret(key), log)

    def test_the_admin_endpoint_reloads_and_answers_what_it_applied(self):
        self.config_v1()
        with self.server() as s:
            self.config_v2()
            self.assertError(s.request("POST", "/v1/admin/reload", key=secret(PRODUCER)), 403,
                             "forbidden")
            self.assertError(s.request("POST", "/v1/admin/reload", key=None), 401, "unauthorized")
            self.assertError(s.request("POST", "/v1/admin/reload", {"force": True}), 400,
                             "invalid_argument", "force")
            # Nothing of that was applied.
            self.assert_v1(s)
            r = s.request("POST", "/v1/admin/reload", {})
            self.assertEqual(r.status, 200, r.body)
            self.assertEqual(r.body["schedules"]["created"], ["hourly"])
            self.assertEqual(r.body["keys"], 2)
            # The answer comes after everything is applied.
            self.assertEqual(s.request("GET", "/v1/queues", key=secret(PRODUCER)).status, 401)
            self.assertEqual(s.queue("mail")["config"]["concurrency"], 7)
            self.assertEqual(self.schedule_names(s), ["hourly", "nightly"])

    def test_a_broken_file_is_refused_whole(self):
        self.config_v1()
        with self.server() as s:
            broken = [
                # A TOML syntax error: the file and line.
                ("[server]\nkey_file = \"keys\"\ncors_origins = [\"https://two.example\"\n",
                 None, "errand.toml:"),
                # A valid file with a bad schedule, after good keys and origins.
                ("[server]\nkey_file = \"keys\"\ncors_origins = [\"https://two.example\"]\n"
                 "[[schedule]]\nname = \"bad\"\ncron = \"0 25 * * *\"\nqueue = \"q\"\n",
                 None, "errand.toml:6: [[schedule]] 1"),
                # A bad origin.
                ("[server]\nkey_file = \"keys\"\ncors_origins = [\"two.example/path\"]\n",
                 None, "cors_origins[0]"),
                # A bad key in the key file: its file and line, not the secret.
                ("[server]\nkey_file = \"keys\"\ncors_origins = [\"https://two.example\"]\n",
                 "owner:short", "keys:3:"),
                # A key file that is not there.
                ("[server]\nkey_file = \"missing-keys\"\n", None, "missing-keys"),
            ]
            for text, key_line, where in broken:
                with self.subTest(where=where):
                    with open(self.config, "w") as f:
                        f.write(text)
                    self.write_keys(WORKER, key_line) if key_line else self.write_keys(WORKER)
                    r = s.request("POST", "/v1/admin/reload")
                    self.assertEqual(r.status, 400, r.body)
                    self.assertEqual(r.body["error"]["code"], "invalid_argument")
                    self.assertIn(where, r.body["error"]["message"])
                    self.assert_v1(s)
                    # SIGHUP: the same refusal, logged with its line.
                    before = s.log_text().count("configuration not reloaded")
                    s.send_signal(signal.SIGHUP)
                    poll_until(lambda: s.log_text().count("configuration not reloaded") > before,
                               10)
                    refusals = [l for l in s.log_text().splitlines()
                                if "configuration not reloaded" in l]
                    self.assertIn(where, refusals[-1])
                    self.assert_v1(s)
            self.assertNotIn("short", s.log_text().replace("shorter", ""))

    def test_a_reload_may_not_remove_the_last_key(self):
        self.write_keys(PRODUCER)
        with ErrandServer(extra_args=["--key-file", self.keys]) as s:
            s.default_key = secret(PRODUCER)
            with open(self.keys, "w") as f:
                f.write("# no keys left\n")
            s.send_signal(signal.SIGHUP)
            poll_until(lambda: "configuration not reloaded" in s.log_text(), 10)
            self.assertIn("without API keys", s.log_text())
            self.assertEqual(s.request("GET", "/v1/queues").status, 200)

    def test_without_a_config_file_the_key_file_is_read_again(self):
        self.write_keys(PRODUCER)
        with ErrandServer(keys=(ADMIN,), extra_args=["--key-file", self.keys]) as s:
            self.assertEqual(s.request("GET", "/v1/queues", key=secret(PRODUCER)).status, 200)
            self.write_keys(WORKER)
            r = s.request("POST", "/v1/admin/reload")
            self.assertEqual(r.status, 200, r.body)
            self.assertIsNone(r.body["config"])
            self.assertEqual(r.body["keys"], 2)
            self.assertEqual(s.request("GET", "/v1/queues", key=secret(PRODUCER)).status, 401)
            r = s.request("POST", "/v1/claim", {"queues": ["q"], "worker": "w", "wait": "0s"},
                          key=secret(WORKER))
            self.assertIn(r.status, (200, 204), r.body)


class MetricsListenTest(ErrandTestCase):
    def test_metrics_without_credentials_on_their_own_address(self):
        with ErrandServer(keys=(ADMIN,), extra_args=["--metrics-listen", "127.0.0.1:0"]) as s:
            # The line follows the "listening" one the harness waited for.
            poll_until(lambda: "metrics (no credentials) on" in s.log_text(), 10)
            line = next(l for l in s.log_text().splitlines() if "metrics (no credentials) on" in l)
            url = line.split(" on ", 1)[1].strip()
            s.enqueue("listen-q")
            with urllib.request.urlopen(url, timeout=10) as r:
                self.assertEqual(r.status, 200)
                self.assertTrue(r.headers["Content-Type"].startswith("text/plain; version=0.0.4"))
                text = r.read().decode()
            self.assertIn('errand_jobs_enqueued_total{queue="listen-q"} 1', text)
            # Only /metrics there: the API is not.
            base = url[: -len("/metrics")]
            with self.assertRaises(urllib.error.HTTPError) as ctx:
                urllib.request.urlopen(base + "/v1/queues", timeout=10)
            self.assertEqual(ctx.exception.code, 404)
            # The API's own /metrics still wants a key.
            self.assertError(s.request("GET", "/metrics", key=None), 401, "unauthorized")

    def test_a_bad_address_is_refused_at_start(self):
        s = ErrandServer(keys=(ADMIN,), extra_args=["--metrics-listen", "nowhere"])
        try:
            with self.assertRaises(AssertionError):
                s.start()
            self.assertIn("--metrics-listen must be HOST:PORT", s.log_text())
        finally:
            s.cleanup()


if __name__ == "__main__":
    import unittest
    unittest.main()
