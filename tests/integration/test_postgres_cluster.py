"""The PostgreSQL test cluster (ctest fixture `postgres`, scripts/pg-cluster.sh)
is what the PostgreSQL tests take it to be: its URL connects as the role
`errand`, which is no superuser (as on a hosted service) yet may create a schema
of its own in its database, and the server syncs every commit. Also the
harness's PostgreSQL side (a schema per data directory) and the README's
scripts/dev-postgres.sh.

The URL comes from the file named by ERRAND_TEST_POSTGRES_URL_FILE (ctest sets
it), or from ERRAND_TEST_POSTGRES.
"""

import os
import re
import secrets
import subprocess
import sys
import tempfile
import unittest
from unittest import mock

try:
    import psycopg
except ImportError as e:  # a missing package must fail loudly, not skip
    raise ImportError(f"{e}: the PostgreSQL tests need python3-psycopg (scripts/install-deps.sh test)") from e

import harness
from harness import ErrandServer, postgres_base_url


class PostgresClusterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.url = postgres_base_url()

    def connect(self, url=None):
        conn = psycopg.connect(url or self.url, autocommit=True, connect_timeout=10)
        self.addCleanup(conn.close)
        return conn

    def setting(self, conn, name):
        return conn.execute("SELECT current_setting(%s)", (name,)).fetchone()[0]

    def test_the_url_connects_as_errand_to_its_database(self):
        conn = self.connect()
        user, db = conn.execute("SELECT current_user, current_database()").fetchone()
        self.assertEqual((user, db), ("errand", "errand"))
        self.assertEqual(self.setting(conn, "server_version_num")[:2], "15")

    def test_commits_are_synced(self):
        conn = self.connect()
        self.assertEqual(self.setting(conn, "fsync"), "on")
        self.assertEqual(self.setting(conn, "synchronous_commit"), "on")
        self.assertEqual(self.setting(conn, "full_page_writes"), "on")

    def test_room_for_many_servers_at_once(self):
        self.assertGreaterEqual(int(self.setting(self.connect(), "max_connections")), 300)

    def test_errand_is_a_plain_role(self):
        row = self.connect().execute(
            "SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        self.assertEqual(row, (False, False, False, False))

    def test_errand_may_create_a_schema_and_work_in_it(self):
        conn = self.connect()
        schema = f"s_cluster_test_{secrets.token_hex(4)}"
        conn.execute(f'CREATE SCHEMA "{schema}"')
        self.addCleanup(conn.execute, f'DROP SCHEMA "{schema}" CASCADE')
        conn.execute(f'CREATE TABLE "{schema}".t (id bigint PRIMARY KEY, payload jsonb)')
        conn.execute(f'INSERT INTO "{schema}".t VALUES (1, %s::jsonb)', ('{"a": 1}',))
        self.assertEqual(conn.execute(f'SELECT payload FROM "{schema}".t').fetchone()[0], {"a": 1})

    def test_tcp_needs_the_password(self):
        path = os.environ.get("ERRAND_TEST_POSTGRES_URL_FILE")
        tcp = os.path.join(os.path.dirname(path), "tcp-url") if path else None
        if not tcp or not os.path.exists(tcp):
            self.skipTest("this cluster listens on its Unix socket only")
        with open(tcp, encoding="utf-8") as f:
            url = f.read().strip()
        self.assertTrue(url.startswith("postgresql://errand:errand@127.0.0.1:"), url)
        self.assertEqual(self.connect(url).execute("SELECT current_user").fetchone()[0], "errand")
        with self.assertRaisesRegex(psycopg.OperationalError, "password authentication failed"):
            psycopg.connect(url.replace("errand:errand@", "errand:wrong@"), connect_timeout=10).close()


class HarnessOnPostgresTest(unittest.TestCase):
    """What ERRAND_TEST_STORE=postgres makes of a server, without starting one."""

    def setUp(self):
        patches = [mock.patch.object(harness, "ON_POSTGRES", True),
                   mock.patch.dict(os.environ, {"ERRAND_BIN": sys.executable})]
        for p in patches:
            p.start()
            self.addCleanup(p.stop)
        self.tmp = tempfile.mkdtemp(prefix="errand-pg-harness-")
        self.addCleanup(harness.shutil.rmtree, self.tmp, True)

    def server(self, name):
        return ErrandServer(data_dir=os.path.join(self.tmp, name))

    def test_each_data_dir_has_its_own_schema_and_keeps_it(self):
        a, b, a_again = self.server("a"), self.server("b"), self.server("a")
        self.assertRegex(a.pg_schema, r"^s_[0-9]+_[0-9]+_[0-9a-f]{6}$")
        self.assertNotEqual(a.pg_schema, b.pg_schema)
        self.assertEqual(a.pg_schema, a_again.pg_schema)
        cmd = a.command()
        self.assertNotIn("--data", cmd)
        url = cmd[cmd.index("--store") + 1]
        self.assertEqual(url, f"{postgres_base_url()}&schema={a.pg_schema}")

    def test_sql_and_store_exists_work_in_the_servers_schema(self):
        server = self.server("c")
        self.assertFalse(server.store_exists())
        with harness._pg_connect() as conn:
            conn.execute(f'CREATE SCHEMA "{server.pg_schema}"')
        self.assertTrue(server.store_exists())
        server.sql("CREATE TABLE jobs (id text PRIMARY KEY, n int)")
        server.sql("INSERT INTO jobs VALUES (?, ?), (?, ?)", "j1", 1, "j2", 2)
        self.assertEqual(server.sql("SELECT id, n FROM jobs WHERE n > ? ORDER BY id", 0), [("j1", 1), ("j2", 2)])
        harness._drop_pg_schemas([server.pg_schema])
        self.assertFalse(server.store_exists())


class DevPostgresTest(unittest.TestCase):
    """README, "Run on PostgreSQL": scripts/dev-postgres.sh starts a cluster,
    prints the --store URL and the stop command, and the stop works."""

    SCRIPTS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))

    def test_dev_postgres_prints_a_store_url_that_connects_and_a_stop_that_works(self):
        # Not under a mkdtemp directory: the server's user (postgres, under
        # root) must be able to enter the parents.
        d = f"/tmp/errand-pg-devtest-{secrets.token_hex(4)}"
        stop = [os.path.join(self.SCRIPTS, "pg-cluster.sh"), "stop", d]
        self.addCleanup(subprocess.run, stop, capture_output=True, timeout=120)
        out = subprocess.run([os.path.join(self.SCRIPTS, "dev-postgres.sh"), d], capture_output=True, text=True,
                             timeout=120)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        m = re.search(r"errand server --store '(postgres://errand:errand@/errand\?host=([^&]+)&port=\d+)'",
                      out.stdout)
        self.assertTrue(m, out.stdout)
        self.assertEqual(m.group(2), d)
        self.assertIn(f"pg-cluster.sh stop {d}", out.stdout)
        with psycopg.connect(m.group(1), connect_timeout=10) as conn:
            self.assertEqual(conn.execute("SELECT current_user").fetchone()[0], "errand")
        again = subprocess.run([os.path.join(self.SCRIPTS, "dev-postgres.sh"), d], capture_output=True, text=True,
                               timeout=120)
        self.assertIn("already running", again.stdout)
        self.assertIn(m.group(1), again.stdout)
        subprocess.run(stop, check=True, capture_output=True, timeout=120)
        self.assertFalse(os.path.exists(d))


if __name__ == "__main__":
    unittest.main()
