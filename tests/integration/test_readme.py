"""The README's quick-start examples, run against the real server so they cannot rot.

The curl session and the CLI lines are read out of README.md, pointed at a
test server, and run as written; the ids and lease ids the README shows as
examples are replaced by the real ones from earlier answers. `errand` is
found the way the README says: on PATH, from the directory `make install`
or `export PATH=…` puts there (a copy of the binary under test stands in for
build/release/errand), and the server through ERRAND_URL.
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import threading
import unittest

from harness import ErrandServer, errand_bin, poll_until

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
README = os.path.join(ROOT, "README.md")
EXAMPLE_ID = "1M8HZ4NKB0007"
EXAMPLE_LEASE = "3f9c…"


def sh_blocks(text):
    return re.findall(r"```sh\n(.*?)```", text, re.S)


def commands(block, program):
    return [line.strip() for line in block.splitlines() if line.strip().startswith(program + " ")]


class ReadmeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(README, encoding="utf-8") as f:
            cls.readme = f.read()
        cls.server = ErrandServer()
        cls.server.start()
        cls.hostport = cls.server.url.split("//", 1)[1]

        # What `make install` or the README's `export PATH` gives a shell: an
        # `errand` on PATH (here a link to the binary under test).
        cls.bin_dir = tempfile.mkdtemp(prefix="errand-readme-bin-")
        os.symlink(errand_bin(), os.path.join(cls.bin_dir, "errand"))
        cls.env = dict(os.environ, PATH=cls.bin_dir + os.pathsep + os.environ.get("PATH", ""),
                       ERRAND_URL=cls.server.url, IMPORT_SECONDS_PER_ROW="0.01")
        cls.env.pop("ERRAND_KEY", None)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.bin_dir, ignore_errors=True)

    def sh(self, line, **kw):
        """Runs one README line in a POSIX shell, from the repository root."""
        return subprocess.run(["sh", "-c", line], cwd=ROOT, env=self.env, capture_output=True, text=True,
                              timeout=30, **kw)

    def test_two_commands_come_first(self):
        first = sh_blocks(self.readme)[0]
        self.assertIn("make serve", first)
        self.assertIn("make test", first)

    @unittest.skipUnless(shutil.which("curl"), "curl is not installed")
    def test_curl_session_runs_a_job_to_success(self):
        block = next(b for b in sh_blocks(self.readme) if "curl" in b)
        lines = commands(block, "curl")
        self.assertEqual(len(lines), 4, "the quick start shows enqueue, claim, complete, read")
        job_id = lease_id = None
        answers = []
        for line in lines:
            line = line.replace("localhost:8740", self.hostport)
            if job_id:
                line = line.replace(EXAMPLE_ID, job_id)
            if lease_id:
                line = line.replace(EXAMPLE_LEASE, lease_id)
            out = subprocess.run(shlex.split(line), capture_output=True, text=True, timeout=30)
            self.assertEqual(out.returncode, 0, f"{line}\n{out.stderr}")
            answer = json.loads(out.stdout)
            answers.append(answer)
            if job_id is None:
                job_id = answer["id"]
            if "jobs" in answer:
                lease_id = answer["jobs"][0]["lease_id"]
        self.assertEqual(answers[0]["state"], "queued")
        self.assertEqual(answers[1]["jobs"][0]["id"], job_id)
        self.assertEqual(answers[2]["state"], "succeeded")
        self.assertEqual(answers[3]["state"], "succeeded")
        self.assertEqual(answers[3]["result"], {"sent": True})

    def test_the_quick_start_says_where_errand_is_and_how_to_put_it_on_path(self):
        quick_start = self.readme.split("## Run a worker")[0]
        self.assertIn("build/release/errand", quick_start)
        install = next(b for b in sh_blocks(quick_start) if "make install" in b)
        self.assertIn("sudo make install", install)
        self.assertIn('export PATH="$PWD/build/release:$PATH"', install)
        # `make install` copies exactly that binary to $(PREFIX)/bin.
        with tempfile.TemporaryDirectory() as prefix:
            dry = subprocess.run(["make", "-n", "install", f"PREFIX={prefix}"], cwd=ROOT, capture_output=True,
                                 text=True, timeout=30)
            self.assertEqual(dry.returncode, 0, dry.stderr)
            self.assertIn(f"install -D -m 755 build/release/errand {prefix}/bin/errand", dry.stdout)
        serve = subprocess.run(["make", "-n", "serve"], cwd=ROOT, capture_output=True, text=True, timeout=30)
        self.assertIn("build/release/errand; for the errand commands, put it on your PATH", serve.stdout)

    @unittest.skipUnless(shutil.which("curl"), "curl is not installed")
    def test_the_workflow_example_runs_resize_then_zip_then_email(self):
        section = self.readme.split("## Workflows:")[1].split("\n## ")[0]
        block = next(b for b in sh_blocks(section) if "/v1/jobs/batch" in b)
        line = " ".join(block.split()).replace("localhost:8740", self.hostport)
        out = subprocess.run(shlex.split(line), capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        jobs = json.loads(out.stdout)["jobs"]
        self.assertEqual([j["state"] for j in jobs], ["queued"] * 3 + ["blocked"] * 2)
        for _ in range(3):
            job = self.server.claim_one("resize")
            self.server.complete(job, {"thumb": "small-" + job["payload"]["image"]})
        zipper = self.server.claim_one("zip")
        self.assertEqual(sorted(p["result"]["thumb"] for p in zipper["parents"]),
                         ["small-a.png", "small-b.png", "small-c.png"])
        self.server.complete(zipper, {"link": "https://files.example.com/all.zip"})
        mail = self.server.claim_one("email")
        self.assertEqual(mail["payload"], {"to": "a@example.com"})
        self.assertEqual(mail["parents"][0]["result"], {"link": "https://files.example.com/all.zip"})
        self.server.complete(mail)

    def test_cli_lines_run(self):
        block = next(b for b in sh_blocks(self.readme) if "errand enqueue" in b)
        job_id = None
        for line in commands(block, "errand"):
            if job_id:
                line = line.replace(EXAMPLE_ID, job_id)
            out = self.sh(line)
            self.assertEqual(out.returncode, 0, f"{line}\n{out.stdout}\n{out.stderr}")
            if line.startswith("errand enqueue"):
                found = re.search(r"\b[0-7][0-9A-HJKMNP-TV-Z]{12}\b", out.stdout)
                self.assertIsNotNone(found, out.stdout)
                job_id = found.group(0)

    def test_the_worker_example_runs_and_prints_where_the_readme_says(self):
        worker_block = next(b for b in sh_blocks(self.readme) if b.startswith("errand work imports"))
        [work_line] = commands(worker_block, "errand")
        self.assertIn("# ✓ imports", worker_block, "the summary line is shown under errand work")
        enqueue_block = next(b for b in sh_blocks(self.readme) if b.startswith("errand enqueue imports"))
        [enqueue_line] = commands(enqueue_block, "errand")
        self.assertNotIn("✓", enqueue_block, "errand enqueue does not print the summary line")

        worker = subprocess.Popen(["sh", "-c", "exec " + work_line], cwd=ROOT, env=self.env, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.addCleanup(worker.kill)
        lines = []
        reader = threading.Thread(target=lambda: lines.extend(worker.stdout), daemon=True)
        reader.start()
        out = self.sh(enqueue_line)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertNotIn("✓", out.stdout)
        job_id = re.search(r"\b[0-7][0-9A-HJKMNP-TV-Z]{12}\b", out.stdout).group(0)
        poll_until(lambda: any(line.startswith(f"✓ imports {job_id} ") for line in lines), 30,
                   message="the worker's summary line")
        worker.terminate()
        self.assertEqual(worker.wait(30), 0)


if __name__ == "__main__":
    unittest.main()
