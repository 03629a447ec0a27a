#!/usr/bin/env python3
"""An Errand worker in Python on the errand package (clients/python: standard
library only). In your own project, `pip install <errand>/clients/python` and
`import errand`; here it is imported from the repository, so the example runs
as it is.

    ERRAND_URL=http://127.0.0.1:8740 python3 worker.py QUEUE [QUEUE...] [--lease 1m]
    ERRAND_URL=http://10.0.0.1:8740,http://10.0.0.2:8740 python3 worker.py QUEUE   # several servers

The package long-polls claims, heartbeats each lease at a third of its length
(and notices a cancel: job.cancel_requested), reports progress, and completes
the job with handle()'s result or fails it: an exception is a failed attempt
that Errand retries with backoff, `NoRetry` makes the failure final. SIGTERM
or Ctrl-C lets the running job finish, then exits. Given several servers
(sharing one database), calls go to the one in use and move on to the next
when it cannot be reached or answers 503. Copy it and replace `handle()` with
your work.

The demo job: payload {"items": 5, "seconds_per_item": 0.5} processes five
items, reporting progress after each; {"fail": "message", "retry": false}
fails.
"""

import argparse
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients", "python"))

from errand import Client, NoRetry, Worker  # noqa: E402

WORKER = f"{socket.gethostname()}:{os.getpid()}:python"


def log(*args):
    print("python-worker:", *args, file=sys.stderr, flush=True)


def handle(job):
    """The work. Return the result (any JSON value) or raise."""
    p = job.payload or {}
    if "fail" in p:
        raise (NoRetry if p.get("retry") is False else RuntimeError)(p["fail"])
    items = int(p.get("items", 3))
    for i in range(1, items + 1):
        if job.cancel_requested.is_set():
            raise RuntimeError("cancelled while running")
        time.sleep(float(p.get("seconds_per_item", 0.2)))
        job.progress(i * 100 // items, f"{i}/{items} items")
    return {"processed": items, "worker": WORKER}


def main():
    parser = argparse.ArgumentParser(description="An Errand worker in Python")
    parser.add_argument("queues", nargs="+", help="queues to claim from, in order")
    parser.add_argument("--lease", help="claim lease, renewed by heartbeats (default: the job's timeout)")
    args = parser.parse_args()
    client = Client(on_failover=lambda old, new, why: log(f"{old} failed ({why}); moving on to {new}"))
    log(f"claiming from {', '.join(args.queues)} at {', '.join(client.urls)}")
    # wait: a short long poll, so Ctrl-C is noticed within 5s.
    Worker(client, args.queues, handle, name=WORKER, wait="5s", lease=args.lease).run()
    log("stopped")


if __name__ == "__main__":
    main()
