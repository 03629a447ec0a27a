"""A disk that fills up (docs/operations.md, "When the disk fills up"): the
server's files may not grow past a limit set on the running process (RLIMIT_FSIZE
through prlimit(1), the same refusal a full file system gives SQLite's
writes). Enqueues then answer 503 with a clear error, reads keep working,
nothing acknowledged is lost, and writes resume by themselves once there is
room again.
"""

import os
import shutil
import signal
import subprocess
import tempfile
import unittest

from harness import ErrandServer, ErrandTestCase, poll_until, sqlite_only


def ignore_file_size_signal():
    # A write past RLIMIT_FSIZE raises SIGXFSZ, which would end the process:
    # ignored (inherited through exec), the write fails with EFBIG instead.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def limit_file_size(pid, size):
    # The soft limit only: raising it again needs no privilege.
    subprocess.run(["prlimit", f"--pid={pid}", f"--fsize={size}:unlimited"], check=True)


@sqlite_only("the files of a SQLite data directory")
class DiskFullTest(ErrandTestCase):
    def test_writes_fail_cleanly_while_the_disk_is_full_and_resume_after(self):
        tmp = tempfile.mkdtemp(prefix="errand-disk-full-")
        self.addCleanup(shutil.rmtree, tmp, True)
        data = os.path.join(tmp, "data")
        with ErrandServer(data_dir=data, preexec_fn=ignore_file_size_signal) as s:
            acknowledged = [s.enqueue("disk", payload={"n": i})["id"] for i in range(20)]
            wal = os.path.join(s.data_dir, "errand.db-wal")
            db = os.path.join(s.data_dir, "errand.db")
            room = max(os.path.getsize(wal), os.path.getsize(db)) + 64 * 1024
            limit_file_size(s.proc.pid, room)
            refused = None
            blob = "x" * 16 * 1024
            for i in range(400):
                r = s.request("POST", "/v1/jobs", {"queue": "disk", "payload": {"blob": blob}})
                if r.status == 202:
                    acknowledged.append(r.body["id"])
                    continue
                refused = r
                break
            self.assertIsNotNone(refused, "the files never reached the limit")
            self.assertError(refused, 503, "unavailable")
            self.assertIn("read-only after a failed write", refused.body["error"]["message"])
            self.assertIn("errand.db", refused.body["error"]["message"])
            # More writes are refused; reads work and show every acknowledged job.
            self.assertError(s.request("POST", "/v1/jobs", {"queue": "disk"}), 503, "unavailable")
            stored = {j["id"] for j in s.list_all(queue="disk", include=None)}
            self.assertEqual(stored, set(acknowledged))
            self.assertEqual(s.request("GET", "/healthz").status, 200)
            # Room again: writes resume by themselves (a probe write at most every second).
            limit_file_size(s.proc.pid, "unlimited")
            poll_until(lambda: s.request("POST", "/v1/jobs", {"queue": "disk"}).status == 202, 20,
                       interval=0.2, message="writes did not resume once there was room")
            self.assertIn("takes writes again", s.log_text())
            job = s.claim_one("disk")
            self.assertIn(job["id"], acknowledged)
        # Everything acknowledged is there after a restart, too.
        with ErrandServer(data_dir=data) as s2:
            stored = {j["id"] for j in s2.list_all(queue="disk", include=None)}
            self.assertTrue(set(acknowledged) <= stored)


if __name__ == "__main__":
    unittest.main()
