"""A scriptable HTTP(S) endpoint that stands in for an app's push handler.

`PushEndpoint` serves on 127.0.0.1, port 0, from a ThreadingHTTPServer in a
thread of the test process. It records every call it gets (`Call`: arrival
order, headers, raw and parsed body, whether the Errand-Signature verified
against `secret` when one is set), counts the calls in flight and the most
seen at once, and answers each as `behaviour(call)` says: `(status, headers,
body)`, body a JSON value, a str or bytes (None: empty). A behaviour runs in
the call's own thread and may block, e.g. on `hold()` until `release` is set
(time-out and concurrency tests); `stop()` releases every hold.

A call counts as in flight from its arrival until its answer is decided (just
before the answer is written), so the count never exceeds the calls the
server has open.

`make_test_certs(dir)` creates a test CA and a server certificate for
localhost and 127.0.0.1 with the `openssl` command line; pass the result as
`tls=` for an HTTPS endpoint.

Standard library only.
"""

import hashlib
import hmac
import json
import os
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness import poll_until


def sign(secret, t, body):
    """The v1 signature of a call: hex HMAC-SHA256 of b"<t>." + body."""
    return hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


def parse_signature(header):
    """"t=<unix>,v1=<hex>[,v1=<hex>]" -> (t as str or None, [v1 …]) in header order."""
    t, v1 = None, []
    for part in (header or "").split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            t = value
        elif key == "v1":
            v1.append(value)
    return t, v1


def signature_valid(header, body, secret):
    """True if any v1 of the header signs body with secret (the time is not checked)."""
    t, v1 = parse_signature(header)
    if t is None:
        return False
    expected = sign(secret, t, body)
    return any(hmac.compare_digest(s, expected) for s in v1)


class Call:
    """One request the endpoint received."""

    def __init__(self, index, method, path, headers, raw):
        self.index = index  # arrival order, from 0
        self.method = method
        self.path = path
        self.headers = headers  # lower-case name -> value
        self.raw = raw  # the exact body bytes
        self.arrived = time.time()
        try:
            self.body = json.loads(raw) if raw else None
        except ValueError:
            self.body = None
        self.signature_ok = None  # set when the endpoint has a secret

    @property
    def job_id(self):
        return self.headers.get("errand-job-id")

    @property
    def continuation(self):
        return (self.body or {}).get("continuation")

    @property
    def state(self):
        return (self.body or {}).get("state")

    def __repr__(self):
        return f"Call({self.index}, job={self.job_id}, continuation={self.continuation})"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.server.endpoint._serve(self)

    do_GET = do_PUT = do_DELETE = do_PATCH = do_POST

    def log_message(self, format, *args):
        pass

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    tls_context = None

    def get_request(self):
        sock, addr = super().get_request()
        if self.tls_context is not None:
            # The handshake happens in the call's thread (on first read), so a
            # client that never finishes it cannot stall the accept loop.
            sock = self.tls_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request, client_address):
        pass  # a client that went away (a time-out, a refused certificate)


def hold_then(event, answer, timeout=60):
    """A behaviour that waits for `event`, then gives `answer` (a tuple, or a
    function of the call returning one)."""
    def behaviour(call):
        event.wait(timeout)
        return answer(call) if callable(answer) else answer
    return behaviour


class PushEndpoint:
    """See the module comment. Use as a context manager, or start()/stop()."""

    def __init__(self, behaviour=(200, {}, {}), secret=None, tls=None, host="127.0.0.1", path="/hook"):
        self.behaviour = behaviour
        self.secret = secret
        self.url_host = host
        self.path = path
        self.calls = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.release = threading.Event()
        self._cond = threading.Condition()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.endpoint = self
        self.scheme = "http"
        if tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls["cert"], tls["key"])
            self._httpd.tls_context = ctx
            self.scheme = "https"
        self.port = self._httpd.server_address[1]
        self._thread = None

    @property
    def url(self):
        return f"{self.scheme}://{self.url_host}:{self.port}{self.path}"

    def start(self):
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="push-endpoint", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self.release.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(10)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    # ---- behaviours and waits ----------------------------------------------

    def hold(self, answer=(200, {}, {})):
        """A behaviour: hold each call until `release` is set, then answer."""
        return hold_then(self.release, answer)

    def wait_in_flight(self, n, timeout):
        """Blocks until at least n calls are in flight or timeout passes; returns
        whether n were reached. For behaviours that answer once a wave is in."""
        with self._cond:
            return self._cond.wait_for(lambda: self.in_flight >= n, timeout)

    def wait_calls(self, n, timeout=30):
        """Polls until n calls have arrived; returns the list of calls."""
        return poll_until(lambda: self.calls[:] if len(self.calls) >= n else None, timeout,
                          message=f"{n} calls at {self.url} (got {len(self.calls)})")

    def calls_for(self, job_id):
        return [c for c in self.calls[:] if c.job_id == job_id]

    # ---- serving ---------------------------------------------------------------

    def _serve(self, request):
        raw = request.read_body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        with self._cond:
            call = Call(len(self.calls), request.command, request.path, headers, raw)
            if self.secret is not None:
                call.signature_ok = signature_valid(headers.get("errand-signature"), raw, self.secret)
            self.calls.append(call)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self._cond.notify_all()
        try:
            answer = self.behaviour(call) if callable(self.behaviour) else self.behaviour
        except Exception as e:  # a bug in a test's behaviour: answer it, visibly
            answer = (599, {}, f"behaviour raised {e!r}")
        finally:
            with self._cond:
                self.in_flight -= 1
                self._cond.notify_all()
        status, extra_headers, body = answer
        if body is None:
            data = b""
        elif isinstance(body, bytes):
            data = body
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = json.dumps(body).encode()
        try:
            request.send_response(status)
            if not any(k.lower() == "content-type" for k in extra_headers) and data:
                request.send_header("Content-Type", "application/json" if not isinstance(body, (str, bytes))
                                    else "text/plain")
            for name, value in extra_headers.items():
                request.send_header(name, value)
            request.send_header("Content-Length", str(len(data)))
            request.end_headers()
            request.wfile.write(data)
            request.wfile.flush()
        except OSError:
            request.close_connection = True  # the server gave up on this call


def free_port():
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_test_certs(directory):
    """A test CA and a server certificate (localhost, 127.0.0.1) signed by it,
    made with the openssl command line in `directory`. Returns
    {"ca": ca.pem, "cert": server.pem, "key": server.key} (paths)."""
    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    def path(name):
        return os.path.join(directory, name)

    with open(path("ca.cnf"), "w") as f:
        f.write("[req]\ndistinguished_name = dn\nx509_extensions = ca\nprompt = no\n"
                "[dn]\nCN = Errand test CA\n"
                "[ca]\nbasicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\n"
                "subjectKeyIdentifier = hash\n")
    with open(path("server.ext"), "w") as f:
        f.write("basicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature, keyEncipherment\n"
                "extendedKeyUsage = serverAuth\nsubjectAltName = DNS:localhost, IP:127.0.0.1\n"
                "authorityKeyIdentifier = keyid\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-config", "ca.cnf", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2")
    openssl("req", "-new", *ec, "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-extfile", "server.ext", "-out", "server.pem", "-days", "2")
    return {"ca": path("ca.pem"), "cert": path("server.pem"), "key": path("server.key")}
