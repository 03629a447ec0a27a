"""Test harness for Errand's integration tests: runs the real `errand` binary.

`ErrandServer` starts `errand server` on a free loopback port (port 0) with its
own data directory, waits for the "errand listening on http[s]://HOST:PORT" line,
and keeps draining the server's output to a log file in the data directory (so
a chatty server never blocks on a full pipe). `request()` speaks HTTP/1.1 with
keep-alive over http.client, one connection per calling thread.

`poll_until()` is the only way tests wait for a condition: it polls with a
deadline instead of sleeping a fixed time.

The binary comes from the environment variable ERRAND_BIN (ctest sets it).

The store: SQLite in the data directory unless ERRAND_TEST_STORE=postgres.
Then every server runs with `--store URL&schema=s_…` instead of `--data DIR`:
the URL of a PostgreSQL database from ERRAND_TEST_POSTGRES, or read from the
file named by ERRAND_TEST_POSTGRES_URL_FILE (the ctest fixture `postgres`
writes one), with a fresh schema for each data directory — so a server
restarted on the same data directory, or a second one given it, finds the
same jobs. The data directory then holds only the server's log. The schemas
this process made are dropped when it exits (kept with ERRAND_TEST_KEEP_SCHEMAS=1).
Tests that reach into the store use `server.sql()` and `server.store_exists()`;
those that only make sense on SQLite's files are marked `@sqlite_only(reason)`.

Every answer `request()` receives is validated against the API's OpenAPI
document (openapi_check.py, docs/openapi.yaml): an answer it does not
describe fails the test that received it.

Standard library only, apart from psycopg (python3-psycopg) on PostgreSQL,
and PyYAML and jsonschema (python3-yaml, python3-jsonschema) for the check.
"""

import atexit
import http.client
import itertools
import json
import os
import re
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

import openapi_check

LISTENING_RE = re.compile(r"errand listening on (https?://\S+)")
_NO_KEY = object()
_live_servers = set()


STORE = os.environ.get("ERRAND_TEST_STORE") or "sqlite"
if STORE not in ("sqlite", "postgres"):
    raise RuntimeError(f"ERRAND_TEST_STORE={STORE!r}: expected sqlite or postgres")
ON_POSTGRES = STORE == "postgres"
_pg_schemas = {}  # realpath of a data directory -> its schema
_pg_schema_serial = itertools.count(1)


def sqlite_only(reason):
    """Marks a test or class that only makes sense on SQLite (its files, their modes)."""
    return unittest.skipIf(ON_POSTGRES, f"SQLite only: {reason}")


@atexit.register
def _kill_leftover_servers():
    """A test process that dies without cleaning up must not leave servers
    behind; then the schemas it made go."""
    for server in list(_live_servers):
        server.cleanup()
    if _pg_schemas and not os.environ.get("ERRAND_TEST_KEEP_SCHEMAS"):
        _drop_pg_schemas(list(_pg_schemas.values()))


def postgres_base_url():
    """The libpq URL of the test database (without a schema)."""
    url = os.environ.get("ERRAND_TEST_POSTGRES", "")
    path = os.environ.get("ERRAND_TEST_POSTGRES_URL_FILE", "")
    if not url and path:
        try:
            with open(path, encoding="utf-8") as f:
                url = f.read().strip()
        except OSError as e:
            raise RuntimeError(f"ERRAND_TEST_POSTGRES_URL_FILE={path!r}: {e} (ctest's fixture `postgres` "
                               "writes it; scripts/pg-cluster.sh start DIR makes a cluster by hand)") from None
    if not url:
        raise RuntimeError("set ERRAND_TEST_POSTGRES to a PostgreSQL URL, or ERRAND_TEST_POSTGRES_URL_FILE "
                           "to a file holding one (ctest does this)")
    return re.sub(r"([?&])schema=[^&]*&?", r"\1", url).rstrip("?&")


