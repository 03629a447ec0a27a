#!/usr/bin/python3
"""What one lone enqueue costs at least, and what Errand takes, in one run.

Starts a fresh `errand server` (SQLite in a temporary directory beside
--dir) and measures, one after another and interleaved `--rounds` times:
  fsync 128 B      write(128 B) + fdatasync on a file of that disk (the peer
                   harness's calibration: what beanstalkd -f 0 does per put);
  fsync 5 frames   5 × (24 B + 4 KiB) written + fdatasync over a file already
                   written once (what a one-job SQLite WAL commit writes);
  GET /healthz     a Python http.client call that touches no store: the client,
                   the loopback round trip and the server's HTTP handling;
  POST /v1/jobs    the harness's A one-by-one: an enqueue answered after its
                   fsync, one at a time on one keep-alive connection.
Prints the medians (µs per call) and the CPU µs per call of the client and of
the server (from /proc). Standard library only, like the harness's client.

  python3 bench/lone_floor.py --errand build/release/errand [--calls 2000] [--rounds 3]
"""
import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import tempfile
import time


def fsync_loop(path, calls, frames):
    """Median µs of `calls` appends (frames=0: 128 B) or frame groups, each fdatasync'd."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    page = b"\7" * 4096
    head = b"\0" * 24
    size = calls * 5 * (4096 + 24)
    if frames:  # written once first: the commits overwrite, as a reused WAL does
        for off in range(0, size, 1 << 20):
            os.pwrite(fd, b"\0" * (1 << 20), off)
        os.fdatasync(fd)
    out, off = [], 0
    for _ in range(calls):
        t = time.perf_counter()
        if frames:
            for _ in range(frames):
                os.pwrite(fd, head, off)
                os.pwrite(fd, page, off + 24)
                off += 24 + 4096
        else:
            os.write(fd, b"\1" * 128)
        os.fdatasync(fd)
        out.append(time.perf_counter() - t)
    os.close(fd)
    os.unlink(path)
    return statistics.median(out) * 1e6


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def http_loop(port, calls, method, path, body=None):
    c = http.client.HTTPConnection("127.0.0.1", port)
    c.connect()
    c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    headers = {"Content-Type": "application/json"} if body else {}
    out = []
    for i in range(calls):
        data = body(i) if body else None
        t = time.perf_counter()
        c.request(method, path, data, headers)
        r = c.getresponse()
        r.read()
        out.append(time.perf_counter() - t)
        if r.status // 100 != 2:
            raise RuntimeError(f"{method} {path}: {r.status}")
    c.close()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--errand", required=True)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dir", default=tempfile.gettempdir())
    ap.add_argument("--port", type=int, default=18760)
    a = ap.parse_args()
    rows = {k: [] for k in ("fsync 128 B", "fsync 5 frames", "GET /healthz", "POST /v1/jobs")}
    cpu = {k: [] for k in ("GET /healthz", "POST /v1/jobs")}
    enqueue = lambda i: json.dumps({"queue": "bench", "payload": {"i": i, "ts": time.time(), "pad": "x" * 48}})
    for _ in range(a.rounds):
        rows["fsync 128 B"].append(fsync_loop(os.path.join(a.dir, "lone-floor.dat"), a.calls, 0))
        rows["fsync 5 frames"].append(fsync_loop(os.path.join(a.dir, "lone-floor.dat"), a.calls, 5))
        with tempfile.TemporaryDirectory(dir=a.dir) as data:
            server = subprocess.Popen([a.errand, "server", "--listen", f"127.0.0.1:{a.port}", "--data", data],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                for _ in range(200):
                    try:
                        http_loop(a.port, 1, "GET", "/healthz")
                        break
                    except OSError:
                        time.sleep(0.05)
                http_loop(a.port, 200, "POST", "/v1/jobs", enqueue)  # warm
                for name, method, path, body in (("GET /healthz", "GET", "/healthz", None),
                                                 ("POST /v1/jobs", "POST", "/v1/jobs", enqueue)):
                    s0, c0 = cpu_seconds(server.pid), time.process_time()
                    lat = http_loop(a.port, a.calls, method, path, body)
                    s1, c1 = cpu_seconds(server.pid), time.process_time()
                    rows[name].append(statistics.median(lat) * 1e6)
                    cpu[name].append(((c1 - c0) * 1e6 / a.calls, (s1 - s0) * 1e6 / a.calls))
            finally:
                server.terminate()
                server.wait()
    for name, values in rows.items():
        line = f"{name:15} p50 {statistics.median(values):6.0f} µs  [{', '.join(f'{v:.0f}' for v in values)}]"
        if name in cpu:
            client = statistics.median(c for c, _ in cpu[name])
            srv = statistics.median(s for _, s in cpu[name])
            line += f"  CPU µs a call: client {client:.0f}, server {srv:.0f}"
        print(line)


if __name__ == "__main__":
    main()
