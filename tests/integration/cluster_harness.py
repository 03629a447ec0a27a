"""Several `errand server` nodes on one PostgreSQL, as the tests of "many
nodes" need them.

`ErrandCluster` starts N nodes (`ErrandNode`, an ErrandServer) with the same
store URL and the same `?schema=` — one service — each on a loopback port of
its own that it keeps across restarts, so a client holding the nodes' URLs
finds a restarted node where it was. One node can be stopped, killed with
SIGKILL and started again while the others serve. The database is the ctest
fixture's cluster (ERRAND_TEST_POSTGRES_URL_FILE or ERRAND_TEST_POSTGRES, as
harness.py reads it), in a schema of the cluster's own that `cleanup()` drops;
or a `PostgresCluster` of the test's own, for tests that crash-restart
PostgreSQL (`pg_ctl restart -m immediate`) and must not disturb the suites
sharing the fixture.

`FailoverClient` speaks HTTP to whichever node answers: it holds every node's
URL and moves to the next one when a connection fails, as a client of a
load balancer or of `errand --server A,B,C` does.

Standard library only, apart from psycopg (python3-psycopg).
"""

import http.client
import os
import random
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.parse

import harness
from harness import Connection, ErrandServer, errand_bin, postgres_base_url

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PG_CLUSTER = os.path.join(REPO, "scripts", "pg-cluster.sh")
PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
PG_USER = os.environ.get("PG_CLUSTER_USER", "postgres")
# What a request to a node that is down (or going down) raises.
TRANSPORT_ERRORS = (OSError, http.client.HTTPException)


def as_cluster_owner(*cmd):
    """The command as the user PostgreSQL runs as (it refuses root)."""
    if os.getuid() == 0:
        return ["runuser", "-u", PG_USER, "--", *cmd]
    return list(cmd)


def with_schema(url, schema):
    url = re.sub(r"([?&])schema=[^&]*&?", r"\1", url).rstrip("?&")
    return f"{url}{'&' if '?' in url else '?'}schema={schema}"


