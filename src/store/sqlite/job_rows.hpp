// Mapping between core::Job and a row of the `jobs` table: the column list
// every job query selects, and the few statements that read or write a whole
// job. JSON fields are stored as JSON text; times as unix milliseconds. The
// decoding itself is shared (store/common/job_rows.hpp).
// Used only on the writer thread.
#pragma once

#include "core/job.hpp"
#include "core/queue_config.hpp"
#include "store/common/job_rows.hpp"
#include "store/common/new_job_rows.hpp"
#include "store/sqlite/statements.hpp"

#include <string_view>

namespace errand::store::sqlite {

// Selected by every statement that returns whole jobs, in this order.
inline constexpr std::string_view kJobColumns =
    "id, legacy_id, queue, type, payload, state, priority, run_at, created_at, started_at,"
    " finished_at, attempt, max_attempts, timeout_ms, idempotency_key, tags, progress, result,"
    " errors, lease_id, worker, lease_expires_at, cancel_requested, key, links, batch_id, on_done,"
    " traceparent, tracestate";

// The column after kJobColumns in a job_list statement: whether the row
// passes the tag and text filters.
inline constexpr int kJobListHit = 29;

// Reads the current row of a query that selected kJobColumns. Never throws:
// a row that cannot be read is marked `unreadable` and logged once.
// Without `client_json`, payload, result and progress data are left empty
// (and not read).
JobRow read_job(const Query& q, bool client_json = true);

// Every remaining readable row of `q` (which selected kJobColumns); the
// unreadable ones go to `unreadable` when given, else are skipped.
core::Result<std::vector<JobRow>> read_jobs(Query& q, std::vector<JobRow>* unreadable = nullptr);

// The id a job shows (core/id.hpp) from the `id` and `legacy_id` columns
// of the current row.
std::string public_id(const Query& q, int id_col, int legacy_col);

// The rowid of the job with this id (either form), or 0 when there is none
// (no job has rowid 0). A 13-character id needs no read.
core::Result<std::int64_t> find_rowid(Statements& sql, std::string_view id);

// The job with this id, or not_found (field "id"); unreadable_error when
// its row cannot be read.
core::Result<JobRow> load_job(Statements& sql, std::string_view id);

// Inserts a new job created at `now`, in batch `batch` when given, with its
// resolved settings (the job's unset priority / max_attempts / timeout are
// not read).
core::Result<void> insert_job(Statements& sql, std::int64_t id, const core::NewJob& job,
                              const core::JobSettings& settings, core::JobState state,
                              core::TimePoint now, std::optional<std::int64_t> batch = {});

// New jobs' rows created at `now` (in `batch`), written kJobInsertRowsMax a
// statement.
NewJobRows job_row_writer(Statements& sql, core::TimePoint now, std::optional<std::int64_t> batch);

// Writes every mutable field of `row.job` (state, times, attempts, progress,
// result, errors, lease, cancel flag) back to its row.
core::Result<void> save_job(Statements& sql, const JobRow& row);

// Fills the job's push bookkeeping (continuations, deferrals, state, signal
// wait) from job_push; a job without a row keeps zeros.
core::Result<void> load_push_bookkeeping(Statements& sql, JobRow& row);

}  // namespace errand::store::sqlite
