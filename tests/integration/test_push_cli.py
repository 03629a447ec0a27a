"""Push queues from the command line and the config file.

`errand queue set Q --push-url …` configures a push endpoint (and `set`
without it returns the queue to pull mode), `errand queue get` shows it with
header values hidden, `errand queue push-secret Q [--rotate]` reads and
rotates the signing secret; `errand server --config` applies `[[queue]]`
tables and `[push]` settings at every start and refuses a bad file (or a bad
--push-allow) before touching the data directory.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import ErrandServer, ErrandTestCase, SharedServerTestCase, errand_bin  # noqa: E402


class PushCliTest(SharedServerTestCase):
    def cli(self, *args):
        env = dict(os.environ)
        env.pop("ERRAND_KEY", None)
        env["ERRAND_URL"] = self.server.url
        return subprocess.run([errand_bin(), *args], env=env, capture_output=True, text=True,
                              timeout=60)

    def ok(self, *args):
        p = self.cli(*args)
        self.assertEqual(p.returncode, 0, f"{args}: {p.stdout}\n{p.stderr}")
        return p.stdout

    def test_set_get_and_back_to_pull_mode(self):
        out = self.ok("queue", "set", "cli-hooks", "--push-url", "https://app.example.com/api/e",
                      "--push-timeout", "45s", "--push-concurrency", "3", "--push-header",
                      "X-Token: s3cret", "--concurrency", "7")
        self.assertIn("push          https://app.example.com/api/e (timeout 45s, concurrency 3)",
                      out)
        self.assertIn("header      X-Token: ***", out)
        self.assertNotIn("s3cret", out)
        config = self.assertStatus(self.server.request("GET", "/v1/queues/cli-hooks"),
                                   200)["config"]
        self.assertEqual(config["push"], {"url": "https://app.example.com/api/e", "timeout": "45s",
                                          "concurrency": 3, "headers": {"X-Token": "***"}})
        self.assertEqual(config["concurrency"], 7)

        out = self.ok("queue", "get", "cli-hooks")
        self.assertIn("https://app.example.com/api/e", out)
        self.assertIn('"push"', self.ok("--json", "queue", "get", "cli-hooks"))

        out = self.ok("queue", "set", "cli-hooks")
        self.assertIn("push          none (workers claim its jobs)", out)
        config = self.assertStatus(self.server.request("GET", "/v1/queues/cli-hooks"),
                                   200)["config"]
        self.assertIsNone(config["push"])

    def test_bad_push_options_fail_naming_them(self):
        p = self.cli("queue", "set", "cli-bad", "--push-url", "ftp://x/y")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("--push-url must start with http:// or https://", p.stderr)
        p = self.cli("queue", "set", "cli-bad", "--push-url", "https://x.com",
                     "--push-header", "no-colon")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn('--push-header must be "Name: value"', p.stderr)
        p = self.cli("queue", "set", "cli-bad", "--push-url", "https://x.com",
                     "--push-header", "Errand-Thing: 1")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("set by the server", p.stderr)
        self.assertEqual(self.server.request("GET", "/v1/queues/cli-bad").status, 404)

    def test_push_secret_show_and_rotate(self):
        self.ok("queue", "set", "cli-secret", "--push-url", "https://app.example.com/e")
        first = self.ok("queue", "push-secret", "cli-secret").strip()
        self.assertRegex(first, r"^whsec_[0-9a-f]{64}$")
        out = self.ok("queue", "push-secret", "cli-secret", "--rotate", "--keep-previous", "1h")
        lines = out.strip().splitlines()
        self.assertRegex(lines[0], r"^whsec_[0-9a-f]{64}$")
        self.assertNotEqual(lines[0], first)
        self.assertTrue(lines[1].startswith(f"previous {first} valid until "), out)
        p = self.cli("queue", "push-secret", "cli-unknown")
        self.assertEqual(p.returncode, 1)
        self.assertIn('no queue named "cli-unknown"', p.stderr)
        self.ok("queue", "set", "cli-pull-only")
        p = self.cli("queue", "push-secret", "cli-pull-only")
        self.assertEqual(p.returncode, 1)
        self.assertIn("has no push signing secret", p.stderr)


CONFIG = """
[push]
allow_private = true
allow = ["10.20.0.0/16", "fd00::/8"]

[[queue]]
name = "file-hooks"
concurrency = 5
push = { url = "http://127.0.0.1:9/hook", timeout = "5s", concurrency = 2, headers = { x-app = "1" } }

[[queue]]
name = "file-pull"
"""


class PushConfigFileTest(ErrandTestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="errand-pushcfg-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.path = os.path.join(self.tmp, "errand.toml")
        self.data = os.path.join(self.tmp, "data")

    def write(self, text):
        with open(self.path, "w", encoding="utf-8") as f:
            f.write(text)

    def test_queues_of_the_file_are_applied_at_every_start(self):
        self.write(CONFIG)
        server = ErrandServer(data_dir=self.data, extra_args=["--config", self.path])
        self.addCleanup(server.cleanup)
        server.start()
        hooks = self.assertStatus(server.request("GET", "/v1/queues/file-hooks"), 200)
        self.assertEqual(hooks["config"]["concurrency"], 5)
        self.assertEqual(hooks["config"]["push"],
                         {"url": "http://127.0.0.1:9/hook", "timeout": "5s", "concurrency": 2,
                          "headers": {"x-app": "***"}})
        self.assertIsNone(
            self.assertStatus(server.request("GET", "/v1/queues/file-pull"), 200)["config"]["push"])
        # The file keeps what it does not set: the pause flag and the defaults.
        self.assertStatus(server.request("PUT", "/v1/queues/file-hooks", {
            "paused": True, "defaults": {"max_attempts": 2},
            "push": {"url": "http://127.0.0.1:9/other"}}), 200)
        server.stop()
        server.start()
        hooks = self.assertStatus(server.request("GET", "/v1/queues/file-hooks"), 200)
        self.assertTrue(hooks["paused"])
        self.assertEqual(hooks["config"]["defaults"]["max_attempts"], 2)
        self.assertEqual(hooks["config"]["push"]["url"], "http://127.0.0.1:9/hook")
        server.stop()

    def assert_refused(self, text, *needles, extra=()):
        self.write(text)
        server = ErrandServer(data_dir=self.data, extra_args=["--config", self.path, *extra])
        self.addCleanup(server.cleanup)
        with self.assertRaises(Exception):
            server.start()
        self.assertEqual(server.exit_code, 2, server.log_tail())
        out = server.log_text()
        for needle in needles:
            self.assertIn(needle, out)

    def test_bad_files_and_flags_stop_the_server_before_it_touches_the_data(self):
        self.assert_refused(CONFIG.replace("http://127.0.0.1:9/hook", "ftp://x/y"),
                            "[[queue]] 1 \"file-hooks\", key \"push\"",
                            "push.url must start with http:// or https://")
        self.assert_refused(CONFIG.replace('"10.20.0.0/16"', '"10.20.0.0/33"'),
                            "[push], key \"allow\"", "allow[0]")
        self.assert_refused(CONFIG.replace("allow_private", "allow_privat"),
                            "unknown key (expected allow_private, allow, insecure_tls, ca_file)")
        self.assert_refused(CONFIG + '[[queue]]\nname = "file-pull"\n',
                            "[[queue]] 3 \"file-pull\"", "another [[queue]] has this name")
        self.assert_refused("", "--push-allow", extra=["--push-allow", "not-an-address"])
        self.assertFalse(os.path.exists(os.path.join(self.data, "errand.db")))


if __name__ == "__main__":
    unittest.main()
