"""`errand backup --data DIR OUT` and `errand restore BACKUP --data NEWDIR`.

A backup taken while threads enqueue over HTTP holds every job acknowledged
before it began, and a server started on the restored directory serves them
(their tokens too); a backup of a stopped server's directory, and of one
that keeps its token secret in a `secret` file; what restore refuses (a
directory that is not empty, files that are not backups, a damaged one, a
newer schema, a directory a server is using) and what backup refuses, each
with exit code 1 and a message naming the argument (2 for usage errors).

SQLite only: backups are of a SQLite data directory (PostgreSQL: pg_dump).
"""
import os
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import unittest

import harness
from harness import ErrandServer, ErrandTestCase, errand_bin, poll_until, sqlite_only

ADMIN_SECRET = "backup-test-admin-secret-0123"
ADMIN = f"admin:{ADMIN_SECRET}"
PRODUCER = "producer:backup-test-producer-secret-01"


def run_errand(*args, timeout=120):
    env = dict(os.environ)
    for name in ("ERRAND_URL", "ERRAND_KEY", "ERRAND_STORE"):
        env.pop(name, None)
    return subprocess.run([errand_bin(), *args], capture_output=True, text=True, timeout=timeout,
                          env=env, stdin=subprocess.DEVNULL)


class SqliteServer(ErrandServer):
    """Always on SQLite (--data DIR), whatever ERRAND_TEST_STORE says."""

    def command(self):
        cmd = [errand_bin(), "server", "--listen", self.listen, "--data", self.data_dir]
        for k in self.keys:
            cmd += ["--key", k]
        return cmd + self.extra_args


class Enqueuers:
    """Threads that enqueue over HTTP until stopped, each on its own
    connection, noting every job acknowledged (202) in order."""

    def __init__(self, server, threads=4):
        self.server = server
        self.lock = threading.Lock()
        self.acked = []  # (id, token), in acknowledgement order
        self.errors = []
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(threads)]

    def _run(self, n):
        conn = self.server.connection()
        i = 0
        while not self.stopping.is_set():
            i += 1
            r = conn.request("POST", "/v1/jobs", {"queue": f"q{n}", "payload": {"n": i, "pad": "x" * 2000}},
                             key=ADMIN_SECRET)
            if r.status != 202:
                with self.lock:
                    self.errors.append((r.status, r.body))
                return
            with self.lock:
                self.acked.append((r.body["id"], r.body["token"]))

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def count(self):
        with self.lock:
            return len(self.acked)

    def snapshot(self):
        with self.lock:
            return list(self.acked)

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(30)


