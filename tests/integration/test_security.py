"""Regression tests of the security review (issue 25): each class is one
finding, and each test fails on the code before its fix.

README.md "Security" and docs/API.md describe the behaviour tested here.
"""

import http.client
import json
import os
import resource
import socket
import stat
import subprocess
import tempfile
import time
import unittest
import urllib.parse

from harness import ErrandServer, ErrandTestCase, ServerError, errand_bin, poll_until

ADMIN = "admin-secret-0123456789"
PRODUCER = "producer-secret-0123456789"
PASSWORD = "correct horse battery"


def raw(server, timeout=5, source=None):
    """A plain socket to the server (from `source`, another loopback address, if given)."""
    return socket.create_connection((server.host, server.port), timeout=timeout,
                                    source_address=(source, 0) if source else None)


def send_head(sock, method, path, headers=None):
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())


def read_response(sock, whole_body=True):
    """(status, headers, body) of the next answer; body is parsed JSON when whole_body
    and the answer has a Content-Length. Raises ConnectionError when the server
    closes without answering."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed without an answer (read {data!r})")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    if whole_body and length:
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        return int(lines[0].split()[1]), headers, json.loads(rest[:length])
    return int(lines[0].split()[1]), headers, rest


def closed_without_answer(sock):
    try:
        return sock.recv(1) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True


def request_from(server, source, method, path, body=None, headers=None):
    """One request over a new connection from another loopback address."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10,
                                      source_address=(source, 0))
    try:
        hdrs = dict(headers or {})
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        conn.request(method, path, body=payload, headers=hdrs)
        resp = conn.getresponse()
        text = resp.read().decode()
        return resp.status, json.loads(text) if text else None, {k.lower(): v for k, v in resp.getheaders()}
    finally:
        conn.close()


def refused_start(test, server):
    """Starts `server`, which must exit before listening; returns (exit code, output)."""
    try:
        with test.assertRaises(ServerError):
            server.start()
        code = server.exit_code if server.exit_code is not None else server.proc.wait(10)
        test.assertNotIn("errand listening", server.log_text())
        return code, server.log_text()
    finally:
        server.cleanup()


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


class CorsWildcardWithoutKeysTest(ErrandTestCase):
    """Row 9: --cors-origin '*' on a keyless server let every web page act as admin,
    and a named origin let every page of that origin act as admin."""

    def test_wildcard_without_keys_refuses_to_start(self):
        code, out = refused_start(self, ErrandServer(extra_args=["--cors-origin", "*"]))
        self.assertEqual(code, 2, out)
        self.assertIn("--cors-origin '*'", out)
        self.assertIn("--insecure", out)

    def test_a_named_origin_without_keys_refuses_to_start(self):
        code, out = refused_start(self, ErrandServer(extra_args=["--cors-origin", "https://app.example.com"]))
        self.assertEqual(code, 2, out)
        self.assertIn("--cors-origin 'https://app.example.com'", out)
        self.assertIn("act as admin", out)
        self.assertIn("--insecure", out)

    def test_wildcard_or_named_origin_with_keys_or_insecure_starts(self):
        for origin in ("*", "https://app.example.com"):
            for kwargs in ({"keys": [("admin", ADMIN)], "extra_args": ["--cors-origin", origin]},
                           {"extra_args": ["--cors-origin", origin, "--insecure"]}):
                with self.subTest(**kwargs), ErrandServer(**kwargs) as s:
                    self.assertEqual(s.request("GET", "/healthz").status, 200)


