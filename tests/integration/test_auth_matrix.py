"""Who may call what, for every route: each operation of docs/openapi.yaml
(whose paths and methods equal the server's route table: api_openapi_test)
is called with no credentials, a wrong key, a key of each role, the job's
own token, another job's token, and a dashboard session with and without its
CSRF header; each answer must be the one its `x-errand-role` documents
(docs/API.md, "Authentication"). An operation without `x-errand-role`, or
with a role this table does not know, fails the test: a route added without
its row cannot slip through.
"""

import os
import re
import unittest

import yaml

from harness import ErrandServer, ErrandTestCase

ADMIN = "admin:matrix-admin-secret-00001"
PRODUCER = "producer:matrix-producer-secret-1"
WORKER = "worker:matrix-worker-secret-0001"
METRICS = "metrics:matrix-metrics-secret-001"
KEYS = (ADMIN, PRODUCER, WORKER, METRICS)

OPENAPI = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "openapi.yaml")

PASS = "pass"  # past authentication: any answer but 401 and 403
CREDENTIALS = ("none", "wrong key", "admin", "producer", "worker", "metrics",
               "this job's token", "another job's token", "session", "session without CSRF")

# What each documented role lets each credential do. A dashboard session is
# the admin's; without its CSRF header it may only read (safe methods).
ROLES = {
    "admin": {"admin": PASS, "producer": 403, "worker": 403, "metrics": 403},
    "producer": {"admin": PASS, "producer": PASS, "worker": 403, "metrics": 403},
    "producer, or the job's token": {"admin": PASS, "producer": PASS, "worker": 403,
                                     "metrics": 403, "this job's token": PASS},
    "worker": {"admin": PASS, "producer": 403, "worker": PASS, "metrics": 403},
    # No key at all: the body's lease_id authorizes (a push handler's progress).
    "worker, or the lease alone": {"admin": PASS, "producer": 403, "worker": PASS,
                                   "metrics": 403, "none": PASS, "this job's token": PASS,
                                   "another job's token": PASS},
    "metrics": {"admin": PASS, "producer": 403, "worker": 403, "metrics": PASS},
    # The path's token is the credential: one this server did not sign is
    # refused whatever else comes with it.
    "the signal URL's token": {c: 401 for c in CREDENTIALS},
    # Logging out: anyone may (it ends the request's own session), but a
    # session cookie must come with its CSRF header, or a cross-site form
    # could log the admin out.
    "open, but a session's logout needs its X-CSRF-Token": {
        **{c: PASS for c in CREDENTIALS}, "session without CSRF": 403},
}
SAFE = {"GET", "HEAD"}


def expected(role, method, credential):
    if role == "open":
        return PASS
    if role not in ROLES:  # a new role needs its row
        raise AssertionError(f"x-errand-role {role!r} is not in the auth matrix: add its row")
    rule = ROLES[role]
    if credential in rule:
        return rule[credential]
    if credential == "session":
        return PASS
    if credential == "session without CSRF":
        return PASS if method in SAFE else 403
    return 401  # none, a wrong key, a job token where none is taken


def operations():
    with open(OPENAPI) as f:
        doc = yaml.safe_load(f)
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method not in ("get", "post", "put", "delete", "patch"):
                continue
            yield method.upper(), path, op.get("x-errand-role")


class AuthMatrixTest(ErrandTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = ErrandServer(keys=KEYS)
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.server.cleanup()

    def job(self):
        """A job that has ended (its event stream ends at once), with its token."""
        s = self.server
        made = s.enqueue("matrix-q", payload={"n": 1})
        r = s.request("POST", f"/v1/jobs/{made['id']}/cancel")
        self.assertEqual(r.status, 200, r.body)
        return made["id"], made["token"]

    def login(self):
        r = self.server.request("POST", "/v1/session", {"key": ADMIN.split(":", 1)[1]}, key=None)
        self.assertEqual(r.status, 200, r.body)
        cookie = re.match(r"errand_session=([^;]*)", r.headers["set-cookie"]).group(1)
        return cookie, r.body["csrf_token"]

    def call(self, method, path, credential, job_id, token, other_token):
        key, headers, query = None, {}, ""
        if credential == "wrong key":
            key = "wrong-key-secret-0000000001"
        elif credential in ("admin", "producer", "worker", "metrics"):
            key = dict(k.split(":", 1) for k in KEYS)[credential]
        elif credential == "this job's token":
            query = "?token=" + token
        elif credential == "another job's token":
            query = "?token=" + other_token
        elif credential.startswith("session"):
            cookie, csrf = self.login()
            headers["Cookie"] = f"errand_session={cookie}"
            if credential == "session":
                headers["X-CSRF-Token"] = csrf
        body = {} if method in ("POST", "PUT", "PATCH") else None
        return self.server.request(method, path + query, body, key=key, headers=headers)

    def test_every_route_answers_each_credential_as_documented(self):
        job_id, token = self.job()
        _, other_token = self.job()
        values = {"id": job_id, "queue": "matrix-q", "name": "matrix-s", "key": "k1",
                  "token": "not.a.signal-token", "file": "app.js"}
        seen = 0
        for method, pattern, role in operations():
            self.assertIsNotNone(role, f"{method} {pattern} has no x-errand-role in "
                                       "docs/openapi.yaml: say who may call it")
            path = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], pattern)
            for credential in CREDENTIALS:
                want = expected(role, method, credential)
                with self.subTest(route=f"{method} {pattern}", credential=credential):
                    r = self.call(method, path, credential, job_id, token, other_token)
                    if want == PASS:
                        self.assertNotIn(r.status, (401, 403),
                                         f"{method} {pattern} ({role}) refused {credential}: "
                                         f"{r.body}")
                    else:
                        self.assertEqual(r.status, want,
                                         f"{method} {pattern} ({role}) with {credential}: "
                                         f"{r.body}")
                seen += 1
        # The table covers the whole route table (53 routes when this was written).
        self.assertGreaterEqual(seen, 53 * len(CREDENTIALS))


if __name__ == "__main__":
    unittest.main()
