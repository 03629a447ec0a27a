"""The `errand` command-line client against the real server.

Runs the CLI subcommands (enqueue, job, jobs, queues, cancel, retry, delete,
pause, resume) as a user would, checks their human output, that `--json`
prints the API's JSON, and that failures print a message to stderr with exit
code 1 (2 for usage errors). One server is shared by a class; every test works
in queues of its own.
"""

import itertools
import json
import os
import re
import shlex
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import ErrandServer, ErrandTestCase, errand_bin, poll_until  # noqa: E402

ID_RE = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{12}$")
_counter = itertools.count()


class CliCase(ErrandTestCase):
    """Starts one server for the class and runs `errand` against it."""

    server_keys = ()
    client_key = None

    @classmethod
    def setUpClass(cls):
        cls.server = ErrandServer(keys=cls.server_keys)
        cls.server.__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)

    def q(self):
        """A queue name no other test uses."""
        return f"cli{next(_counter)}-{self._testMethodName[5:30].replace('_', '-')}"

    def run_cli(self, *args, env=None, input=None, url=True):
        """Runs `errand ARGS`; returns the CompletedProcess (text mode)."""
        full_env = dict(os.environ)
        full_env.pop("ERRAND_URL", None)
        full_env.pop("ERRAND_KEY", None)
        if url:
            full_env["ERRAND_URL"] = self.server.url
        if self.client_key is not None:
            full_env["ERRAND_KEY"] = self.client_key
        full_env.update(env or {})
        return subprocess.run([errand_bin(), *args], env=full_env, input=input, capture_output=True,
                              text=True, timeout=60)

    def ok(self, *args, **kw):
        """Runs the CLI, asserts exit 0 and an empty stderr; returns stdout."""
        p = self.run_cli(*args, **kw)
        self.assertEqual(p.returncode, 0, f"errand {' '.join(args)}: stdout={p.stdout!r} stderr={p.stderr!r}")
        self.assertEqual(p.stderr, "", f"errand {' '.join(args)}")
        return p.stdout

    def ok_json(self, *args, **kw):
        out = self.ok("--json", *args, **kw)
        self.assertEqual(out.count("\n"), 1, f"--json prints one line: {out!r}")
        return json.loads(out)

    def fails(self, code, *args, **kw):
        """Runs the CLI, asserts exit `code`, nothing on stdout and a message on stderr."""
        p = self.run_cli(*args, **kw)
        self.assertEqual(p.returncode, code, f"errand {' '.join(args)}: stdout={p.stdout!r} stderr={p.stderr!r}")
        self.assertEqual(p.stdout, "", f"errand {' '.join(args)}")
        self.assertTrue(p.stderr.strip(), f"errand {' '.join(args)} printed no message")
        return p.stderr

    def fields(self, text):
        """`key: value` lines -> dict."""
        out = {}
        for line in text.splitlines():
            key, sep, value = line.partition(":")
            if sep and not line.startswith(" "):
                out.setdefault(key.strip(), value.strip())
        return out

    def enqueue_id(self, *args):
        fields = self.fields(self.ok("enqueue", *args))
        self.assertRegex(fields["id"], ID_RE)
        return fields["id"]