class PrivateDataTest(ErrandTestCase):
    """Row 11: the data directory was 0755 and its database 0644; keys were only in argv."""

    def test_data_directory_and_database_are_private(self):
        with ErrandServer() as s:
            s.enqueue("private", payload={"secret": "x"})
            self.assertEqual(mode_of(s.data_dir), 0o700)
            for name in ("errand.db", "errand.db-wal", "secret"):
                path = os.path.join(s.data_dir, name)
                if os.path.exists(path):
                    self.assertEqual(mode_of(path), 0o600, name)
            self.assertTrue(os.path.exists(os.path.join(s.data_dir, "errand.db")))

    def test_an_older_open_data_directory_is_made_private(self):
        with ErrandServer() as s:
            s.enqueue("private")
            s.stop()
            os.chmod(s.data_dir, 0o755)
            db = os.path.join(s.data_dir, "errand.db")
            os.chmod(db, 0o644)
            s.start()
            self.assertEqual(mode_of(s.data_dir), 0o700)
            self.assertEqual(mode_of(db), 0o600)
            self.assertEqual(s.counts("private")["queued"], 1)

    def key_file(self, text):
        fd, path = tempfile.mkstemp(prefix="errand-keys-")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        self.addCleanup(os.unlink, path)
        return path

    def test_keys_from_a_key_file(self):
        path = self.key_file(f"# Errand keys\n\nadmin:{ADMIN}\n  producer:{PRODUCER}  \n")
        with ErrandServer(extra_args=["--key-file", path]) as s:
            self.assertError(s.request("GET", "/v1/queues", key=None), 401, "unauthorized")
            self.assertEqual(s.request("GET", "/v1/queues", key=ADMIN).status, 200)
            self.assertEqual(s.request("POST", "/v1/jobs", {"queue": "kf"}, key=PRODUCER).status, 202)
            self.assertError(s.request("PUT", "/v1/queues/kf", {}, key=PRODUCER), 403, "forbidden")

    def test_a_bad_key_file_line_is_named_without_its_secret(self):
        path = self.key_file(f"admin:{ADMIN}\nboss:hunter2-but-longer-than-16\n")
        code, out = refused_start(self, ErrandServer(extra_args=["--key-file", path]))
        self.assertEqual(code, 2, out)
        self.assertIn(f"{path}:2:", out)
        self.assertNotIn("hunter2", out)
        code, out = refused_start(self, ErrandServer(extra_args=["--key-file", path + ".missing"]))
        self.assertEqual(code, 2, out)
        self.assertIn("cannot read", out)


