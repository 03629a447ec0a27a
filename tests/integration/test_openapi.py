"""GET /v1/openapi.json, and the check every other suite's answers go through.

The server serves docs/openapi.yaml as JSON, unchanged and without a key; the
check (openapi_check.py) refuses answers the document does not describe. The
route table itself is compared with the document in src/api/openapi_test.cpp.
"""

import unittest

import openapi_check
from harness import ErrandServer, SharedServerTestCase

JOB = {"id": "1M8HZ4NKB0007", "queue": "q", "type": None, "state": "queued", "priority": 0,
       "run_at": "2026-01-01T00:00:00.000Z", "attempt": 0, "max_attempts": 10, "timeout": "5m",
       "progress": None, "errors": [], "cancel_requested": False, "created_at": "2026-01-01T00:00:00.000Z",
       "started_at": None, "finished_at": None}


class ServedDocument(SharedServerTestCase):
    def test_served_document_is_the_yaml(self):
        status, body, headers = self.server.request("GET", "/v1/openapi.json")
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("application/json"), headers)
        self.assertEqual(body, openapi_check.load_document())
        self.assertTrue(body["openapi"].startswith("3.1."))

    def test_needs_no_key(self):
        with ErrandServer(keys=("admin:" + "a" * 32,)) as server:
            status, body, _ = server.request("GET", "/v1/openapi.json", key=None)
            self.assertEqual(status, 200)
            self.assertIn("/v1/jobs", body["paths"])
            # and a route that needs one still does
            self.assertEqual(server.request("GET", "/v1/jobs", key=None).status, 401)


class TheCheckRefuses(unittest.TestCase):
    """The check must be able to fail, or it proves nothing."""

    def test_a_good_job_passes(self):
        openapi_check.check_answer("GET", "/v1/jobs/1M8HZ4NKB0007?token=x", 200, "application/json", JOB)

    def test_a_job_without_its_state(self):
        job = {k: v for k, v in JOB.items() if k != "state"}
        with self.assertRaisesRegex(openapi_check.OpenApiMismatch, "state"):
            openapi_check.check_answer("GET", "/v1/jobs/1M8HZ4NKB0007", 200, "application/json", job)

    def test_a_wrongly_typed_field(self):
        with self.assertRaisesRegex(openapi_check.OpenApiMismatch, "attempt"):
            openapi_check.check_answer("GET", "/v1/jobs/x", 200, "application/json", dict(JOB, attempt="1"))

    def test_an_undocumented_success_status(self):
        with self.assertRaises(openapi_check.OpenApiMismatch):
            openapi_check.check_answer("POST", "/v1/jobs/x/cancel", 201, "application/json", JOB)

    def test_a_success_on_a_route_the_document_lacks(self):
        with self.assertRaisesRegex(openapi_check.OpenApiMismatch, "no operation"):
            openapi_check.check_answer("GET", "/v1/nowhere", 200, "application/json", {})

    def test_an_error_that_is_not_the_error_object(self):
        with self.assertRaises(openapi_check.OpenApiMismatch):
            openapi_check.check_answer("GET", "/v1/jobs/x", 404, "application/json", {"message": "no"})
        with self.assertRaises(openapi_check.OpenApiMismatch):
            openapi_check.check_answer("GET", "/v1/jobs/x", 404, "application/json",
                                       {"error": {"code": "gone", "message": "no"}})

    def test_literal_paths_win_over_templates(self):
        template, _ = openapi_check.find_operation("POST", "/v1/jobs/batch")
        self.assertEqual(template, "/v1/jobs/batch")
        template, _ = openapi_check.find_operation("POST", "/v1/jobs/abc/cancel")
        self.assertEqual(template, "/v1/jobs/{id}/cancel")

    def test_added_fields_are_allowed(self):
        openapi_check.check_answer("GET", "/v1/jobs/x", 200, "application/json", dict(JOB, key="tenant-1"))


if __name__ == "__main__":
    unittest.main()
