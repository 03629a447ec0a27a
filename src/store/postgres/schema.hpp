// The PostgreSQL schema and its numbered migrations.
//
// Everything lives in one schema of its own (PostgresOptions::schema,
// "errand" by default), created if missing, so an app's database can host
// Errand beside its own tables; nothing needs a superuser or an extension.
// `schema_version` has one row per migration applied. Each migration runs in
// its own transaction under pg_advisory_xact_lock(migration_lock_key(schema)),
// so servers starting together migrate once: the others wait, then find the
// version reached.
//
// Tables mirror the SQLite store's (store/sqlite/schema.hpp): `jobs` (client
// JSON as text, kept byte for byte; times as bigint unix milliseconds; state
// as core::JobState's number), `queues` (pause flag, lifetime counters, job
// count per state, config, push secrets and the rate-limit bucket, so every
// server shares them under the queue row's lock), `job_logs`, `job_push`,
// `schedules` and `schedule_fires`, `stats_samples`, `settings`, `sessions`.
// Job ids come from next_job_id(now_ms): (now_ms << 20) | (nextval(job_seq) &
// 1048575). Version 2 adds enqueue() and enqueue_many() for apps' own
// transactions (store/postgres/sql_api.hpp); version 3 `sessions` (dashboard
// logins every server shares); version 4 `jobs.event_seq` (job events across
// servers); version 5 `nodes`, the node registry (one row per server start,
// store/postgres/nodes.cpp); version 9 `jobs.traceparent` and `jobs.tracestate`.
#pragma once

#include "store/postgres/conn.hpp"

#include <cstdint>
#include <string>

namespace errand::store::postgres {

inline constexpr int kSchemaVersion = 9;

// The advisory lock key of `schema`'s migrations (FNV-1a of its name).
std::int64_t migration_lock_key(const std::string& schema);

// Creates or migrates `schema` to kSchemaVersion; returns the version
// reached. Errors: internal naming both versions when the database's is
// newer than this binary's; unavailable (connection), internal (SQL).
core::Result<int> migrate_schema(Conn& conn, const std::string& schema);

// The NOTIFY/LISTEN channel of `schema`'s wake-ups: "<schema>_jobs", cut to
// the 63 bytes a PostgreSQL identifier may have.
std::string notify_channel(const std::string& schema);

// Whether `schema` is a valid schema name: [a-z_][a-z0-9_]{0,62}.
bool valid_schema_name(std::string_view schema);

}  // namespace errand::store::postgres
