"""Cron schedules on the real server: the /v1/schedules API and its errors,
triggers, an every-second schedule firing once per second (with its measured
precision), restarts after kill -9 that never fire a time twice and catch up
at most once, schedules declared in a --config file across restarts, the CLI
(`errand schedules`, `errand schedule ...`, `schedule next` without a
server), and the README's schedule examples.
"""

import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import unittest

from harness import (ErrandServer, ErrandTestCase, SharedServerTestCase, errand_bin, log,
                     parse_time, poll_until)

README = os.path.join(os.path.dirname(__file__), "..", "..", "README.md")
FAR_FUTURE = "0 0 1 1 *"  # once a year: never fires during a test


def fire_time(job):
    """The fire time (seconds since the epoch) of a job a schedule enqueued."""
    key = job.get("idempotency_key") or ""
    m = re.fullmatch(r"schedule:.+:(\d+)", key)
    assert m, f"not a scheduled job: {job!r}"
    return int(m.group(1)) / 1000.0


def fires(server, queue):
    """Fire times of the scheduled jobs of `queue`, sorted."""
    return sorted(fire_time(j) for j in server.list_all(queue=queue) if j.get("idempotency_key"))


class SchedulesApiTest(SharedServerTestCase):
    def put(self, name, body, status=None):
        """The response, or its body when `status` (asserted) is given."""
        r = self.server.request("PUT", f"/v1/schedules/{name}", body)
        if status is not None:
            return self.assertStatus(r, status, f"PUT {name}")
        return r

    def get(self, name):
        return self.server.request("GET", f"/v1/schedules/{name}")

    def test_create_replace_read_list_delete(self):
        body = {"cron": "0 8 * * mon-fri", "timezone": "Europe/Berlin", "queue": "crud-reports",
                "type": "daily_report", "payload": {"format": "pdf"}, "priority": 5,
                "max_attempts": 3, "overlap": "skip", "catch_up": "2h"}
        created = self.put("crud", body, 201)
        self.assertEqual(created["name"], "crud")
        for k in ("cron", "timezone", "queue", "type", "payload", "priority", "max_attempts",
                  "overlap", "catch_up"):
            self.assertEqual(created[k], body[k], k)
        self.assertFalse(created["paused"])
        self.assertEqual(created["source"], "api")
        self.assertIsNone(created["last_job"])
        self.assertIsNone(created["last_fired_at"])
        self.assertEqual(len(created["next"]), 5)
        for n in created["next"]:
            self.assertRegex(n["local"], r"T08:00:00\+0[12]:00$")
            self.assertGreater(parse_time(n["at"]), time.time())

        replaced = self.put("crud", {"cron": "30 6 * * *", "queue": "crud-reports"}, 200)
        self.assertEqual(replaced["timezone"], "UTC")
        self.assertIsNone(replaced["type"])
        self.assertEqual(replaced["overlap"], "allow")
        self.assertEqual(replaced["catch_up"], "1h")
        self.assertEqual(replaced["created_at"], created["created_at"])
        self.assertTrue(replaced["next"][0]["at"].endswith("T06:30:00.000Z"))

        self.assertEqual(self.assertStatus(self.get("crud"), 200)["cron"], "30 6 * * *")
        listed = self.assertStatus(self.server.request("GET", "/v1/schedules"), 200)["schedules"]
        self.assertIn("crud", [s["name"] for s in listed])
        self.assertEqual([s["name"] for s in listed], sorted(s["name"] for s in listed))

        deleted = self.assertStatus(self.server.request("DELETE", "/v1/schedules/crud"), 200)
        self.assertEqual(deleted, {"name": "crud", "deleted": True})
        self.assertError(self.get("crud"), 404, "not_found", field="name")
        self.assertError(self.server.request("DELETE", "/v1/schedules/crud"), 404, "not_found")

    def test_bad_input_is_400_naming_the_field_and_stores_nothing(self):
        ok = {"cron": "0 3 * * *", "queue": "bad-q"}
        cases = [
            (dict(ok, cron="0 25 * * *"), "cron", "cron: field 2 (hour): 25 is out of range 0-23"),
            (dict(ok, cron="* * * *"), "cron", "cron: expected 5 or 6 fields, got 4"),
            (dict(ok, cron="@reboot"), "cron", None),
            (dict(ok, timezone="Mars/Base"), "timezone", 'timezone: unknown time zone "Mars/Base"'),
            ({"cron": "0 3 * * *"}, "queue", None),
            ({"queue": "bad-q"}, "cron", None),
            (dict(ok, queue="Bad Queue"), "queue", None),
            (dict(ok, overlap="never"), "overlap", None),
            (dict(ok, catch_up="-1s"), "catch_up", None),
            (dict(ok, catch_up="8d"), "catch_up", None),
            (dict(ok, priority=10**9), "priority", None),
            (dict(ok, max_attempts=0), "max_attempts", None),
            (dict(ok, paused="yes"), "paused", None),
            (dict(ok, cron=5), "cron", None),
            (dict(ok, dealy="1s"), "dealy", None),
        ]
        for body, field, message in cases:
            with self.subTest(field=field, body=body):
                err = self.assertError(self.put("bad", body), 400, "invalid_argument", field=field)
                if message:
                    self.assertEqual(err["message"], message)
        self.assertError(self.put("bad:name", ok), 400, "invalid_argument", field="name")
        self.assertError(self.server.request("PUT", "/v1/schedules/bad", "not json"), 400,
                         "invalid_argument")
        self.assertError(self.get("bad"), 404, "not_found")
        # A rejected replace leaves the existing schedule as it was.
        self.put("keep", ok, 201)
        self.assertError(self.put("keep", dict(ok, cron="61 * * * *")), 400, "invalid_argument",
                         field="cron")
        self.assertEqual(self.assertStatus(self.get("keep"), 200)["cron"], "0 3 * * *")

    def test_unknown_schedule_is_404_everywhere(self):
        for method, path in (("GET", "/v1/schedules/nope"), ("DELETE", "/v1/schedules/nope"),
                             ("POST", "/v1/schedules/nope/trigger"),
                             ("POST", "/v1/schedules/nope/pause"),
                             ("POST", "/v1/schedules/nope/resume")):
            with self.subTest(method=method, path=path):
                self.assertError(self.server.request(method, path), 404, "not_found", field="name")

    def test_trigger_enqueues_the_job_now(self):
        self.put("trig", {"cron": FAR_FUTURE, "queue": "trig-q", "type": "t",
                          "payload": {"n": 1}, "paused": True}, 201)
        r = self.server.request("POST", "/v1/schedules/trig/trigger")
        answer = self.assertStatus(r, 202, "trigger")
        self.assertEqual(answer["state"], "queued")
        self.assertTrue(answer["token"])
        self.assertEqual(answer["schedule"]["last_job"], {"id": answer["id"], "state": "queued"})
        job = self.server.get_job(answer["id"])
        self.assertEqual((job["queue"], job["type"], job["payload"]), ("trig-q", "t", {"n": 1}))
        self.assertError(self.server.request("POST", "/v1/schedules/trig/trigger", {"x": 1}), 400,
                         "invalid_argument", field="x")

    def test_pause_and_resume(self):
        self.put("pz", {"cron": "*/5 * * * *", "queue": "pz-q"}, 201)
        paused = self.assertStatus(self.server.request("POST", "/v1/schedules/pz/pause"), 200)
        self.assertTrue(paused["paused"])
        self.assertEqual(paused["next"], [])
        resumed = self.assertStatus(self.server.request("POST", "/v1/schedules/pz/resume"), 200)
        self.assertFalse(resumed["paused"])
        self.assertEqual(len(resumed["next"]), 5)

    def test_every_second_fires_once_per_second_without_duplicates(self):
        """Also measures precision: how long after its fire time each job was
        created (created_at) and could be claimed by a waiting worker."""
        q = "every-second"
        claimed_at = {}  # job id -> when a waiting worker got it
        stop = threading.Event()

        def worker():
            conn = self.server.connection(timeout=20)
            try:
                while not stop.is_set():
                    r = conn.request("POST", "/v1/claim",
                                     {"queues": [q], "worker": "w", "wait": "2s", "max": 10})
                    now = time.time()
                    for job in r.body.get("jobs", []):
                        claimed_at[job["id"]] = now
            finally:
                conn.close()

        t = threading.Thread(target=worker, daemon=True)
        t.start()
        self.put("sec", {"cron": "* * * * * *", "queue": q}, 201)
        try:
            poll_until(lambda: len(self.server.list_all(queue=q)) >= 8, 20, interval=0.1,
                       message="8 fires")
        finally:
            self.assertStatus(self.server.request("DELETE", "/v1/schedules/sec"), 200)
            stop.set()
            t.join(10)
        jobs = self.server.list_all(queue=q)
        times = sorted(fire_time(j) for j in jobs)
        self.assertEqual(len(times), len(set(times)), "a fire time enqueued twice")
        for a, b in zip(times, times[1:]):
            self.assertEqual(round(b - a, 3), 1.0, f"fire times {times} are not one second apart")
        late_ms = sorted((parse_time(j["created_at"]) - fire_time(j)) * 1000 for j in jobs)
        log(f"\nschedule precision over {len(late_ms)} fires (created_at - fire time): "
            f"min {late_ms[0]:.0f} ms, median {statistics.median(late_ms):.0f} ms, "
            f"max {late_ms[-1]:.0f} ms")
        ms = sorted((claimed_at[j["id"]] - fire_time(j)) * 1000 for j in jobs if j["id"] in claimed_at)
        if ms:
            log(f"fire time -> claimed by a waiting worker over {len(ms)} jobs: min {ms[0]:.0f} ms, "
                f"median {statistics.median(ms):.0f} ms, max {ms[-1]:.0f} ms")
        self.assertGreaterEqual(late_ms[0], 0)
        self.assertLess(late_ms[-1], 1000, "generous bound; the goal is 100 ms")

    def test_deleting_a_schedule_stops_it(self):
        q, clock_q = "stops-q", "stops-clock"
        self.put("stops", {"cron": "* * * * * *", "queue": q}, 201)
        poll_until(lambda: self.server.list_all(queue=q), 10, message="a first fire")
        self.assertStatus(self.server.request("DELETE", "/v1/schedules/stops"), 200)
        deleted_at = time.time()
        # Another every-second schedule is the clock: two of its fires later,
        # the deleted one would have fired too.
        self.put("stops-clock", {"cron": "* * * * * *", "queue": clock_q}, 201)
        try:
            poll_until(lambda: len([t for t in fires(self.server, clock_q) if t > deleted_at + 1]) >= 2,
                       15, interval=0.1, message="two clock fires")
        finally:
            self.server.request("DELETE", "/v1/schedules/stops-clock")
        after = [t for t in fires(self.server, q) if t > deleted_at]
        self.assertEqual(after, [], "fired after it was deleted")

    def test_overlap_skip_holds_back_while_the_previous_job_waits(self):
        q = "overlap-q"
        self.put("ovl", {"cron": "* * * * * *", "queue": q, "overlap": "skip"}, 201)
        try:
            first = poll_until(lambda: self.server.list_all(queue=q), 10, message="a first fire")
            clock_q = "overlap-clock"
            self.put("ovl-clock", {"cron": "* * * * * *", "queue": clock_q}, 201)
            start = time.time()
            poll_until(lambda: len([t for t in fires(self.server, clock_q) if t > start]) >= 2, 15,
                       interval=0.1, message="two clock fires")
            self.assertEqual(len(self.server.list_all(queue=q)), 1, "a second run while the first waits")
            job = self.server.claim_one(q)
            self.assertEqual(job["id"], first[0]["id"])
            self.server.complete(job)
            poll_until(lambda: len(self.server.list_all(queue=q)) >= 2, 10, message="the next fire")
        finally:
            self.server.request("DELETE", "/v1/schedules/ovl")
            self.server.request("DELETE", "/v1/schedules/ovl-clock")


