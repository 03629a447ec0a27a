"""`errand work` against the real server: each job runs a command.

The command is work_job.py, told by each job's payload what to do: succeed,
fail until some attempt, exit 75, print ::no-retry, report progress and wait
on a file the test creates, run past its lease, hang past its timeout, ignore
SIGTERM. The tests read the jobs over the API and the worker's summary lines,
and wait only with deadlines (poll_until). One server per class; each test
has queues of its own and its own worker processes.
"""

import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import unittest

from harness import ErrandServer, SharedServerTestCase, errand_bin, poll_until
from work_harness import WorkerProcess

_counter = itertools.count()


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie no one has reaped yet is dead for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


class WorkCase(SharedServerTestCase):
    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="errand-work-test-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def q(self):
        return f"work{next(_counter)}"

    def path(self, name):
        return os.path.join(self.tmp, name)

    def touch(self, name):
        with open(self.path(name), "w"):
            pass

    def worker(self, queues, *args, **kw):
        w = WorkerProcess(self.server, [queues] if isinstance(queues, str) else queues, args, **kw)
        self.addCleanup(w.kill)
        return w

    def enqueue(self, queue, payload, **fields):
        return self.server.enqueue(queue, payload=payload, **fields)["id"]

    def job(self, job_id):
        return self.server.get_job(job_id)

    def wait_state(self, job_id, *states, timeout=30):
        def reached():
            job = self.job(job_id)
            return job if job["state"] in states else None
        return poll_until(reached, timeout, interval=0.02, message=f"job {job_id} to be {states}")

    def stop_ok(self, worker):
        code = worker.stop()
        self.assertEqual(code, 0, worker.describe())


