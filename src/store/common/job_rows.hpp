// Decoding and encoding of a stored job, shared by every backend: the
// backend copies one row's columns into a JobColumns view (no parsing), and
// decode_job turns it into a core::Job, or marks the row unreadable (stored
// JSON that does not scan, an unknown state). Also the JSON text of the
// fields stored as JSON, and the process-wide bookkeeping of unreadable jobs.
// Thread-safety: the functions are pure but for the unreadable-job set,
// which is guarded by its own mutex.
#pragma once

#include "core/job.hpp"
#include "core/time.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace errand::store {

// One job row as the backend read it; the views point into the backend's
// statement or result and live as long as it. Absent optionals are SQL NULL.
struct JobColumns {
  std::int64_t rowid = 0;
  std::string id;  // the id the job shows (core/id.hpp)
  std::string_view queue;
  std::string_view type;
  std::optional<std::string_view> payload;
  std::int64_t state = 0;
  std::int64_t priority = 0;
  core::TimePoint run_at;
  core::TimePoint created_at;
  std::optional<core::TimePoint> started_at;
  std::optional<core::TimePoint> finished_at;
  std::int64_t attempt = 0;
  std::int64_t max_attempts = 0;
  std::int64_t timeout_ms = 0;
  std::string_view idempotency_key;
  std::string_view tags;
  std::optional<std::string_view> progress;
  std::optional<std::string_view> result;
  std::string_view errors;
  std::string_view lease_id;
  std::string_view worker;
  std::optional<core::TimePoint> lease_expires_at;
  bool cancel_requested = false;
  std::string_view key;
  std::int64_t event_seq = 0;  // PostgreSQL only
  std::int64_t links = 0;      // kLink* flags
  std::optional<std::int64_t> batch_id;
  std::string_view on_done;
  std::string_view traceparent;
  std::string_view tracestate;
};

// What a job takes part in (the `links` column's flags).
inline constexpr std::int64_t kLinkChildren = 1;      // some job waits (or waited) for it
inline constexpr std::int64_t kLinkParents = 2;       // it waits (or waited) for parents
inline constexpr std::int64_t kLinkAfterFailure = 4;  // it runs after failed parents too
inline constexpr std::int64_t kLinkContinued = 8;     // it was continued: claims read its state
inline constexpr std::int64_t kLinkBatch = 16;        // it belongs to a batch (batch_id)
inline constexpr std::int64_t kLinkWebhook = 32;      // it has a completion webhook (on_done)

// The job's signal wait as stored beside its continuation state.
void read_signal_wait(core::Job& job, std::optional<std::string_view> signal,
                      std::string_view nonce, std::int64_t status);

struct JobRow {
  std::int64_t rowid = 0;
  core::Job job;
  // Why the row cannot be read (stored JSON that does not scan, an unknown
  // state): only job.id and job.queue are filled. Empty: readable.
  std::string unreadable;
};

// The job of one row. Never throws: a row that cannot be read is marked
// `unreadable` and logged once (note_unreadable). Without `client_json`,
// payload, result and progress data are left empty (and not scanned).
JobRow decode_job(const JobColumns& c, bool client_json = true);

// Logs an unreadable job (once per job id and process) and counts it.
void note_unreadable(const JobRow& row);
// How many distinct unreadable jobs this process has met.
std::int64_t unreadable_jobs_seen();
// The error a read of an unreadable job answers: names the job and how to delete it.
core::Error unreadable_error(const JobRow& row);
// not_found (field "id") for a job id that names no job.
core::Error job_not_found(std::string_view id);

// JSON text of the fields stored as JSON.
std::string tags_text(const std::vector<std::string>& tags);
std::string errors_text(const std::vector<core::AttemptError>& errors);
std::string progress_text(const core::Progress& p);

}  // namespace errand::store
