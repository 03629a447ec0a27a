"""Transactional enqueue from SQL (docs/API.md, "Enqueue from SQL"): an app
calls <schema>.enqueue() inside its own transaction, and the job exists for
the server — claimable, counted, waking a waiting claim — exactly when that
transaction commits. From psycopg, from psql and from Node's pg client, on the
real server and the real PostgreSQL of the ctest fixture `postgres`.

Runs with ERRAND_TEST_STORE=postgres (tests/integration.cmake). The producer
role test needs the cluster's superuser: the fixture's cluster trusts its
Unix socket, so `postgres` connects there (else, as root, through runuser).
"""

import json
import os
import re
import secrets
import shutil
import subprocess
import threading
import time
import unittest

try:
    import psycopg
    from psycopg import errors, sql
    from psycopg.conninfo import conninfo_to_dict
except ImportError as e:  # a missing package must fail loudly, not skip
    raise ImportError(f"{e}: the PostgreSQL tests need python3-psycopg (scripts/install-deps.sh test)") from e

import harness
from harness import ErrandTestCase, ErrandServer, poll_until, postgres_base_url

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NODE_DIR = os.path.join(ROOT, "tests", "sql-enqueue")
PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def format_job_id(n):
    """core::format_job_id."""
    out = ""
    for _ in range(13):
        out = ALPHABET[n & 31] + out
        n >>= 5
    return out


def psql_bin():
    candidate = os.path.join(PG_BIN, "psql")
    return candidate if os.access(candidate, os.X_OK) else shutil.which("psql") or "psql"


def conn_params(**override):
    params = conninfo_to_dict(postgres_base_url())
    params.update(override)
    return {k: v for k, v in params.items() if v is not None}


def superuser_run(statement):
    """Runs one statement as the cluster's superuser."""
    params = conn_params()
    try:
        with psycopg.connect(host=params["host"], port=params.get("port"), dbname=params["dbname"],
                             user="postgres", autocommit=True, connect_timeout=10) as conn:
            conn.execute(statement)
            return
    except psycopg.OperationalError:
        if os.geteuid() != 0:
            raise
    subprocess.run(["runuser", "-u", "postgres", "--", psql_bin(), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                    "-h", params["host"], "-p", str(params.get("port", 5432)), "-d", params["dbname"],
                    "-c", statement], check=True, capture_output=True, timeout=60)


def ensure_producer_role():
    """errand_producer exists before the server migrates, so the migration
    grants it (the test role `errand` has no CREATEROLE to make it)."""
    superuser_run("DO $$ BEGIN CREATE ROLE errand_producer NOLOGIN; "
                  "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$")