class CliTest(CliCase):
    def test_enqueue_job_jobs_queues_cancel_retry_delete(self):
        s, q = self.server, self.q()
        out = self.ok("enqueue", q, '{"to": "a@example.com"}', "--type", "welcome")
        fields = self.fields(out)
        job_id = fields["id"]
        self.assertRegex(job_id, ID_RE)
        self.assertEqual(fields["queue"], q)
        self.assertEqual(fields["state"], "queued")
        self.assertTrue(fields["token"])
        self.assertEqual(s.get_job(job_id)["payload"], {"to": "a@example.com"})

        shown = self.fields(self.ok("job", job_id))
        self.assertEqual(shown["id"], job_id)
        self.assertEqual(shown["queue"], q)
        self.assertEqual(shown["type"], "welcome")
        self.assertEqual(shown["state"], "queued")
        self.assertEqual(shown["payload"], '{"to":"a@example.com"}')
        self.assertRegex(shown["created"], r"UTC \((just now|\d+s ago)\)$")

        table = self.ok("jobs", "--queue", q).splitlines()
        self.assertEqual(table[0].split(), ["ID", "QUEUE", "TYPE", "STATE", "ATTEMPT", "PROGRESS", "CREATED"])
        self.assertEqual(len(table), 2, table)
        self.assertEqual(table[1].split()[:5], [job_id, q, "welcome", "queued", "0/10"])

        rows = {line.split()[0]: line.split() for line in self.ok("queues").splitlines()}
        self.assertEqual(rows["QUEUE"][:4], ["QUEUE", "STATUS", "SCHEDULED", "QUEUED"])
        self.assertEqual(rows[q][:4], [q, "active", "0", "1"])

        self.assertEqual(self.ok("cancel", job_id), f"{job_id} cancelled\n")
        self.assertEqual(s.get_job(job_id)["state"], "cancelled")
        self.assertIn(f"{job_id} queued", self.ok("retry", job_id))
        self.assertEqual(s.get_job(job_id)["state"], "queued")
        self.assertEqual(self.ok("delete", job_id), f"deleted {job_id}\n")
        self.assertStatus(s.request("GET", f"/v1/jobs/{job_id}"), 404, "after delete")
        err = self.fails(1, "job", job_id)
        self.assertTrue(err.startswith("errand: "), err)
        self.assertIn(job_id, err)

    def test_json_output_is_the_api_json(self):
        s, q = self.server, self.q()
        enq = self.ok_json("enqueue", q, "[1, 2]", "--priority", "7", "--max-attempts", "3", "--timeout", "30s")
        self.assertEqual(set(enq), {"id", "state", "token"})
        self.assertEqual(enq["state"], "queued")
        job = self.ok_json("job", enq["id"])
        self.assertEqual(job, s.get_job(enq["id"]))
        self.assertEqual(job["payload"], [1, 2])
        self.assertEqual((job["priority"], job["max_attempts"], job["timeout"]), (7, 3, "30s"))

        page = self.ok_json("jobs", "--queue", q)
        self.assertEqual(page, s.request("GET", f"/v1/jobs?queue={q}").body)
        self.assertEqual([j["id"] for j in page["jobs"]], [enq["id"]])
        self.assertIsNone(page["next_cursor"])

        queues = self.ok_json("queues")
        self.assertEqual(queues, {"queues": s.queues()})
        self.assertEqual(s.queue(q)["counts"]["queued"], 1)

        paused = self.ok_json("pause", q)
        self.assertEqual((paused["name"], paused["paused"]), (q, True))
        self.assertEqual(s.claim(q), [], "a paused queue hands out nothing")
        resumed = self.ok_json("resume", q)
        self.assertFalse(resumed["paused"])

        self.assertEqual(self.ok_json("cancel", enq["id"])["state"], "cancelled")
        self.assertEqual(self.ok_json("retry", enq["id"])["state"], "queued")
        self.assertEqual(self.ok_json("delete", enq["id"]), {"id": enq["id"], "deleted": True})

    def test_global_options_before_or_after_the_subcommand(self):
        q = self.q()
        job_id = self.enqueue_id(q)
        before = self.run_cli("--server", self.server.url, "--json", "job", job_id, url=False)
        after = self.run_cli("job", job_id, "--json", "--server", self.server.url, url=False)
        self.assertEqual(before.returncode, 0, before.stderr)
        self.assertEqual(before.stdout, after.stdout)
        self.assertEqual(json.loads(before.stdout)["id"], job_id)

    def test_enqueue_delay_idempotency_and_stdin_payload(self):
        s, q = self.server, self.q()
        later = self.ok_json("enqueue", q, "--delay", "10m")
        self.assertEqual(later["state"], "scheduled")
        first = self.ok_json("enqueue", q, "--idempotency-key", "signup-42")
        again = self.ok_json("enqueue", q, "--idempotency-key", "signup-42")
        self.assertEqual(again["id"], first["id"])
        self.assertIs(again.get("duplicate"), True)
        human = self.ok("enqueue", q, "--idempotency-key", "signup-42")
        self.assertIn("already enqueued", human)

        from_stdin = self.ok_json("enqueue", q, "-", input='{"rows": 1000}')
        self.assertEqual(s.get_job(from_stdin["id"])["payload"], {"rows": 1000})
        at = self.ok_json("enqueue", q, "--run-at", "2099-01-01T00:00:00Z")
        self.assertEqual(at["state"], "scheduled")
        self.assertEqual(s.get_job(at["id"])["run_at"], "2099-01-01T00:00:00.000Z")

    def test_jobs_filters_limit_and_next_page(self):
        q = self.q()
        ids = [self.enqueue_id(q) for _ in range(3)]
        self.ok("cancel", ids[0])
        page = self.ok_json("jobs", "--queue", q, "--state", "cancelled")
        self.assertEqual([j["id"] for j in page["jobs"]], [ids[0]])
        out = self.ok("jobs", "--queue", q, "--limit", "2").splitlines()
        self.assertEqual([line.split()[0] for line in out[1:3]], [ids[2], ids[1]], "newest first")
        # The next page's command keeps the filters.
        self.assertTrue(out[-1].startswith(f"more: errand jobs --queue {q} --limit 2 --cursor "), out)
        cursor = out[-1].split()[-1]
        rest = self.ok_json("jobs", "--queue", q, "--limit", "2", "--cursor", cursor)
        self.assertEqual([j["id"] for j in rest["jobs"]], [ids[0]])
        self.assertIn("no jobs", self.ok("jobs", "--queue", self.q()))

    def test_jobs_by_tag_and_payload_text(self):
        q = self.q()
        vip = self.enqueue_id(q, '{"to": "ann@example.com"}', "--tag", "vip")
        self.enqueue_id(q, '{"to": "bo@example.com"}')
        page = self.ok_json("jobs", "--queue", q, "--tag", "vip")
        self.assertEqual([j["id"] for j in page["jobs"]], [vip])
        page = self.ok_json("jobs", "--queue", q, "--text", "ann@")
        self.assertEqual([j["id"] for j in page["jobs"]], [vip])
        self.assertIs(page["partial"], False)
        # A filter value with spaces or quotes comes back quoted for the shell.
        older = self.enqueue_id(q, '{"note": "it\'s here"}')
        self.enqueue_id(q, '{"note": "it\'s here"}')
        out = self.ok("jobs", "--queue", q, "--text", "it's here", "--limit", "1").splitlines()
        self.assertTrue(out[-1].startswith(f"more: errand jobs --queue {q} --text 'it'\\''s here' --limit 1 --cursor "),
                        out)
        # ... and, read back by a shell, lists the next page.
        args = shlex.split(out[-1].removeprefix("more: errand "))
        page = self.ok_json(*args)
        self.assertEqual([j["id"] for j in page["jobs"]], [older])

    def test_server_errors_exit_1_with_the_message(self):
        err = self.fails(1, "enqueue", "Not A Queue!")
        self.assertTrue(err.startswith("errand: "), err)
        self.assertIn("queue", err)
        err = self.fails(1, "enqueue", self.q(), "--max-attempts", "0")
        self.assertIn("max_attempts", err)
        self.fails(1, "retry", "01JDQ7Z3K5X9V2M4N6P8R0T2W4")
        job_id = self.enqueue_id(self.q())
        self.fails(1, "retry", job_id)  # a queued job cannot be retried: 409

    def test_usage_errors_exit_2(self):
        self.fails(2)
        self.fails(2, "enqueue")
        self.fails(2, "enqueue", self.q(), "--delay", "soon")
        self.fails(2, "enqueue", self.q(), "--run-at", "tomorrow")
        self.fails(2, "enqueue", self.q(), "--delay", "1s", "--run-at", "2099-01-01T00:00:00Z")
        self.assertIn("JSON", self.fails(2, "enqueue", self.q(), "not json"))
        self.fails(2, "jobs", "--state", "sleeping")
        self.fails(2, "jobs", "--limit", "many")
        self.fails(2, "no-such-command")

    def test_queue_set_and_get(self):
        q = self.q()
        out = self.ok_json("queue", "set", q, "--concurrency", "2", "--rate", "100/1m", "--priority", "5",
                           "--max-attempts", "3", "--timeout", "30s", "--paused")
        config = {"concurrency": 2, "rate_limit": {"limit": 100, "per": "1m"}, "push": None,
                  "key_concurrency": None, "key_rate_limit": None,
                  "defaults": {"priority": 5, "max_attempts": 3, "timeout": "30s", "on_done": None}}
        self.assertEqual((out["name"], out["paused"], out["config"]), (q, True, config))
        self.assertEqual(self.ok_json("queue", "get", q)["config"], config)
        text = self.ok("queue", "get", q)
        self.assertIn("(paused)", text)
        self.assertIn("100 per 1m", text)
        cleared = self.ok_json("queue", "set", q)  # set replaces: left-out options are cleared
        self.assertFalse(cleared["paused"])
        self.assertEqual(cleared["config"], {"concurrency": None, "rate_limit": None, "push": None,
                                             "key_concurrency": None, "key_rate_limit": None,
                                             "defaults": {"priority": None, "max_attempts": None,
                                                          "timeout": None, "on_done": None}})
        self.assertIn("concurrency", self.fails(1, "queue", "set", q, "--concurrency", "0"))
        self.fails(1, "queue", "get", self.q())
        self.fails(2, "queue", "set", q, "--rate", "100")
        self.fails(2, "queue", "set", q, "--timeout", "soon")
        self.fails(2, "queue")

    def test_unreachable_server(self):
        err = self.fails(1, "queues", "--server", "http://127.0.0.1:1", url=False)
        self.assertIn("cannot reach errand at http://127.0.0.1:1", err)
        err = self.fails(1, "queues", "--server", "https://example.com", url=False)
        self.assertIn("https", err)