def _pg_schema_for(data_dir):
    """The schema of a data directory: made up on first use, then the same."""
    key = os.path.realpath(data_dir)
    if key not in _pg_schemas:
        _pg_schemas[key] = f"s_{os.getpid()}_{next(_pg_schema_serial)}_{secrets.token_hex(3)}"
    return _pg_schemas[key]


def _pg_connect(schema=None):
    try:
        import psycopg
    except ImportError as e:
        raise RuntimeError(f"{e}: the PostgreSQL tests need python3-psycopg (scripts/install-deps.sh test)") from e
    options = f"-c search_path={schema}" if schema else None
    return psycopg.connect(postgres_base_url(), autocommit=True, connect_timeout=10, options=options)


def _drop_pg_schemas(schemas):
    try:
        with _pg_connect() as conn:
            conn.execute("SET lock_timeout = '10s'")
            for schema in schemas:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    except Exception as e:  # the cluster may be gone already; the fixture drops it all anyway
        print(f"harness: could not drop the test schemas {schemas}: {e}", file=sys.stderr)


def errand_bin():
    path = os.environ.get("ERRAND_BIN", "")
    if not path:
        raise RuntimeError("set ERRAND_BIN to the errand binary (ctest does this)")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"ERRAND_BIN={path!r} is not an executable file")
    return path


def poll_until(fn, timeout, interval=0.01, message=None):
    """Calls fn() until it returns a truthy value and returns that value.

    Raises AssertionError naming the last value seen when `timeout` seconds
    pass first. Exceptions from fn propagate.
    """
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() >= deadline:
            what = message or getattr(fn, "__name__", "condition")
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")
        time.sleep(interval)


def read_sse_event(resp, on_comment=None):
    """The next server-sent event of an http.client response as {"event",
    "id", "data"} (data parsed from JSON; None when the event has none), or
    None at the end of the stream. on_comment() is called for each comment
    (keep-alive) line."""
    event = {}
    while True:
        line = resp.readline()
        if not line:
            return None
        line = line.decode().rstrip("\r\n")
        if line == "":
            if event:
                event["data"] = json.loads(event.get("data", "null"))
                return event
            continue
        if line.startswith(":"):
            if on_comment:
                on_comment()
            continue
        name, _, value = line.partition(":")
        event[name] = value[1:] if value.startswith(" ") else value


def dead_url():
    """A loopback URL where nothing listens (a port bound, then let go): every
    connection to it is refused. For clients given a dead server first."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class Response(tuple):
    """(status, body, headers): body is parsed JSON when it parses, else text."""

    __slots__ = ()

    def __new__(cls, status, body, headers):
        return super().__new__(cls, (status, body, headers))

    @property
    def status(self):
        return self[0]

    @property
    def body(self):
        return self[1]

    @property
    def headers(self):
        return self[2]


class Connection:
    """One keep-alive HTTP/1.1 connection to the server. Not thread-safe.

    check_openapi=False for a server that is not Errand (an example app).
    ssl_context: speak HTTPS with it (an ssl.SSLContext trusting the server's CA)."""

    def __init__(self, host, port, timeout=30, check_openapi=True, ssl_context=None):
        self.host, self.port, self.timeout = host, port, timeout
        self.check_openapi = check_openapi
        self.ssl_context = ssl_context
        self._conn = None
        self._used = False

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(self, method, path, body=None, key=None, headers=None, timeout=None, retry=True):
        """Sends one request; returns Response(status, json_or_text, headers).

        `body`: dict/list/number/None (sent as JSON), or str/bytes sent as is.
        `key`: sent as "Authorization: Bearer <key>" when not None.
        A reused keep-alive connection that the server closed in the meantime
        is reopened and the request sent once more (unless retry=False).
        """
        hdrs = {}
        payload = None
        if body is not None:
            if isinstance(body, (bytes, bytearray)):
                payload = bytes(body)
            elif isinstance(body, str):
                payload = body.encode()
            else:
                payload = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        if key is not None:
            hdrs["Authorization"] = f"Bearer {key}"
        if headers:
            hdrs.update(headers)
        try:
            return self._send(method, path, payload, hdrs, timeout)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                http.client.CannotSendRequest, http.client.BadStatusLine):
            reused = self._used
            self.close()
            if not (retry and reused):
                raise
            return self._send(method, path, payload, hdrs, timeout)

    def _send(self, method, path, payload, hdrs, timeout):
        if self._conn is None:
            if self.ssl_context is not None:
                self._conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout,
                                                         context=self.ssl_context)
            else:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self._used = False
        self._conn.timeout = timeout or self.timeout
        if self._conn.sock is not None:
            self._conn.sock.settimeout(self._conn.timeout)
        try:
            self._conn.request(method, path, body=payload, headers=hdrs)
            resp = self._conn.getresponse()
            raw = resp.read()
        except Exception:
            self.close()
            raise
        self._used = True
        if resp.will_close:
            self.close()
        text = raw.decode("utf-8", errors="replace")
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = text
        # Every answer a test receives is checked against docs/openapi.yaml.
        if self.check_openapi:
            openapi_check.check_answer(method, path, resp.status, resp.getheader("Content-Type"), parsed)
        return Response(resp.status, parsed, {k.lower(): v for k, v in resp.getheaders()})


