// The SQLite schema (version 11) and connection settings.
//
// `jobs` holds every field of core::Job, keyed by the integer job id (the
// rowid, core/id.hpp; a job made before version 7 also keeps its
// 26-character id in `legacy_id`): JSON fields (payload, result, progress,
// errors, tags) as JSON text, times as INTEGER unix milliseconds, state as a
// small integer (core::JobState's value: 0 scheduled, 1 queued, 2 running,
// 3 succeeded, 4 failed, 5 dead, 6 cancelled). Partial indexes keep every
// verb O(log n): ready jobs per queue, waiting jobs by run_at, running jobs
// by lease expiry, finished jobs by finished_at, unique idempotency keys.
// `queues` holds each queue's pause flag, lifetime counters and its job count
// per state, written by the writer in the same transaction as the jobs, so
// `GET /v1/queues` never counts rows, and its config (NULL columns: unset).
// `job_logs` holds each attempt's log (the tail a worker sent with its
// outcome), apart from `jobs` so claims never read it; a trigger drops a
// job's logs with the job. `schedules` holds each schedule's definition and
// bookkeeping (fired_through, last fire); `schedule_fires` one row per fire
// time done, unique per (schedule, fire time), written in the transaction
// that enqueues the fire's job (only the latest 1000 per schedule are kept).
// Version 2 added the config columns, version 3 job_logs, version 4 the cron
// tables, version 5 push delivery (`job_push`), version 6 leaner indexes,
// version 7 integer job ids, version 8 `stats_samples` (the throughput
// history: one row of queue counters per sample, bounded by the history's span), version 9
// idempotency keys per queue, version 10 `settings` (values all servers share: the job-token
// secret), version 11 `sessions` (dashboard logins, by the digest of their id), version 12
// `nodes` (the node registry: one row per server start, store/sqlite/nodes.cpp), version 15
// the jobs' trace context (traceparent, tracestate). An older
// database is migrated in place at open. Called once at open, before the writer thread starts.
#pragma once

#include "store/sqlite/db.hpp"

namespace errand::store::sqlite {

inline constexpr int kSchemaVersion = 15;

// Sets the pragmas (exclusive WAL, synchronous=NORMAL with the writer's own
// fsync, cache sizes) and creates, checks or migrates the schema (all or
// nothing). Errors: unavailable (locked by another process), internal (newer
// schema, I/O).
core::Result<void> prepare_schema(Db& db);

}  // namespace errand::store::sqlite