class SchedulesAuthTest(ErrandTestCase):
    def test_writes_need_admin_and_reads_producer(self):
        with ErrandServer(keys=("admin:" + "a" * 20, "producer:" + "p" * 20,
                                "worker:" + "w" * 20)) as server:
            body = {"cron": FAR_FUTURE, "queue": "auth-q"}
            self.assertError(server.request("PUT", "/v1/schedules/x", body, key="p" * 20), 403,
                             "forbidden")
            self.assertStatus(server.request("PUT", "/v1/schedules/x", body), 201)
            self.assertStatus(server.request("GET", "/v1/schedules", key="p" * 20), 200)
            self.assertError(server.request("GET", "/v1/schedules", key="w" * 20), 403, "forbidden")
            for suffix in ("/trigger", "/pause", "/resume"):
                self.assertError(server.request("POST", "/v1/schedules/x" + suffix, key="p" * 20),
                                 403, "forbidden")
            self.assertError(server.request("DELETE", "/v1/schedules/x", key="p" * 20), 403,
                             "forbidden")
            self.assertError(server.request("GET", "/v1/schedules", key=None), 401, "unauthorized")


def timer_start(server):
    """When the server's schedule timer started (from its log): fire times
    before it were missed while the server was down."""
    found = re.findall(r"schedule timer started at (\S+):", server.log_text())
    assert found, server.log_tail()
    return parse_time(found[-1])


