// What `errand copy` moves: every table of the SQLite store (schema version
// 15, store/sqlite/schema.cpp) but `nodes`, and the PostgreSQL table it goes
// to (store/postgres/schema.cpp), column for column. The node registry is
// not copied: it says which servers ran on the SQLite store, which the
// PostgreSQL servers neither are nor need (each registers itself). The two schemas
// have the same tables and columns apart from:
//   - jobs.legacy_id (SQLite only): the 26-character id of a job made before
//     SQLite schema version 7. PostgreSQL has no such column, so such a job
//     keeps only its integer id (copy.hpp's summary counts them).
//   - queues.bucket_tokens, bucket_at, throttled_until (PostgreSQL only):
//     the rate-limit bucket, which SQLite keeps in memory; left NULL (full).
//   - queue_keys.bucket_tokens, bucket_at: a key's rate-limit bucket is not
//     copied (its REAL column has no column kind here): it starts full.
// SQLite's 0/1 flags become booleans. Rows of job_logs and job_push whose
// job is gone have nowhere to go (PostgreSQL's foreign keys) and are left out;
// so are dashboard sessions expired at the copy's `now` (their digests are
// keyed by the copied "session_key" setting, so the live ones stay valid).
// Tables are listed parents first. Pure data.
#pragma once

#include <array>
#include <string_view>
#include <vector>

namespace errand::store::copy {

enum class Kind { integer, text, boolean };

struct Column {
  std::string_view name;
  Kind kind;
};

// What a table's WHERE clause leaves out.
enum class LeftOut { nothing, orphans, expired };

struct Table {
  std::string_view name;
  std::string_view noun;  // one row, for messages: "job log"
  // The SQLite rows to copy: a WHERE clause (may be empty; "{now}" stands
  // for the copy's time in unix milliseconds) and the order.
  std::string_view where;
  std::string_view order_by;
  std::vector<Column> columns;
  LeftOut left_out = LeftOut::nothing;
};

inline constexpr Kind I = Kind::integer;
inline constexpr Kind T = Kind::text;
inline constexpr Kind B = Kind::boolean;

// Every table, in copy order (jobs before the rows that refer to them).
// (Not clang-formatted: a line per group of columns reads better than one per column.)
// clang-format off
inline const std::array<Table, 13> kTables = {{
    {"jobs", "job", "", "id",
     {{"id", I}, {"queue", T}, {"type", T}, {"payload", T}, {"state", I}, {"priority", I},
      {"run_at", I}, {"created_at", I}, {"started_at", I}, {"finished_at", I}, {"attempt", I},
      {"max_attempts", I}, {"timeout_ms", I}, {"idempotency_key", T}, {"tags", T},
      {"progress", T}, {"result", T}, {"errors", T}, {"lease_id", T}, {"worker", T},
      {"lease_expires_at", I}, {"cancel_requested", B}, {"key", T}, {"unique_key", T},
      {"debounce_key", T}, {"debounce_until", I}, {"links", I}, {"blockers", I},
      {"batch_id", I}, {"on_done", T}, {"traceparent", T}, {"tracestate", T}}},
    {"webhooks", "job webhook", "job_id IN (SELECT id FROM jobs)", "job_id",
     {{"job_id", I}, {"queue", T}, {"url", T}, {"state", I}, {"attempts", I}, {"created_at", I},
      {"next_at", I}, {"last_status", I}, {"last_error", T}, {"delivered_at", I}},
     LeftOut::orphans},
    {"batches", "batch", "", "id",
     {{"id", I}, {"state", I}, {"created_at", I}, {"finished_at", I}, {"total", I},
      {"succeeded", I}, {"dead", I}, {"cancelled", I}, {"on_success", T}, {"on_complete", T},
      {"on_death", T}, {"success_job", I}, {"complete_job", I}, {"death_job", I}}},
    {"job_deps", "job dependency",
     "parent IN (SELECT id FROM jobs) AND child IN (SELECT id FROM jobs)", "parent, child",
     {{"parent", I}, {"child", I}, {"counted", B}}, LeftOut::orphans},
    {"job_logs", "job log", "job_id IN (SELECT id FROM jobs)", "job_id, attempt",
     {{"job_id", I}, {"attempt", I}, {"at", I}, {"log", T}}, LeftOut::orphans},
    {"job_push", "push record", "job_id IN (SELECT id FROM jobs)", "job_id",
     {{"job_id", I}, {"continuations", I}, {"deferrals", I}, {"state", T}, {"signal", T},
      {"signal_nonce", T}, {"signal_status", I}}, LeftOut::orphans},
    {"queues", "queue", "", "name",
     {{"name", T}, {"paused", B}, {"processed", I}, {"failed", I}, {"n_scheduled", I},
      {"n_queued", I}, {"n_running", I}, {"n_succeeded", I}, {"n_failed", I}, {"n_dead", I},
      {"n_cancelled", I}, {"n_blocked", I}, {"n_waiting", I}, {"concurrency", I}, {"rate_limit", I}, {"rate_per_ms", I},
      {"default_priority", I}, {"default_max_attempts", I}, {"default_timeout_ms", I},
      {"push_url", T}, {"push_timeout_ms", I}, {"push_concurrency", I}, {"push_headers", T},
      {"push_secret", T}, {"push_secret_prev", T}, {"push_secret_prev_until", I}, {"flow", T}}},
    {"queue_keys", "job key", "", "queue, key",
     {{"queue", T}, {"key", T}, {"n_queued", I}, {"n_running", I}, {"head_priority", I},
      {"pass", I}, {"clock", I}, {"overridden", B}, {"concurrency", I}, {"rate_limit", T},
      {"paused", B}, {"weight", I}, {"throttled_until", I}}},
    {"schedules", "schedule", "", "name",
     {{"name", T}, {"cron", T}, {"timezone", T}, {"queue", T}, {"type", T}, {"payload", T},
      {"priority", I}, {"max_attempts", I}, {"overlap", B}, {"paused", B}, {"catch_up_ms", I},
      {"source", T}, {"created_at", I}, {"updated_at", I}, {"fired_through", I},
      {"last_fired_at", I}, {"last_job_id", T}}},
    {"schedule_fires", "schedule fire", "", "schedule, fire_at",
     {{"schedule", T}, {"fire_at", I}, {"job_id", T}}},
    {"stats_samples", "throughput sample", "", "at", {{"at", I}, {"totals", T}}},
    {"settings", "setting", "", "name", {{"name", T}, {"value", T}}},
    {"sessions", "dashboard session", "expires_at > {now}", "digest",
     {{"digest", T}, {"csrf_token", T}, {"client", T}, {"expires_at", I}, {"created_at", I}},
     LeftOut::expired},
}};
// clang-format on

}  // namespace errand::store::copy