class ServerError(AssertionError):
    pass


class ErrandServer:
    """The real `errand server` on a free loopback port, with its own data dir
    (and, on PostgreSQL, that data dir's own schema).

    keys: ("admin:secret", ...) or (("admin", "secret"), ...). When an admin
    key is configured, request() sends it unless told otherwise (key=None
    sends no Authorization header).

    ssl_context: an ssl.SSLContext trusting the server's certificate, for a
    server started with --tls-cert/--tls-key (its url is then https://).
    """

    def __init__(self, data_dir=None, keys=(), extra_args=(), listen="127.0.0.1:0", env=None,
                 start_timeout=20, preexec_fn=None, ssl_context=None):
        self._tmp = None
        if data_dir is None:
            self._tmp = tempfile.mkdtemp(prefix="errand-it-")
            data_dir = os.path.join(self._tmp, "data")
        self.data_dir = data_dir
        os.makedirs(self.data_dir, exist_ok=True)
        self.keys = [k if isinstance(k, str) else f"{k[0]}:{k[1]}" for k in keys]
        admin = [k.split(":", 1)[1] for k in self.keys if k.split(":", 1)[0] == "admin"]
        self.default_key = admin[0] if admin else None
        self.extra_args = list(extra_args)
        self.listen = listen
        self.env = env
        self.start_timeout = start_timeout
        self.preexec_fn = preexec_fn  # runs in the child before exec (e.g. lower a resource limit)
        self.ssl_context = ssl_context
        self.proc = None
        self.url = None
        self.host = None
        self.port = None
        self.store = STORE
        self.pg_schema = _pg_schema_for(self.data_dir) if ON_POSTGRES else None
        self.log_path = os.path.join(self.data_dir, "errand-test-server.log")
        self._drain = None
        self._local = threading.local()
        self._conns = []
        self._conns_lock = threading.Lock()
        self.exit_code = None

    # ---- process control --------------------------------------------------

    def store_url(self):
        """On PostgreSQL: the --store URL, the test database's with this server's schema."""
        base = postgres_base_url()
        return f"{base}{'&' if '?' in base else '?'}schema={self.pg_schema}"

    def command(self):
        store = ["--store", self.store_url()] if ON_POSTGRES else ["--data", self.data_dir]
        cmd = [errand_bin(), "server", "--listen", self.listen, *store]
        for k in self.keys:
            cmd += ["--key", k]
        # Text logs, as on a terminal, unless the test asks for another format
        # (the default, auto, writes JSON to a pipe).
        if "--log-format" not in self.extra_args:
            cmd += ["--log-format", "text"]
        return cmd + self.extra_args

    def start(self):
        """Spawns the server and waits for its listening line. Raises
        ServerError (with the output) if it exits or stays silent."""
        if self.proc is not None and self.proc.poll() is None:
            raise ServerError("already running")
        env = dict(os.environ)
        env.pop("ERRAND_KEYS", None)
        if self.env:
            env.update(self.env)
        log = open(self.log_path, "ab", buffering=0)
        log.write(f"==== start {' '.join(self.command())}\n".encode())
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, env=env, preexec_fn=self.preexec_fn)
        _live_servers.add(self)
        self.exit_code = None
        found = threading.Event()
        box = {}

        def drain(proc=self.proc):
            try:
                for line in iter(proc.stdout.readline, b""):
                    log.write(line)
                    if not found.is_set():
                        m = LISTENING_RE.search(line.decode("utf-8", "replace"))
                        if m:
                            box["url"] = m.group(1)
                            found.set()
            finally:
                proc.stdout.close()
                log.close()
                found.set()

        self._drain = threading.Thread(target=drain, name="errand-output", daemon=True)
        self._drain.start()
        deadline = time.monotonic() + self.start_timeout
        while not found.wait(0.05):
            if time.monotonic() > deadline:
                self.kill9()
                raise ServerError(f"no listening line within {self.start_timeout}s:\n{self.log_tail()}")
        if "url" not in box:
            code = self.proc.wait(10)
            self.exit_code = code
            raise ServerError(f"server exited with {code} before listening:\n{self.log_tail()}")
        self.url = box["url"].rstrip("/")
        parsed = urllib.parse.urlsplit(self.url)
        host = parsed.hostname
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        self.host, self.port = host, parsed.port
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout=20):
        """Waits for the process to exit; returns its exit code."""
        code = self.proc.wait(timeout)
        if self._drain is not None:
            self._drain.join(5)
        self.exit_code = code
        self._close_connections()
        return code

    def kill9(self):
        """SIGKILL: the server gets no chance to flush or clean up."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        if self.proc is not None:
            return self.wait()
        return None

    def stop(self, timeout=20, sig=signal.SIGTERM):
        """Graceful stop (SIGTERM); returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                return self.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill9()
                raise ServerError(f"server did not exit within {timeout}s of {sig!r}:\n{self.log_tail()}")
        return self.wait()

    def restart(self):
        """Stops (gracefully if still running) and starts again on the same data dir (or schema)."""
        if self.running():
            self.stop()
        return self.start()

    def cleanup(self):
        if self.proc is not None and self.proc.poll() is not None and self.exit_code is None:
            # Nobody stopped it: it crashed or exited on its own. Show why.
            log(f"\n!!! errand exited by itself with code {self.proc.returncode}; last output:\n{self.log_tail()}")
        if self.proc is not None and self.proc.poll() is None:
            self.kill9()
        self._close_connections()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
        _live_servers.discard(self)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.cleanup()
            raise

    def __exit__(self, *exc):
        self.cleanup()
        return False

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, lines=40):
        return "\n".join(self.log_text().splitlines()[-lines:])

    # ---- the store, directly -------------------------------------------------

    def store_exists(self):
        """Whether a server has created its store: SQLite's database file, or
        the PostgreSQL schema."""
        if not ON_POSTGRES:
            return os.path.exists(os.path.join(self.data_dir, "errand.db"))
        with _pg_connect() as conn:
            return conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (self.pg_schema,)).fetchone() is not None

    def sql(self, query, *params):
        """Runs one statement on the server's store, behind its back (SQLite:
        the database file; PostgreSQL: its schema first on the search path),
        commits, and returns the rows as a list of tuples. `?` marks a
        parameter on both (on PostgreSQL every `?` is one)."""
        if not ON_POSTGRES:
            db = sqlite3.connect(os.path.join(self.data_dir, "errand.db"), timeout=30)
            try:
                with db:
                    return db.execute(query, params).fetchall()
            finally:
                db.close()
        if params:
            query = query.replace("%", "%%").replace("?", "%s")
        with _pg_connect(self.pg_schema) as conn:
            cur = conn.execute(query, params or None)
            return cur.fetchall() if cur.description else []

    # ---- HTTP ---------------------------------------------------------------

    def connection(self, timeout=30):
        """A new connection of the caller's own (for threads and raw tests)."""
        conn = Connection(self.host, self.port, timeout, ssl_context=self.ssl_context)
        with self._conns_lock:
            self._conns.append(conn)
        return conn

    def _thread_connection(self):
        conn = getattr(self._local, "conn", None)
        if conn is None or (conn.host, conn.port) != (self.host, self.port):
            conn = self.connection()
            self._local.conn = conn
        return conn

    def _close_connections(self):
        with self._conns_lock:
            conns, self._conns = self._conns, []
        for c in conns:
            c.close()
        self._local = threading.local()

    def request(self, method, path, body=None, key=_NO_KEY, headers=None, timeout=None, retry=True):
        """(status, json_or_text, headers) over this thread's keep-alive connection."""
        if key is _NO_KEY:
            key = self.default_key
        return self._thread_connection().request(method, path, body, key, headers, timeout, retry)

    # ---- conveniences that assert the documented success status -------------

    def _ok(self, resp, expected, what):
        if resp.status not in expected:
            raise ServerError(f"{what}: expected {expected}, got {resp.status} {resp.body!r}")
        return resp.body

    def enqueue(self, queue, key=_NO_KEY, **fields):
        body = dict(fields, queue=queue)
        return self._ok(self.request("POST", "/v1/jobs", body, key=key), (202,), f"enqueue {body}")

    def enqueue_batch(self, jobs, key=_NO_KEY):
        return self._ok(self.request("POST", "/v1/jobs/batch", {"jobs": jobs}, key=key), (202,),
                        "batch enqueue")["jobs"]

    def get_job(self, job_id, key=_NO_KEY):
        return self._ok(self.request("GET", f"/v1/jobs/{job_id}", key=key), (200,), f"get {job_id}")

    def claim(self, queues, worker="w1", key=_NO_KEY, timeout=None, **fields):
        if isinstance(queues, str):
            queues = [queues]
        body = dict(fields, queues=list(queues), worker=worker)
        return self._ok(self.request("POST", "/v1/claim", body, key=key, timeout=timeout), (200,),
                        f"claim {body}")["jobs"]

    def claim_one(self, queue, worker="w1", timeout=10, **fields):
        """Polls claim until one job comes back; returns it."""
        return poll_until(lambda: (self.claim(queue, worker, **fields) or [None])[0], timeout,
                          interval=0.02, message=f"a job to claim in {queue!r}")

    def complete(self, job, result=None, key=_NO_KEY):
        body = {"lease_id": job["lease_id"]}
        if result is not None:
            body["result"] = result
        return self._ok(self.request("POST", f"/v1/jobs/{job['id']}/complete", body, key=key), (200,),
                        f"complete {job['id']}")

    def fail(self, job, error="boom", key=_NO_KEY, **fields):
        body = dict(fields, lease_id=job["lease_id"], error=error)
        return self._ok(self.request("POST", f"/v1/jobs/{job['id']}/fail", body, key=key), (200,),
                        f"fail {job['id']}")

    def queues(self, key=_NO_KEY):
        """Every queue: GET /v1/queues page after page, following next_cursor."""
        out, cursor = [], ""
        while True:
            path = "/v1/queues?limit=1000" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
            page = self._ok(self.request("GET", path, key=key), (200,), "list queues")
            out += page["queues"]
            cursor = page.get("next_cursor") or ""
            if not cursor:
                return out

    def queue(self, name, key=_NO_KEY):
        """The queue's entry from GET /v1/queues, or None if it does not exist."""
        for q in self.queues(key=key):
            if q.get("name") == name:
                return q
        return None

    def counts(self, name, key=_NO_KEY):
        """Per-state counts of one queue; all zero when the queue does not exist."""
        q = self.queue(name, key=key)
        states = ("scheduled", "queued", "running", "succeeded", "failed", "dead", "cancelled",
                  "blocked", "waiting")
        if q is None:
            return {s: 0 for s in states}
        return {s: q["counts"].get(s, 0) for s in states}

    def list_all(self, limit=1000, key=_NO_KEY, include="payload", **filters):
        """Every job matching the filters, following next_cursor."""
        jobs, cursor = [], None
        for _ in range(10_000):
            params = dict(filters, limit=limit)
            if include:
                params["include"] = include
            if cursor:
                params["cursor"] = cursor
            page = self._ok(self.request("GET", "/v1/jobs?" + urllib.parse.urlencode(params), key=key),
                            (200,), f"list {params}")
            jobs += page["jobs"]
            cursor = page.get("next_cursor")
            if not cursor:
                return jobs
        raise ServerError("list did not end")