class ConnectionFloodTest(ErrandTestCase):
    """Row 1: out of descriptors the accept loop spun and logged ~170,000 lines/s while
    /healthz timed out; idle connections were never closed; one token opened any
    number of event streams."""

    def healthz(self, server):
        conn = server.connection(timeout=5)
        try:
            return conn.request("GET", "/healthz", retry=False).status
        finally:
            conn.close()

    def test_idle_connections_beyond_the_descriptor_limit_leave_it_answerable(self):
        def few_descriptors():
            resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < 1024:  # this process holds the 400 connections
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, hard), hard))

        with ErrandServer(preexec_fn=few_descriptors) as s:
            idle = []
            try:
                for _ in range(400):  # more than the server has descriptors, nothing sent
                    idle.append(raw(s))
                for _ in range(3):
                    self.assertEqual(self.healthz(s), 200)
                self.assertEqual(s.enqueue("flood")["state"], "queued")
            finally:
                for sock in idle:
                    sock.close()
            self.assertEqual(self.healthz(s), 200)
            log = s.log_text()
            self.assertLessEqual(log.count("accept failed"), 3, s.log_tail())
            self.assertLessEqual(log.count("connection(s) refused"), 3, s.log_tail())

    def test_a_connection_that_sends_nothing_is_closed_after_the_header_deadline(self):
        with ErrandServer(extra_args=["--header-timeout", "500ms"]) as s:
            sock = raw(s)
            started = time.monotonic()
            try:
                self.assertTrue(closed_without_answer(sock))
            finally:
                sock.close()
            self.assertGreaterEqual(time.monotonic() - started, 0.4)
            self.assertEqual(self.healthz(s), 200)

    def test_busy_connections_at_the_limit_refuse_new_ones_until_one_is_free(self):
        with ErrandServer(extra_args=["--max-connections", "3"]) as s:
            claims = []
            for i in range(3):  # long-polls: busy, not idle
                sock = raw(s, timeout=10)
                body = json.dumps({"queues": ["empty"], "worker": f"w{i}", "wait": "2s"}).encode()
                # 100 Continue says the server has read the head: from then on the connection is busy.
                send_head(sock, "POST", "/v1/claim", {"Content-Length": len(body), "Expect": "100-continue"})
                self.assertEqual(read_response(sock, whole_body=False)[0], 100)
                sock.sendall(body)
                claims.append(sock)

            def probe():
                sock = raw(s)
                try:
                    send_head(sock, "GET", "/healthz", {"Connection": "close"})
                    return read_response(sock)[0]
                except ConnectionError:
                    return "refused"
                finally:
                    sock.close()

            # None idle: a new connection gets 503 (docs/API.md, "HTTP").
            self.assertEqual(probe(), 503)
            for sock in claims:  # the long-polls end and their connections go idle: room again
                self.assertEqual(read_response(sock)[0], 200)
            self.assertEqual(probe(), 200)
            for sock in claims:
                sock.close()
            self.assertIn("--max-connections", s.log_text())

    def test_event_streams_are_capped_per_token_and_per_client(self):
        args = ["--max-streams-per-token", "2", "--max-streams-per-client", "3"]
        with ErrandServer(extra_args=args) as s:
            job = s.enqueue("streams")
            path = f"/v1/jobs/{job['id']}/events"
            streams = []
            try:
                for query in (f"?token={job['token']}",) * 2 + ("",):
                    sock = raw(s)
                    send_head(sock, "GET", path + query)
                    status, headers, _ = read_response(sock, whole_body=False)
                    self.assertEqual(status, 200)
                    self.assertEqual(headers["content-type"], "text/event-stream")
                    streams.append(sock)
                for query, field in ((f"?token={job['token']}", "token"), ("", None)):
                    r = s.request("GET", path + query)
                    err = self.assertError(r, 429, "too_many_requests", field=field)
                    self.assertIn("--max-streams-per-", err["message"])
            finally:
                for sock in streams:
                    sock.close()
            self.assertEqual(s.get_job(job["id"])["state"], "queued")

    def test_a_stream_whose_client_left_frees_its_slot_at_once(self):
        # The keep-alive comes every 15 s: a slot freed only when a write fails
        # would keep the next stream out for that long.
        args = ["--max-streams-per-token", "2", "--max-streams-per-client", "3"]
        with ErrandServer(extra_args=args) as s:
            job = s.enqueue("streams")
            path = f"/v1/jobs/{job['id']}/events"

            def open_stream(query):
                """A socket with the stream's head read, or the refusal's status."""
                sock = raw(s)
                send_head(sock, "GET", path + query)
                status = read_response(sock, whole_body=False)[0]
                if status == 200:
                    return sock
                sock.close()
                return status

            def opened(query):
                stream = open_stream(query)
                return stream if isinstance(stream, socket.socket) else None

            token = f"?token={job['token']}"
            streams = [open_stream(token), open_stream(token), open_stream("")]
            try:
                self.assertTrue(all(isinstance(x, socket.socket) for x in streams), streams)
                self.assertEqual(open_stream(token), 429)
                streams.pop(0).close()  # the client goes away; the server writes nothing to it
                streams.append(poll_until(lambda: opened(token), timeout=3, message="the token's next stream"))
                self.assertEqual(open_stream(token), 429)  # the limit holds
                # A client's limit (no token) frees the same way.
                self.assertEqual(open_stream(""), 429)
                streams.pop(0).close()
                streams.append(poll_until(lambda: opened(""), timeout=3, message="the client's next stream"))
            finally:
                for sock in streams:
                    if isinstance(sock, socket.socket):
                        sock.close()
            self.assertEqual(s.get_job(job["id"])["state"], "queued")