@sqlite_only("errand backup copies a SQLite data directory")
class BackupTest(ErrandTestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="errand-backup-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.data = os.path.join(self.tmp, "data")
        self.out = os.path.join(self.tmp, "backup")
        self.restored = os.path.join(self.tmp, "restored")

    def backup(self, server=None, data=None, out=None, key=ADMIN_SECRET):
        args = ["backup", "--data", data or self.data, out or self.out]
        if server is not None:
            args += ["--server", server.url]
        if key is not None:
            args += ["--key", key]
        return run_errand(*args)

    def restore(self, backup=None, data=None, *extra):
        return run_errand("restore", backup or self.out, "--data", data or self.restored, *extra)

    def assertFails(self, r, code, *texts):
        self.assertEqual(r.returncode, code, (r.stdout, r.stderr))
        for text in texts:
            self.assertIn(text, r.stderr)
        self.assertTrue(r.stderr.startswith("errand: "), r.stderr)

    def fill(self, server, n=300):
        """Jobs of some size, so that the copy takes many slices."""
        jobs = [{"queue": "big", "payload": {"i": i, "pad": "y" * 16000}} for i in range(n)]
        return [server.enqueue_batch(jobs[i:i + 100]) for i in range(0, n, 100)]

    # ---- backup while serving, restore, serve again ---------------------------

    def test_backup_under_concurrent_enqueue_keeps_every_acknowledged_job(self):
        with SqliteServer(data_dir=self.data, keys=[ADMIN]) as server:
            self.fill(server)
            writers = Enqueuers(server).start()
            try:
                poll_until(lambda: writers.count() >= 200, 60, message="200 enqueues before the backup")
                before = writers.snapshot()
                done = self.backup(server)
                during = writers.count() - len(before)
                poll_until(lambda: writers.count() >= len(before) + during + 50, 60,
                           message="enqueues going on after the backup")
            finally:
                writers.stop()
            self.assertEqual(writers.errors, [])
            self.assertEqual(done.returncode, 0, (done.stdout, done.stderr))
            self.assertIn(f"copied by the server at {server.url}", done.stdout)
            self.assertIn(f"restore it with: errand restore {self.out} --data NEWDIR", done.stdout)
            harness.log(f"{done.stdout.strip()} ({during} enqueues acknowledged while it ran)")
            # The server's copy was moved out of its data directory.
            self.assertEqual([f for f in os.listdir(self.data) if f.startswith("errand-backup-")], [])
            self.assertEqual(sorted(os.listdir(self.out)), ["errand.db"])
            self.assertEqual(os.stat(self.out).st_mode & 0o777, 0o700)
            self.assertEqual(os.stat(os.path.join(self.out, "errand.db")).st_mode & 0o777, 0o600)
            # The server goes on serving.
            server.enqueue("after")

        # A single-file database: no WAL beside it, and not in WAL mode.
        db = sqlite3.connect(os.path.join(self.out, "errand.db"))
        self.assertEqual(db.execute("PRAGMA journal_mode").fetchone()[0], "delete")
        db.close()

        r = self.restore()
        self.assertEqual(r.returncode, 0, (r.stdout, r.stderr))
        self.assertIn(f"into {self.restored}", r.stdout)
        self.assertIn("job tokens issued before the backup keep working", r.stdout)
        self.assertIn(f"errand server --data {self.restored}", r.stdout)
        with SqliteServer(data_dir=self.restored, keys=[ADMIN]) as again:
            for job_id, token in before:
                got = again.request("GET", f"/v1/jobs/{job_id}?token={token}", key=None)
                self.assertEqual(got.status, 200, (job_id, got.body))
                self.assertEqual(got.body["state"], "queued")
            listed = again.list_all(limit=1000, queue="q0")
            self.assertTrue(listed)
            # New ids do not collide with the restored ones.
            fresh = again.enqueue("q0")["id"]
            self.assertNotIn(fresh, {job_id for job_id, _ in writers.snapshot()})

    def test_backup_of_a_stopped_server_and_its_legacy_secret_file(self):
        with SqliteServer(data_dir=self.data, keys=[ADMIN]) as server:
            answer = server.enqueue("q", payload={"hello": "world"})
        # A directory from before the secret moved into the database keeps it
        # in DIR/secret (the server copies it into the settings at start).
        db = sqlite3.connect(os.path.join(self.data, "errand.db"))
        with db:
            secret = db.execute("SELECT value FROM settings WHERE name = 'token_secret'").fetchone()[0]
            db.execute("DELETE FROM settings WHERE name = 'token_secret'")
        db.close()
        with open(os.path.join(self.data, "secret"), "w") as f:
            f.write(secret)

        done = self.backup(key=None)
        self.assertEqual(done.returncode, 0, (done.stdout, done.stderr))
        self.assertIn("(no server was using it)", done.stdout)
        self.assertIn("backed up 1 job ", done.stdout)
        self.assertEqual(sorted(os.listdir(self.out)), ["errand.db", "secret"])

        r = self.restore()
        self.assertEqual(r.returncode, 0, (r.stdout, r.stderr))
        self.assertIn("restored 1 job ", r.stdout)
        self.assertIn("job tokens issued before the backup keep working", r.stdout)
        with open(os.path.join(self.restored, "secret")) as f:
            self.assertEqual(f.read(), secret)
        with SqliteServer(data_dir=self.restored, keys=[ADMIN]) as again:
            got = again.request("GET", f"/v1/jobs/{answer['id']}?token={answer['token']}", key=None)
            self.assertEqual(got.status, 200, got.body)

    # ---- what restore refuses ---------------------------------------------------

    def made_backup(self):
        with SqliteServer(data_dir=self.data) as server:
            self.fill(server, n=100)
        done = self.backup(key=None)
        self.assertEqual(done.returncode, 0, (done.stdout, done.stderr))

    def test_restore_refuses_a_target_that_is_not_empty_unless_forced(self):
        self.made_backup()
        os.makedirs(self.restored)
        keep = os.path.join(self.restored, "notes.txt")
        with open(keep, "w") as f:
            f.write("mine")
        r = self.restore()
        self.assertFails(r, 1, f"--data {self.restored} is not empty", "--force")
        self.assertEqual(os.listdir(self.restored), ["notes.txt"])

        with open(os.path.join(self.tmp, "a-file"), "w") as f:
            f.write("x")
        r = self.restore(data=os.path.join(self.tmp, "a-file"))
        self.assertFails(r, 1, "exists and is not a directory")

        # --force replaces the database of a directory no server uses ...
        with SqliteServer(data_dir=self.restored) as other:
            other.enqueue("other")
        forced = self.restore(self.out, self.restored, "--force")
        self.assertEqual(forced.returncode, 0, (forced.stdout, forced.stderr))
        self.assertIn("restored 100 jobs", forced.stdout)
        self.assertTrue(os.path.exists(keep))
        # ... and refuses one a server is using.
        with SqliteServer(data_dir=self.restored) as running:
            self.assertEqual(len(running.list_all(limit=1000)), 100)
            busy = self.restore(self.out, self.restored, "--force")
            self.assertFails(busy, 1, f"--data {self.restored} is in use by a running server")

    def test_restore_refuses_what_is_not_a_backup(self):
        self.made_backup()
        target = os.path.join(self.tmp, "never")
        text = os.path.join(self.tmp, "notes.txt")
        with open(text, "w") as f:
            f.write("not a database, but long enough to have a header of sixteen bytes\n")
        other = os.path.join(self.tmp, "other.db")
        db = sqlite3.connect(other)
        with db:
            db.execute("CREATE TABLE t(x)")
        db.close()
        empty_dir = os.path.join(self.tmp, "empty")
        os.makedirs(empty_dir)

        cases = [
            (text, "BACKUP is not an Errand backup", "is not a SQLite database"),
            (other, "BACKUP is not an Errand backup", "not an Errand one"),
            (empty_dir, f"BACKUP {empty_dir} holds no errand.db"),
            (os.path.join(self.tmp, "missing"), "no such file or directory"),
        ]
        for backup, *texts in cases:
            r = self.restore(backup, target)
            self.assertFails(r, 1, *texts)
            self.assertFalse(os.path.exists(target), backup)

        # A newer schema than this errand knows.
        newer = os.path.join(self.tmp, "newer.db")
        shutil.copy(os.path.join(self.out, "errand.db"), newer)
        db = sqlite3.connect(newer)
        with db:
            db.execute("UPDATE schema_version SET version = 999")
        db.close()
        self.assertFails(self.restore(newer, target), 1, "has schema version 999, newer than this errand's")

        # A damaged copy: pages in the middle overwritten.
        damaged = os.path.join(self.tmp, "damaged.db")
        shutil.copy(os.path.join(self.out, "errand.db"), damaged)
        size = os.path.getsize(damaged)
        with open(damaged, "r+b") as f:
            f.seek(size // 2 - size // 2 % 4096)
            f.write(b"\xde\xad\xbe\xef" * 4096)
        self.assertFails(self.restore(damaged, target), 1, f"{damaged} is damaged")
        self.assertFalse(os.path.exists(target))

        # A usage error: no --data.
        r = run_errand("restore", self.out)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--data", r.stderr)

    # ---- what backup refuses ------------------------------------------------------

    def test_backup_of_a_directory_without_a_database_fails_clearly(self):
        os.makedirs(self.data)
        r = self.backup(key=None)
        self.assertFails(r, 1, f"--data {self.data} holds no Errand database (no errand.db)")
        self.assertFalse(os.path.exists(self.out))

        missing = os.path.join(self.tmp, "nowhere")
        self.assertFails(self.backup(data=missing, key=None), 1, f"--data {missing}: no such directory")

        with SqliteServer(data_dir=self.data) as server:
            server.enqueue("q")
        os.makedirs(self.out)
        with open(os.path.join(self.out, "old"), "w") as f:
            f.write("x")
        self.assertFails(self.backup(key=None), 1, f"OUT {self.out} is not empty")

        for args in (["backup", self.out], ["backup", "--data", self.data]):
            r = run_errand(*args)
            self.assertEqual(r.returncode, 2, (args, r.stderr))

    def test_a_running_server_with_keys_wants_an_admin_key_and_its_own_directory(self):
        with SqliteServer(data_dir=self.data, keys=[ADMIN, PRODUCER]) as server:
            server.enqueue("q")
            r = self.backup(server, key=None)
            self.assertFails(r, 1, f"{self.data} is in use by a running server",
                             "pass an admin key with --key or ERRAND_KEY")
            r = self.backup(server, key=PRODUCER.split(":", 1)[1])
            self.assertFails(r, 1, "pass an admin key")
            self.assertFalse(os.path.exists(self.out))

            # A server of another directory refuses to copy its own instead.
            with SqliteServer(keys=[ADMIN]) as other:
                r = self.backup(other)
                self.assertFails(r, 1, "not the file named by device and inode", other.data_dir)
                self.assertEqual([f for f in os.listdir(other.data_dir) if f.startswith("errand-backup-")], [])

            # Nobody listening at --server.
            r = run_errand("backup", "--data", self.data, self.out, "--server", harness.dead_url())
            self.assertFails(r, 1, "point --server or ERRAND_URL at the server using it")

            # The API names what is wrong with a request.
            bad = server.request("POST", "/v1/admin/backup", {"device": 1})
            self.assertError(bad, 400, "invalid_argument", field="inode")
            bad = server.request("POST", "/v1/admin/backup", {"inode": "x", "device": 1})
            self.assertError(bad, 400, "invalid_argument", field="inode")
            bad = server.request("POST", "/v1/admin/backup", {"path": "/tmp"})
            self.assertError(bad, 400, "invalid_argument", field="path")
            st = os.stat(os.path.join(self.data, "errand.db"))
            wrong = server.request("POST", "/v1/admin/backup", {"device": st.st_dev, "inode": st.st_ino + 1})
            self.assertError(wrong, 409, "conflict", field="database")


if __name__ == "__main__":
    unittest.main()
