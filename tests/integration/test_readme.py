"""The README's quick-start examples, run against the real server so they cannot rot.

The curl session and the CLI lines are read out of README.md, pointed at a
test server, and run as written; the ids and lease ids the README shows as
examples are replaced by the real ones from earlier answers.
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import unittest

from harness import ErrandServer, errand_bin

README = os.path.join(os.path.dirname(__file__), "..", "..", "README.md")
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

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

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

    def test_cli_lines_run(self):
        block = next(b for b in sh_blocks(self.readme) if "errand enqueue" in b)
        job_id = None
        for line in commands(block, "errand"):
            args = shlex.split(line)[1:]
            if job_id:
                args = [job_id if a == EXAMPLE_ID else a for a in args]
            out = subprocess.run([errand_bin(), "--server", self.server.url, *args],
                                 capture_output=True, text=True, timeout=30)
            self.assertEqual(out.returncode, 0, f"{line}\n{out.stdout}\n{out.stderr}")
            if args[0] == "enqueue":
                found = re.search(r"\b[0-7][0-9A-HJKMNP-TV-Z]{12}\b", out.stdout)
                self.assertIsNotNone(found, out.stdout)
                job_id = found.group(0)


if __name__ == "__main__":
    unittest.main()
