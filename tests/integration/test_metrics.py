"""GET /metrics (docs/API.md "Metrics"): the Prometheus text exposition of a
real server, checked by Debian's `promtool check metrics`, with the counts of
what the test did; the roles that may read it; the queue label cap; and a
real Prometheus server (Debian's) that scrapes it with a `metrics` key while
jobs run, queried over its HTTP API.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import unittest
import urllib.parse
import urllib.request

from harness import ErrandServer, ErrandTestCase, log, poll_until

ADMIN = "admin:metrics-admin-secret-0001"
SCRAPER = "metrics:metrics-scraper-secret-01"
PRODUCER = "producer:metrics-producer-secret-1"


def tool(name):
    path = shutil.which(name) or f"/usr/bin/{name}"
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"{name} is missing: it comes with Debian's prometheus package "
                           "(scripts/install-deps.sh test)")
    return path


def samples(text):
    """{(name, frozenset(labels.items())): value} of an exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$', line)
        if not m:
            raise AssertionError(f"not a sample line: {line!r}")
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out[(m.group(1), frozenset(labels.items()))] = float(m.group(3))
    return out


def value(parsed, name, **labels):
    return parsed.get((name, frozenset(labels.items())))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MetricsTest(ErrandTestCase):
    def scrape(self, server, key=SCRAPER):
        r = server.request("GET", "/metrics", key=key.split(":", 1)[1])
        self.assertEqual(r.status, 200, r.body)
        self.assertTrue(r.headers.get("content-type", r.headers.get("Content-Type", "")).startswith("text/plain"))
        return r.body

    def test_the_exposition_passes_promtool_and_counts_what_happened(self):
        with ErrandServer(keys=(ADMIN, SCRAPER, PRODUCER)) as s:
            q = "metrics-q"
            ids = [s.enqueue(q, payload={"n": i})["id"] for i in range(5)]
            s.enqueue(q, idempotency_key="once")
            repeat = s.request("POST", "/v1/jobs", {"queue": q, "idempotency_key": "once"})
            self.assertEqual(repeat.status, 200, repeat.body)  # a repeat enqueues nothing
            done = [s.claim_one(q) for _ in range(3)]
            for job in done[:2]:
                s.complete(job, {"ok": True})
            s.fail(done[2], retry=False)
            self.assertEqual(s.request("GET", "/no/such/path").status, 404)
            text = self.scrape(s)
            check = subprocess.run([tool("promtool"), "check", "metrics"], input=text, text=True,
                                   capture_output=True, timeout=60)
            self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
            m = samples(text)
            self.assertEqual(value(m, "errand_jobs_enqueued_total", queue=q), 6)
            self.assertEqual(value(m, "errand_jobs_finished_total", queue=q, outcome="succeeded"), 2)
            self.assertEqual(value(m, "errand_jobs_finished_total", queue=q, outcome="dead"), 1)
            self.assertEqual(value(m, "errand_jobs", queue=q, state="queued"), 3)
            self.assertEqual(value(m, "errand_jobs", queue=q, state="succeeded"), 2)
            self.assertEqual(value(m, "errand_jobs", queue=q, state="dead"), 1)
            self.assertEqual(value(m, "errand_job_wait_seconds_count", queue=q), 3)
            self.assertEqual(value(m, "errand_job_run_seconds_count", queue=q), 3)
            self.assertEqual(value(m, "errand_job_run_seconds_bucket", queue=q, le="+Inf"), 3)
            self.assertGreaterEqual(value(m, "errand_queue_oldest_waiting_seconds", queue=q), 0)
            self.assertEqual(value(m, "errand_http_requests_total", route="/v1/jobs", method="POST",
                                   status="202"), 6)
            self.assertEqual(value(m, "errand_http_requests_total", route="/v1/jobs", method="POST",
                                   status="200"), 1)
            self.assertEqual(value(m, "errand_http_requests_total", route="unmatched",
                                   method="unmatched", status="404"), 1)
            self.assertEqual(value(m, "errand_http_request_seconds_count", route="/v1/claim",
                                   method="POST"), 3)
            store = "postgres" if os.environ.get("ERRAND_TEST_STORE") == "postgres" else "sqlite"
            self.assertGreater(value(m, "errand_store_commit_seconds_count", store=store), 0)
            self.assertGreater(value(m, "errand_store_fsync_seconds_count", store=store), 0)
            self.assertEqual(value(m, "errand_workers_waiting"), 0)
            self.assertEqual(value(m, "errand_sse_watchers"), 0)
            build = [k for k in m if k[0] == "errand_build_info"]
            self.assertEqual(len(build), 1)
            labels = dict(build[0][1])
            self.assertEqual(labels["store"], store)
            self.assertTrue(labels["version"] and labels["commit"], labels)
            # Raw paths never become labels: no job id appears anywhere.
            for jid in ids:
                self.assertNotIn(jid, text)

    def test_the_grafana_dashboard_uses_only_served_metrics(self):
        grafana = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                               "deploy", "grafana", "errand.json")
        with open(grafana) as f:
            dashboard = json.load(f)
        exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
        exprs.append(dashboard["templating"]["list"][1]["query"]["query"])
        used = {name for e in exprs for name in re.findall(r"\berrand_[a-z_]+", e)}
        with ErrandServer(keys=(ADMIN, SCRAPER)) as s:
            q = "grafana-q"
            s.enqueue(q)
            s.complete(s.claim_one(q))
            text = self.scrape(s)
        served = {k[0] for k in samples(text)}
        for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M):
            served.add(name)
            if kind == "histogram":
                served.update({f"{name}_bucket", f"{name}_sum", f"{name}_count"})
        self.assertEqual(sorted(used - served), [], "metrics the dashboard queries that /metrics "
                         "does not serve")

    def test_only_admin_and_metrics_keys_may_read_it(self):
        with ErrandServer(keys=(ADMIN, SCRAPER, PRODUCER)) as s:
            self.scrape(s, ADMIN)
            self.scrape(s, SCRAPER)
            self.assertError(s.request("GET", "/metrics", key=PRODUCER.split(":", 1)[1]), 403,
                             "forbidden", "authorization")
            self.assertError(s.request("GET", "/metrics", key=None), 401, "unauthorized",
                             "authorization")
            # A metrics key reads metrics only.
            self.assertError(s.request("GET", "/v1/queues", key=SCRAPER.split(":", 1)[1]), 403,
                             "forbidden", "authorization")

    def test_queues_past_the_cap_share_the_other_series(self):
        with ErrandServer(keys=(ADMIN, SCRAPER), extra_args=["--metrics-max-queues", "2"]) as s:
            for q in ("cap-a", "cap-b", "cap-c", "cap-d"):
                s.enqueue(q)
            m = samples(self.scrape(s))
            queues = {dict(k[1])["queue"] for k in m if k[0] == "errand_jobs_enqueued_total"}
            self.assertEqual(len(queues), 2, queues)  # one own series, then "_other"
            self.assertIn("_other", queues)
            self.assertEqual(sum(v for k, v in m.items() if k[0] == "errand_jobs_enqueued_total"), 4)
            gauge = {dict(k[1])["queue"] for k in m if k[0] == "errand_jobs"}
            self.assertEqual(gauge, {"cap-a", "cap-b", "_other"})

    def test_a_real_prometheus_scrapes_it(self):
        prometheus = tool("prometheus")
        with ErrandServer(keys=(ADMIN, SCRAPER)) as s, tempfile.TemporaryDirectory() as tmp:
            target = urllib.parse.urlsplit(s.url).netloc
            config = os.path.join(tmp, "prometheus.yml")
            with open(config, "w") as f:
                f.write(f"""global:
  scrape_interval: 1s
scrape_configs:
  - job_name: errand
    scrape_interval: 1s
    authorization:
      credentials: {SCRAPER.split(":", 1)[1]}
    static_configs:
      - targets: ["{target}"]
""")
            port = free_port()
            proc = subprocess.Popen([prometheus, f"--config.file={config}",
                                     f"--storage.tsdb.path={os.path.join(tmp, 'data')}",
                                     f"--web.listen-address=127.0.0.1:{port}"],
                                    stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "log"), "w"))
            self.addCleanup(proc.wait, 30)
            self.addCleanup(proc.terminate)
            for i in range(7):
                s.enqueue("prom-q", payload={"n": i})
            for _ in range(4):
                s.complete(s.claim_one("prom-q"))

            def query(expr):
                url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
                try:
                    with urllib.request.urlopen(url, timeout=5) as r:
                        body = json.load(r)
                except OSError:
                    return None
                result = body.get("data", {}).get("result", [])
                return float(result[0]["value"][1]) if result else None

            def scraped(expr, want):
                return poll_until(lambda: query(expr) == want, 60, interval=0.2,
                                  message=f"Prometheus to see {expr} == {want}")

            scraped('errand_jobs_enqueued_total{queue="prom-q"}', 7)
            scraped('errand_jobs_finished_total{queue="prom-q",outcome="succeeded"}', 4)
            scraped('errand_jobs{queue="prom-q",state="queued"}', 3)
            scraped('up{job="errand"}', 1)
            log(f"prometheus on 127.0.0.1:{port} scraped {target}")


if __name__ == "__main__":
    unittest.main()
