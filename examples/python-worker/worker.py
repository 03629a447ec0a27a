#!/usr/bin/env python3
"""An Errand worker in plain Python: standard library only (urllib, json).

    ERRAND_URL=http://127.0.0.1:8740 python3 worker.py QUEUE [QUEUE...] [--lease 1m]
    ERRAND_URL=http://10.0.0.1:8740,http://10.0.0.2:8740 python3 worker.py QUEUE   # several servers

It long-polls POST /v1/claim for one job at a time, runs `handle()` on it
while a background thread heartbeats the lease every third of it (and notices
a cancel), reports progress, then completes the job with the result or fails
it: an exception is a failed attempt that Errand retries with backoff, and
`NoRetry` makes the failure final. SIGTERM or Ctrl-C lets the running job
finish, then exits. A server that cannot be reached is retried with a capped
backoff; given several (servers sharing one database), each call goes to the
one in use, and a connection failure or a 503 moves on to the next for the
calls that follow. Copy it and replace `handle()` with your work.

The demo job: payload {"items": 5, "seconds_per_item": 0.5} processes five
items, reporting progress after each; {"fail": "message", "retry": false}
fails.
"""

import argparse
import json
import os
import random
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime

URLS = [u.strip().rstrip("/") for u in os.environ.get("ERRAND_URL", "http://127.0.0.1:8740").split(",")]
current = 0  # the server in use: URLS[current], until it fails
KEY = os.environ.get("ERRAND_KEY", "")
WORKER = f"{socket.gethostname()}:{os.getpid()}:python"


class NoRetry(Exception):
    """Raise from handle() to fail the job for good (it becomes dead)."""


class Cancelled(Exception):
    """The job was cancelled while it ran."""


class ApiError(Exception):
    def __init__(self, status, body):
        super().__init__(f"HTTP {status}: {body}")
        self.status = status


def call(path, body, timeout=30):
    """POSTs JSON to the server in use; returns the parsed answer. Raises
    ApiError, or OSError when the server failed: then the next call goes to
    the next server (a 503 is such a failure: that server lost its database)."""
    global current
    url = URLS[current]
    req = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    if KEY:
        req.add_header("Authorization", f"Bearer {KEY}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        if e.code != 503:
            raise ApiError(e.code, e.read().decode(errors="replace")) from None
        error = ConnectionError(f"{url}: HTTP 503: {e.read().decode(errors='replace')}")
    except OSError as e:
        error = e
    if len(URLS) > 1 and URLS[current] == url:
        current = (current + 1) % len(URLS)
        log(f"{url} failed ({error}); moving on to {URLS[current]}")
    raise error


def log(*args):
    print("python-worker:", *args, file=sys.stderr, flush=True)


class Job:
    """A claimed job: its fields, progress reports and a heartbeat thread."""

    def __init__(self, fields):
        self.__dict__.update(fields)
        self.cancel_requested = False
        self._done = threading.Event()
        expires = datetime.fromisoformat(fields["lease_expires_at"].replace("Z", "+00:00"))
        lease = max(1.0, expires.timestamp() - time.time())
        self._heartbeat = threading.Thread(target=self._beat, args=(lease,), daemon=True)
        self._heartbeat.start()

    def _beat(self, lease):
        # A third of the lease: two heartbeats may be lost before it runs out.
        while not self._done.wait(min(lease / 3, 10)):
            try:
                answer = call(f"/v1/jobs/{self.id}/heartbeat",
                              {"lease_id": self.lease_id, "extend": f"{round(lease)}s"}, timeout=10)
                self.cancel_requested = self.cancel_requested or answer["cancel_requested"]
            except (ApiError, OSError) as e:
                log(f"heartbeat for {self.id} failed: {e}")

    def progress(self, percent, message=""):
        try:
            call(f"/v1/jobs/{self.id}/progress",
                 {"lease_id": self.lease_id, "percent": percent, "message": message})
        except (ApiError, OSError) as e:
            log(f"progress for {self.id} not sent: {e}")

    def finish(self, outcome):
        self._done.set()
        return call(f"/v1/jobs/{self.id}/{'fail' if 'error' in outcome else 'complete'}",
                    dict(outcome, lease_id=self.lease_id))


def handle(job):
    """The work. Return the result (any JSON value) or raise."""
    p = job.payload or {}
    if "fail" in p:
        raise (NoRetry if p.get("retry") is False else RuntimeError)(p["fail"])
    items = int(p.get("items", 3))
    for i in range(1, items + 1):
        if job.cancel_requested:
            raise Cancelled("cancelled while running")
        time.sleep(float(p.get("seconds_per_item", 0.2)))
        job.progress(i * 100 // items, f"{i}/{items} items")
    return {"processed": items, "worker": WORKER}


def run_one(fields):
    job = Job(fields)
    try:
        outcome = {"result": handle(job)}
    except NoRetry as e:
        outcome = {"error": str(e) or "failed", "retry": False}
    except Exception as e:  # noqa: BLE001 - any failure is a failed attempt
        outcome = {"error": f"{type(e).__name__}: {e}"}
    for delay in (0.5, 1, 2, 5, 10):
        try:
            answer = job.finish(outcome)
            log(f"{job.id} {answer['state']}")
            return
        except OSError as e:
            log(f"reporting {job.id} failed ({e}); retrying in {delay}s")
            time.sleep(delay)
        except ApiError as e:
            log(f"the server refused the outcome of {job.id}: {e}")
            return


def main():
    parser = argparse.ArgumentParser(description="An Errand worker in plain Python")
    parser.add_argument("queues", nargs="+", metavar="QUEUE")
    parser.add_argument("--lease", help="claim lease, renewed by heartbeats (default: the job's timeout)")
    args = parser.parse_args()
    # A short long poll: Ctrl-C is noticed within 5s.
    claim = {"queues": args.queues, "worker": WORKER, "max": 1, "wait": "5s"}
    if args.lease:
        claim["lease"] = args.lease
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    log(f"claiming from {', '.join(claim['queues'])} at {', '.join(URLS)}")
    backoff = 0.5
    while not stopping.is_set():
        try:
            jobs = call("/v1/claim", claim, timeout=40)["jobs"]
            backoff = 0.5
        except (ApiError, OSError) as e:
            log(f"claim failed: {e}; retrying in {backoff:.1f}s")
            stopping.wait(backoff * random.uniform(0.5, 1))
            backoff = min(backoff * 2, 15)
            continue
        for fields in jobs:
            run_one(fields)
    log("stopped")


if __name__ == "__main__":
    main()