class PostgresCluster:
    """A PostgreSQL cluster of the test's own (scripts/pg-cluster.sh in a
    short /tmp directory), for tests that restart or stop the database."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="errand-pgf-", dir="/tmp")
        out = subprocess.run([PG_CLUSTER, "start", self.dir, "--tcp"], capture_output=True, text=True,
                             timeout=180)
        if out.returncode != 0:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise RuntimeError(f"pg-cluster.sh start failed: {out.stderr}")
        self.url = out.stdout.strip()
        with open(os.path.join(self.dir, "tcp-url"), encoding="utf-8") as f:
            self.tcp_url = f.read().strip()
        self.port = int(urllib.parse.urlsplit(self.tcp_url).port)

    def pg_ctl(self, *args, timeout=120):
        cmd = as_cluster_owner(os.path.join(PG_BIN, "pg_ctl"), "-D", os.path.join(self.dir, "data"), *args)
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=self.dir)
        if out.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)}: {out.stdout}{out.stderr}")

    def restart_immediate(self):
        """Crash-restart: every session is cut, nothing is shut down cleanly."""
        self.pg_ctl("restart", "-m", "immediate", "-w", "-l", os.path.join(self.dir, "log"))

    def stop_immediate(self):
        self.pg_ctl("stop", "-m", "immediate", "-w")

    def start(self):
        self.pg_ctl("start", "-w", "-l", os.path.join(self.dir, "log"))

    def running(self):
        return subprocess.run([PG_CLUSTER, "status", self.dir], capture_output=True).returncode == 0

    def superuser_sql(self, query):
        """One statement as the superuser over the Unix socket (trusted)."""
        subprocess.run([os.path.join(PG_BIN, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.dir,
                        "-p", str(self.port), "-U", "postgres", "-d", "errand", "-c", query],
                       check=True, capture_output=True, timeout=60)

    def destroy(self):
        subprocess.run([PG_CLUSTER, "stop", self.dir], capture_output=True, timeout=180)
        shutil.rmtree(self.dir, ignore_errors=True)


# ---- ports a node keeps across restarts ---------------------------------------

_ports_taken = set()
_ports_lock = threading.Lock()


def node_port():
    """A loopback port free now, below the ephemeral range (32768 and up on
    Linux), so no client connection of this machine takes it as its own
    source port while the node is down between a kill and its restart."""
    for _ in range(1000):
        port = random.randint(20000, 32000)
        with _ports_lock:
            if port in _ports_taken:
                continue
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        with _ports_lock:
            _ports_taken.add(port)
        return port
    raise RuntimeError("found no free port for a node")


class ErrandNode(ErrandServer):
    """One node of an ErrandCluster: `errand server --store URL&schema=S
    --listen 127.0.0.1:PORT`, PORT its own for its whole life."""

    def __init__(self, cluster, index, port, env=None, extra_args=()):
        super().__init__(keys=cluster.keys, extra_args=[*cluster.extra_args, *extra_args],
                         listen=f"127.0.0.1:{port}", env={**(cluster.env or {}), **(env or {})},
                         start_timeout=60)
        self.cluster = cluster
        self.index = index
        self.pg_schema = cluster.schema
        self.fixed_url = f"http://127.0.0.1:{port}"

    def store_url(self):
        return with_schema(self.cluster.base_url, self.cluster.schema)

    def command(self):
        cmd = [errand_bin(), "server", "--listen", self.listen, "--store", self.store_url()]
        for k in self.keys:
            cmd += ["--key", k]
        return cmd + self.extra_args

    def sql(self, query, *params):
        return self.cluster.sql(query, *params)

    def store_exists(self):
        return self.cluster.schema_exists()

    def __repr__(self):
        return f"node {self.index + 1} ({self.fixed_url})"


class ErrandCluster:
    """N `errand server` nodes sharing one PostgreSQL schema (see the module).

    `postgres`: a PostgresCluster of the test's own, or None for the ctest
    fixture's database. `keys`: every node gets the same ones (as a real
    deployment must). `node_env`: {index: {VAR: value}} for single nodes.
    """

    def __init__(self, nodes=3, postgres=None, keys=(), extra_args=(), env=None, node_env=None,
                 node_args=None):
        self.postgres = postgres
        self.base_url = postgres.url if postgres is not None else postgres_base_url()
        self.schema = f"n_{os.getpid()}_{secrets.token_hex(4)}"
        self.keys = list(keys)
        self.extra_args = list(extra_args)
        self.env = env
        self.nodes = [ErrandNode(self, i, node_port(), env=(node_env or {}).get(i),
                                 extra_args=(node_args or {}).get(i, ()))
                      for i in range(nodes)]

    # ---- the nodes ------------------------------------------------------------

    @property
    def urls(self):
        return [n.fixed_url for n in self.nodes]

    def __getitem__(self, index):
        return self.nodes[index]

    def __len__(self):
        return len(self.nodes)

    def start(self):
        """Starts every node that is not running, at once (the first start of
        the schema migrates it, under PostgreSQL's advisory lock)."""
        errors = []

        def start_one(node):
            try:
                node.start()
            except Exception as e:  # reported below, with the node named
                errors.append(f"{node}: {e}")

        threads = [threading.Thread(target=start_one, args=(n,)) for n in self.nodes if not n.running()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise harness.ServerError("\n".join(errors))
        return self

    def start_node(self, index):
        return self.nodes[index].start()

    def stop_node(self, index, timeout=30):
        return self.nodes[index].stop(timeout=timeout)

    def kill9(self, index):
        """SIGKILL: the node's sessions drop, its leases stay in the database."""
        return self.nodes[index].kill9()

    def restart_node(self, index):
        node = self.nodes[index]
        if node.running():
            node.kill9()
        return node.start()

    def running_nodes(self):
        return [n for n in self.nodes if n.running()]

    def cleanup(self):
        for node in self.nodes:
            node.cleanup()
        if os.environ.get("ERRAND_TEST_KEEP_SCHEMAS"):
            return
        if self.postgres is not None and not self.postgres.running():
            return
        try:
            with self._connect() as conn:
                conn.execute("SET lock_timeout = '10s'")
                conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
        except Exception as e:  # the fixture drops everything anyway
            print(f"cluster: could not drop schema {self.schema}: {e}", file=sys.stderr)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.cleanup()
            raise

    def __exit__(self, *exc):
        self.cleanup()
        return False

    def log_tails(self, lines=30):
        return "\n".join(f"--- {n} (last {lines} lines)\n{n.log_tail(lines)}" for n in self.nodes)

    # ---- the database ------------------------------------------------------------

    def _connect(self, schema=None):
        import psycopg

        options = f"-c search_path={schema}" if schema else None
        return psycopg.connect(self.base_url, autocommit=True, connect_timeout=10, options=options)

    def sql(self, query, *params):
        """One statement in the cluster's schema; `?` marks a parameter."""
        if params:
            query = query.replace("%", "%%").replace("?", "%s")
        with self._connect(self.schema) as conn:
            cur = conn.execute(query, params or None)
            return cur.fetchall() if cur.description else []

    def schema_exists(self):
        with self._connect() as conn:
            return conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s",
                                (self.schema,)).fetchone() is not None

    def db_now_ms(self):
        """The database's clock, unix milliseconds."""
        return self.sql("SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint")[0][0]


class FailoverClient:
    """HTTP to a cluster through every node's URL: a request goes to the
    current node; when the connection fails (the node is down or dies while
    answering), the client moves to the next URL and raises, so the caller
    decides whether to send again (it does not know whether the request was
    served). One instance per thread."""

    def __init__(self, urls, start=0, timeout=30, key=None):
        self.urls = list(urls)
        self.current = start % len(self.urls)
        self.timeout = timeout
        self.key = key
        self.conns = {}

    def _conn(self, url):
        conn = self.conns.get(url)
        if conn is None:
            parsed = urllib.parse.urlsplit(url)
            conn = Connection(parsed.hostname, parsed.port, self.timeout)
            self.conns[url] = conn
        return conn

    @property
    def url(self):
        return self.urls[self.current]

    def move_on(self):
        """Closes the current node's connection and makes the next node current."""
        self._conn(self.url).close()
        self.current = (self.current + 1) % len(self.urls)

    def request(self, method, path, body=None, timeout=None, headers=None):
        """One request to the current node (no resend). A transport error moves
        to the next node and propagates."""
        try:
            return self._conn(self.url).request(method, path, body, key=self.key, timeout=timeout,
                                                headers=headers, retry=False)
        except TRANSPORT_ERRORS:
            self.move_on()
            raise

    def close(self):
        for conn in self.conns.values():
            conn.close()