class CliUsageHintsTest(CliCase):
    """What a newcomer's typing mistakes are told: each says what to do next."""

    def test_bare_errand_lists_the_commands(self):
        err = self.fails(2)
        self.assertIn("errand: give a command", err)
        for command in ("enqueue", "jobs", "work", "server", "schedule"):
            self.assertRegex(err, rf"(?m)^  {command} ", err)
        self.assertIn("errand COMMAND --help", err)

    def test_version_names_the_commit_it_was_built_from(self):
        out = self.ok("--version")
        m = re.fullmatch(r"errand (\d+\.\d+\.\d+) \(commit ([0-9a-f]{12}(?:-dirty)?|unknown)\)\n", out)
        self.assertIsNotNone(m, out)
        root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
        head = subprocess.run(["git", "-C", root, "rev-parse", "--short=12", "HEAD"], capture_output=True,
                              text=True)
        if head.returncode == 0:  # a build from a git checkout names its commit
            self.assertTrue(m.group(2).startswith(head.stdout.strip()), (out, head.stdout))
        self.assertEqual(self.ok("server", "--version"), out)  # after a command too

    def test_a_misspelt_command_suggests_the_command(self):
        err = self.fails(2, "enqueu", self.q(), '{"to":"ada@example.com"}')
        self.assertEqual(err, "errand: unknown command enqueu — did you mean enqueue?\n")
        err = self.fails(2, "--json", "wrok", self.q())
        self.assertIn("did you mean work?", err)
        err = self.fails(2, "deploy-everything")
        self.assertIn("errand: unknown command deploy-everything\ncommands:\n", err)

    def test_work_without_the_separator_hints_at_it(self):
        err = self.fails(2, "work", self.q(), "./x.sh")
        self.assertIn('if "./x.sh" is the command to run, put it after --: errand work QUEUE -- ./x.sh', err)
        q = self.q()
        err = self.fails(2, "work", q, "cat")
        self.assertIn(f"errand work {q} -- cat (without --, every word is a queue name)", err)

    def test_a_bare_city_as_time_zone_suggests_the_zone(self):
        err = self.fails(1, "schedule", "next", "0 8 * * *", "--tz", "Berlin")
        self.assertIn('unknown time zone "Berlin"; did you mean "Europe/Berlin"?', err)
        err = self.fails(1, "schedule", "set", "tz-" + self.q(), "0 8 * * *", self.q(), "--tz", "Berlin")
        self.assertIn('did you mean "Europe/Berlin"?', err)

    def test_invalid_json_says_where_it_broke(self):
        err = self.fails(2, "enqueue", self.q(), '{"to": ada@example.com}')
        self.assertIn('not valid JSON at line 1, column 8, near "ada@exampl"', err)
        err = self.fails(2, "enqueue", self.q(), '{"rows": 20')
        self.assertIn("ends too early at line 1, column 12", err)
        err = self.fails(1, "enqueue", self.q(), "-", input='{\n  "rows": 20,\n}')
        self.assertIn("the payload on stdin is not valid JSON: expected a string key at line 3, column 1", err)

    def test_an_unreachable_server_says_how_to_point_the_cli_elsewhere(self):
        err = self.fails(1, "queues", "--server", "http://127.0.0.1:1", url=False)
        self.assertIn("cannot reach errand at http://127.0.0.1:1", err)
        self.assertIn("--server URL or ERRAND_URL=URL", err)

    def work_start_line(self, *queues):
        """Runs `errand work QUEUES -- cat` until it has logged its queues; returns that line."""
        env = dict(os.environ, ERRAND_URL=self.server.url)
        env.pop("ERRAND_KEY", None)
        proc = subprocess.Popen([errand_bin(), "work", *queues, "--", "cat"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.addCleanup(proc.kill)
        lines = []
        reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
        reader.start()
        prefix = f"errand work: {queues[0]}:"
        line = poll_until(lambda: next((x for x in list(lines) if x.startswith(prefix)), None), 30,
                          message=f"a line starting {prefix!r} from errand work")
        proc.terminate()
        proc.wait(30)
        return line

    def test_work_names_each_queue_mode_at_start(self):
        typo = self.q()
        line = self.work_start_line(typo)
        self.assertIn(f"{typo}: does not exist yet: no job was ever enqueued to it; waiting for its first job (check "
                      "the name if you expected jobs)", line)

        pull = self.q()
        self.enqueue_id(pull)
        self.assertIn(f"{pull}: pull queue, 1 queued", self.work_start_line(pull))

        push = self.q()
        self.assertStatus(self.server.request(
            "PUT", f"/v1/queues/{push}", {"push": {"url": "https://app.example.com/api/errand"}}), 200)
        line = self.work_start_line(push)
        self.assertIn(f"{push}: a push queue (the server delivers its jobs to https://app.example.com/api/errand):"
                      " this worker gets none of them", line)

    def test_job_shows_that_a_retried_job_is_queued_again(self):
        q = self.q()
        job_id = self.enqueue_id(q, "--max-attempts", "1")
        job = self.server.claim_one(q)
        self.server.fail(job, error="boom")
        self.ok("retry", job_id)
        text = self.ok("job", job_id)
        self.assertRegex(text, r"(?m)^retry: +queued again (just now|\d+s ago) for attempt 2$")


class CliTagsTest(CliCase):
    """Tags get a server of their own: a failure here must not take the other tests down."""

    def test_tags_are_sent_and_shown(self):
        s, q = self.server, self.q()
        enq = self.ok_json("enqueue", q, "--tag", "signup", "--tag", "web")
        self.assertEqual(s.get_job(enq["id"])["tags"], ["signup", "web"])
        self.assertEqual(self.fields(self.ok("job", enq["id"]))["tags"], "signup, web")
        self.assertEqual(self.ok_json("jobs", "--queue", q)["jobs"][0]["tags"], ["signup", "web"])


class CliAuthTest(CliCase):
    server_keys = ("admin:admin-secret-0123456789", "worker:worker-secret-0123456789")

    def test_key_from_option_or_environment(self):
        q = self.q()
        err = self.fails(1, "queues")
        self.assertTrue(err.startswith("errand: "), err)
        self.fails(1, "enqueue", q, "--key", "wrong")
        self.fails(1, "enqueue", q, "--key", "worker-secret-0123456789")  # a worker key may not enqueue
        enq = self.ok_json("enqueue", q, "--key", "admin-secret-0123456789")
        by_env = self.ok_json("job", enq["id"], env={"ERRAND_KEY": "admin-secret-0123456789"})
        self.assertEqual(by_env["id"], enq["id"])

    def test_work_with_a_worker_key_says_nothing_false_about_its_queues(self):
        """A worker key may not read queues: the start line is left out, not
        replaced by a wrong "cannot reach" hint."""
        q = self.q()
        job_id = self.ok_json("enqueue", q, "--key", "admin-secret-0123456789")["id"]
        env = dict(os.environ, ERRAND_URL=self.server.url, ERRAND_KEY="worker-secret-0123456789")
        proc = subprocess.Popen([errand_bin(), "work", q, "--", "cat"], env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(proc.kill)
        out = []
        threading.Thread(target=lambda: out.extend(proc.stdout), daemon=True).start()
        poll_until(lambda: any(line.startswith(f"✓ {q} {job_id}") for line in list(out)), 30,
                   message="the job's summary line")
        proc.terminate()
        self.assertEqual(proc.wait(30), 0)
        err = proc.stderr.read()
        self.assertIn(f"claiming from {q}", err)
        self.assertNotIn("cannot reach", err)
        self.assertNotIn(f"errand work: {q}:", err)


if __name__ == "__main__":
    unittest.main()