class BodyAfterCredentialsTest(ErrandTestCase):
    """Row 3: the whole body (up to 64 MiB) was read before the key was checked."""

    @classmethod
    def setUpClass(cls):
        cls.server = ErrandServer(keys=[("admin", ADMIN), ("producer", PRODUCER)],
                                  extra_args=["--dashboard-password", PASSWORD])
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def refused_before_the_body(self, method, path, headers, size=60_000_000):
        """Sends only the head of a large request; the answer must come without the body."""
        sock = raw(self.server)
        try:
            send_head(sock, method, path, dict(headers, **{"Content-Length": size,
                                                           "Content-Type": "application/json"}))
            status, hdrs, body = read_response(sock)
            self.assertEqual(hdrs.get("connection", "").lower(), "close")
            self.assertTrue(closed_without_answer(sock))
            return status, body
        finally:
            sock.close()

    def test_missing_or_wrong_key_is_refused_before_the_body(self):
        for headers in ({}, {"Authorization": "Bearer wrong-key-0123456789"}):
            with self.subTest(headers=headers):
                status, body = self.refused_before_the_body("POST", "/v1/jobs/batch", headers)
                self.assertEqual(status, 401, body)
                self.assertEqual(body["error"]["code"], "unauthorized")

    def test_a_role_that_may_not_is_refused_before_the_body(self):
        status, body = self.refused_before_the_body("PUT", "/v1/queues/big",
                                                    {"Authorization": f"Bearer {PRODUCER}"})
        self.assertEqual(status, 403, body)

    def test_expect_100_continue_gets_the_refusal_instead(self):
        status, body = self.refused_before_the_body("POST", "/v1/jobs", {"Expect": "100-continue"})
        self.assertEqual(status, 401, body)

    def test_a_body_over_the_routes_limit_is_refused_before_it_is_read(self):
        status, body = self.refused_before_the_body("POST", "/v1/jobs/batch",
                                                    {"Authorization": f"Bearer {ADMIN}"}, size=100 << 20)
        self.assertEqual(status, 413, body)
        status, body = self.refused_before_the_body("POST", "/v1/session", {})
        self.assertEqual(status, 413, body)  # a login is small: 64 KiB
        self.assertIn("65536", body["error"]["message"])

    def test_nothing_changed_and_the_server_answers(self):
        self.refused_before_the_body("POST", "/v1/jobs", {})
        self.assertEqual(self.server.request("GET", "/v1/queues", key=ADMIN).body["queues"], [])


class DnsRebindingTest(ErrandTestCase):
    """Row 4: a keyless server answered any Host, so a DNS-rebinding page could use it."""

    @classmethod
    def setUpClass(cls):
        cls.server = ErrandServer(extra_args=["--allowed-host", "errand.test"])
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def test_a_foreign_host_name_is_refused(self):
        s = self.server
        host = f"rebind.evil.example:{s.port}"
        for method, path, body in (("POST", "/v1/jobs", {"queue": "rebind"}), ("GET", "/v1/queues", None),
                                   ("PUT", "/v1/queues/rebind", {}), ("GET", "/", None),
                                   ("GET", "/v1/session", None)):
            with self.subTest(method=method, path=path):
                r = s.request(method, path, body, headers={"Host": host, "Origin": f"http://{host}"})
                err = self.assertError(r, 403, "forbidden", field="host")
                self.assertIn("--allowed-host", err["message"])
        self.assertIsNone(s.queue("rebind"))

    def test_names_of_the_server_are_answered(self):
        s = self.server
        for host in (f"127.0.0.1:{s.port}", f"localhost:{s.port}", "[::1]", f"errand.test:{s.port}",
                     "ERRAND.TEST"):
            with self.subTest(host=host):
                self.assertEqual(s.request("GET", "/v1/queues", headers={"Host": host}).status, 200)

    def test_a_server_with_keys_answers_any_host(self):
        with ErrandServer(keys=[("admin", ADMIN)]) as s:
            r = s.request("GET", "/v1/queues", headers={"Host": "errand.example.com"})
            self.assertEqual(r.status, 200)

    def test_a_bad_allowed_host_is_refused_at_start(self):
        code, out = refused_start(self, ErrandServer(extra_args=["--allowed-host", "http://x/"]))
        self.assertEqual(code, 2, out)
        self.assertIn("--allowed-host", out)


