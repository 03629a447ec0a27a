// The job's JSON form, as `GET /v1/jobs/{id}` returns it and as clients read
// it back. Shared by the API (rendering) and the client library (parsing).
#pragma once

#include "core/job.hpp"
#include "core/json_text.hpp"

#include <boost/json/object.hpp>

namespace errand::core {

// Which parts of a job its JSON shows.
struct JobView {
  // payload, result and progress.data (a job list leaves them out unless
  // asked: they may be large). Left out means the keys are absent.
  bool client_json = true;
  // What only the app and its workers may see: idempotency_key, tags,
  // worker, lease_expires_at, log, payload. False for a job token, which
  // sees state, progress, result and errors (docs/API.md).
  bool private_fields = true;
  // The payload even without private_fields: a job token whose scope holds
  // it (the enqueue's token_scope).
  bool token_payload = false;
  // The job's signal URL (admins only; shown while the job waits for it).
  std::string signal_url;
};

// The job's JSON text; client JSON (payload, result, progress data) spliced
// in verbatim.
void write_job(JsonWriter& w, const Job& job, const JobView& view = {});
std::string job_json(const Job& job, const JobView& view = {});
// A page of the job list: {"jobs": [...], "next_cursor", "partial"}.
// Written by the server and, for `errand jobs --json`, by the client.
std::string job_page_json(const std::vector<Job>& jobs, std::string_view next_cursor, bool partial,
                          const JobView& view);

// Reads a job from its JSON text (as job_json writes it), keeping the
// client JSON fields verbatim. Errors: invalid_argument naming the field.
Result<Job> job_from_json(std::string_view text);

// `GET /v1/jobs/{id}/logs`: {"id", "logs": [{attempt, at, log}]}, oldest first.
boost::json::object logs_to_json(const Job& job);

void write_progress(JsonWriter& w, const Progress& p, bool with_data = true);

}  // namespace errand::core
