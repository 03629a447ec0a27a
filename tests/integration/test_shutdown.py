"""Graceful shutdown: SIGTERM or SIGINT ends the server with exit code 0, even
with a long-poll claim pending, and the data is intact after a restart; and a
start that fails before it listens leaves no new data behind.
"""

import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from harness import ErrandServer, ErrandTestCase, errand_bin, log


class ShutdownTest(ErrandTestCase):
    def test_sigterm_with_a_pending_long_poll_exits_zero_and_keeps_data(self):
        server = ErrandServer()
        self.addCleanup(server.cleanup)
        server.start()
        q = "shutdown"
        ids = [j["id"] for j in server.enqueue_batch([{"queue": q, "payload": i} for i in range(3)])]
        done = server.claim(q)[0]
        server.complete(done, result="kept")
        running = server.claim(q, lease="10m")[0]
        server.enqueue("later", delay="1h")

        box = {}

        def long_poll():
            conn = server.connection(timeout=60)
            try:
                r = conn.request("POST", "/v1/claim", {"queues": ["idle"], "wait": "30s"}, retry=False)
                box["response"] = (r.status, r.body)
            except Exception as e:  # the connection may simply be closed
                box["response"] = repr(e)
            box["at"] = time.monotonic()
            conn.close()

        t = threading.Thread(target=long_poll, daemon=True)
        t.start()
        time.sleep(0.3)  # let the claim start waiting (pacing, not a condition)
        t0 = time.monotonic()
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=20)
        elapsed = time.monotonic() - t0
        t.join(20)
        log(f"exit {code} {elapsed:.3f}s after SIGTERM; pending claim got {box.get('response')!r:.120}")
        self.assertEqual(code, 0, server.log_tail())
        self.assertLess(elapsed, 15, "shutdown waited for the long poll to run out")
        self.assertFalse(t.is_alive(), "the pending claim was never answered or closed")
        if isinstance(box["response"], tuple):
            self.assertIn(box["response"][0], (200, 503), box["response"])
            if box["response"][0] == 200:
                self.assertEqual(box["response"][1]["jobs"], [])

        server.start()
        self.assertEqual(server.get_job(done["id"])["state"], "succeeded")
        self.assertEqual(server.get_job(done["id"])["result"], "kept")
        self.assertEqual(server.get_job(running["id"])["state"], "running")
        states = {j["id"]: j["state"] for j in server.list_all(queue=q)}
        self.assertEqual(set(states), set(ids))
        self.assertEqual(sorted(states.values()), ["queued", "running", "succeeded"])
        self.assertEqual(server.counts("later")["scheduled"], 1)
        # The job left queued is still claimable, the running one still completable.
        self.assertEqual(len(server.claim(q)), 1)
        server.complete(running)
        self.assertEqual(server.stop(), 0)

    def test_sigterm_right_after_the_listening_line_exits_zero(self):
        # The listening line promises a ready server: a signal at once must
        # already be handled gracefully (not kill the process, not hang it).
        for attempt in range(5):
            with ErrandServer() as server:
                code = server.stop(timeout=10)
                self.assertEqual(code, 0, f"attempt {attempt}: exit {code}\n{server.log_tail()}")

    def test_sigint_exits_zero(self):
        with ErrandServer() as server:
            jid = server.enqueue("sigint")["id"]
            self.assertEqual(server.stop(sig=signal.SIGINT), 0, server.log_tail())
            server.start()
            self.assertEqual(server.get_job(jid)["state"], "queued")

    def test_sigterm_when_idle_exits_zero_promptly(self):
        with ErrandServer() as server:
            t0 = time.monotonic()
            self.assertEqual(server.stop(), 0, server.log_tail())
            log(f"idle server exited {time.monotonic() - t0:.3f}s after SIGTERM")
            self.assertLess(time.monotonic() - t0, 10)

    def test_sigterm_with_an_open_idle_keep_alive_connection(self):
        with ErrandServer() as server:
            conn = server.connection()
            self.assertEqual(conn.request("GET", "/healthz").status, 200)
            t0 = time.monotonic()
            self.assertEqual(server.stop(), 0, server.log_tail())
            self.assertLess(time.monotonic() - t0, 10)
            conn.close()


class StartFailureTest(unittest.TestCase):
    def test_a_server_that_cannot_listen_leaves_no_new_data_directory(self):
        with socket.socket() as taken, tempfile.TemporaryDirectory() as tmp:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            data = f"{tmp}/new-data"
            p = subprocess.run([errand_bin(), "server", "--listen", f"127.0.0.1:{port}", "--data", data],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn(f"cannot listen on 127.0.0.1:{port}", p.stderr)
            self.assertFalse(os.path.exists(data), os.listdir(data) if os.path.exists(data) else None)

            existing = f"{tmp}/existing"
            os.makedirs(existing)
            with open(f"{existing}/notes.txt", "w") as f:
                f.write("mine")
            p = subprocess.run([errand_bin(), "server", "--listen", f"127.0.0.1:{port}", "--data", existing],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertEqual(os.listdir(existing), ["notes.txt"])


if __name__ == "__main__":
    unittest.main()
