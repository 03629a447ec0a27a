// The bodies of the worker endpoints (claim, heartbeat, progress, complete,
// fail, acks), read into the engine's requests: what the handlers of
// api/workers.cpp parse before they call the engine, apart so that it is
// tested and fuzzed without one (fuzz/fuzz_job_bodies.cpp). Errors are
// invalid_argument naming the field at fault ("acks[3].lease_id" in a list).
// Functions of their arguments: thread-safe.
#pragma once

#include "api/router.hpp"

#include <optional>
#include <string>
#include <vector>

namespace errand::api {

// POST /v1/claim {"queues", "worker"?, "max"?, "min"?, "wait"?, "lease"?}
core::Result<engine::ClaimRequest> parse_claim_body(const Request& request);

// POST /v1/jobs/{id}/heartbeat {"lease_id", "extend"?}
struct HeartbeatBody {
  std::string lease_id;
  std::optional<core::Millis> extend;  // none: the lease's own length
};
core::Result<HeartbeatBody> parse_heartbeat_body(const Request& request);

// POST /v1/jobs/{id}/progress {"lease_id", "percent"?, "message"?, "data"?}
struct ProgressBody {
  std::string lease_id;
  core::Progress progress;
};
core::Result<ProgressBody> parse_progress_body(const Request& request);

// POST /v1/jobs/{id}/complete {"lease_id", "result"?, "log"?}: job `id`'s.
core::Result<engine::CompleteRequest> parse_complete_body(const Request& request, std::string id);

// POST /v1/jobs/{id}/fail {"lease_id", "error", "retry"?, "retry_in"?,
// "log"?}: job `id`'s.
core::Result<engine::FailRequest> parse_fail_body(const Request& request, std::string id);

// POST /v1/acks {"acks": [...]}: 1 to 10,000 entries, each a completion or
// (with "error") a failure of the job its "id" names.
core::Result<std::vector<engine::AckRequest>> parse_acks_body(const Request& request);

}  // namespace errand::api
