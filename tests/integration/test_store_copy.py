"""`errand copy --from sqlite:DIR --to postgres://…`: a SQLite server's jobs,
queues, schedules, token secret and dashboard sessions move to PostgreSQL,
and a server there serves them as the old one did.

Needs PostgreSQL (the ctest fixture `postgres`: ERRAND_TEST_POSTGRES_URL_FILE,
or ERRAND_TEST_POSTGRES) and python3-psycopg; the SQLite side is always the
SQLite store, whatever ERRAND_TEST_STORE says.
"""
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
import unittest
import urllib.parse

import harness
from harness import ErrandServer, ErrandTestCase, errand_bin, poll_until

ADMIN = "admin:copy-test-admin-secret-0123"
STATES = ("scheduled", "queued", "running", "succeeded", "failed", "dead", "cancelled")



# What SQLite schema versions 15, 14 and 13 added (trace context, workflows,
# flow control), taken away again, so a database of today can stand in for an
# older one.
UNDO_VERSION_15 = """
ALTER TABLE jobs DROP COLUMN traceparent;
ALTER TABLE jobs DROP COLUMN tracestate;
"""

UNDO_VERSION_14 = """
DROP TRIGGER jobs_drop_deps;
DROP TRIGGER jobs_drop_webhook;
DROP TABLE webhooks;
DROP TABLE batches;
DROP TABLE job_deps;
DROP INDEX jobs_batch;
DROP INDEX jobs_waiting;
CREATE INDEX jobs_waiting ON jobs(run_at) WHERE state = 0 OR state = 4;
ALTER TABLE jobs DROP COLUMN links;
ALTER TABLE jobs DROP COLUMN blockers;
ALTER TABLE jobs DROP COLUMN batch_id;
ALTER TABLE jobs DROP COLUMN on_done;
ALTER TABLE queues DROP COLUMN n_blocked;
ALTER TABLE queues DROP COLUMN n_waiting;
ALTER TABLE job_push DROP COLUMN signal;
ALTER TABLE job_push DROP COLUMN signal_nonce;
ALTER TABLE job_push DROP COLUMN signal_status;
"""

UNDO_VERSION_13 = """
DROP TABLE queue_keys;
DROP INDEX jobs_key_id;
DROP INDEX jobs_unique;
DROP INDEX jobs_debounce;
DROP INDEX jobs_ready;
CREATE INDEX jobs_ready ON jobs(queue, priority DESC) WHERE state = 1;
ALTER TABLE jobs DROP COLUMN key;
ALTER TABLE jobs DROP COLUMN unique_key;
ALTER TABLE jobs DROP COLUMN debounce_key;
ALTER TABLE jobs DROP COLUMN debounce_until;
ALTER TABLE queues DROP COLUMN flow;
"""

class SqliteServer(ErrandServer):
    """Always on SQLite (--data DIR), whatever ERRAND_TEST_STORE says."""

    def command(self):
        cmd = [errand_bin(), "server", "--listen", self.listen, "--data", self.data_dir]
        for k in self.keys:
            cmd += ["--key", k]
        return cmd + self.extra_args


class PostgresServer(ErrandServer):
    """A server on one PostgreSQL schema of the test database."""

    def __init__(self, store_url, **kwargs):
        super().__init__(**kwargs)
        self.copy_store_url = store_url

    def command(self):
        cmd = [errand_bin(), "server", "--listen", self.listen, "--store", self.copy_store_url]
        for k in self.keys:
            cmd += ["--key", k]
        return cmd + self.extra_args


def run_errand(*args):
    env = dict(os.environ)
    env.pop("ERRAND_STORE", None)
    return subprocess.run([errand_bin(), *args], capture_output=True, text=True, timeout=120,
                          env=env, stdin=subprocess.DEVNULL)


def store_url(schema):
    base = harness.postgres_base_url()
    return f"{base}{'&' if '?' in base else '?'}schema={schema}"


