// Mapping between core::Job and a row of the `jobs` table: the column list
// every job query selects, and the few statements that read or write a whole
// job. Client JSON is stored as text, byte for byte; times as unix
// milliseconds. Writer thread only. The decoding itself, and the
// unreadable-job bookkeeping, are shared (store/common/job_rows.hpp).
#pragma once

#include "core/job.hpp"
#include "core/queue_config.hpp"
#include "store/common/job_rows.hpp"
#include "store/common/new_job_rows.hpp"
#include "store/postgres/conn.hpp"

#include <optional>
#include <string_view>
#include <vector>

namespace errand::store::postgres {

// Selected by every statement that returns whole jobs, in this order.
inline constexpr std::string_view kJobColumns =
    "id, queue, type, payload, state, priority, run_at, created_at, started_at,"
    " finished_at, attempt, max_attempts, timeout_ms, idempotency_key, tags, progress, result,"
    " errors, lease_id, worker, lease_expires_at, cancel_requested, event_seq, key, links,"
    " batch_id, on_done, traceparent, tracestate";
inline constexpr int kJobColumnCount = 29;

// Row `i` of rows that selected kJobColumns. Never throws: a row that cannot
// be read is marked `unreadable` and logged once. Without `client_json`,
// payload, result and progress data are left empty (and not read).
JobRow read_job(const Rows& rows, int i, bool client_json = true);

// Every readable row; the unreadable ones go to `unreadable` when given,
// else are skipped.
std::vector<JobRow> read_jobs(const Rows& rows, std::vector<JobRow>* unreadable = nullptr);

// The job with this id, or not_found (field "id"); unreadable_error when its
// row cannot be read. `lock`: FOR UPDATE (another server may change it).
core::Result<JobRow> load_job(Conn& db, std::string_view id, bool lock = true);

// Inserts a new job in `state`, created at `now`, with its resolved
// settings, as job `id` (from take_job_id) or else a fresh one
// (next_job_id(now)). Returns the id; nullopt when another transaction
// holds the job's idempotency key in its queue (it waits for that one to
// end: the key's job is then there to read).
core::Result<std::optional<std::int64_t>> insert_job(Conn& db, const core::NewJob& job,
                                                     const core::JobSettings& settings,
                                                     core::JobState state, core::TimePoint now,
                                                     std::optional<std::int64_t> id = std::nullopt,
                                                     std::optional<std::int64_t> batch = {});
// A fresh job id for a job created at `now`: next_job_id(now).
core::Result<std::int64_t> take_job_id(Conn& db, core::TimePoint now);
// `n` fresh job ids at once, ascending.
core::Result<std::vector<std::int64_t>> take_job_ids(Conn& db, core::TimePoint now, std::size_t n);

// New jobs' rows (ids taken, no idempotency key) created at `now` (in
// `batch`), written up to 64 a statement: one round trip for them all.
NewJobRows job_row_writer(Conn& db, core::TimePoint now, std::optional<std::int64_t> batch);

// Writes every mutable field of `row.job` back to its row.
core::Result<void> save_job(Conn& db, const JobRow& row);
// Sets only the state (timers, burying an unreadable job).
core::Result<void> save_state(Conn& db, std::int64_t rowid, core::JobState state);

// Fills the job's push bookkeeping from job_push; no row keeps zeros.
core::Result<void> load_push_bookkeeping(Conn& db, JobRow& row);

}  // namespace errand::store::postgres