def parse_time(text):
    """RFC 3339 as the server writes it -> seconds since the epoch (float)."""
    from datetime import datetime

    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text).timestamp()


def log(*args):
    """Prints a measurement to the test output (stderr, so unittest -v shows it)."""
    print(*args, file=sys.stderr, flush=True)


class ErrandTestCase(unittest.TestCase):
    """Assertions shared by the suites."""

    maxDiff = None

    def assertError(self, resp, status, code, field=None, fields=None):
        """The documented error shape: {"error": {"code", "message", "field"?}}.

        `field`: the exact field the error must name; `fields`: any of these.
        """
        got_status, body, _ = resp
        self.assertEqual(got_status, status, f"expected {status} {code}, got {got_status} {body!r}")
        self.assertIsInstance(body, dict, f"error body is not JSON: {body!r}")
        self.assertIn("error", body, body)
        err = body["error"]
        self.assertEqual(err.get("code"), code, body)
        self.assertIsInstance(err.get("message"), str, body)
        self.assertTrue(err["message"], body)
        if field is not None:
            self.assertEqual(err.get("field"), field, body)
        if fields is not None:
            self.assertIn(err.get("field"), fields, body)
        return err

    def assertStatus(self, resp, status, what=""):
        self.assertEqual(resp[0], status, f"{what}: {resp[0]} {resp[1]!r}")
        return resp[1]