class SchedulesRestartTest(ErrandTestCase):
    def test_kill9_and_restart_never_fires_a_time_twice_and_catches_up_once(self):
        with ErrandServer() as server:
            server.request("PUT", "/v1/schedules/sec", {"cron": "* * * * * *", "queue": "r-sec"})
            server.request("PUT", "/v1/schedules/nocatch",
                           {"cron": "* * * * * *", "queue": "r-nocatch", "catch_up": "0s"})
            poll_until(lambda: len(server.list_all(queue="r-sec")) >= 3, 15, interval=0.1,
                       message="3 fires")
            for round_no in range(2):
                server.kill9()
                killed_at = time.time()
                # A deliberate downtime of three seconds (three missed fire
                # times), not a wait for a condition.
                time.sleep(3)
                server.start()
                online_since = timer_start(server)
                self.assertGreater(online_since, killed_at + 2.5)
                poll_until(lambda: [t for t in fires(server, "r-sec") if t > online_since + 1], 15,
                           interval=0.1, message="a fire after the restart")
                sec = fires(server, "r-sec")
                self.assertEqual(len(sec), len(set(sec)), f"round {round_no}: a time fired twice")
                missed = [t for t in sec if killed_at < t < online_since]
                latest_missed = float(int(online_since)) if online_since % 1 else online_since - 1
                self.assertEqual(missed, [latest_missed],
                                 f"round {round_no}: catch-up of the downtime "
                                 f"{killed_at:.3f}..{online_since:.3f}")
                nocatch = fires(server, "r-nocatch")
                self.assertEqual(len(nocatch), len(set(nocatch)))
                self.assertEqual([t for t in nocatch if killed_at < t < online_since], [],
                                 "catch_up 0s fired a time missed while down")
            keys = [j["idempotency_key"] for j in server.list_all(queue="r-sec")]
            self.assertEqual(len(keys), len(set(keys)))


