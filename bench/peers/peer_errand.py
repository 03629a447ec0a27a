#!/usr/bin/python3
"""Errand (release build of this repository), default durability: SQLite in WAL mode, the WAL fdatasync'd
before every answer, so every enqueue and every acknowledgement is fsync'd first (pipelined group commit).
Variants:
  py-http: ERRAND_PY_WORKERS (2) Python worker processes speaking plain HTTP (http.client, standard library
           only): POST /v1/claim with max ERRAND_PY_MAX (100) and a long poll, the handler on each job, then one
           POST /v1/acks for the claimed jobs (one transaction, one fsync).
  cpp:     1 errand-peer-worker process: ERRAND_CPP_RUNTIMES (2) C++ worker runtimes (client/worker.hpp) x
           concurrency ERRAND_CPP_CONCURRENCY (256); acks batched by the runtime.
With ERRAND_STORE_KIND=postgres the results are named "errand-pg": the server keeps its jobs in a PostgreSQL 15
cluster of its own started exactly as the pg-boss and graphile-worker peers start theirs (lib/pg_server.py: same
settings, fsync=on, synchronous_commit=on, port ERRAND_PG_PORT 5434), schema "errand", every answer after COMMIT.
Producers are this file run as a client (modes `one`, `batch`, `rate`, `worker`, `count`), the same class of
client as the beanstalkd peer's. Binaries: ERRAND_BIN (default ../release/errand beside this folder) and
ERRAND_PEER_WORKER (../release/bench/errand-peer-worker). Port ERRAND_PORT (18740)."""
import http.client
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "clients"))
from payload import payload  # noqa: E402

PORT = int(os.environ.get("ERRAND_PORT", "18740"))
QUEUE = os.environ.get("ERRAND_QUEUE", "bench")
BIN = os.environ.get("ERRAND_BIN", os.path.join(HERE, "..", "release", "errand"))
PEER_WORKER = os.environ.get("ERRAND_PEER_WORKER", os.path.join(HERE, "..", "release", "bench", "errand-peer-worker"))
PY_WORKERS = int(os.environ.get("ERRAND_PY_WORKERS", "2"))
PY_MAX = int(os.environ.get("ERRAND_PY_MAX", "100"))
CPP_RUNTIMES = int(os.environ.get("ERRAND_CPP_RUNTIMES", "2"))
CPP_CONCURRENCY = int(os.environ.get("ERRAND_CPP_CONCURRENCY", "256"))
UNFINISHED = ("scheduled", "queued", "running", "failed")
ON_POSTGRES = os.environ.get("ERRAND_STORE_KIND", "sqlite") == "postgres"
PG_PORT = int(os.environ.get("ERRAND_PG_PORT", "5434"))


# ---------------------------------------------------------------- plain-HTTP client (standard library)
class Http:
    """One keep-alive HTTP/1.1 connection to the server; JSON in, JSON out."""

    def __init__(self, timeout=60):
        self.c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=timeout)
        self.c.connect()
        self.c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def call(self, method, path, body=None):
        self.c.request(method, path, body, {"Content-Type": "application/json"} if body else {})
        r = self.c.getresponse()
        data = r.read()
        if r.status // 100 != 2:
            raise RuntimeError(f"{method} {path}: {r.status} {data[:500]!r}")
        return json.loads(data)

    def close(self):
        self.c.close()


def enqueue_body(i):
    return ('{"queue":"%s","payload":%s}' % (QUEUE, payload(i))).encode()


def batch_body(first, k):
    return ('{"jobs":[%s]}' % ",".join('{"queue":"%s","payload":%s}' % (QUEUE, payload(j))
                                       for j in range(first, first + k))).encode()


def unfinished(c):
    """Jobs of the queue not finished yet (0 for a queue the server has not seen)."""
    try:
        counts = c.call("GET", f"/v1/queues/{QUEUE}")["counts"]
    except RuntimeError as e:
        if " 404 " in str(e):
            return 0
        raise
    return sum(counts[s] for s in UNFINISHED)