class StoreCopyTest(ErrandTestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="errand-copy-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.data = os.path.join(self.tmp, "data")
        self.schemas = []
        self.addCleanup(lambda: harness._drop_pg_schemas(self.schemas))

    def new_schema(self):
        schema = f"copy_{os.getpid()}_{secrets.token_hex(3)}"
        self.schemas.append(schema)
        return schema

    def copy(self, schema, data=None):
        return run_errand("copy", "--from", "sqlite:" + (data or self.data), "--to", store_url(schema))

    # ---- the old server's data: every state, logs, progress, push, schedule --

    def fill(self, s):
        """Jobs in every state and the rest; returns {state: job} and the tokens."""
        jobs, tokens = {}, {}

        def enqueue(name, queue, **fields):
            answer = s.enqueue(queue, **fields)
            jobs[name], tokens[name] = answer["id"], answer["token"]

        self.assertStatus(s.request("PUT", "/v1/queues/mail",
                                    {"concurrency": 5, "rate_limit": {"limit": 100, "per": "1m"},
                                     "defaults": {"priority": 2, "max_attempts": 4, "timeout": "30s"}}),
                          200, "configure")
        enqueue("scheduled", "mail", type="later", delay="1h", payload={"n": 1},
                traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                tracestate="rojo=00f067aa0ba902b7")
        # Text COPY has to escape: tabs, newlines, backslashes, quotes, non-ASCII.
        enqueue("queued", "mail", type="welcome", priority=7, tags=["signup", "x\\y"],
                idempotency_key="signup-42",
                payload={"to": "ada@example.com", "text": "tab\there\nline \\ back \"q\" café 📧"})
        enqueue("running", "work", type="import", payload=[1, 2, 3], token_scope=["payload"])
        running = s.claim_one("work", worker="w-running")
        self.assertEqual(running["id"], jobs["running"])
        self.running_lease = running["lease_id"]
        s.request("POST", f"/v1/jobs/{running['id']}/progress",
                  {"lease_id": running["lease_id"], "percent": 40, "message": "rows 400/1000",
                   "data": {"rows": 400}})

        enqueue("succeeded", "work", type="report")
        job = s.claim_one("work")
        s.request("POST", f"/v1/jobs/{job['id']}/complete",
                  {"lease_id": job["lease_id"], "result": {"pages": 3, "url": "s3://b/k"},
                   "log": "line one\n\tindented\nlast \\ line"})

        enqueue("failed", "work", type="flaky", max_attempts=5)
        job = s.claim_one("work")
        s.fail(job, error="SMTP timeout", retry_in="2h", log="attempt 1 log")

        enqueue("dead", "work", type="broken", max_attempts=1)
        job = s.claim_one("work")
        s.fail(job, error="no such user")

        enqueue("cancelled", "mail", type="oops", delay="1h")
        self.assertStatus(s.request("POST", f"/v1/jobs/{jobs['cancelled']}/cancel"), 200, "cancel")

        # A push queue with a secret and a previous one (rotated).
        self.assertStatus(s.request("PUT", "/v1/queues/hooks",
                                    {"push": {"url": "https://app.example.com/api/errand",
                                              "headers": {"x-bypass": "hunter3"}}}), 200, "push queue")
        self.assertStatus(s.request("POST", "/v1/queues/hooks/push-secret/rotate", {"keep_previous": "24h"}),
                          200, "rotate")
        self.assertStatus(s.request("POST", "/v1/queues/mail/pause"), 200, "pause")

        # A schedule that has fired (every second), then paused so it stays put.
        self.assertStatus(s.request("PUT", "/v1/schedules/tick",
                                    {"cron": "* * * * * *", "queue": "cron", "type": "tick",
                                     "payload": {"k": "v"}, "overlap": "allow"}), 201, "schedule")
        poll_until(lambda: s.request("GET", "/v1/schedules/tick").body.get("last_job"), 10,
                   interval=0.05, message="the schedule's first fire")
        self.assertStatus(s.request("POST", "/v1/schedules/tick/pause"), 200, "pause schedule")
        return jobs, tokens

    def snapshot(self, s):
        every = s.list_all(include="payload")
        return {
            "jobs": {j["id"]: s.get_job(j["id"]) for j in every},
            "logs": {j["id"]: s.request("GET", f"/v1/jobs/{j['id']}/logs").body for j in every},
            "queues": s.queues(),
            "schedules": s.request("GET", "/v1/schedules").body,
            "push_secret": s.request("GET", "/v1/queues/hooks/push-secret").body,
        }

    # ---- the tests ---------------------------------------------------------

    def test_copy_moves_every_job_and_old_tokens_keep_working(self):
        schema = self.new_schema()
        with SqliteServer(data_dir=self.data, keys=[ADMIN]) as old:
            jobs, tokens = self.fill(old)
            before = self.snapshot(old)
            login = old.request("POST", "/v1/session", {"key": ADMIN.split(":", 1)[1]}, key=None)
            self.assertEqual(login.status, 200, login.body)
            cookie = re.match(r"errand_session=([^;]*)", login.headers["set-cookie"]).group(1)
            # A running server holds the database: the copy says to stop it.
            busy = self.copy(schema)
            self.assertEqual(busy.returncode, 1, busy.stderr)
            self.assertIn(f"stop the server using {self.data} first", busy.stderr)
            old.stop()
        self.assertEqual({before["jobs"][j]["state"] for j in jobs.values()}, set(STATES))
        db = sqlite3.connect(os.path.join(self.data, "errand.db"))
        with db:  # a session that expired long ago: left out
            db.execute("INSERT INTO sessions VALUES ('e' || hex(randomblob(31)), 'c', '127.0.0.1', 1, 0)")
        db.close()

        done = self.copy(schema)
        self.assertEqual(done.returncode, 0, done.stderr)
        n = len(before["jobs"])
        self.assertIn(f"copied {n} jobs (", done.stdout)
        self.assertIn("tokens issued by the old server stay valid", done.stdout)
        self.assertIn("1 running job kept its lease", done.stdout)
        self.assertIn("copied 1 dashboard session (a browser logged in to the old server stays logged in); "
                      "left out 1 expired one", done.stdout)
        self.assertNotIn("errand:errand@", done.stdout + done.stderr)  # the password is never shown
        harness.log(done.stdout.strip())

        with PostgresServer(store_url(schema), keys=[ADMIN]) as new:
            after = self.snapshot(new)
            self.assertEqual(after["jobs"], before["jobs"])
            self.assertEqual(after["logs"], before["logs"])
            self.assertEqual(after["queues"], before["queues"])
            self.assertEqual(after["schedules"], before["schedules"])
            self.assertEqual(after["push_secret"], before["push_secret"])
            self.assertIsNotNone(after["push_secret"]["previous"])
            # The browser logged in to the old server is logged in to the new one.
            seen = new.request("GET", "/v1/session", key=None, headers={"Cookie": f"errand_session={cookie}"})
            self.assertTrue(seen.body["authenticated"], seen.body)
            self.assertEqual(seen.body["csrf_token"], login.body["csrf_token"])
            # An old job token reads its job (and only what it could before).
            for name, job_id in jobs.items():
                r = new.request("GET", f"/v1/jobs/{job_id}?token={urllib.parse.quote(tokens[name])}", key=None)
                self.assertEqual(r.status, 200, (name, r.body))
                self.assertEqual(r.body["state"], before["jobs"][job_id]["state"])
                self.assertEqual("payload" in r.body, name == "running")
            # The running job's worker can still finish it on the new server.
            done_job = new.complete({"id": jobs["running"], "lease_id": self.running_lease}, result={"ok": True})
            self.assertEqual(done_job["state"], "succeeded")
            # New ids do not collide with copied ones.
            fresh = [new.enqueue("mail", type="after")["id"] for _ in range(20)]
            self.assertFalse(set(fresh) & set(before["jobs"]))
            self.assertEqual(new.get_job(fresh[0])["type"], "after")

        again = self.copy(schema)
        self.assertEqual(again.returncode, 1, again.stderr)
        self.assertIn(f"schema {schema}", again.stderr)
        self.assertIn("is not empty", again.stderr)
        self.assertRegex(again.stderr, r"holds \d+ jobs")
        self.assertNotIn("errand:errand@", again.stderr)

    def test_a_data_directory_from_before_the_secret_moved_keeps_its_tokens(self):
        with SqliteServer(data_dir=self.data, keys=[ADMIN]) as old:
            answer = old.enqueue("q")
        # What schema version 9 left: no settings table, the secret in <dir>/secret.
        db = sqlite3.connect(os.path.join(self.data, "errand.db"))
        secret = db.execute("SELECT value FROM settings WHERE name = 'token_secret'").fetchone()[0]
        with db:
            db.executescript(UNDO_VERSION_15)
            db.executescript(UNDO_VERSION_14)
            db.executescript(UNDO_VERSION_13)
            db.execute("DROP TABLE settings")
            db.execute("UPDATE schema_version SET version = 9")
        db.close()
        with open(os.path.join(self.data, "secret"), "w") as f:
            f.write(secret)
        schema = self.new_schema()
        done = self.copy(schema)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("the token secret came from the data directory's secret file", done.stdout)
        self.assertIn("the SQLite database was migrated from schema version 9 to 15 first", done.stdout)
        with PostgresServer(store_url(schema), keys=[ADMIN]) as new:
            r = new.request("GET", f"/v1/jobs/{answer['id']}?token={answer['token']}", key=None)
            self.assertEqual(r.status, 200, r.body)

    def test_bad_ends_are_usage_errors_and_never_show_the_password(self):
        cases = [
            (["copy"], "give --from"),
            (["copy", "--from", "sqlite:" + self.data], "give --from"),
            (["copy", "--from", "sqlite:" + self.data, "--to", "mysql://root:hunter2@db/x"], "postgres://"),
            (["copy", "--from", "postgres://app:hunter2@db/x", "--to", "postgres://app:hunter2@db/y"],
             "--from must be a SQLite data directory"),
            (["copy", "--from", "sqlite:" + self.data, "--to", "sqlite:" + self.tmp], "--to must be a PostgreSQL URL"),
            (["copy", "--from", "sqlite:" + self.data, "--to", "postgres://app:hunter2@db/x?schema=Bad-Name"],
             "schema"),
        ]
        for args, message in cases:
            r = run_errand(*args)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertIn(message, r.stderr, args)
            self.assertNotIn("hunter2", r.stderr + r.stdout)

    def test_failures_exit_1_with_one_line(self):
        missing = self.copy(self.new_schema(), data=os.path.join(self.tmp, "nothing-here"))
        self.assertEqual(missing.returncode, 1, missing.stderr)
        self.assertIn("holds no Errand database", missing.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "nothing-here")))
        with SqliteServer(data_dir=self.data) as old:
            old.enqueue("q")
        unreachable = run_errand("copy", "--from", "sqlite:" + self.data, "--to",
                                 "postgres://errand:hunter2@127.0.0.1:1/errand?schema=x&connect_timeout=3")
        self.assertEqual(unreachable.returncode, 1, unreachable.stderr)
        self.assertIn("cannot connect to PostgreSQL", unreachable.stderr)
        self.assertNotIn("hunter2", unreachable.stderr)
        self.assertEqual(len(unreachable.stderr.strip().splitlines()), 1, unreachable.stderr)
        db = sqlite3.connect(os.path.join(self.data, "errand.db"))
        with db:
            db.execute("UPDATE schema_version SET version = 99")
        db.close()
        newer = self.copy(self.new_schema())
        self.assertEqual(newer.returncode, 1, newer.stderr)
        self.assertIn("newer than this server's", newer.stderr)

    def test_jobs_with_a_legacy_id_keep_their_integer_id(self):
        with SqliteServer(data_dir=self.data) as old:
            kept = old.enqueue("q")["id"]
        # A job as the version-7 migration leaves one made before: both ids.
        legacy = "01JDQ7Z3K5X9V2M4N6P8R0T2W4"
        db = sqlite3.connect(os.path.join(self.data, "errand.db"))
        row_id = int(db.execute("SELECT max(id) FROM jobs").fetchone()[0]) + 1
        with db:
            db.execute("INSERT INTO jobs(id, legacy_id, queue, state, run_at, created_at, max_attempts, timeout_ms)"
                       " SELECT ?, ?, queue, state, run_at, created_at, max_attempts, timeout_ms FROM jobs"
                       " WHERE id = ?", (row_id, legacy, row_id - 1))
            db.execute("UPDATE queues SET n_queued = n_queued + 1 WHERE name = 'q'")
        db.close()
        schema = self.new_schema()
        done = self.copy(schema)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("1 job made before SQLite schema version 7", done.stdout)
        alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
        short = "".join(alphabet[(row_id >> (5 * (12 - i))) & 31] for i in range(13))
        with PostgresServer(store_url(schema)) as new:
            self.assertEqual(new.get_job(short)["queue"], "q")
            self.assertEqual(new.get_job(kept)["queue"], "q")
            self.assertEqual(new.request("GET", f"/v1/jobs/{legacy}").status, 404)

    def test_queue_counts_that_disagree_with_the_jobs_are_recomputed(self):
        with SqliteServer(data_dir=self.data) as old:
            old.enqueue("q")
            old.enqueue("q")
            old.enqueue("gone")
        db = sqlite3.connect(os.path.join(self.data, "errand.db"))
        with db:
            db.execute("UPDATE queues SET n_queued = 7 WHERE name = 'q'")
            db.execute("DELETE FROM queues WHERE name = 'gone'")
        db.close()
        schema = self.new_schema()
        done = self.copy(schema)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("recounted the jobs of queues", done.stdout)
        with PostgresServer(store_url(schema)) as new:
            self.assertEqual(new.counts("q")["queued"], 2)
            self.assertEqual(new.counts("gone")["queued"], 1)

    @unittest.skipUnless(os.environ.get("ERRAND_COPY_BENCH_JOBS"), "set ERRAND_COPY_BENCH_JOBS=N to time a copy of N jobs")
    def test_copy_speed(self):
        """Times the copy of N jobs written straight into a server's database."""
        n = int(os.environ["ERRAND_COPY_BENCH_JOBS"])
        with SqliteServer(data_dir=self.data) as old:
            old.enqueue("bulk")
        db = sqlite3.connect(os.path.join(self.data, "errand.db"))
        base = int(db.execute("SELECT max(id) FROM jobs").fetchone()[0]) + (1 << 20)
        ms = base >> 20
        payload = '{"to":"ada@example.com","subject":"Welcome","n":%d}'
        with db:
            db.executemany(
                "INSERT INTO jobs(id, queue, type, payload, state, priority, run_at, created_at, started_at,"
                " finished_at, attempt, max_attempts, timeout_ms, tags, result)"
                " VALUES (?, 'bulk', 'welcome', ?, ?, 0, ?, ?, ?, ?, ?, 10, 300000, '[\"signup\"]', ?)",
                ((base + i, payload % i, 3 if i % 2 else 1, ms, ms, ms if i % 2 else None, ms if i % 2 else None,
                  i % 2, '{"ok":true}' if i % 2 else None) for i in range(n)))
            db.execute("UPDATE queues SET n_queued = n_queued + ?, n_succeeded = n_succeeded + ? WHERE name = 'bulk'",
                       (n - n // 2, n // 2))
        db.close()
        done = self.copy(self.new_schema())
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertNotIn("recounted", done.stdout)
        harness.log(done.stdout.strip())


if __name__ == "__main__":
    unittest.main()
