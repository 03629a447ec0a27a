"""The code blocks of the client documentation, run against the real server.

docs/guide-ai.md, the README's "Client packages" section and the packages'
READMEs (clients/js/README.md, clients/python/README.md) are read, and every
`js`, `jsx`, `python` and `sh` block in them is accounted for:
- run as written (ERRAND_URL and ERRAND_KEY point at a test server;
  `errand-client` resolves to clients/js, `errand` to clients/python): the
  enqueue, watch, schedule and worker blocks, the Next.js route handlers
  (called with a Request, and served to the server's push calls), the curl
  lines that configure the push queue (with the function's URL on loopback);
  the workflow blocks, whose jobs the test then claims to see the batch's
  callback and the `after` child released with its parent's result; the
  worker that waits for a signal, resumed by the block that signals it; the
  per-key limits block; recipe 6's push function (its checkout sent to a
  stand-in payment API) and webhook route (called twice);
- or, for blocks that need a framework or database the tests do not have
  (Express, FastAPI in recipe 2, pg): parsed (node --check, Python's
  compile(), TypeScript's parser for JSX). The Python package README's
  Flask, FastAPI and Django blocks are parsed here too; their frameworks
  serve them to real push calls in clients_python.frameworks
  (clients/python/tests/test_frameworks.py).
A block the test does not recognise fails it, so a new block cannot go
untested. `text` blocks (the prompts) are prose.
"""

import http.server
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import unittest

from harness import ErrandServer, poll_until

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
KEY = "docs-admin-key-0123456789"
FINAL = ("succeeded", "dead", "cancelled")


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def blocks(text):
    """[(language, code)] of the fenced blocks, in order."""
    return re.findall(r"```([a-z]*)\n(.*?)```", text, re.S)