class SharedServerTestCase(ErrandTestCase):
    """One server for the whole class, restarted if a test brings it down.

    A test during which the server dies fails with the server's last output,
    and the next test gets a fresh process on the same data directory, so one
    crash is reported once instead of failing every later test.
    """

    server = None

    @classmethod
    def make_server(cls):
        return ErrandServer()

    @classmethod
    def setUpClass(cls):
        cls.server = cls.make_server()
        cls.server.__enter__()

    @classmethod
    def tearDownClass(cls):
        if cls.server is not None:
            cls.server.__exit__(None, None, None)

    def setUp(self):
        if not self._alive():
            self.server.kill9()
            self.server.start()
        self.addCleanup(self._check_server_alive)

    def _alive(self):
        """Running and answering (a crashed process may not have been reaped yet)."""
        if not self.server.running():
            return False
        conn = self.server.connection(timeout=10)
        try:
            return conn.request("GET", "/healthz", retry=False).status in (200, 503)
        except (OSError, http.client.HTTPException):
            return False
        finally:
            conn.close()

    def _check_server_alive(self):
        if not self._alive():
            try:
                code = self.server.proc.wait(10)
            except subprocess.TimeoutExpired:
                code = "none: still running but not answering"
            self.fail(f"errand died during this test (exit code {code}); last output:\n{self.server.log_tail()}")
