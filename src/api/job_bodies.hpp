// The bodies of /v1/jobs and /v1/batches, and GET /v1/jobs's query, read
// into the engine's requests: what the handlers of api/jobs.cpp parse before
// they call the engine, apart so that it is tested and fuzzed without one
// (fuzz/fuzz_job_bodies.cpp). Errors are invalid_argument naming the field
// at fault ("jobs[2].queue" in a batch), or payload_too_large for a payload
// over ApiLimits::max_payload. Functions of their arguments: thread-safe.
#pragma once

#include "api/router.hpp"

#include <string>
#include <utility>
#include <vector>

namespace errand::api {

// An enqueue body: the engine's request, and what the answer's token shows;
// in a batch, the item's `ref` (its `after` entries then name job ids, and
// earlier items of the batch by index).
struct ParsedEnqueue {
  engine::EnqueueRequest request;
  TokenScope token_scope;
  std::string ref;
};

// Jobs to enqueue together, and what each one's token shows (scopes[i] is
// request.jobs[i]'s); a batch's callbacks and `open` where it has them.
struct ParsedBatch {
  engine::BatchRequest request;
  std::vector<TokenScope> scopes;
};

// POST /v1/jobs: one job. The request's traceparent and tracestate headers
// apply when the body has no trace context of its own.
core::Result<ParsedEnqueue> parse_enqueue_body(const Request& request, const ApiLimits& limits);

// POST /v1/jobs/batch {"jobs": [...]}: 1 to 10,000 jobs, refs resolved.
core::Result<ParsedBatch> parse_enqueue_batch(const Request& request, const ApiLimits& limits);

// POST /v1/batches {"jobs"?, "on_success"?, "on_complete"?, "on_death"?,
// "open"?}: jobs that are neither unique nor debounced, and a batch with no
// jobs only when it is open.
core::Result<ParsedBatch> parse_create_batch(const Request& request, const ApiLimits& limits);

// POST /v1/batches/{id}/jobs {"jobs": [...]}: request.jobs only.
core::Result<ParsedBatch> parse_add_batch_jobs(const Request& request, const ApiLimits& limits);

// GET /v1/jobs?queue=&state=&…: the list's filters and page. Unknown
// parameters are refused.
core::Result<store::JobListParams> parse_list(const Request& request);

// POST /v1/jobs/bulk {"action", "ids"}: the action (retry, cancel or
// delete) and 1 to 1,000 job ids.
core::Result<std::pair<std::string, std::vector<std::string>>> parse_bulk(const Request& request);

}  // namespace errand::api