class WorkOutcomeTest(WorkCase):
    def test_success_completes_with_the_result_and_prints_a_summary(self):
        q = self.q()
        w = self.worker(q)
        job_id = self.enqueue(q, {"result": {"sent": 3}, "log": ["hello"]})
        job = self.wait_state(job_id, "succeeded")
        self.assertEqual(job["result"], {"sent": 3})
        self.assertEqual(job["attempt"], 1)
        self.assertEqual(job["errors"], [])
        w.wait_for_stdout(f"✓ {q} {job_id} ")
        self.stop_ok(w)

    def test_command_gets_the_payload_on_stdin_and_errand_variables(self):
        q = self.q()
        w = self.worker(q)
        payload = {"echo_env": True, "text": "héllo"}
        job_id = self.enqueue(q, payload, type="welcome")
        job = self.wait_state(job_id, "succeeded")
        env = job["result"]["env"]
        self.assertEqual(job["result"]["payload"], payload)
        self.assertEqual(env["ERRAND_JOB_ID"], job_id)
        self.assertEqual(env["ERRAND_QUEUE"], q)
        self.assertEqual(env["ERRAND_JOB_TYPE"], "welcome")
        self.assertEqual(env["ERRAND_ATTEMPT"], "1")
        self.assertEqual(env["ERRAND_URL"], self.server.url)
        self.assertTrue(env["ERRAND_LEASE_ID"])
        self.stop_ok(w)

    def test_failure_then_success_on_retry(self):
        q = self.q()
        w = self.worker(q)
        job_id = self.enqueue(q, {"succeed_on_attempt": 2, "result": "ok"})
        job = self.wait_state(job_id, "succeeded")
        self.assertEqual(job["attempt"], 2)
        self.assertEqual(len(job["errors"]), 1)
        self.assertTrue(job["errors"][0]["message"].startswith("exit code 1: transient failure"),
                        job["errors"])
        w.wait_for_stdout(f"✗ {q} {job_id}")
        w.wait_for_stdout("attempt 1/10: exit code 1: transient failure")
        self.stop_ok(w)

    def test_exit_75_fails_and_retries(self):
        q = self.q()
        w = self.worker(q)
        job_id = self.enqueue(q, {"exit": 75, "stderr": "try later"}, max_attempts=2)
        job = self.wait_state(job_id, "dead")
        self.assertEqual(job["attempt"], 2, "exit 75 was retried")
        for err in job["errors"]:
            self.assertTrue(err["message"].startswith("exit code 75 (temporary failure): try later"),
                            job["errors"])
        w.wait_for_stdout("attempt 2/2: exit code 75 (temporary failure): try later [dead]")
        self.stop_ok(w)

    def test_no_retry_makes_a_failure_final(self):
        q = self.q()
        w = self.worker(q)
        job_id = self.enqueue(q, {"no_retry": True, "exit": 2, "stderr": "bad address"})
        job = self.wait_state(job_id, "dead")
        self.assertEqual(job["attempt"], 1)
        self.assertEqual(job["max_attempts"], 10)
        self.assertIn("exit code 2: bad address", job["errors"][0]["message"])
        w.wait_for_stdout("[dead]")
        self.stop_ok(w)

    def test_each_attempt_keeps_its_log_and_the_error_its_stderr(self):
        q = self.q()
        w = self.worker(q)
        lines = [f"step {i}" for i in range(3000)]  # ~27 KiB: all of it is kept
        job_id = self.enqueue(q, {"log": lines, "succeed_on_attempt": 2})
        job = self.wait_state(job_id, "succeeded")
        first = job["errors"][0]["message"]
        self.assertEqual(first, "exit code 1: transient failure", first)
        # The job shows its last attempt's log; /logs has every attempt's.
        self.assertTrue(job["log"].startswith("step 0\nstep 1\n"), job["log"][:100])
        self.assertTrue(job["log"].endswith("\nstep 2999"), job["log"][-100:])
        logs = self.server.request("GET", f"/v1/jobs/{job_id}/logs").body["logs"]
        self.assertEqual([l["attempt"] for l in logs], [1, 2])
        self.assertTrue(logs[0]["log"].endswith("\ntransient failure"), logs[0]["log"][-100:])
        self.assertFalse("transient failure" in logs[1]["log"])
        # The CLI ends `errand job ID` with it.
        env = dict(os.environ, ERRAND_URL=self.server.url)
        env.pop("ERRAND_KEY", None)
        out = subprocess.run([errand_bin(), "job", job_id], env=env, capture_output=True, text=True,
                             timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertTrue("log of the last attempt:\nstep 0\n" in out.stdout, out.stdout[:2000])
        self.assertTrue(out.stdout.endswith("step 2999\n"), out.stdout[-100:])
        self.stop_ok(w)

    def test_a_long_log_keeps_its_last_64_kib(self):
        q = self.q()
        w = self.worker(q)
        lines = [f"line {i:06d} of a long and chatty command" for i in range(4000)]  # ~180 KiB
        job_id = self.enqueue(q, {"log": lines, "exit": 1, "no_retry": True})
        job = self.wait_state(job_id, "dead")
        self.assertLessEqual(len(job["log"].encode()), 64 * 1024)
        self.assertGreater(len(job["log"].encode()), 60 * 1024)
        self.assertTrue(job["log"].endswith("line 003999 of a long and chatty command"),
                        job["log"][-100:])
        self.assertFalse("line 000000" in job["log"])
        self.assertEqual(job["errors"][0]["message"], "exit code 1")
        self.stop_ok(w)

    def test_json_summaries(self):
        q = self.q()
        w = self.worker(q, global_args=("--json",))
        ok = self.enqueue(q, {"result": 1})
        bad = self.enqueue(q, {"exit": 4, "no_retry": True})
        self.wait_state(ok, "succeeded")
        self.wait_state(bad, "dead")
        poll_until(lambda: w.stdout().count("\n") >= 2, 20, message="two summary lines")
        lines = {j["id"]: j for j in map(json.loads, w.stdout().splitlines())}
        self.assertEqual(lines[ok]["state"], "succeeded")
        self.assertTrue(lines[ok]["ok"])
        self.assertEqual(lines[bad]["state"], "dead")
        self.assertEqual(lines[bad]["error"], "exit code 4")
        self.stop_ok(w)
        for line in w.stderr().splitlines():
            self.assertIn("message", json.loads(line))

    def test_concurrency_runs_jobs_side_by_side(self):
        q = self.q()
        w = self.worker(q, "-c", "3")
        ids = [self.enqueue(q, {"pid_file": self.path(f"pid{i}"), "wait_for": self.path("go")})
               for i in range(3)]
        # All three wait on the same file: only side by side can they all start.
        poll_until(lambda: all(os.path.exists(self.path(f"pid{i}")) for i in range(3)), 20,
                   message="three commands running at once")
        self.touch("go")
        for job_id in ids:
            self.wait_state(job_id, "succeeded")
        self.stop_ok(w)

    def test_usage_errors(self):
        p = subprocess.run([errand_bin(), "work", "emails"], capture_output=True, text=True,
                           timeout=30, env=dict(os.environ, ERRAND_URL=self.server.url))
        self.assertEqual(p.returncode, 2, p)
        self.assertIn("command", p.stderr)
        p = subprocess.run([errand_bin(), "work", "Bad Queue", "--", "true"], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(p.returncode, 2, p)


class WorkWorkflowTest(WorkCase):
    def test_continue_runs_the_command_again_with_its_state(self):
        q = self.q()
        w = self.worker(q)
        parent = self.server.enqueue(q + "-parent")
        self.server.complete(self.server.claim_one(q + "-parent"), {"rows": 10})
        job_id = self.enqueue(q, {"steps": 2}, after=[parent["id"]])
        job = self.wait_state(job_id, "succeeded")
        self.assertEqual(job["result"]["steps"], 2)
        self.assertEqual(job["result"]["continuation"], "2")
        self.assertEqual(job["result"]["parents"],
                         [{"id": parent["id"], "state": "succeeded", "result": {"rows": 10}}])
        self.assertEqual(job["attempt"], 1)
        self.assertEqual(job["push"]["continuations"], 2)
        self.stop_ok(w)

    def test_wait_signal_waits_until_its_url_is_called(self):
        q = self.q()
        w = self.worker(q)
        job_id = self.enqueue(q, {"wait_signal": "1h"})
        waiting = self.wait_state(job_id, "waiting")
        url = waiting["signal"]["url"]
        out = subprocess.run([errand_bin(), "signal", self.server.url + url, '{"approved": true}'],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn(f"job {job_id}: queued", out.stdout)
        job = self.wait_state(job_id, "succeeded")
        self.assertEqual(job["result"], {"signal": {"approved": True}, "state": "asked"})
        again = subprocess.run([errand_bin(), "signal", url, "{}", "--server", self.server.url],
                               capture_output=True, text=True, timeout=30)
        self.assertEqual(again.returncode, 1)
        self.assertIn("already received", again.stderr)
        self.stop_ok(w)

    def test_a_bad_continue_directive_fails_the_attempt(self):
        q = self.q()
        w = self.worker(q)
        job_id = self.enqueue(q, {"log": ["::continue {\"nope\": 1}"]}, max_attempts=1)
        job = self.wait_state(job_id, "dead")
        self.assertIn("::continue does not know \"nope\"", job["errors"][-1]["message"])
        self.stop_ok(w)


class WorkLifecycleTest(WorkCase):
    def test_progress_is_visible_while_the_command_runs(self):
        q = self.q()
        w = self.worker(q)
        job_id = self.enqueue(q, {"progress": [40, "Importing rows 400/1000"],
                                  "wait_for": self.path("go")})

        def progress_shown():
            job = self.job(job_id)
            p = job.get("progress") or {}
            return job["state"] == "running" and p.get("percent") == 40 and p
        p = poll_until(progress_shown, 20, message="progress 40 while running")
        self.assertEqual(p["message"], "Importing rows 400/1000")
        self.touch("go")
        self.wait_state(job_id, "succeeded")
        self.stop_ok(w)

    def test_a_command_longer_than_its_lease_is_kept_alive(self):
        q = self.q()
        w = self.worker(q, "--lease", "1s")
        job_id = self.enqueue(q, {"sleep": 3, "result": "slow"})
        job = self.wait_state(job_id, "succeeded")
        self.assertEqual(job["attempt"], 1, "the lease never ran out")
        self.assertEqual(job["errors"], [])
        self.assertEqual(job["result"], "slow")
        self.stop_ok(w)

    def test_a_command_past_its_timeout_is_killed_and_retried(self):
        q = self.q()
        w = self.worker(q, "--timeout", "1s", "--kill-grace", "1s")
        job_id = self.enqueue(q, {"pid_file": self.path("pid"), "wait_for": self.path("never")},
                              max_attempts=2)
        job = self.wait_state(job_id, "dead")
        self.assertEqual(job["attempt"], 2)
        for err in job["errors"]:
            self.assertTrue(err["message"].startswith("timed out after 1.0s: stopped with SIGTERM"),
                            job["errors"])
        with open(self.path("pid")) as f:
            self.assertFalse(pid_alive(int(f.read())))
        self.stop_ok(w)

    def test_a_command_that_ignores_sigterm_gets_sigkill(self):
        q = self.q()
        w = self.worker(q, "--timeout", "1s", "--kill-grace", "1s")
        job_id = self.enqueue(q, {"ignore_term": True, "pid_file": self.path("pid"),
                                  "wait_for": self.path("never")}, max_attempts=1)
        job = self.wait_state(job_id, "dead")
        self.assertIn("stopped with SIGKILL after 1.0s of SIGTERM", job["errors"][0]["message"])
        with open(self.path("pid")) as f:
            self.assertFalse(pid_alive(int(f.read())))
        self.stop_ok(w)

    def test_cancel_kills_the_running_command(self):
        q = self.q()
        w = self.worker(q, "--lease", "1s")
        job_id = self.enqueue(q, {"pid_file": self.path("pid"), "wait_for": self.path("never")})
        poll_until(lambda: os.path.exists(self.path("pid")), 20, message="the command to start")
        self.assertStatus(self.server.request("POST", f"/v1/jobs/{job_id}/cancel"), 200)
        job = self.wait_state(job_id, "cancelled")
        self.assertIn("cancelled while running", job["errors"][-1]["message"])
        with open(self.path("pid")) as f:
            pid = int(f.read())
        poll_until(lambda: not pid_alive(pid), 10, message="the command to be gone")
        w.wait_for_stdout("[cancelled]")
        self.stop_ok(w)

    def test_sigterm_lets_the_running_command_finish(self):
        q = self.q()
        w = self.worker(q, "--grace", "60s")
        job_id = self.enqueue(q, {"pid_file": self.path("pid"), "wait_for": self.path("go"),
                                  "result": "finished"})
        poll_until(lambda: os.path.exists(self.path("pid")), 20, message="the command to start")
        w.proc.send_signal(signal.SIGTERM)
        w.wait_for_stderr("stopping: no new claims; 1 running job(s)")
        later = self.enqueue(q, {"result": "later"})
        self.touch("go")
        self.assertEqual(w.proc.wait(30), 0, w.describe())
        job = self.job(job_id)
        self.assertEqual((job["state"], job["result"], job["attempt"]), ("succeeded", "finished", 1))
        self.assertEqual(self.job(later)["state"], "queued", "no claims after SIGTERM")

    def test_sigterm_past_the_grace_period_hands_the_job_back(self):
        q = self.q()
        w = self.worker(q, "--grace", "1s", "--kill-grace", "1s")
        job_id = self.enqueue(q, {"pid_file": self.path("pid"), "wait_for": self.path("go"),
                                  "result": "second try"})
        poll_until(lambda: os.path.exists(self.path("pid")), 20, message="the command to start")
        self.assertEqual(w.stop(signal.SIGINT), 0, w.describe())
        job = self.job(job_id)
        self.assertIn(job["state"], ("failed", "queued"), job)
        self.assertIn("grace period", job["errors"][0]["message"])
        with open(self.path("pid")) as f:
            self.assertFalse(pid_alive(int(f.read())))
        # Nothing is lost: the next worker runs it again.
        self.touch("go")
        w2 = self.worker(q)
        job = self.wait_state(job_id, "succeeded")
        self.assertEqual((job["attempt"], job["result"]), (2, "second try"))
        self.stop_ok(w2)

    def test_a_worker_started_before_the_server_waits_for_it(self):
        server = ErrandServer()
        port_probe = server.start()
        url = port_probe.url
        server.stop()
        w = WorkerProcess(server, ["late"], ())
        self.addCleanup(w.kill)
        w.wait_for_stderr(f"claim failed: cannot reach errand at {url}")
        server.listen = url.split("//", 1)[1]
        with server:
            job_id = server.enqueue("late", payload={"result": 1})["id"]
            poll_until(lambda: server.get_job(job_id)["state"] == "succeeded", 30,
                       message="the job once the server is up")
            w.wait_for_stderr("claiming from")
            self.assertEqual(w.stop(), 0, w.describe())


if __name__ == "__main__":
    unittest.main()