def py_worker(rec_path):
    rec = os.open(rec_path, os.O_WRONLY | os.O_APPEND)
    c = Http()
    claim = json.dumps({"queues": [QUEUE], "worker": f"py-{os.getpid()}", "max": PY_MAX, "wait": "5s"}).encode()
    while True:
        jobs = c.call("POST", "/v1/claim", claim)["jobs"]
        acks = []
        for j in jobs:
            start = time.time()
            ts = float(j["payload"]["ts"])        # handler: read the payload, no-op
            os.write(rec, struct.pack("<dd", ts, start))
            acks.append({"id": j["id"], "lease_id": j["lease_id"]})
        if acks:
            results = c.call("POST", "/v1/acks", json.dumps({"acks": acks}).encode())["results"]
            bad = [r for r in results if not r["ok"]]
            if bad:
                raise RuntimeError(f"acks refused: {bad[:3]}")


def client_main(mode, args):
    if mode == "worker":
        return py_worker(args[0])
    c = Http()
    if mode == "one":
        n = int(args[0])
        t0 = time.time()
        for i in range(n):
            c.call("POST", "/v1/jobs", enqueue_body(i))
        dt = time.time() - t0
        print(json.dumps({"n": n, "secs": dt, "jobs_per_s": n / dt}))
    elif mode == "batch":  # POST /v1/jobs/batch, `chunk` jobs per call, all or nothing
        n = int(args[0])
        chunk = int(args[1]) if len(args) > 1 else 1000
        t0 = time.time()
        for i in range(0, n, chunk):
            c.call("POST", "/v1/jobs/batch", batch_body(i, min(chunk, n - i)))
        dt = time.time() - t0
        print(json.dumps({"n": n, "secs": dt, "jobs_per_s": n / dt, "chunk": chunk}))
    elif mode == "rate":
        rate, secs = float(args[0]), float(args[1])
        n = int(rate * secs)
        t0 = time.time()
        for i in range(n):
            d = t0 + i / rate - time.time()
            if d > 0:
                time.sleep(d)
            c.call("POST", "/v1/jobs", enqueue_body(i))
        print(json.dumps({"n": n, "secs": time.time() - t0}))
    elif mode == "count":
        print(json.dumps({"unfinished": unfinished(c)}))
    else:
        raise SystemExit(f"unknown mode {mode}")


