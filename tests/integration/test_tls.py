"""HTTPS (docs/operations.md, "TLS"): `errand server --tls-cert --tls-key`
serves the API, job event streams and the dashboard over TLS; a plain HTTP
request gets a clear 400; the CLI and `errand work` trust a private CA with
--ca (or ERRAND_CA) and refuse the server without it; SIGHUP reloads the
certificate files for new connections while an open event stream goes on,
and a broken file keeps the old certificate.

The CA and the certificates are made at test time with the openssl CLI.
"""

import http.client
import itertools
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import unittest

from harness import ErrandServer, ErrandTestCase, errand_bin, poll_until, read_sse_event
from work_harness import WorkerProcess

_counter = itertools.count()

OPENSSL_CONFIG = """
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[v3_intermediate]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[v3_server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
[v3_elsewhere]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:elsewhere.example
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
"""


class TestCA:
    """A private CA in a temporary directory, issuing server certificates
    for 127.0.0.1 and localhost (directly, or through an intermediate CA)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="errand-tls-")
        self.config = self.path("openssl.cnf")
        with open(self.config, "w") as f:
            f.write(OPENSSL_CONFIG)
        self.cert, self.key = self.path("ca.pem"), self.path("ca.key")
        self.openssl("req", "-x509", "-config", self.config, "-extensions", "v3_ca",
                     *self.new_key(self.key), "-subj", "/CN=Errand Test CA", "-days", "2",
                     "-out", self.cert)
        self._serial = itertools.count(1001)

    def path(self, name):
        return os.path.join(self.dir, name)

    def openssl(self, *args):
        p = subprocess.run(["openssl", *args], cwd=self.dir, capture_output=True, text=True)
        if p.returncode != 0:
            raise AssertionError(f"openssl {' '.join(args)}: {p.stderr}")

    @staticmethod
    def new_key(key_path):
        return ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", key_path)

    def sign(self, name, cn, extensions, issuer_cert, issuer_key):
        key, csr, cert = self.path(f"{name}.key"), self.path(f"{name}.csr"), self.path(f"{name}.pem")
        self.openssl("req", "-new", "-config", self.config, *self.new_key(key), "-subj", f"/CN={cn}",
                     "-out", csr)
        self.openssl("x509", "-req", "-in", csr, "-CA", issuer_cert, "-CAkey", issuer_key,
                     "-set_serial", str(next(self._serial)), "-days", "2", "-extfile", self.config,
                     "-extensions", extensions, "-out", cert)
        return cert, key

    def issue(self, name, cn, intermediate=False, extensions="v3_server"):
        """(certificate file, key file); with `intermediate`, the file holds
        the server's certificate and then the intermediate CA's (a chain).
        extensions="v3_elsewhere": a certificate for elsewhere.example only."""
        if not intermediate:
            return self.sign(name, cn, extensions, self.cert, self.key)
        inter_cert, inter_key = self.sign(f"{name}-ca", f"{cn} Intermediate CA", "v3_intermediate",
                                          self.cert, self.key)
        leaf, key = self.sign(name, cn, "v3_server", inter_cert, inter_key)
        chain = self.path(f"{name}-chain.pem")
        with open(chain, "w") as out:
            for part in (leaf, inter_cert):
                with open(part) as f:
                    out.write(f.read())
        return chain, key

    def client_context(self):
        return ssl.create_default_context(cafile=self.cert)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def peer_common_name(server, ca):
    """The CN of the certificate a new TLS connection to `server` gets."""
    with socket.create_connection((server.host, server.port), timeout=10) as raw:
        with ca.client_context().wrap_socket(raw, server_hostname=server.host) as tls:
            subject = dict(item[0] for item in tls.getpeercert()["subject"])
            return subject["commonName"]


class EventStream:
    """One SSE response over HTTPS, read event by event."""

    def __init__(self, server, path, context, timeout=30):
        self.conn = http.client.HTTPSConnection(server.host, server.port, timeout=timeout,
                                                context=context)
        self.conn.request("GET", path)
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.content_type = self.resp.getheader("Content-Type", "")

    def next(self):
        """The next event as {"event", "id", "data"}, or None at the end of the stream."""
        return read_sse_event(self.resp)

    def until_end(self):
        events = []
        while (e := self.next()) is not None:
            events.append(e)
        return events

    def close(self):
        # The response holds the socket (http.client hands it over for a
        # response that closes the connection).
        self.resp.close()
        self.conn.close()


class TlsCase(ErrandTestCase):
    """A CA and one HTTPS server for the class."""

    @classmethod
    def setUpClass(cls):
        cls.ca = TestCA()
        cls.cert, cls.key = cls.ca.issue("server", "errand-1")
        cls.server = ErrandServer(extra_args=["--tls-cert", cls.cert, "--tls-key", cls.key],
                                  ssl_context=cls.ca.client_context())
        try:
            cls.server.start()
        except BaseException:
            cls.server.cleanup()
            cls.ca.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        cls.ca.cleanup()

    def q(self):
        return f"tls{next(_counter)}"

    def stream(self, job_id):
        s = EventStream(self.server, f"/v1/jobs/{job_id}/events", self.ca.client_context())
        self.addCleanup(s.close)
        return s

    def cli(self, *args, env=None):
        full_env = {k: v for k, v in os.environ.items()
                    if k not in ("ERRAND_URL", "ERRAND_KEY", "ERRAND_CA")}
        full_env.update(env or {})
        return subprocess.run([errand_bin(), "--server", self.server.url, *args], env=full_env,
                              capture_output=True, text=True, timeout=60)


class HttpsTest(TlsCase):
    def test_the_server_says_https_and_serves_the_api(self):
        self.assertTrue(self.server.url.startswith("https://127.0.0.1:"), self.server.url)
        job = self.server.enqueue(self.q(), payload={"to": "ada@example.com"})
        got = self.server.get_job(job["id"])
        self.assertEqual(got["payload"], {"to": "ada@example.com"})
        self.assertEqual(peer_common_name(self.server, self.ca), "errand-1")

    def test_tls_below_1_2_is_refused(self):
        context = self.ca.client_context()
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = ssl.TLSVersion.TLSv1_1
        # The local OpenSSL may refuse to even offer TLS 1.1; either way no connection.
        with self.assertRaises((ssl.SSLError, OSError)):
            with socket.create_connection((self.server.host, self.server.port), timeout=10) as raw:
                with context.wrap_socket(raw, server_hostname=self.server.host):
                    pass
        self.assertEqual(self.server.request("GET", "/healthz").status, 200)

    def test_plain_http_gets_a_clear_400_and_the_server_stays_up(self):
        conn = http.client.HTTPConnection(self.server.host, self.server.port, timeout=10)
        try:
            conn.request("GET", "/v1/queues")
            resp = conn.getresponse()
            body = json.loads(resp.read())
        finally:
            conn.close()
        self.assertEqual(resp.status, 400)
        self.assertEqual(body["error"]["code"], "invalid_argument")
        self.assertIn("https://", body["error"]["message"])
        # Garbage that is neither TLS nor HTTP is dropped without an answer.
        with socket.create_connection((self.server.host, self.server.port), timeout=10) as raw:
            raw.sendall(b"\x00\x01\x02 not a handshake\r\n\r\n")
            raw.shutdown(socket.SHUT_WR)
            while raw.recv(4096):
                pass
        self.assertEqual(self.server.request("GET", "/healthz").status, 200)

    def test_an_untrusted_client_fails_the_handshake(self):
        with self.assertRaises(ssl.SSLCertVerificationError):
            with socket.create_connection((self.server.host, self.server.port), timeout=10) as raw:
                with ssl.create_default_context().wrap_socket(raw, server_hostname="127.0.0.1"):
                    pass
        self.assertEqual(self.server.request("GET", "/healthz").status, 200)

    def test_event_stream_over_https(self):
        q = self.q()
        jid = self.server.enqueue(q)["id"]
        stream = self.stream(jid)
        self.assertEqual(stream.status, 200)
        self.assertTrue(stream.content_type.startswith("text/event-stream"))
        snapshot = stream.next()
        self.assertEqual(snapshot["event"], "snapshot")
        self.assertEqual(snapshot["data"]["id"], jid)
        self.server.complete(self.server.claim_one(q), {"sent": 1})
        events = stream.until_end()
        self.assertEqual([e["event"] for e in events], ["state", "succeeded"])
        self.assertEqual(events[-1]["data"]["result"], {"sent": 1})

    def test_a_client_leaving_its_event_stream_is_seen(self):
        # The peer watch reads through TLS: a client gone frees its stream.
        jid = self.server.enqueue(self.q())["id"]
        for _ in range(3):
            s = EventStream(self.server, f"/v1/jobs/{jid}/events", self.ca.client_context())
            self.assertEqual(s.next()["event"], "snapshot")
            s.close()

        def streams_open():
            metrics = self.server.request("GET", "/metrics").body
            line = [l for l in metrics.splitlines() if l.startswith("errand_sse_watchers ")]
            return line and float(line[0].split()[1]) == 0
        poll_until(streams_open, 20, message="the closed streams to end")
        self.assertEqual(self.server.request("GET", "/healthz").status, 200)

    def test_dashboard_over_https(self):
        r = self.server.request("GET", "/", key=None)
        self.assertEqual(r.status, 200)
        self.assertTrue(r.headers["content-type"].startswith("text/html"))

    def test_cli_trusts_the_ca_given_with_ca_or_errand_ca(self):
        q = self.q()
        p = self.cli("--ca", self.ca.cert, "--json", "enqueue", q, '{"n": 1}')
        self.assertEqual(p.returncode, 0, p.stderr)
        jid = json.loads(p.stdout)["id"]
        p = self.cli("--json", "job", jid, env={"ERRAND_CA": self.ca.cert})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["payload"], {"n": 1})

    def test_cli_without_the_ca_refuses_the_server(self):
        p = self.cli("queues")
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn("certificate verify failed", p.stderr)
        self.assertIn("--ca", p.stderr)

    def test_cli_names_an_unusable_ca_file(self):
        missing = self.ca.path("nope.pem")
        p = self.cli("--ca", missing, "queues")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(missing, p.stderr)

    def test_cli_accepts_any_name_the_certificate_lists(self):
        url = self.server.url.replace("127.0.0.1", "localhost")
        env = {k: v for k, v in os.environ.items() if k not in ("ERRAND_URL", "ERRAND_KEY")}
        p = subprocess.run([errand_bin(), "--server", url, "--ca", self.ca.cert, "queues"],
                           env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_errand_work_over_https(self):
        q = self.q()
        worker = WorkerProcess(self.server, [q], global_args=("--ca", self.ca.cert))
        self.addCleanup(worker.kill)
        jid = self.server.enqueue(q, payload={"result": {"ok": True}})["id"]

        def succeeded():
            job = self.server.get_job(jid)
            return job if job["state"] == "succeeded" else None
        job = poll_until(succeeded, 30, message=f"the job to succeed:\n{worker.describe()}")
        self.assertEqual(job["result"], {"ok": True})
        self.assertEqual(worker.stop(), 0, worker.describe())

    def test_a_job_command_calls_back_with_the_workers_ca(self):
        # `errand work --ca` hands the CA on as ERRAND_CA, with ERRAND_URL.
        q = self.q()
        script = ('"$0" --json job "$ERRAND_JOB_ID" > /dev/null && '
                  'echo "::result {\\"ca\\": \\"$ERRAND_CA\\"}"')
        worker = WorkerProcess(self.server, [q], global_args=("--ca", self.ca.cert),
                               command=("sh", "-c", script, errand_bin()))
        self.addCleanup(worker.kill)
        jid = self.server.enqueue(q)["id"]

        def finished():
            job = self.server.get_job(jid)
            return job if job["state"] in ("succeeded", "failed", "dead") else None
        job = poll_until(finished, 30, message=f"the job to finish:\n{worker.describe()}")
        self.assertEqual(job["state"], "succeeded", worker.describe())
        self.assertEqual(job["result"], {"ca": self.ca.cert})
        self.assertEqual(worker.stop(), 0, worker.describe())


class ReloadTest(ErrandTestCase):
    """SIGHUP reloads the certificate files; each test has its own server."""

    def setUp(self):
        self.ca = TestCA()
        self.addCleanup(self.ca.cleanup)
        first_cert, first_key = self.ca.issue("first", "errand-first")
        self.cert, self.key = self.ca.path("live.pem"), self.ca.path("live.key")
        shutil.copy(first_cert, self.cert)
        shutil.copy(first_key, self.key)
        self.server = ErrandServer(extra_args=["--tls-cert", self.cert, "--tls-key", self.key],
                                   ssl_context=self.ca.client_context())
        self.addCleanup(self.server.cleanup)
        self.server.start()

    def replace_files(self, cert, key):
        # As a certificate manager does: new files moved into place.
        for source, target in ((cert, self.cert), (key, self.key)):
            shutil.copy(source, target + ".new")
            os.replace(target + ".new", target)

    def hup_and_wait_for(self, line):
        before = self.server.log_text().count(line)
        self.server.send_signal(signal.SIGHUP)
        poll_until(lambda: self.server.log_text().count(line) > before, 20,
                   message=f"{line!r} in the server's log:\n{self.server.log_tail()}")

    def test_new_connections_get_the_new_certificate_and_an_open_stream_goes_on(self):
        s = self.server
        jid = s.enqueue("reload")["id"]
        stream = EventStream(s, f"/v1/jobs/{jid}/events", self.ca.client_context())
        self.addCleanup(stream.close)
        self.assertEqual(stream.next()["event"], "snapshot")
        self.assertEqual(peer_common_name(s, self.ca), "errand-first")

        # The new certificate comes from an intermediate CA: the file is a chain.
        self.replace_files(*self.ca.issue("second", "errand-second", intermediate=True))
        self.hup_and_wait_for("TLS certificate reloaded from")
        self.assertEqual(peer_common_name(s, self.ca), "errand-second")

        # The stream opened before the reload still delivers.
        job = s.claim_one("reload")
        event = stream.next()
        self.assertEqual((event["event"], event["data"]["state"]), ("state", "running"))
        s.complete(job, {"after": "reload"})
        events = stream.until_end()
        self.assertEqual(events[-1]["event"], "succeeded")
        self.assertEqual(events[-1]["data"]["result"], {"after": "reload"})
        self.assertEqual(s.get_job(jid)["state"], "succeeded")

    def test_clients_check_the_certificate_names_the_host(self):
        self.replace_files(*self.ca.issue("elsewhere", "errand-elsewhere",
                                          extensions="v3_elsewhere"))
        self.hup_and_wait_for("TLS certificate reloaded from")
        env = {k: v for k, v in os.environ.items() if k not in ("ERRAND_URL", "ERRAND_KEY")}
        p = subprocess.run([errand_bin(), "--server", self.server.url, "--ca", self.ca.cert,
                            "queues"], env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn("certificate verify failed (IP address mismatch)", p.stderr)

    def test_a_broken_key_keeps_the_old_certificate(self):
        with open(self.key, "w") as f:
            f.write("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
        self.hup_and_wait_for("TLS certificate not reloaded")
        self.assertIn(self.key, self.server.log_text())
        self.assertEqual(peer_common_name(self.server, self.ca), "errand-first")
        self.assertEqual(self.server.request("GET", "/healthz").status, 200)

    def test_a_key_of_another_certificate_keeps_the_old_certificate(self):
        _, other_key = self.ca.issue("other", "errand-other")
        shutil.copy(other_key, self.key)
        self.hup_and_wait_for("TLS certificate not reloaded")
        self.assertIn("not the key of the certificate", self.server.log_text())
        self.assertEqual(peer_common_name(self.server, self.ca), "errand-first")
        # Once the files match again, the next SIGHUP takes them.
        self.replace_files(*self.ca.issue("third", "errand-third"))
        self.hup_and_wait_for("TLS certificate reloaded from")
        self.assertEqual(peer_common_name(self.server, self.ca), "errand-third")


class StartupTest(ErrandTestCase):
    """Certificate problems stop the start with exit code 2 and a clear line."""

    @classmethod
    def setUpClass(cls):
        cls.ca = TestCA()
        cls.cert, cls.key = cls.ca.issue("server", "errand-1")
        _, cls.other_key = cls.ca.issue("other", "errand-other")

    @classmethod
    def tearDownClass(cls):
        cls.ca.cleanup()

    def start_fails(self, *args):
        data = tempfile.mkdtemp(prefix="errand-tls-data-")
        self.addCleanup(shutil.rmtree, data, True)
        p = subprocess.run([errand_bin(), "server", "--listen", "127.0.0.1:0", "--data", data,
                            *args], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        return p.stderr

    def test_both_files_or_neither(self):
        self.assertIn("--tls-cert needs --tls-key", self.start_fails("--tls-cert", self.cert))
        self.assertIn("--tls-key needs --tls-cert", self.start_fails("--tls-key", self.key))

    def test_a_missing_file_is_named(self):
        missing = self.ca.path("missing.pem")
        err = self.start_fails("--tls-cert", missing, "--tls-key", self.key)
        self.assertIn(missing, err)
        self.assertIn("No such file", err)

    def test_a_key_that_is_not_the_certificates(self):
        err = self.start_fails("--tls-cert", self.cert, "--tls-key", self.other_key)
        self.assertIn(self.other_key, err)
        self.assertIn("not the key of the certificate", err)

    def test_a_certificate_file_that_is_not_pem(self):
        err = self.start_fails("--tls-cert", self.ca.config,
                               "--tls-key", self.key)
        self.assertIn(self.ca.config, err)
        self.assertIn("cannot load the TLS certificate", err)


if __name__ == "__main__":
    unittest.main()
