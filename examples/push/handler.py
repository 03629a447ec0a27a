#!/usr/bin/env python3
"""An Errand push handler in plain Python: standard library only.

It spells out the push protocol (signature, continuation state) on purpose.
The errand package (clients/python) does the same in a few lines:
`handle_push(body, headers, fn)` with durable steps; its README shows it in
Flask, FastAPI and Django.

    ERRAND_PUSH_SECRET=whsec_… ERRAND_URL=http://127.0.0.1:8740 PORT=3000 python3 handler.py

Errand POSTs each job of a push queue to this server, signed; it checks the
signature, does a slice of the job, and answers. ERRAND_PUSH_SECRET is the
queue's secret (GET /v1/queues/{q}/push-secret); ERRAND_URL is optional
(without it the handler sends no progress from inside a call) and may list
several servers, comma-separated: progress goes to the first that takes it.
It listens on
127.0.0.1:PORT (default 3000); put it behind your HTTPS front end and point
the queue at it:

    curl -X PUT $ERRAND_URL/v1/queues/imports -d '{"push": {"url": "https://app.example.com/errand"}}'

The demo job imports payload.rows rows, payload.rows_per_call (default 100)
per call. Each call answers 202 {"continue": {"state": {"offset": …}}} until
the last one answers 200 with the result, so no call runs long; Errand calls
again at once with that state. Copy it and replace import_row() with your work.
"""

import hashlib
import hmac
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = os.environ.get("ERRAND_PUSH_SECRET", "")
ERRAND_URLS = [u.strip().rstrip("/") for u in os.environ.get("ERRAND_URL", "").split(",") if u.strip()]
MAX_SKEW_SECONDS = 5 * 60


def verify(header, body, secret, now=None):
    """True if the Errand-Signature header ("t=<unix>,v1=<hex>[,v1=<hex>]")
    holds a v1 that is the HMAC-SHA256 of b"<t>." + body under `secret`, and t
    is within 5 minutes of now. A rotation sends two v1: either may match."""
    t, signatures = "", []
    for part in (header or "").split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            t = value
        elif key == "v1":
            signatures.append(value)
    now = time.time() if now is None else now
    if not re.fullmatch(r"[0-9]+", t) or abs(now - int(t)) > MAX_SKEW_SECONDS:
        return False
    expected = hmac.new(secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(signature.encode(), expected.encode()) for signature in signatures)


def import_row(row):
    """Your work goes here: one row, idempotent (a call may be repeated)."""


def is_count(value):
    return isinstance(value, int) and not isinstance(value, bool)


def work(call):
    """One call's share of the job -> (status, body, headers). call["state"] is
    the state the previous call answered with (None on the first call)."""
    payload = call["job"].get("payload") or {}
    rows, per_call = payload.get("rows"), payload.get("rows_per_call", 100)
    if not (is_count(rows) and is_count(per_call) and rows >= 0 and per_call >= 1):
        # A bad payload stays bad: no retries.
        return 422, {"error": 'expected a payload like {"rows": 500}'}, {"Errand-No-Retry": "true"}
    offset = (call.get("state") or {}).get("offset", 0)
    end = min(rows, offset + per_call)
    for row in range(offset, end):
        import_row(row)
    percent = end * 100 // rows if rows else 100
    message = f"imported {end}/{rows} rows"
    if end >= rows:
        report_progress(call, percent, message)  # the final answer carries no progress
        return 200, {"imported": rows}, {}
    return 202, {"continue": {"state": {"offset": end},
                              "progress": {"percent": percent, "message": message}}}, {}


def report_progress(call, percent, message):
    """Progress from inside a call (a long call may report as often as it
    likes): no API key, the call's lease_id authorizes it. A failure here is
    not the job's."""
    body = json.dumps({"lease_id": call["lease_id"], "percent": percent, "message": message})
    for url in ERRAND_URLS:  # the next only when one cannot be reached or answers 503
        req = urllib.request.Request(f"{url}/v1/jobs/{call['job']['id']}/progress",
                                     data=body.encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                resp.read()
            return
        except urllib.error.HTTPError as e:
            print(f"progress not recorded by {url}: HTTP {e.code} {e.read().decode(errors='replace')}",
                  file=sys.stderr)
            if e.code != 503:
                return
        except OSError as e:
            print(f"progress not sent to {url}: {e}", file=sys.stderr)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: Errand reuses connections

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not verify(self.headers.get("Errand-Signature"), body, SECRET):
            return self.send(401, {"error": "bad or expired signature"})
        try:
            self.send(*work(json.loads(body)))
        except Exception as e:  # Errand retries the call with backoff
            self.send(500, {"error": str(e)})

    def send(self, status, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main():
    if not SECRET:
        sys.exit("set ERRAND_PUSH_SECRET to the queue's secret (GET /v1/queues/{q}/push-secret)")
    port = int(os.environ.get("PORT", "3000"))
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
