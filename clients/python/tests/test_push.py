"""Push: verify_signature, and handle_push serving a step function that the
real server calls (a push queue pointing at a loopback http.server)."""

import hashlib
import hmac
import http.server
import json
import threading
import time
import unittest

from tests.server import ErrandProcess, poll_until

from errand import Client, NoRetry, handle_push, verify_signature

FINAL = ("succeeded", "dead", "cancelled")


def sign(secret, t, body):
    return hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


class SignatureTest(unittest.TestCase):
    def test_accepted_rejected_expired_rotated(self):
        body, now = b'{"job":{"id":"1"}}', 1_800_000_000
        header = f"t={now},v1={sign('whsec_a', now, body)}"
        self.assertTrue(verify_signature(body, header, "whsec_a", now=now))
        self.assertFalse(verify_signature(body, header, "whsec_b", now=now))
        self.assertFalse(verify_signature(body + b" ", header, "whsec_a", now=now))
        self.assertFalse(verify_signature(body, header, "whsec_a", now=now + 301))
        self.assertTrue(verify_signature(body, header, "whsec_a", now=now + 600, tolerance=900))
        rotated = f"t={now},v1={sign('whsec_new', now, body)},v1={sign('whsec_old', now, body)}"
        self.assertTrue(verify_signature(body, rotated, "whsec_old", now=now))
        self.assertTrue(verify_signature(body, rotated, ["whsec_x", "whsec_new"], now=now))
        self.assertFalse(verify_signature(body, "v1=abc", "whsec_a", now=now))
        self.assertFalse(verify_signature(body, None, "whsec_a", now=now))


class PushHandlerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = ErrandProcess(args=["--push-allow-private"]).start()
        cls.c = Client(cls.server.url)
        cls.handler = None
        owner = cls

        class App(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, headers, out = owner.handler(body, self.headers)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args):
                pass

        cls.app = http.server.ThreadingHTTPServer(("127.0.0.1", 0), App)
        threading.Thread(target=cls.app.serve_forever, daemon=True).start()
        cls.app_url = f"http://127.0.0.1:{cls.app.server_address[1]}/errand"

    @classmethod
    def tearDownClass(cls):
        cls.app.shutdown()
        cls.server.close()

    def push_queue(self, name):
        self.c.queues.set(name, push={"url": self.app_url, "timeout": "10s"})
        return self.c.queues.push_secret(name)["secret"]

    def ended(self, job_id):
        return poll_until(lambda: (lambda j: j if j["state"] in FINAL else None)(self.c.get(job_id)), "the job to end")

    def test_three_steps_where_step_two_fails_once(self):
        secret = self.push_queue("steps")
        runs = {"one": 0, "two": 0, "three": 0}
        progress = []

        def fn(job, step):
            def one():
                runs["one"] += 1
                return job["payload"]["start"] + 1

            def two():
                runs["two"] += 1
                if runs["two"] == 1:
                    raise RuntimeError("step two fails once")
                return a * 10

            a = step.run("one", one)
            b = step.run("two", two)
            step.progress(66, "two steps done")
            progress.append((self.c.get(job["id"])["progress"] or {}).get("percent"))
            c = step.run("three", lambda: (runs.__setitem__("three", runs["three"] + 1), b + 1)[1])
            return {"a": a, "b": b, "c": c}

        type(self).handler = staticmethod(lambda body, headers: handle_push(body, headers, fn, secret=secret,
                                                                            url=self.server.url))
        job_id = self.c.enqueue("steps", {"start": 1}, max_attempts=3)["id"]
        poll_until(lambda: self.c.get(job_id)["state"] == "failed", "step two's failure")
        self.c.retry(job_id)
        job = self.ended(job_id)
        self.assertEqual(job["state"], "succeeded")
        self.assertEqual(job["result"], {"a": 2, "b": 20, "c": 21})
        self.assertEqual(runs, {"one": 1, "two": 2, "three": 1})
        self.assertIn(66, progress)

    def test_wait_for_signal_hands_out_its_url_once_and_returns_the_body(self):
        secret = self.push_queue("orders")
        urls, continuations = [], []

        def fn(job, step):
            continuations.append(job["continuation"])
            order = step.run("order", lambda: {"id": job["payload"]["order"]})
            paid = step.wait_for_signal("paid", "1h", urls.append)
            refund = step.wait_for_signal("refund", "1s")
            return {"order": order["id"], "paid": paid, "refund": refund}

        type(self).handler = staticmethod(lambda body, headers: handle_push(body, headers, fn, secret=secret,
                                                                            url=self.server.url))
        job_id = self.c.enqueue("orders", {"order": 7})["id"]
        waiting = poll_until(lambda: (lambda j: j if j["state"] == "waiting" else None)(self.c.get(job_id)),
                             "the job to wait for its payment")
        self.assertEqual(urls, [self.server.url + waiting["signal"]["url"]], "the absolute URL of the waiting call")
        bank = Client("http://127.0.0.1:1")  # knows nothing but the URL
        self.assertEqual(bank.signal(urls[0], {"amount": 42}), {"id": job_id, "state": "queued"})
        job = self.ended(job_id)
        self.assertEqual(job["state"], "succeeded")
        self.assertEqual(job["result"], {"order": 7, "paid": {"amount": 42}, "refund": None})
        self.assertEqual(continuations, [0, 1, 2, 3])
        self.assertEqual(len(urls), 1, "send ran once")

    def test_sleep_no_retry_and_a_bad_signature(self):
        secret = self.push_queue("sleepy")
        times = []

        def fn(job, step):
            times.append(time.monotonic())
            step.sleep("nap", "1s")
            if job["payload"].get("die"):
                raise NoRetry("not worth retrying")
            return "awake"

        type(self).handler = staticmethod(lambda body, headers: handle_push(body, headers, fn, secret=secret))
        job = self.ended(self.c.enqueue("sleepy", {})["id"])
        self.assertEqual((job["state"], job["result"]), ("succeeded", "awake"))
        self.assertGreaterEqual(times[1] - times[0], 0.95)
        dead = self.ended(self.c.enqueue("sleepy", {"die": True}, max_attempts=5)["id"])
        self.assertEqual((dead["state"], dead["attempt"]), ("dead", 1))
        body = json.dumps({"job": {"id": "x"}, "lease_id": "l", "attempt": 1, "continuation": 0, "state": None}).encode()
        t = int(time.time())
        forged = {"Errand-Signature": f"t={t},v1={sign('whsec_other', t, body)}"}
        self.assertEqual(handle_push(body, forged, fn, secret=secret)[0], 401)
        good = {"errand-signature": f"t={t},v1={sign(secret, t, body)}"}
        self.assertEqual(handle_push(body, good, lambda job, step: "ok", secret=secret)[0], 200)


if __name__ == "__main__":
    unittest.main()