CONFIG_V1 = """
# schedules of the test
[[schedule]]
name = "from-file"
cron = "0 3 * * *"
timezone = "Europe/Berlin"
queue = "cfg"
type = "cleanup"
payload = { older_than = "30d", keep = [1, 2] }
overlap = "skip"
catch_up = "2h"

[[schedule]]
name = "json-payload"
cron = "@hourly"
queue = "cfg"
payload = '{"a": 1}'
"""

CONFIG_V2 = """
[[schedule]]
name = "from-file"
cron = "0 4 * * *"
queue = "cfg"
"""


class ConfigFileTest(ErrandTestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="errand-cfg-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.path = os.path.join(self.tmp, "errand.toml")
        self.data = os.path.join(self.tmp, "data")

    def write(self, text):
        with open(self.path, "w", encoding="utf-8") as f:
            f.write(text)

    def schedules(self, server):
        listed = self.assertStatus(server.request("GET", "/v1/schedules"), 200)["schedules"]
        return {s["name"]: s for s in listed}

    def test_file_schedules_are_created_updated_and_removed_across_restarts(self):
        self.write(CONFIG_V1)
        server = ErrandServer(data_dir=self.data, extra_args=["--config", self.path])
        self.addCleanup(server.cleanup)
        server.start()
        got = self.schedules(server)
        self.assertEqual(set(got), {"from-file", "json-payload"})
        f = got["from-file"]
        self.assertEqual((f["source"], f["cron"], f["timezone"], f["overlap"], f["catch_up"]),
                         ("config", "0 3 * * *", "Europe/Berlin", "skip", "2h"))
        self.assertEqual(f["payload"], {"older_than": "30d", "keep": [1, 2]})
        self.assertEqual(got["json-payload"]["payload"], {"a": 1})
        self.assertStatus(server.request("PUT", "/v1/schedules/by-api",
                                         {"cron": FAR_FUTURE, "queue": "cfg"}), 201)

        server.stop()
        self.write(CONFIG_V2)
        server.start()
        got = self.schedules(server)
        self.assertEqual(set(got), {"from-file", "by-api"})
        self.assertEqual(got["from-file"]["cron"], "0 4 * * *")
        self.assertEqual(got["from-file"]["timezone"], "UTC")
        self.assertEqual(got["by-api"]["source"], "api")

        server.stop()
        self.write("")
        server.start()
        self.assertEqual(set(self.schedules(server)), {"by-api"})
        server.stop()

    def assert_refused(self, text, *needles):
        self.write(text)
        server = ErrandServer(data_dir=self.data, extra_args=["--config", self.path])
        self.addCleanup(server.cleanup)
        with self.assertRaises(Exception):
            server.start()
        self.assertEqual(server.exit_code, 2, server.log_tail())
        out = server.log_text()
        for needle in needles:
            self.assertIn(needle, out)
        return out

    def test_errors_in_the_file_stop_the_server_naming_file_table_and_key(self):
        bad_cron = CONFIG_V2.replace("0 4 * * *", "0 25 * * *")
        self.assert_refused(bad_cron, f"{self.path}:4: [[schedule]] 1 \"from-file\", key \"cron\": "
                                      "cron: field 2 (hour): 25 is out of range 0-23")
        self.assert_refused(CONFIG_V1.replace("Europe/Berlin", "Mars/Base"), "[[schedule]] 1",
                            'key "timezone"', 'unknown time zone "Mars/Base"')
        self.assert_refused(CONFIG_V2 + "retries = 3\n", 'key "retries"', "unknown key")
        self.assert_refused(CONFIG_V2 + CONFIG_V2, "[[schedule]] 2", 'key "name"')
        self.assert_refused('[[schedule]]\nname = "x"\nqueue = "q"\n', 'key "cron"', "is required")
        self.assert_refused("[[schedule]\n", self.path + ":1:")
        self.assert_refused("listen = 1\n", 'unknown key "listen"')
        self.assert_refused(CONFIG_V2.replace('queue = "cfg"', 'queue = "cfg"\npayload = \'{bad\''),
                            'key "payload"')
        # Nothing was created by the refused starts.
        self.assertFalse(ErrandServer(data_dir=self.data).store_exists())


class SchedulesCliTest(SharedServerTestCase):
    def cli(self, *args, url=None):
        env = dict(os.environ)
        env.pop("ERRAND_KEY", None)
        env["ERRAND_URL"] = url or self.server.url
        return subprocess.run([errand_bin(), *args], env=env, capture_output=True, text=True,
                              timeout=60)

    def ok(self, *args, **kw):
        p = self.cli(*args, **kw)
        self.assertEqual(p.returncode, 0, f"{args}: {p.stdout}\n{p.stderr}")
        return p.stdout

    def test_schedule_next_needs_no_server(self):
        out = self.ok("schedule", "next", "0 8 * * mon-fri", "--tz", "Europe/Berlin", "-n", "3",
                      url="http://127.0.0.1:9")
        lines = out.strip().splitlines()
        self.assertEqual(len(lines), 3, out)
        for line in lines:
            self.assertRegex(line, r"^\d{4}-\d\d-\d\dT08:00:00\+0[12]:00  \(\d{4}-.*Z, in ")
        out = json.loads(self.ok("schedule", "next", "@daily", "--json", url="http://127.0.0.1:9"))
        self.assertEqual(len(out["next"]), 10)
        self.assertEqual(out["timezone"], "UTC")
        self.assertTrue(out["next"][0]["at"].endswith("T00:00:00.000Z"))

    def test_schedule_next_reports_a_bad_expression(self):
        p = self.cli("schedule", "next", "0 25 * * *")
        self.assertEqual(p.returncode, 1)
        self.assertIn("cron: field 2 (hour): 25 is out of range 0-23", p.stderr)
        p = self.cli("schedule", "next", "* * * * *", "--tz", "Mars/Base")
        self.assertEqual(p.returncode, 1)
        self.assertIn('unknown time zone "Mars/Base"', p.stderr)

    def test_set_list_get_pause_resume_trigger_rm(self):
        out = self.ok("schedule", "set", "cli-s", "0 6 * * *", "cli-q", '{"k": 1}', "--tz",
                      "America/New_York", "--type", "nightly", "--overlap", "skip",
                      "--catch-up", "30m")
        self.assertIn("cli-s", out)
        self.assertIn("America/New_York", out)
        self.assertIn("next:", out)
        got = json.loads(self.ok("schedule", "get", "cli-s", "--json"))
        self.assertEqual((got["cron"], got["timezone"], got["queue"], got["type"], got["payload"],
                          got["overlap"], got["catch_up"]),
                         ("0 6 * * *", "America/New_York", "cli-q", "nightly", {"k": 1}, "skip",
                          "30m"))
        table = self.ok("schedules")
        self.assertIn("NAME", table)
        self.assertRegex(table, r"cli-s\s+0 6 \* \* \*\s+America/New_York\s+cli-q\s+active")
        listed = json.loads(self.ok("schedules", "--json"))["schedules"]
        self.assertIn("cli-s", [s["name"] for s in listed])
        self.assertIn("paused", self.ok("schedule", "pause", "cli-s"))
        self.assertTrue(json.loads(self.ok("schedule", "get", "cli-s", "--json"))["paused"])
        self.assertIn("active", self.ok("schedule", "resume", "cli-s"))
        out = self.ok("schedule", "trigger", "cli-s")
        job_id = re.search(r"job ([0-9A-HJKMNP-TV-Z]{13}) queued", out).group(1)
        self.assertEqual(self.server.get_job(job_id)["payload"], {"k": 1})
        self.assertIn("deleted schedule cli-s", self.ok("schedule", "rm", "cli-s"))
        p = self.cli("schedule", "get", "cli-s")
        self.assertEqual(p.returncode, 1)
        self.assertIn('no schedule named "cli-s"', p.stderr)

    def test_json_output_keeps_the_payload_byte_for_byte(self):
        # The CLI printed the payload re-serialized by Boost.JSON: 1e400 as
        # Infinity (not JSON), 2.50 as 2.5E0.
        payload = '{"big":1e400,"n":[2.50,-0.0],"s":"\\u00e9"}'
        r = self.server.request("PUT", "/v1/schedules/cli-raw",
                                '{"cron":"@daily","queue":"cli-q","payload":' + payload + "}")
        self.assertStatus(r, 201, "put")
        got = self.ok("schedule", "get", "cli-raw", "--json")
        self.assertIn('"payload":' + payload + ",", got)
        self.assertNotIn("Infinity", got)
        self.assertIn('"payload":' + payload + ",", self.ok("schedules", "--json"))
        self.assertIn("cli-raw", self.ok("schedule", "rm", "cli-raw"))

    def test_set_with_a_bad_cron_fails_with_the_servers_message(self):
        p = self.cli("schedule", "set", "cli-bad", "0 0 32 * *", "q")
        self.assertEqual(p.returncode, 1)
        self.assertIn("cron: field 3 (day-of-month): 32 is out of range 1-31", p.stderr)
        p = self.cli("schedule", "set", "cli-bad", "* * * * *", "q", "{not json")
        self.assertEqual(p.returncode, 2, p.stderr)

    def test_the_readme_schedule_examples_run(self):
        with open(README, encoding="utf-8") as f:
            blocks = re.findall(r"```sh\n(.*?)```", f.read(), re.S)
        curl_block = next(b for b in blocks if "/v1/schedules/" in b)
        cli_block = next(b for b in blocks if "errand schedule set" in b)
        hostport = self.server.url.split("//", 1)[1]
        curls = [l for l in curl_block.splitlines() if l.startswith("curl ")]
        self.assertEqual(len(curls), 1)
        if shutil.which("curl"):
            out = subprocess.run(shlex.split(curls[0].replace("localhost:8740", hostport)),
                                 capture_output=True, text=True, timeout=30)
            self.assertEqual(out.returncode, 0, out.stderr)
            answer = json.loads(out.stdout)
            self.assertEqual(answer["name"], "weekday-report")
            self.assertEqual(len(answer["next"]), 5)
        for line in cli_block.splitlines():
            if line.startswith("errand "):
                self.ok(*shlex.split(line)[1:])
        got = json.loads(self.ok("schedule", "get", "nightly-cleanup", "--json"))
        self.assertEqual(got["payload"], {"older_than": "30d"})


if __name__ == "__main__":
    unittest.main()