def readme_clients_section():
    text = read("README.md")
    start = text.index("## Client packages")
    return text[start:text.index("\n## ", start + 1)]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ClientDocsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = ErrandServer(keys=(f"admin:{KEY}",), extra_args=["--push-allow-private"])
        cls.server.start()
        cls.tmp = tempfile.mkdtemp(prefix="errand-docs-")
        os.makedirs(os.path.join(cls.tmp, "node_modules"))
        os.symlink(os.path.join(ROOT, "clients", "js"), os.path.join(cls.tmp, "node_modules", "errand-client"))
        cls.env = dict(os.environ, ERRAND_URL=cls.server.url, ERRAND_KEY=KEY,
                       PYTHONPATH=os.path.join(ROOT, "clients", "python"))
        cls.procs = []

    @classmethod
    def tearDownClass(cls):
        for p in cls.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
            for f in (p.stdout, p.stderr):
                f.close()
        cls.server.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # ---- helpers ------------------------------------------------------------

    def write(self, name, code):
        path = os.path.join(self.tmp, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(code)
        return path

    def command(self, language, code, name):
        if language == "js":
            return ["node", self.write(name + ".mjs", code)]
        return [sys.executable, self.write(name + ".py", code)]

    def run_code(self, language, code, name, args=()):
        """Runs a block to its end; returns its stdout."""
        cmd = self.command(language, code, name) + list(args)
        r = subprocess.run(cmd, cwd=self.tmp, env=self.env, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, f"{name} failed:\n{r.stdout}\n{r.stderr}")
        return r.stdout

    def start(self, cmd, env=None):
        p = subprocess.Popen(cmd, cwd=self.tmp, env=env or self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        self.procs.append(p)
        return p

    def start_reading(self, cmd):
        """Starts cmd; returns it and a queue of its stdout lines (read by a thread)."""
        proc = self.start(cmd)
        lines = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
        return proc, lines

    def next_line(self, proc, lines, timeout=30):
        try:
            return lines.get(timeout=timeout)
        except queue.Empty:
            proc.kill()
            raise AssertionError(f"{proc.args} printed nothing in {timeout}s:\n{proc.stderr.read()}") from None

    def serve_route(self, module, port, env):
        """Serves the POST of a route handler's module on 127.0.0.1:port (nodeListener)."""
        serve = self.write(f"serve_{module}", (
            "import http from 'node:http';\n"
            "import { nodeListener } from 'errand-client';\n"
            f"import {{ POST }} from './{module}';\n"
            f"http.createServer(nodeListener(POST)).listen({port}, '127.0.0.1', () => console.log('ready'));\n"))
        app = self.start(["node", serve], env=env)
        self.assertEqual(app.stdout.readline().strip(), "ready")
        return app

    def parse_js(self, code, name):
        path = self.write(name + ".mjs", code)
        r = subprocess.run(["node", "--check", path], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, f"{name} does not parse:\n{r.stderr}")

    def parse_jsx(self, code, name):
        checker = (
            "const ts = require(process.argv[1]);"
            "const out = ts.transpileModule(require('fs').readFileSync(process.argv[2], 'utf8'),"
            " {fileName: 'x.jsx', reportDiagnostics: true, compilerOptions: {jsx: ts.JsxEmit.Preserve}});"
            "for (const d of out.diagnostics) console.error(ts.flattenDiagnosticMessageText(d.messageText, '\\n'));"
            "process.exit(out.diagnostics.length ? 1 : 0);")
        ts = os.path.join(ROOT, "clients", "js", "node_modules", "typescript")
        r = subprocess.run(["node", "-e", checker, ts, self.write(name + ".jsx", code)], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, 0, f"{name} does not parse:\n{r.stderr}")

    def job(self, job_id):
        return self.server.request("GET", f"/v1/jobs/{job_id}").body

    def ended(self, job_id):
        return poll_until(lambda: (lambda j: j if j["state"] in FINAL else None)(self.job(job_id)), 30,
                          message=f"job {job_id} to end")

    def stop_worker(self, proc):
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 0, f"the worker did not stop cleanly:\n{out}\n{err}")

    # ---- the workflow, signal and per-key blocks of the packages' READMEs -------

    def check_workflow_block(self, lang, code):
        """Fan out and gather, and `after`: the test then runs the jobs the block made."""
        out = self.run_code(lang, code, f"workflow_{lang}")
        self.assertEqual(out.strip(), "sealed blocked")
        for _ in range(2):
            resize = self.server.claim_one("resize")
            self.server.complete(resize, {"resized": resize["payload"]["photo"]})
        publish = self.server.claim_one("publish")
        batch = publish["payload"]["batch"]
        self.assertEqual((publish["payload"]["album"], batch["total"], batch["succeeded"]), (7, 2, 2))
        self.server.complete(publish)
        charge = self.server.claim_one("charge")
        self.assertEqual(self.server.claim("receipt"), [], "the receipt waits for the charge")
        self.server.complete(charge, {"charged": 4200})
        receipt = self.server.claim_one("receipt")
        self.assertEqual(receipt["parents"], [{"id": charge["id"], "state": "succeeded", "result": {"charged": 4200}}])
        self.server.complete(receipt)

    def check_signal_blocks(self, lang, worker, signaller):
        """The worker waits for a payment; the second block, given the URL it printed, resumes the job."""
        proc, lines = self.start_reading(self.command(lang, worker, f"orders_worker_{lang}"))
        job_id = self.server.enqueue("orders", payload={"order": 7})["id"]
        line = self.next_line(proc, lines).strip()
        m = re.fullmatch(r"order 7 waits for (http://\S+/v1/signals/\S+)", line)
        self.assertTrue(m, line)
        self.assertEqual(self.job(job_id)["state"], "waiting")
        out = self.run_code(lang, signaller, f"signal_{lang}", args=[m.group(1)])
        self.assertIn(f"'{job_id}'", out)
        self.assertIn("'queued'", out)
        job = self.ended(job_id)
        self.assertEqual((job["state"], job["result"]), ("succeeded", {"order": 7, "paid": 4200}), lang)
        self.assertEqual(job["signal"], {"status": "received", "body": {"amount": 4200}})
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(60), 0, f"the worker did not stop cleanly:\n{proc.stderr.read()}")

    def check_key_block(self, lang, code):
        out = self.run_code(lang, code, f"keys_{lang}")
        self.assertEqual(out.strip(), "1 5")
        config = self.server.request("GET", "/v1/queues/exports").body["config"]
        self.assertEqual((config["key_concurrency"], config["key_rate_limit"]["limit"]), (2, 10))
        acme = self.server.request("GET", "/v1/queues/exports/keys/acme").body
        self.assertEqual((acme["concurrency"], acme["weight"], acme["overridden"]), (5, 2, True))
        job = self.server.claim_one("exports")  # and the next language's block finds the queue empty
        self.assertEqual(job["key"], "acme")
        self.server.complete(job)

    # ---- the README and the packages' READMEs -----------------------------------

    def test_readme_section(self):
        found = blocks(readme_clients_section())
        self.assertEqual([lang for lang, _ in found], ["js", "python"])
        for lang, code in found:
            out = self.run_code(lang, code, f"readme_{lang}")
            lines = out.split("\n")
            self.assertTrue(lines[0].startswith("snapshot"), out)
            self.assertIn("succeeded", out)

    def test_js_package_readme(self):
        found = blocks(read("clients/js/README.md"))
        self.assertEqual([lang for lang, _ in found], ["js"] * 5)
        (_, enqueue), (_, workflow), (_, worker), (_, signaller), (_, keys) = found
        out = self.run_code("js", enqueue, "js_readme")
        self.assertEqual(out.split("\n")[0], "scheduled")
        self.check_workflow_block("js", workflow)
        self.check_signal_blocks("js", worker, signaller)
        self.check_key_block("js", keys)

    def test_python_package_readme(self):
        found = blocks(read("clients/python/README.md"))
        self.assertEqual([lang for lang, _ in found], ["python"] * 8)
        (_, enqueue), (_, workflow), (_, worker), (_, signaller), (_, keys), *frameworks = found
        out = self.run_code("python", enqueue, "py_readme")
        self.assertEqual(out.split("\n")[0], "scheduled")
        self.check_workflow_block("python", workflow)
        self.check_signal_blocks("python", worker, signaller)
        self.check_key_block("python", keys)
        # Flask, FastAPI, Django: served to real push calls by clients_python.frameworks.
        for name, (_, code) in zip(("flask", "fastapi", "django"), frameworks):
            self.assertIn(f"from {name}", code)
            self.assertIn("handle_push", code)
            compile(code, f"python_readme_{name}", "exec")

    def test_llms_txt(self):
        text = read("docs/llms.txt")
        self.assertTrue(text.startswith("# Errand\n\n> "), "llmstxt.org: a title, then a summary quote")
        self.assertEqual(blocks(text), [], "no code blocks: the guides hold them")
        links = re.findall(r"\]\(([^)]+)\)", text)
        self.assertIn("guide-ai.md", links)
        for link in links:
            self.assertTrue(os.path.exists(os.path.join(ROOT, "docs", link)), f"llms.txt links to a missing {link}")

    # ---- docs/guide-ai.md -----------------------------------------------------------

    def guide(self):
        text = read("docs/guide-ai.md")
        recipes = re.split(r"\n## ", text)[1:]
        self.assertEqual(len(recipes), 6)
        return [blocks(r) for r in recipes]

    def test_every_guide_block_is_accounted_for(self):
        kinds = [[lang for lang, _ in r] for r in self.guide()]
        self.assertEqual(kinds, [
            ["js", "js", "sh", "text"],
            ["js", "js", "python", "python", "text"],
            ["jsx", "text"],
            ["js", "python", "text"],
            ["js", "text"],
            ["js", "js", "text"],
        ])

    def test_recipe_1_nextjs_push(self):
        (_, signup), (_, errand_route), (_, curl), _ = self.guide()[0]
        port = free_port()
        function_url = f"http://127.0.0.1:{port}/api/errand"
        # The curl lines, with the function's URL on loopback.
        self.assertIn("https://my-app.vercel.app/api/errand", curl)
        out = subprocess.run(["sh", "-c", curl.replace("https://my-app.vercel.app/api/errand", function_url)],
                             env=self.env, capture_output=True, text=True, timeout=30, check=True).stdout
        answers, text = [], out.strip()
        while text:  # curl -s prints the answers one after the other
            value, end = json.JSONDecoder().raw_decode(text)
            answers.append(value)
            text = text[end:].strip()
        self.assertEqual(answers[0]["config"]["push"]["url"], function_url)
        secret = answers[1]["secret"]
        self.write("signup_route.mjs", signup)
        self.write("errand_route.mjs", errand_route)
        app = self.serve_route("errand_route.mjs", port, dict(self.env, ERRAND_PUSH_SECRET=secret))
        call = self.write("call_signup.mjs", (
            "import { POST } from './signup_route.mjs';\n"
            "const r = await POST(new Request('http://app/api/signup', {method: 'POST',"
            " body: JSON.stringify({email: 'ada@example.com'})}));\n"
            "console.log(r.status, JSON.stringify(await r.json()));\n"))
        out = subprocess.run(["node", call], cwd=self.tmp, env=self.env, capture_output=True, text=True,
                             timeout=30, check=True).stdout
        status, body = out.split(" ", 1)
        self.assertEqual(status, "202")
        job_url = json.loads(body)["jobUrl"]
        job_id = re.search(r"/v1/jobs/([^?]+)\?token=", job_url).group(1)
        job = self.ended(job_id)
        self.assertEqual(job["state"], "succeeded", job)
        self.assertEqual(job["result"], {"welcomed": "ada@example.com"})
        self.assertEqual(job["push"]["continuations"], 2, "one call per step, then the result")
        app.kill()

    def test_recipe_2_workers(self):
        (_, worker_js), (_, express), (_, worker_py), (_, fastapi), _ = self.guide()[1]
        self.parse_js(express, "express_route")  # express is not installed here
        compile(fastapi, "fastapi_route", "exec")  # nor is FastAPI
        for lang, code in (("js", worker_js), ("python", worker_py)):
            path = self.write(f"worker_{lang}." + ("mjs" if lang == "js" else "py"), code)
            proc = self.start(["node" if lang == "js" else sys.executable, path])
            good = self.server.request("POST", "/v1/jobs", {"queue": "reports", "payload": {"account": "acme"}}).body
            bad = self.server.request("POST", "/v1/jobs", {"queue": "reports", "payload": {}}).body
            try:
                done, dead = self.ended(good["id"]), self.ended(bad["id"])
            except AssertionError:
                proc.kill()
                out, err = proc.communicate()
                raise AssertionError(f"the {lang} worker did not run the jobs: {self.job(good['id'])}\n{out}\n{err}")
            self.assertEqual((done["state"], done["result"]), ("succeeded", {"pages": 12}), lang)
            self.assertEqual(done["progress"]["message"], "rendering")
            self.assertEqual((dead["state"], dead["errors"][0]["message"]), ("dead", "no account given"), lang)
            self.stop_worker(proc)

    def test_recipe_3_progress_bar_parses(self):
        (_, jsx), _ = self.guide()[2]
        self.assertIn('from "errand-client/react"', jsx)
        self.parse_jsx(jsx, "import_progress")

    def test_recipe_4_nightly_schedule(self):
        (_, js), (_, py), _ = self.guide()[3]
        for lang, code in (("js", js), ("python", py)):
            self.server.request("DELETE", "/v1/schedules/nightly-report")
            out = self.run_code(lang, code, f"schedule_{lang}").strip()
            schedule = self.server.request("GET", "/v1/schedules/nightly-report").body
            self.assertEqual((schedule["cron"], schedule["timezone"], schedule["overlap"]),
                             ("0 2 * * *", "Europe/Berlin", "skip"))
            self.assertEqual(out, schedule["next"][0]["local"])
            self.assertRegex(out, r"T02:00:00\+0[12]:00$")

    def test_recipe_5_parses(self):
        (_, js), _ = self.guide()[4]
        self.assertIn("SELECT errand.enqueue($1, $2, $3)", js)
        self.parse_js(js, "supabase_transaction")  # pg and PostgreSQL: see integration.sql_enqueue

    def test_recipe_6_payment_webhook(self):
        (_, checkout_route), (_, webhook_route), _ = self.guide()[5]
        checkouts = []

        class PaymentsApi(http.server.BaseHTTPRequestHandler):  # the provider: records the checkouts
            def do_POST(self):
                checkouts.append((self.path, json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
                self.send_response(201)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        payments = http.server.ThreadingHTTPServer(("127.0.0.1", 0), PaymentsApi)
        threading.Thread(target=payments.serve_forever, daemon=True).start()
        self.addCleanup(payments.server_close)
        self.addCleanup(payments.shutdown)
        port = free_port()
        self.server.request("PUT", "/v1/queues/checkout", {"push": {"url": f"http://127.0.0.1:{port}/api/errand/checkout"}})
        secret = self.server.request("GET", "/v1/queues/checkout/push-secret").body["secret"]
        self.write("checkout_route.mjs", checkout_route)
        self.write("webhook_route.mjs", webhook_route)
        app = self.serve_route("checkout_route.mjs", port, dict(
            self.env, ERRAND_PUSH_SECRET=secret, PAYMENTS_API=f"http://127.0.0.1:{payments.server_address[1]}"))
        job_id = self.server.enqueue("checkout", payload={"order": 7, "amount": 4200})["id"]
        poll_until(lambda: self.job(job_id)["state"] == "waiting", 30, message="the job to wait for its payment")
        self.assertEqual(len(checkouts), 1, checkouts)
        path, checkout = checkouts[0]
        self.assertEqual((path, checkout["amount"], checkout["metadata"]["order"]), ("/checkouts", 4200, 7))
        self.assertTrue(checkout["metadata"]["signal_url"].startswith(f"{self.server.url}/v1/signals/"), checkout)
        # The provider's webhook, sent twice: the second finds nothing to resume.
        event = {"type": "checkout.paid", "amount": 4200, "metadata": checkout["metadata"]}
        call = self.write("call_webhook.mjs", (
            "import { POST } from './webhook_route.mjs';\n"
            "for (let i = 0; i < 2; i++) {\n"
            "  const r = await POST(new Request('http://app/api/payments/webhook', {method: 'POST',"
            f" body: JSON.stringify({json.dumps(event)})}}));\n"
            "  console.log(r.status);\n"
            "}\n"))
        out = subprocess.run(["node", call], cwd=self.tmp, env=self.env, capture_output=True, text=True,
                             timeout=30)
        self.assertEqual(out.stdout.split(), ["204", "204"], out.stderr)
        job = self.ended(job_id)
        self.assertEqual((job["state"], job["result"]), ("succeeded", {"order": 7, "paid": 4200}), job)
        self.assertEqual(len(checkouts), 1, "the checkout is made once")
        app.kill()


if __name__ == "__main__":
    unittest.main()