# ---------------------------------------------------------------- adapter (driven by lib/workload.py)
def adapter_main():
    sys.path.insert(0, os.path.join(HERE, "lib"))
    from harness import PY, RUN, Results, run, start, stop, kill9, proc_status  # noqa
    import workload

    me = os.path.abspath(__file__)

    class Errand:
        name = "errand-pg" if ON_POSTGRES else "errand"

        def __init__(self, variant, pg=None):
            self.variant = variant
            self.dir = os.path.join(RUN, "errand-data")
            self.pg = pg
            self.p = None

        def store_args(self):
            if self.pg is None:
                return ["--data", self.dir]
            return ["--store", self.pg.url() + "?schema=errand"]

        def start_server(self, fresh=True):
            if fresh and self.pg is not None:
                self.pg.sql("DROP SCHEMA IF EXISTS errand CASCADE")
                self.pg.sql("CHECKPOINT")
            elif fresh:
                shutil.rmtree(self.dir, ignore_errors=True)
            argv = [BIN, "server", "--listen", f"127.0.0.1:{PORT}"] + self.store_args()
            t0 = time.time()
            self.p = start("errand", argv)
            while True:  # ready = answers /healthz
                try:
                    c = Http(timeout=5)
                    c.call("GET", "/healthz")
                    c.close()
                    return time.time() - t0
                except (OSError, RuntimeError, http.client.HTTPException):
                    if self.p.poll() is not None:
                        raise RuntimeError(f"errand exited with {self.p.returncode}; see run/errand.log")
                    if time.time() - t0 > 600:
                        raise TimeoutError("errand not ready")
                    time.sleep(0.002)

        def stop_server(self):
            stop(self.p)

        def reset(self):
            self.stop_server()
            self.start_server(fresh=True)

        def queued(self):
            c = Http()
            try:
                return unfinished(c)
            finally:
                c.close()

        def enqueue_one(self, n):
            return run([PY, me, "one", str(n)])

        def enqueue_batch(self, n):
            r = run([PY, me, "batch", str(n), "1000"])
            r["note"] = "POST /v1/jobs/batch, 1000 jobs per call"
            return r

        def start_workers(self, rec):
            if self.variant == "cpp":
                return [start("errand-cpp-worker", [PEER_WORKER, "--url", f"http://127.0.0.1:{PORT}", "--queue", QUEUE,
                                                    "--records", rec, "--runtimes", str(CPP_RUNTIMES),
                                                    "--concurrency", str(CPP_CONCURRENCY)])]
            return [start(f"errand-py-worker{i}", [PY, me, "worker", rec]) for i in range(PY_WORKERS)]

        def stop_workers(self, procs):
            for p in procs:
                stop(p)

        def rate(self, rate, secs):
            return run([PY, me, "rate", str(rate), str(secs)], timeout=int(secs) + 120)

        def fill(self, n):
            k = 2  # parallel batch producers, as for beanstalkd
            t0 = time.time()
            ps = [subprocess.Popen([PY, me, "batch", str(n // k), "1000"], stdout=subprocess.DEVNULL) for _ in range(k)]
            for p in ps:
                if p.wait(timeout=1800) != 0:
                    raise RuntimeError("fill producer failed")
            if self.pg is not None:
                return {"fill_s": time.time() - t0, "schema_bytes": int(self.pg.sql(
                    "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n "
                    "ON n.oid = c.relnamespace WHERE n.nspname = 'errand' AND c.relkind IN ('r', 'm')"))}
            return {"fill_s": time.time() - t0, "data_dir_bytes": dir_bytes(self.dir)}

        def server_mem(self):
            s = proc_status(self.p.pid)
            out = {"rss": s.get("VmRSS"), "peak_rss": s.get("VmHWM")}
            if self.pg is not None:
                out["postgres"] = self.pg.mem()
            return out

        def crash_restart(self):
            expected = self.queued()
            kill9(self.p)
            t0 = time.time()
            if self.pg is not None:  # the database crashes too (immediate shutdown: WAL replay at start)
                self.pg.crash_restart()
            answer_s = self.start_server(fresh=False)
            c = Http()
            while True:  # every job counted and a claim gets one (it stays running: counted next time)
                if unfinished(c) == expected and c.call("POST", "/v1/claim", json.dumps(
                        {"queues": [QUEUE], "worker": "probe", "max": 1}).encode())["jobs"]:
                    break
                if time.time() - t0 > 600:
                    raise TimeoutError("errand: jobs not claimable after restart")
                time.sleep(0.001)
            c.close()
            return {"recovery_s": time.time() - t0, "answer_s": answer_s,
                    "how": "kill -9, restart, until GET /v1/queues/bench counts every job and a claim gets one"}

    def dir_bytes(d):
        return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(d) for f in fs)

    version = os.environ.get("ERRAND_VERSION", "errand (version not given)")
    workers = {
        "py-http": f"{PY_WORKERS} python worker processes, plain HTTP (http.client): claim max {PY_MAX} "
                   f"(long poll), then one POST /v1/acks per claim",
        "cpp": f"1 errand-peer-worker process: {CPP_RUNTIMES} C++ worker runtimes x concurrency "
               f"{CPP_CONCURRENCY}, acks batched",
    }
    pg = None
    if ON_POSTGRES:
        from pg_server import PgServer
        pg = PgServer(PG_PORT, tag="pg-errand")
        pg.initdb()
        pg.start()
        pg.createdb()
    try:
        for v in os.environ.get("ERRAND_VARIANTS", "py-http,cpp").split(","):
            ad = Errand(v, pg)
            durability = ("PostgreSQL 15 (fsync=on, synchronous_commit=on, full_page_writes=on, the pg-boss and "
                          "graphile peers' settings): every enqueue and ack committed before the answer "
                          "(group commit)" if pg else
                          "SQLite WAL, fdatasync of the WAL before every answer: every enqueue and ack "
                          "fsync'd before the answer (pipelined group commit)")
            meta = {"variant": v, "version": version + (f", postgresql {pg.version()}" if pg else ""),
                    "durability": durability,
                    "workers": workers[v],
                    "client": "plain-HTTP Python client (http.client, this file), /usr/bin/python3",
                    "server": f"{BIN} server --listen 127.0.0.1:{PORT} " + " ".join(ad.store_args())}
            res = Results(ad.name, meta)
            try:
                ad.start_server()
                workload.run_abc(ad, res, variant=v)
                if v == os.environ.get("ERRAND_D_VARIANT", "cpp") and os.environ.get("SKIP_D") != "1":
                    workload.run_d(ad, res, variant=v)
            finally:
                ad.stop_server()
    finally:
        if pg is not None:
            pg.stop()


if __name__ == "__main__":
    if len(sys.argv) > 1:
        client_main(sys.argv[1], sys.argv[2:])
    else:
        adapter_main()