class QueueLimitTest(ErrandTestCase):
    """Row 6: queues were unlimited, and each cost memory in every stats sample."""

    def test_a_new_queue_beyond_max_queues_is_refused_and_nothing_changes(self):
        with ErrandServer(extra_args=["--max-queues", "3"]) as s:
            for q in ("q1", "q2"):
                s.enqueue(q)
            self.assertStatus(s.request("PUT", "/v1/queues/q3", {"concurrency": 2}), 200, "configure")
            err = self.assertError(s.request("POST", "/v1/jobs", {"queue": "q4"}), 429,
                                   "too_many_requests", field="queue")
            self.assertIn("--max-queues", err["message"])
            self.assertError(s.request("POST", "/v1/jobs/batch", {"jobs": [{"queue": "q1"}, {"queue": "q5"}]}),
                             429, "too_many_requests", field="jobs[1].queue")
            self.assertError(s.request("PUT", "/v1/queues/q6", {}), 429, "too_many_requests", field="queue")
            self.assertError(s.request("POST", "/v1/queues/q7/pause"), 429, "too_many_requests", field="queue")
            s.enqueue("q1")  # existing queues take jobs as before
            self.assertEqual([q["name"] for q in s.queues()], ["q1", "q2", "q3"])
            self.assertEqual(s.counts("q1")["queued"], 2)
            s.restart()  # the count survives a restart (read from the store)
            self.assertError(s.request("POST", "/v1/jobs", {"queue": "q8"}), 429, "too_many_requests",
                             field="queue")


    def test_a_schedule_naming_a_new_queue_beyond_max_queues_is_refused(self):
        schedule = {"cron": "0 3 * * *"}
        with ErrandServer(extra_args=["--max-queues", "2"]) as s:
            s.enqueue("q1")
            r = s.request("PUT", "/v1/schedules/nightly", {**schedule, "queue": "q2"})
            self.assertStatus(r, 201, "a schedule on a second queue")
            # Its fires would create q3: refused like an enqueue, nothing written.
            err = self.assertError(s.request("PUT", "/v1/schedules/more", {**schedule, "queue": "q3"}),
                                   429, "too_many_requests", field="queue")
            self.assertIn("--max-queues", err["message"])
            self.assertEqual(s.request("GET", "/v1/schedules/more").status, 404)
            # Replacing a schedule onto a new queue is refused too; existing queues are fine.
            self.assertError(s.request("PUT", "/v1/schedules/nightly", {**schedule, "queue": "q4"}),
                             429, "too_many_requests", field="queue")
            self.assertStatus(s.request("PUT", "/v1/schedules/more", {**schedule, "queue": "q1"}), 201,
                              "a schedule on an existing queue")
            # The schedule's queue is counted before it first fires.
            self.assertError(s.request("POST", "/v1/jobs", {"queue": "q5"}), 429, "too_many_requests",
                             field="queue")
            self.assertEqual(s.request("POST", "/v1/schedules/nightly/trigger").status, 202)
            self.assertEqual([q["name"] for q in s.queues()], ["q1", "q2"])