class SqlEnqueueTest(ErrandTestCase):
    @classmethod
    def setUpClass(cls):
        if not harness.ON_POSTGRES:
            raise RuntimeError("test_sql_enqueue needs ERRAND_TEST_STORE=postgres (ctest sets it)")
        ensure_producer_role()
        cls.server = ErrandServer()
        cls.server.__enter__()
        cls.schema = cls.server.pg_schema

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)

    # ---- helpers ----------------------------------------------------------

    def connect(self, **override):
        conn = psycopg.connect(**conn_params(**override), connect_timeout=10)
        self.addCleanup(conn.close)
        return conn

    def fn(self, name):
        return sql.Identifier(self.schema, name)

    def enqueue(self, conn, queue, payload, options=None):
        """SELECT <schema>.enqueue(...) in conn's current transaction."""
        q = sql.SQL("SELECT {}(%s, %s::jsonb, %s::jsonb)").format(self.fn("enqueue"))
        return conn.execute(q, (queue, json.dumps(payload), json.dumps(options or {}))).fetchone()[0]

    def enqueue_now(self, queue, payload, options=None):
        with self.connect(autocommit=True) as conn:
            return self.enqueue(conn, queue, payload, options)

    def sql_error(self, queue, payload, options):
        with self.assertRaises(psycopg.Error) as caught:
            self.enqueue_now(queue, payload, options)
        return caught.exception

    def q(self):
        return f"sqlq-{secrets.token_hex(4)}"

    # ---- commit, rollback, wake-up ----------------------------------------

    def test_a_committed_job_is_claimable_and_wakes_a_waiting_claim(self):
        s, q = self.server, self.q()
        box = {}

        def waiter():
            box["jobs"] = s.claim(q, worker="waiter", wait="20s", timeout=60)
            box["at"] = time.monotonic()

        before = s.request("GET", "/v1/stats").body["workers"]["waiting"]
        t = threading.Thread(target=waiter, daemon=True)
        t.start()
        poll_until(lambda: s.request("GET", "/v1/stats").body["workers"]["waiting"] > before, 10,
                   message="the claim to be waiting")
        conn = self.connect()  # a transaction of the app's own
        job_id = self.enqueue(conn, q, {"order": 42}, {"type": "order.confirm"})
        self.assertEqual(s.counts(q)["queued"], 0, "counted before the commit")
        conn.commit()
        committed = time.monotonic()
        t.join(30)
        self.assertFalse(t.is_alive(), "the waiting claim was not answered")
        self.assertEqual([j["id"] for j in box["jobs"]], [job_id])
        harness.log(f"waiting claim answered {box['at'] - committed:.4f}s after the SQL commit")
        self.assertLess(box["at"] - committed, 5.0, "woken by the NOTIFY, not by the wait's end")
        job = box["jobs"][0]
        self.assertEqual(job["payload"], {"order": 42})
        self.assertEqual(job["type"], "order.confirm")
        s.complete(job)
        self.assertEqual(s.get_job(job_id)["state"], "succeeded")

    def test_a_job_key_from_sql_counts_for_its_key_and_takes_turns(self):
        s, q = self.server, self.q()
        s.request("PUT", f"/v1/queues/{q}", {"key_concurrency": 1})
        ids = [self.enqueue_now(q, i, {"key": "acme"}) for i in range(2)]
        other = self.enqueue_now(q, 9, {"key": "globex"})
        self.assertEqual(s.get_job(ids[0])["key"], "acme")
        key = s.request("GET", f"/v1/queues/{q}/keys/acme").body
        self.assertEqual((key["queued"], key["running"]), (2, 0))
        claimed = s.claim(q, max=10)
        self.assertEqual(sorted(j["id"] for j in claimed), sorted([ids[0], other]))
        for bad in ("", "x" * 129, "tab\there"):
            err = self.sql_error(q, 1, {"key": bad})
            self.assertEqual(err.diag.column_name, "key", bad)

    def test_a_rolled_back_enqueue_leaves_nothing(self):
        s, q = self.server, self.q()
        conn = self.connect()
        job_id = self.enqueue(conn, q, {"order": 1})
        conn.rollback()
        self.assertEqual(s.request("GET", f"/v1/jobs/{job_id}").status, 404)
        self.assertEqual(s.claim(q), [])
        self.assertIsNone(s.queue(q), "the queue was created by a rolled-back enqueue")
        self.assertEqual(s.sql("SELECT count(*) FROM sql_enqueued"), [(0,)])

    def test_a_rolled_back_savepoint_takes_its_job_and_count_with_it(self):
        s, q = self.server, self.q()
        conn = self.connect()
        kept = self.enqueue(conn, q, 1)
        conn.execute("SAVEPOINT a")
        dropped = self.enqueue(conn, q, 2)
        conn.execute("ROLLBACK TO SAVEPOINT a")
        conn.commit()
        self.assertEqual(s.counts(q)["queued"], 1)
        self.assertEqual(s.request("GET", f"/v1/jobs/{dropped}").status, 404)
        self.assertEqual(s.claim_one(q)["id"], kept)

    def test_an_open_app_transaction_does_not_hold_up_the_server(self):
        s, q = self.server, self.q()
        s.enqueue(q, payload=0)  # the queue's row exists, and the server's writer adds counts to it
        conn = self.connect()
        self.enqueue(conn, q, 1)
        started = time.monotonic()
        s.request("POST", "/v1/jobs", {"queue": q, "payload": 2}, timeout=10)
        self.assertLess(time.monotonic() - started, 5.0, "the server waited for the app's transaction")
        self.assertEqual(s.counts(q)["queued"], 2)
        conn.commit()
        self.assertEqual(s.counts(q)["queued"], 3)

    def test_job_fields_id_and_counts_match_an_http_enqueue(self):
        s, q = self.server, self.q()
        job_id = self.enqueue_now(q, {"b": [1, 2.5], "a": "é"},
                                  {"type": "send.mail", "priority": 7, "max_attempts": 3,
                                   "timeout": "90s", "tags": ["x", "y\"z"]})
        raw = s.sql("SELECT id, payload, tags FROM jobs WHERE queue = ?", q)
        self.assertEqual(format_job_id(raw[0][0]), job_id)
        self.assertEqual(raw[0][1], '{"a": "é", "b": [1, 2.5]}', "stored as jsonb prints it")
        self.assertEqual(raw[0][2], '["x","y\\"z"]', "tags as the C++ store writes them")
        job = s.get_job(job_id)
        self.assertEqual((job["state"], job["type"], job["priority"], job["max_attempts"], job["timeout"]),
                         ("queued", "send.mail", 7, 3, "90s"))
        self.assertEqual(job["tags"], ["x", 'y"z'])
        self.assertEqual(job["payload"], {"a": "é", "b": [1, 2.5]})
        self.assertEqual(s.counts(q)["queued"], 1)
        over_http = s.enqueue(q, payload=1)["id"]
        self.assertGreater(over_http, job_id, "ids from both doors are time-ordered together")
        self.assertEqual(s.counts(q)["queued"], 2)

    def test_enqueue_many_inserts_in_order_in_one_transaction(self):
        s, q = self.server, self.q()
        conn = self.connect()
        rows = conn.execute(sql.SQL("SELECT * FROM {}(%s, %s::jsonb, %s::jsonb)").format(self.fn("enqueue_many")),
                            (q, json.dumps([{"n": 1}, {"n": 2}, None]), json.dumps({"priority": 3}))).fetchall()
        ids = [r[0] for r in rows]
        self.assertEqual(len(ids), 3)
        self.assertEqual(ids, sorted(ids))
        self.assertEqual(s.counts(q)["queued"], 0)
        conn.commit()
        self.assertEqual(s.counts(q)["queued"], 3)
        claimed = s.claim(q, max=10)
        self.assertEqual([j["id"] for j in claimed], ids)
        self.assertEqual([j["payload"] for j in claimed], [{"n": 1}, {"n": 2}, None])
        self.assertEqual({j["priority"] for j in claimed}, {3})
        empty = conn.execute(sql.SQL("SELECT count(*) FROM {}(%s, %s::jsonb)").format(self.fn("enqueue_many")),
                             (q, "[]")).fetchone()[0]
        self.assertEqual(empty, 0)

    def test_delay_and_run_at_schedule_the_job(self):
        s, q = self.server, self.q()
        delayed = self.enqueue_now(q, 1, {"delay": "1h"})
        at = self.enqueue_now(q, 2, {"run_at": "2099-01-31T08:00:00.5+01:00"})
        due = self.enqueue_now(q, 3, {"run_at": "2001-01-01T00:00:00Z"})
        self.assertEqual(s.get_job(delayed)["state"], "scheduled")
        self.assertAlmostEqual(harness.parse_time(s.get_job(delayed)["run_at"]), time.time() + 3600, delta=60)
        self.assertEqual(s.get_job(at)["run_at"], "2099-01-31T07:00:00.500Z")
        self.assertEqual(s.get_job(due)["state"], "queued")
        self.assertEqual((s.counts(q)["scheduled"], s.counts(q)["queued"]), (2, 1))
        self.assertEqual(s.claim(q)[0]["id"], due)

    def test_a_delayed_job_is_promoted_when_due_though_no_server_enqueued_it(self):
        # The server's timer learns the due time from the NOTIFY ("@MS"): it
        # would otherwise wake only at its next own deadline (pruning: minutes).
        s, q = self.server, self.q()
        box = {}

        def waiter():
            box["jobs"] = s.claim(q, worker="waiter", wait="30s", timeout=60)
            box["at"] = time.monotonic()

        before = s.request("GET", "/v1/stats").body["workers"]["waiting"]
        t = threading.Thread(target=waiter, daemon=True)
        t.start()
        poll_until(lambda: s.request("GET", "/v1/stats").body["workers"]["waiting"] > before, 10,
                   message="the claim to be waiting")
        job_id = self.enqueue_now(q, {"later": True}, {"delay": "2s"})
        committed = time.monotonic()
        self.assertEqual(s.get_job(job_id)["state"], "scheduled")
        t.join(60)
        self.assertFalse(t.is_alive(), "the waiting claim was not answered")
        self.assertEqual([j["id"] for j in box["jobs"]], [job_id], "the due job was not promoted in time")
        self.assertGreaterEqual(box["at"] - committed, 1.5, "claimed before it was due")

    # ---- idempotency ------------------------------------------------------

    def test_a_repeated_key_returns_the_first_job_and_another_payload_conflicts(self):
        s, q = self.server, self.q()
        first = self.enqueue_now(q, {"order": 7}, {"idempotency_key": "order-7", "type": "t"})
        self.assertEqual(self.enqueue_now(q, {"order": 7}, {"idempotency_key": "order-7", "type": "t"}), first)
        self.assertEqual(s.counts(q)["queued"], 1)
        for payload, options in (({"order": 8}, {"idempotency_key": "order-7", "type": "t"}),
                                 ({"order": 7}, {"idempotency_key": "order-7", "type": "u"})):
            e = self.sql_error(q, payload, options)
            self.assertEqual(e.sqlstate, "ER409")
            self.assertEqual(e.diag.column_name, "idempotency_key")
            self.assertEqual(e.diag.message_primary,
                             f'idempotency_key "order-7" already names job {first} of queue {q}, with another '
                             "type or payload: a repeat must ask for the same job (or use a new key)")
        self.assertNotEqual(self.enqueue_now(self.q(), {"order": 7}, {"idempotency_key": "order-7"}), first,
                            "a key is scoped to its queue")
        # A job enqueued over HTTP keeps its client's text; the same JSON value
        # repeated from SQL is the same job.
        http_id = s.enqueue(q, payload={"b": 1, "a": [1,2]}, idempotency_key="web-1")["id"]
        self.assertEqual(self.enqueue_now(q, {"a": [1, 2], "b": 1}, {"idempotency_key": "web-1"}), http_id)

    def test_a_key_being_taken_by_another_transaction_waits_for_its_commit_then_returns_its_job(self):
        q = self.q()
        first = self.connect()
        first_id = self.enqueue(first, q, {"n": 1}, {"idempotency_key": "race"})
        second = self.connect(autocommit=True)
        pid = second.info.backend_pid
        box = {}

        def repeat():
            box["id"] = self.enqueue(second, q, {"n": 1}, {"idempotency_key": "race"})

        t = threading.Thread(target=repeat, daemon=True)
        t.start()
        watcher = self.connect(autocommit=True)
        poll_until(lambda: watcher.execute("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s",
                                           (pid,)).fetchone()[0], 10,
                   message="the repeat to wait for the first transaction")
        first.commit()
        t.join(10)
        self.assertEqual(box.get("id"), first_id)
        self.assertEqual(self.server.counts(q)["queued"], 1)

    # ---- validation -------------------------------------------------------

    def test_every_bad_option_names_its_field_with_the_http_message(self):
        q = self.q()
        cases = [
            ({"priority": "high"}, "ER400", "priority", "priority must be an integer from -1000000 to 1000000"),
            ({"priority": 1.5}, "ER400", "priority", "priority must be an integer from -1000000 to 1000000"),
            ({"priority": 1000001}, "ER400", "priority", "priority must be from -1000000 to 1000000, got 1000001"),
            ({"max_attempts": 0}, "ER400", "max_attempts", "max_attempts must be from 1 to 1000, got 0"),
            ({"max_attempts": True}, "ER400", "max_attempts", "max_attempts must be an integer from 1 to 1000"),
            ({"timeout": "500ms"}, "ER400", "timeout", 'timeout must be from 1s to 1d, got "500ms"'),
            ({"timeout": 30}, "ER400", "timeout", 'timeout must be a duration string such as "10s" or "5m"'),
            ({"delay": "5 minutes"}, "ER400", "delay",
             'delay must be a duration such as "250ms", "10s", "5m", "2h" or "1d", got "5 minutes" (unknown unit)'),
            ({"delay": "-1s"}, "ER400", "delay",
             'delay must be a duration such as "250ms", "10s", "5m", "2h" or "1d", got "-1s" '
             "(durations cannot be negative)"),
            ({"delay": "10"}, "ER400", "delay",
             'delay must be a duration such as "250ms", "10s", "5m", "2h" or "1d", got "10" (missing unit)'),
            ({"delay": "3651d"}, "ER400", "delay", 'delay must be from 0s to 3650d, got "3651d"'),
            ({"delay": "1s", "run_at": "2030-01-01T00:00:00Z"}, "ER400", "delay",
             "give either delay or run_at, not both"),
            ({"run_at": "2030-02-30T00:00:00Z"}, "ER400", "run_at",
             'run_at must be an RFC 3339 time such as "2026-01-31T08:00:00Z", got "2030-02-30T00:00:00Z"'),
            ({"run_at": "tomorrow"}, "ER400", "run_at",
             'run_at must be an RFC 3339 time such as "2026-01-31T08:00:00Z", got "tomorrow"'),
            ({"run_at": 1}, "ER400", "run_at", "run_at must be an RFC 3339 time string"),
            ({"tags": "a"}, "ER400", "tags", "tags must be an array of strings"),
            ({"tags": ["t"] * 33}, "ER400", "tags", "tags may hold at most 32 tags"),
            ({"tags": ["ok", 2]}, "ER400", "tags[1]", "tags[1] must be a string"),
            ({"tags": ["a b"]}, "ER400", "tags[0]", "tags[0] must be 1-64 printable characters without spaces"),
            ({"type": "a b"}, "ER400", "type", "type must be 1-128 printable characters without spaces"),
            ({"type": "x" * 129}, "ER400", "type", "type must be 1-128 printable characters without spaces"),
            ({"type": 5}, "ER400", "type", "type must be a string"),
            ({"idempotency_key": ""}, "ER400", "idempotency_key", "idempotency_key must not be empty"),
            ({"idempotency_key": "k" * 257}, "ER400", "idempotency_key",
             "idempotency_key is longer than 256 characters"),
            ({"dealy": "1s"}, "ER400", "dealy",
             "unknown option dealy (expected one of: delay, run_at, priority, max_attempts, timeout, tags, "
             "idempotency_key, type, key)"),
            ({"token_scope": ["payload"]}, "ER400", "token_scope",
             "unknown option token_scope (expected one of: delay, run_at, priority, max_attempts, timeout, tags, "
             "idempotency_key, type, key)"),
        ]
        for options, sqlstate, field, message in cases:
            with self.subTest(options=options):
                e = self.sql_error(q, 1, options)
                self.assertEqual((e.sqlstate, e.diag.column_name, e.diag.message_primary), (sqlstate, field, message))
                # The HTTP API says the same (token_scope is HTTP's own).
                if field != "token_scope" and "unknown option" not in message:
                    r = self.server.request("POST", "/v1/jobs", dict(options, queue=q, payload=1))
                    self.assertEqual(r.body["error"]["message"], message, r.body)
        for queue, message in ((None, "queue is required"),
                               ("Emails", "queue must be 1-64 characters of a-z, 0-9, '_', '.' or '-'; got \"Emails\"")):
            e = self.sql_error(queue, 1, {})
            self.assertEqual((e.sqlstate, e.diag.column_name, e.diag.message_primary), ("ER400", "queue", message))
        e = self.sql_error(q, "x" * (1 << 20), {})
        self.assertEqual((e.sqlstate, e.diag.column_name), ("ER413", "payload"))
        self.assertEqual(e.diag.message_primary, "payload is larger than 1048576 bytes")
        deep = 1
        for _ in range(65):
            deep = [deep]
        e = self.sql_error(q, deep, {})
        self.assertEqual((e.sqlstate, e.diag.message_primary), ("ER400", "payload is nested more than 64 levels deep"))
        with self.connect(autocommit=True) as conn:
            for payloads, options, field, message in (
                    ('{"a": 1}', "{}", "payloads", "payloads must be a JSON array of payloads"),
                    ("[1]", '{"idempotency_key": "k"}', "idempotency_key",
                     "idempotency_key names one job: enqueue_many takes none (call enqueue for each keyed job)"),
                    ("[1]", "[]", "options", "options must be a JSON object")):
                with self.assertRaises(psycopg.Error) as caught:
                    conn.execute(sql.SQL("SELECT * FROM {}(%s, %s::jsonb, %s::jsonb)").format(
                        self.fn("enqueue_many")), (q, payloads, options))
                e = caught.exception
                self.assertEqual((e.sqlstate, e.diag.column_name, e.diag.message_primary), ("ER400", field, message))
        self.assertIsNone(self.server.queue(q), "a refused enqueue created its queue")

    # ---- defaults from the queue's configuration ----------------------------

    def test_unset_options_take_the_queue_defaults_else_the_servers(self):
        s, q = self.server, self.q()
        self.assertStatus(s.request("PUT", f"/v1/queues/{q}",
                                    {"defaults": {"priority": 5, "max_attempts": 3, "timeout": "30s"}}), 200)
        plain = s.get_job(self.enqueue_now(q, 1))
        self.assertEqual((plain["priority"], plain["max_attempts"], plain["timeout"]), (5, 3, "30s"))
        own = s.get_job(self.enqueue_now(q, 1, {"priority": -2, "max_attempts": 9, "timeout": "2m"}))
        self.assertEqual((own["priority"], own["max_attempts"], own["timeout"]), (-2, 9, "2m"))
        fresh = s.get_job(self.enqueue_now(self.q(), 1))
        self.assertEqual((fresh["priority"], fresh["max_attempts"], fresh["timeout"]), (0, 10, "5m"))
        self.assertNotIn("on_done", fresh)

    def test_a_queue_default_webhook_is_owed_when_a_sql_job_ends(self):
        s, q = self.server, self.q()
        url = "https://hooks.example.com/done"
        self.assertStatus(s.request("PUT", f"/v1/queues/{q}", {"defaults": {"on_done": {"url": url}}}), 200)
        jid = self.enqueue_now(q, {"n": 1})
        self.assertEqual(s.get_job(jid)["on_done"], {"url": url})
        self.assertStatus(s.request("POST", f"/v1/jobs/{jid}/cancel"), 200)
        hook = poll_until(lambda: s.get_job(jid)["on_done"].get("state"), 30,
                          message="the webhook owed once the job ended")
        self.assertIn(hook, ("pending", "failed"))  # its host does not resolve here

    # ---- the producer role ------------------------------------------------

    def test_a_role_with_only_errand_producer_can_enqueue_and_cannot_touch_jobs(self):
        s, q = self.server, self.q()
        app = f"errand_app_{secrets.token_hex(4)}"
        bare = f"errand_bare_{secrets.token_hex(4)}"
        superuser_run(f"CREATE ROLE {app} LOGIN; GRANT errand_producer TO {app}; CREATE ROLE {bare} LOGIN")
        self.addCleanup(superuser_run, f"DROP ROLE IF EXISTS {app}; DROP ROLE IF EXISTS {bare}")
        with self.connect(user=app, password=None, autocommit=True) as conn:
            job_id = self.enqueue(conn, q, {"from": "app"})
            refused = [
                (sql.SQL("SELECT * FROM {}").format(self.fn("jobs")), None),
                (sql.SQL("UPDATE {} SET priority = 1").format(self.fn("jobs")), None),
                (sql.SQL("DELETE FROM {}").format(self.fn("queues")), None),
                (sql.SQL("INSERT INTO {}(queue, n_scheduled, n_queued) VALUES ('x', 0, 100)").format(
                    self.fn("sql_enqueued")), None),
                (sql.SQL("SELECT * FROM {}(%s, %s::jsonb, %s::jsonb, false)").format(self.fn("sql_enqueue")),
                 (q, "[1]", "{}")),
            ]
            for statement, params in refused:
                with self.subTest(statement=statement.as_string(conn)):
                    with self.assertRaises(errors.InsufficientPrivilege):
                        conn.execute(statement, params)
        self.assertEqual(s.get_job(job_id)["payload"], {"from": "app"})
        with self.connect(user=bare, password=None, autocommit=True) as conn:
            with self.assertRaises(errors.InsufficientPrivilege):
                self.enqueue(conn, q, 1)

    # ---- other clients ----------------------------------------------------

    def test_psql_enqueues_in_a_transaction(self):
        s, q = self.server, self.q()
        params = conn_params()
        script = (f"BEGIN;\n"
                  f"SELECT {self.schema}.enqueue('{q}', '{{\"to\": \"a@example.com\"}}', '{{\"type\": \"welcome\"}}');\n"
                  f"COMMIT;\n"
                  f"BEGIN;\n"
                  f"SELECT {self.schema}.enqueue('{q}', '2');\n"
                  f"ROLLBACK;\n")
        env = dict(os.environ, PGPASSWORD=params.get("password", ""))
        out = subprocess.run([psql_bin(), "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-h", params["host"],
                              "-p", str(params["port"]), "-U", params["user"], "-d", params["dbname"]],
                             input=script, capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        ids = out.stdout.split()
        self.assertEqual(len(ids), 2, out.stdout)
        job = s.claim_one(q)
        self.assertEqual((job["id"], job["type"], job["payload"]), (ids[0], "welcome", {"to": "a@example.com"}))
        self.assertEqual(s.request("GET", f"/v1/jobs/{ids[1]}").status, 404)
        bad = subprocess.run([psql_bin(), "-X", "-h", params["host"], "-p", str(params["port"]), "-U", params["user"],
                              "-d", params["dbname"], "-v", "ON_ERROR_STOP=1", "-v", "VERBOSITY=verbose",
                              "-c", f"SELECT {self.schema}.enqueue('{q}', '1', '{{\"priority\": \"high\"}}')"],
                             capture_output=True, text=True, env=env, timeout=60)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("ER400", bad.stderr)
        self.assertIn("priority must be an integer from -1000000 to 1000000", bad.stderr)

    def node(self, order_id, mode):
        if not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "pg")):
            self.fail(f"{NODE_DIR}/node_modules/pg is missing: scripts/install-deps.sh test installs it")
        params = conn_params()
        config = {"host": params["host"], "port": int(params["port"]), "user": params["user"],
                  "password": params.get("password"), "database": params["dbname"]}
        out = subprocess.run(["node", "app_transaction.mjs", json.dumps(config), self.schema, self.node_queue,
                              str(order_id), mode], cwd=NODE_DIR, capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        return json.loads(out.stdout)

    def test_node_pg_commits_an_order_and_its_job_together(self):
        s = self.server
        self.node_queue = self.q()
        s.sql(f"CREATE TABLE IF NOT EXISTS orders (id bigint PRIMARY KEY, email text NOT NULL)")
        committed = self.node(101, "commit")
        job = s.claim_one(self.node_queue)
        self.assertEqual((job["id"], job["type"], job["payload"], job["tags"]),
                         (committed["id"], "order.confirm", {"order": 101}, ["node"]))
        self.assertEqual(s.sql("SELECT email FROM orders WHERE id = 101"), [("buyer@example.com",)])
        rolled_back = self.node(102, "rollback")
        self.assertEqual(s.request("GET", f"/v1/jobs/{rolled_back['id']}").status, 404)
        self.assertEqual(s.sql("SELECT count(*) FROM orders WHERE id = 102"), [(0,)])
        bad = self.node(103, "bad")
        self.assertEqual((bad["code"], bad["column"], bad["message"]),
                         ("ER400", "priority", "priority must be an integer from -1000000 to 1000000"))
        self.assertEqual(s.sql("SELECT count(*) FROM orders WHERE id = 103"), [(0,)])
        self.assertEqual(s.counts(self.node_queue)["queued"], 0)

    # ---- the README's snippets, as written ------------------------------------

    def readme_snippet(self, language):
        with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
            readme = f.read()
        section = readme[readme.index("## Transactional enqueue"):]
        section = section[:section.index("\n## ", 1)]
        code = re.search(rf"```{language}\n(.*?)```", section, re.S).group(1)
        # Errand's schema and the app's table are this test server's.
        return code.replace("errand.enqueue", f"{self.schema}.enqueue").replace("INTO orders",
                                                                                 f"INTO {self.schema}.orders")

    def test_the_readme_snippets_run_as_written(self):
        s = self.server
        s.sql("CREATE TABLE IF NOT EXISTS orders (id bigint PRIMARY KEY, email text NOT NULL)")
        params = conn_params()
        url = postgres_base_url()
        env = dict(os.environ, PGPASSWORD=params.get("password", ""), DATABASE_URL=url)
        runs = {
            "sql": lambda code: subprocess.run(
                [psql_bin(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", params["host"], "-p", str(params["port"]),
                 "-U", params["user"], "-d", params["dbname"]], input=code, capture_output=True, text=True,
                env=env, timeout=60),
            "js": lambda code: subprocess.run(["node", "--input-type=module", "-e", code], cwd=NODE_DIR,
                                              capture_output=True, text=True, env=env, timeout=60),
            "python": lambda code: exec(code, {"DATABASE_URL": url}),
        }
        for language, run in runs.items():
            with self.subTest(language=language):
                s.sql("DELETE FROM orders")
                out = run(self.readme_snippet(language))
                if out is not None:
                    self.assertEqual(out.returncode, 0, out.stderr)
                job = s.claim_one("emails")
                self.assertEqual((job["type"], job["payload"]), ("order.confirm", {"order": 42}))
                s.complete(job)
                self.assertEqual(s.sql("SELECT email FROM orders"), [("ada@example.com",)])


if __name__ == "__main__":
    unittest.main()
