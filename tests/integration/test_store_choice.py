"""Choosing the store: --store, ERRAND_STORE, the config file's `store`, and
the token secret, which lives in the store (a data directory from before keeps
the one its `secret` file holds)."""
import base64
import hashlib
import hmac
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import ErrandServer, ErrandTestCase, errand_bin


class StoreFlagServer(ErrandServer):
    """A server started with --store sqlite:DIR instead of --data DIR."""

    def command(self):
        cmd = [errand_bin(), "server", "--listen", self.listen, "--store", "sqlite:" + self.data_dir]
        return cmd + self.extra_args


def run_errand(*args, env=None):
    full_env = dict(os.environ)
    full_env.pop("ERRAND_STORE", None)
    full_env.update(env or {})
    return subprocess.run([errand_bin(), *args], capture_output=True, text=True, timeout=60,
                          env=full_env, stdin=subprocess.DEVNULL)


class StoreChoiceTest(ErrandTestCase):

    def tmpdir(self):
        path = tempfile.mkdtemp(prefix="errand-it-")
        self.addCleanup(shutil.rmtree, path, True)
        return path

    def test_store_sqlite_dir_is_the_data_directory(self):
        data = os.path.join(self.tmpdir(), "data")
        with StoreFlagServer(data_dir=data) as s:
            job = s.enqueue("choice")
            self.assertTrue(os.path.exists(os.path.join(data, "errand.db")))
        with ErrandServer(data_dir=data) as again:
            self.assertEqual(again.get_job(job["id"])["queue"], "choice")

    def test_refusals_name_the_flag_and_never_the_password(self):
        tmp = self.tmpdir()
        both = run_errand("server", "--listen", "127.0.0.1:0", "--store", "sqlite:" + tmp,
                          "--data", tmp)
        self.assertEqual(both.returncode, 2, both.stderr)
        self.assertIn("give --store or --data, not both", both.stderr)
        other = run_errand("server", "--listen", "127.0.0.1:0", "--store", "mysql://root:hunter2@db/x")
        self.assertEqual(other.returncode, 2, other.stderr)
        self.assertIn("sqlite:DIR or postgres://", other.stderr)
        self.assertNotIn("hunter2", other.stderr)
        schema = run_errand("server", "--listen", "127.0.0.1:0",
                            env={"ERRAND_STORE": "postgres://app:hunter2@db/x?schema=Bad-Name"})
        self.assertEqual(schema.returncode, 2, schema.stderr)
        self.assertIn("schema", schema.stderr)
        self.assertNotIn("hunter2", schema.stderr)

    def test_config_file_store(self):
        tmp = self.tmpdir()
        data = os.path.join(tmp, "from-config")
        config = os.path.join(tmp, "errand.toml")
        with open(config, "w") as f:
            f.write(f'[server]\nstore = "sqlite:{data}"\n')

        class ConfigServer(ErrandServer):
            def command(self):
                return [errand_bin(), "server", "--listen", self.listen, "--config", config]

        with ConfigServer() as s:
            s.enqueue("configured")
        self.assertTrue(os.path.exists(os.path.join(data, "errand.db")))
        with open(config, "w") as f:
            f.write('[server]\nstore = 42\n')
        bad = run_errand("server", "--listen", "127.0.0.1:0", "--config", config)
        self.assertEqual(bad.returncode, 2, bad.stderr)
        self.assertIn('"store"', bad.stderr)

    def test_a_data_directory_keeps_the_token_secret_of_its_secret_file(self):
        tmp = self.tmpdir()
        data = os.path.join(tmp, "data")
        os.makedirs(data, mode=0o700)
        legacy = b"0123456789abcdef0123456789abcdef-legacy"
        with open(os.path.join(data, "secret"), "wb") as f:
            f.write(legacy)
        with ErrandServer(data_dir=data) as s:
            job = s.enqueue("tokens")
            signed, mac = job["token"].rsplit(".", 1)
            expected = base64.urlsafe_b64encode(
                hmac.new(legacy, signed.encode(), hashlib.sha256).digest()).rstrip(b"=").decode()
            self.assertEqual(mac, expected)
            s.stop()
            # The secret now lives in the store: the file is no longer needed.
            os.remove(os.path.join(data, "secret"))
            s.start()
            r = s.request("GET", f"/v1/jobs/{job['id']}?token={job['token']}", key=None)
            self.assertEqual(r.status, 200, r.body)

    def test_a_new_data_directory_has_no_secret_file(self):
        with ErrandServer() as s:
            job = s.enqueue("tokens")
            self.assertFalse(os.path.exists(os.path.join(s.data_dir, "secret")))
            s.stop()
            s.start()
            r = s.request("GET", f"/v1/jobs/{job['id']}?token={job['token']}", key=None)
            self.assertEqual(r.status, 200, r.body)


if __name__ == "__main__":
    unittest.main()