class QueueListPagingTest(ErrandTestCase):
    """Row 6: GET /v1/queues answered every queue at once (5.7 MB for 20,000 queues)."""

    def names(self, body):
        return [q["name"] for q in body["queues"]]

    def test_pages_follow_the_cursor_in_name_order(self):
        with ErrandServer() as s:
            for q in ("d", "b", "a.2", "c", "a-1"):
                self.assertStatus(s.request("PUT", f"/v1/queues/{q}", {}), 200, q)
            pages, cursor = [], None
            while True:
                path = "/v1/queues?limit=2" + (f"&cursor={cursor}" if cursor else "")
                body = self.assertStatus(s.request("GET", path), 200, path)
                pages.append(self.names(body))
                cursor = body["next_cursor"]
                if cursor is None:
                    break
                self.assertEqual(cursor, pages[-1][-1])
            self.assertEqual(pages, [["a-1", "a.2"], ["b", "c"], ["d"]])
            body = self.assertStatus(s.request("GET", "/v1/queues"), 200, "no paging")
            self.assertEqual(self.names(body), ["a-1", "a.2", "b", "c", "d"])
            self.assertIsNone(body["next_cursor"])
            self.assertIn("counts", body["queues"][0])  # the entries are as before
            # Names strictly after the cursor, whether or not it is a queue.
            body = self.assertStatus(s.request("GET", "/v1/queues?cursor=bb"), 200, "cursor bb")
            self.assertEqual(self.names(body), ["c", "d"])
            body = self.assertStatus(s.request("GET", "/v1/queues?cursor=d&limit=1"), 200, "past the end")
            self.assertEqual(body, {"queues": [], "next_cursor": None})

    def test_the_default_page_is_bounded_and_clients_follow_every_page(self):
        with ErrandServer() as s:
            names = [f"q{i:04d}" for i in range(1100)]
            s.enqueue_batch([{"queue": n} for n in names])
            body = self.assertStatus(s.request("GET", "/v1/queues"), 200, "first page")
            self.assertEqual(self.names(body), names[:100])
            self.assertEqual(body["next_cursor"], names[99])
            body = self.assertStatus(s.request("GET", "/v1/queues?limit=1000"), 200, "largest page")
            self.assertEqual(len(body["queues"]), 1000)
            # The CLI (through the C++ client) and the test harness see every queue.
            env = dict(os.environ, ERRAND_URL=s.url)
            env.pop("ERRAND_KEY", None)
            out = subprocess.run([errand_bin(), "--json", "queues"], env=env, capture_output=True,
                                 text=True, timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertEqual(self.names(json.loads(out.stdout)), names)
            self.assertEqual([q["name"] for q in s.queues()], names)

    def test_a_bad_limit_or_cursor_is_refused_naming_it(self):
        with ErrandServer() as s:
            for query, field in (("limit=0", "limit"), ("limit=1001", "limit"), ("limit=ten", "limit"),
                                 ("limit=", "limit"), ("cursor=Not%20A%20Queue", "cursor"),
                                 ("cursor=", "cursor"), ("page=2", "page")):
                with self.subTest(query=query):
                    self.assertError(s.request("GET", f"/v1/queues?{query}"), 400, "invalid_argument",
                                     field=field)


def read_event(sock, name, timeout=10):
    """The data (parsed JSON) of the first SSE event called `name` on a stream socket."""
    data = b""
    deadline = time.monotonic() + timeout
    marker = f"event: {name}\n".encode()
    while time.monotonic() < deadline:
        at = data.find(marker)
        if at >= 0:
            line_start = data.find(b"data: ", at)
            line_end = data.find(b"\n", line_start) if line_start >= 0 else -1
            if line_end >= 0:
                return json.loads(data[line_start + 6:line_end])
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    raise AssertionError(f"no {name} event in {data[:500]!r}")


class TokenScopeTest(ErrandTestCase):
    """Row 10: a job token showed the payload; now only when the enqueue asks (token_scope)."""

    PAYLOAD = {"file": "import-7.csv", "rows": 20}
    PRIVATE = ("idempotency_key", "tags", "worker", "lease_expires_at", "log")

    def by_token(self, s, job):
        quoted = urllib.parse.quote(job["token"], safe="")
        return self.assertStatus(s.request("GET", f"/v1/jobs/{job['id']}?token={quoted}"), 200, "token read")

    def test_the_payload_is_shown_to_a_token_only_when_its_enqueue_asked(self):
        with ErrandServer() as s:
            plain = s.enqueue("scoped", payload=self.PAYLOAD, idempotency_key="k1", tags=["t"])
            scoped = s.enqueue("scoped", payload=self.PAYLOAD, idempotency_key="k2", tags=["t"],
                               token_scope=["payload"])
            self.assertNotIn("payload", self.by_token(s, plain))
            seen = self.by_token(s, scoped)
            self.assertEqual(seen["payload"], self.PAYLOAD)
            for key in self.PRIVATE:
                self.assertNotIn(key, seen)
            # The scope is signed into the token: adding it to a plain token makes it invalid.
            body, _, mac = plain["token"].rpartition(".")
            forged = f"{body}~payload.{mac}"
            r = s.request("GET", f"/v1/jobs/{plain['id']}?token={urllib.parse.quote(forged, safe='')}")
            self.assertError(r, 401, "unauthorized", field="token")
            # As the bearer value too, and in the event stream's snapshot.
            r = s.request("GET", f"/v1/jobs/{scoped['id']}", key=scoped["token"])
            self.assertEqual(self.assertStatus(r, 200, "bearer")["payload"], self.PAYLOAD)
            for job, shown in ((scoped, True), (plain, False)):
                sock = raw(s)
                try:
                    send_head(sock, "GET", f"/v1/jobs/{job['id']}/events?token={job['token']}")
                    snapshot = read_event(sock, "snapshot")
                finally:
                    sock.close()
                self.assertEqual("payload" in snapshot, shown, snapshot)
                self.assertNotIn("idempotency_key", snapshot)

    def test_batch_items_carry_their_own_scope(self):
        with ErrandServer() as s:
            jobs = s.enqueue_batch([{"queue": "scoped", "payload": 1, "token_scope": ["payload"]},
                                    {"queue": "scoped", "payload": 2},
                                    {"queue": "scoped", "payload": 3, "token_scope": []}])
            self.assertEqual([("payload" in self.by_token(s, j)) for j in jobs], [True, False, False])

    def test_an_unknown_scope_is_refused_naming_token_scope(self):
        with ErrandServer() as s:
            for scope in (["result"], ["payload", "log"], "payload", [1], {"payload": True}):
                with self.subTest(scope=scope):
                    self.assertError(s.request("POST", "/v1/jobs", {"queue": "scoped", "token_scope": scope}),
                                     400, "invalid_argument", field="token_scope")
            self.assertError(s.request("POST", "/v1/jobs/batch",
                                       {"jobs": [{"queue": "scoped"}, {"queue": "scoped", "token_scope": ["x"]}]}),
                             400, "invalid_argument", field="jobs[1].token_scope")
            self.assertEqual(s.queue("scoped"), None)  # nothing enqueued

    def test_the_cli_asks_for_the_scope(self):
        with ErrandServer() as s:
            env = dict(os.environ, ERRAND_URL=s.url)
            env.pop("ERRAND_KEY", None)
            out = subprocess.run([errand_bin(), "--json", "enqueue", "scoped", json.dumps(self.PAYLOAD),
                                  "--token-scope", "payload"], env=env, capture_output=True, text=True,
                                 timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertEqual(self.by_token(s, json.loads(out.stdout))["payload"], self.PAYLOAD)


class DashboardLoginTest(ErrandTestCase):
    """Row 7: password guesses ran at ~6,500/s with no limit and nothing logged.
    Row 8: the session cookie alone (sent to every port of the host) gave the CSRF token."""

    @classmethod
    def setUpClass(cls):
        cls.server = ErrandServer(keys=[("admin", ADMIN)], extra_args=["--dashboard-password", PASSWORD])
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def login(self, source, password):
        return request_from(self.server, source, "POST", "/v1/session", {"password": password})

    def test_failed_logins_are_limited_per_address_and_logged(self):
        source = "127.0.0.3"
        statuses = [self.login(source, f"guess-{i:04d}-xxxxx")[0] for i in range(60)]
        self.assertEqual(statuses[:10], [401] * 10)
        self.assertEqual(set(statuses[10:]), {429})
        status, body, headers = self.login(source, PASSWORD)  # the right one is refused too now
        self.assertEqual(status, 429, body)
        self.assertEqual(body["error"]["code"], "too_many_requests")
        self.assertGreaterEqual(int(headers["retry-after"]), 1)
        self.assertEqual(self.login("127.0.0.4", PASSWORD)[0], 200)  # another address is not
        log = poll_until(lambda: "failed 10 times" in self.server.log_text() and self.server.log_text(), 5)
        self.assertIn(f"dashboard login failed from {source}", log)
        self.assertLessEqual(log.count(f"from {source}") + log.count(f"{source} failed"), 3)

    def test_the_session_is_bound_to_the_address_that_logged_in(self):
        status, body, headers = self.login("127.0.0.5", PASSWORD)
        self.assertEqual(status, 200, body)
        cookie = headers["set-cookie"].split(";", 1)[0]
        csrf = body["csrf_token"]
        status, body, _ = request_from(self.server, "127.0.0.6", "GET", "/v1/session",
                                       headers={"Cookie": cookie})
        self.assertEqual((body["authenticated"], body["csrf_token"]), (False, None))
        status, body, _ = request_from(self.server, "127.0.0.6", "POST", "/v1/jobs", {"queue": "stolen"},
                                       headers={"Cookie": cookie, "X-CSRF-Token": csrf})
        self.assertEqual(status, 401, body)
        self.assertEqual(body["error"]["field"], "session")
        status, body, _ = request_from(self.server, "127.0.0.5", "POST", "/v1/jobs", {"queue": "own"},
                                       headers={"Cookie": cookie, "X-CSRF-Token": csrf})
        self.assertEqual(status, 202, body)
        self.assertIsNone(self.server.queue("stolen"))


if __name__ == "__main__":
    unittest.main()
