#include "store/sqlite/schema.hpp"

#include "core/id.hpp"
#include "core/state.hpp"

#include <sqlite3.h>

#include <fmt/format.h>

#include <array>
#include <iterator>
#include <string_view>

namespace errand::store::sqlite {
namespace {

static_assert(static_cast<int>(core::JobState::scheduled) == 0 &&
                  static_cast<int>(core::JobState::queued) == 1 &&
                  static_cast<int>(core::JobState::running) == 2 &&
                  static_cast<int>(core::JobState::succeeded) == 3 &&
                  static_cast<int>(core::JobState::failed) == 4 &&
                  static_cast<int>(core::JobState::dead) == 5 &&
                  static_cast<int>(core::JobState::cancelled) == 6 &&
                  static_cast<int>(core::JobState::blocked) == 7 &&
                  static_cast<int>(core::JobState::waiting) == 8,
              "the schema's partial indexes spell states as these numbers");

// Exclusive locking before WAL keeps the WAL index in heap memory (no -shm
// file) and makes a second server on the same directory fail at open instead
// of silently invalidating the in-memory queue counts.
constexpr const char* kPragmas[] = {
    // NORMAL: COMMIT writes the WAL without an fsync; the writer fsyncs it
    // (WalSync) before it answers, so one batch's fsync overlaps the next
    // batch's statements. Checkpoints still sync the WAL and the database.
    "PRAGMA locking_mode=EXCLUSIVE",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA temp_store=MEMORY",
    "PRAGMA cache_size=-32768",  // 32 MiB of page cache
    // A checkpoint every ~8 MiB of WAL, and the WAL file kept at most 12 MiB
    // once checkpointed: the WAL is part of the data on disk, and smaller
    // checkpoints cost no measurable throughput (BENCHMARKS.md). The store's
    // writer replaces the automatic checkpoint with its own, at the same
    // size, run on its thread (Writer::checkpoint).
    "PRAGMA wal_autocheckpoint=2000",
    "PRAGMA journal_size_limit=12582912",
    "PRAGMA busy_timeout=2000",
};

// Each index costs every job a B-tree write when it is inserted and at each
// state change that enters or leaves it, and a WAL page per commit, so the
// hot path (insert, claim, complete) touches as few as the reads need:
// jobs_state_id leaves out running jobs (listed through jobs_running),
// which spares a claim and a complete one B-tree write each.
// Partial-index predicates use OR rather than IN: SQLite evaluates an IN list
// through a temporary b-tree on every row written, which cost ~15% of a claim.
// Job ids are the rowid (core/id.hpp): time-ordered, so every index ends
// in creation order without repeating the id, and a lookup by id is the
// table's own B-tree. legacy_id is the 26-character id of a job made before
// schema version 7 (NULL for every later job).
constexpr const char* kJobsSchema = R"sql(
CREATE TABLE IF NOT EXISTS jobs (
  id               INTEGER PRIMARY KEY,
  legacy_id        TEXT,
  queue            TEXT    NOT NULL,
  type             TEXT    NOT NULL DEFAULT '',
  payload          TEXT    NOT NULL DEFAULT 'null',
  state            INTEGER NOT NULL,
  priority         INTEGER NOT NULL DEFAULT 0,
  run_at           INTEGER NOT NULL,
  created_at       INTEGER NOT NULL,
  started_at       INTEGER,
  finished_at      INTEGER,
  attempt          INTEGER NOT NULL DEFAULT 0,
  max_attempts     INTEGER NOT NULL,
  timeout_ms       INTEGER NOT NULL,
  idempotency_key  TEXT,
  tags             TEXT    NOT NULL DEFAULT '[]',
  progress         TEXT,
  result           TEXT,
  errors           TEXT    NOT NULL DEFAULT '[]',
  lease_id         TEXT,
  worker           TEXT,
  lease_expires_at INTEGER,
  cancel_requested INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_ready ON jobs(queue, priority DESC) WHERE state = 1;
CREATE INDEX IF NOT EXISTS jobs_waiting ON jobs(run_at) WHERE state = 0 OR state = 4;
CREATE INDEX IF NOT EXISTS jobs_running ON jobs(lease_expires_at) WHERE state = 2;
CREATE INDEX IF NOT EXISTS jobs_finished ON jobs(finished_at)
  WHERE state = 3 OR state = 5 OR state = 6;
CREATE UNIQUE INDEX IF NOT EXISTS jobs_idempotency ON jobs(queue, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_queue_id ON jobs(queue);
CREATE INDEX IF NOT EXISTS jobs_state_id ON jobs(state) WHERE state <> 2;
CREATE INDEX IF NOT EXISTS jobs_type_id ON jobs(type) WHERE type <> '';
CREATE UNIQUE INDEX IF NOT EXISTS jobs_legacy_id ON jobs(legacy_id) WHERE legacy_id IS NOT NULL;
)sql";

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS queues (
  name        TEXT PRIMARY KEY,
  paused      INTEGER NOT NULL DEFAULT 0,
  processed   INTEGER NOT NULL DEFAULT 0,
  failed      INTEGER NOT NULL DEFAULT 0,
  n_scheduled INTEGER NOT NULL DEFAULT 0,
  n_queued    INTEGER NOT NULL DEFAULT 0,
  n_running   INTEGER NOT NULL DEFAULT 0,
  n_succeeded INTEGER NOT NULL DEFAULT 0,
  n_failed    INTEGER NOT NULL DEFAULT 0,
  n_dead      INTEGER NOT NULL DEFAULT 0,
  n_cancelled INTEGER NOT NULL DEFAULT 0,
  concurrency          INTEGER,
  rate_limit           INTEGER,
  rate_per_ms          INTEGER,
  default_priority     INTEGER,
  default_max_attempts INTEGER,
  default_timeout_ms   INTEGER,
  push_url               TEXT,
  push_timeout_ms        INTEGER,
  push_concurrency       INTEGER,
  push_headers           TEXT,
  push_secret            TEXT,
  push_secret_prev       TEXT,
  push_secret_prev_until INTEGER
) WITHOUT ROWID;
)sql";

// Tables added after version 2: part of a new database and, as they are,
// the migration step that added them.
constexpr const char* kJobLogsSchema = R"sql(
CREATE TABLE IF NOT EXISTS job_logs (
  job_id  INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  at      INTEGER NOT NULL,
  log     TEXT    NOT NULL,
  PRIMARY KEY (job_id, attempt)
);
CREATE TRIGGER IF NOT EXISTS jobs_drop_logs AFTER DELETE ON jobs BEGIN
  DELETE FROM job_logs WHERE job_id = old.id;
END;
)sql";
constexpr const char* kSchedulesSchema = R"sql(
CREATE TABLE IF NOT EXISTS schedules (
  name          TEXT PRIMARY KEY,
  cron          TEXT    NOT NULL,
  timezone      TEXT    NOT NULL,
  queue         TEXT    NOT NULL,
  type          TEXT    NOT NULL DEFAULT '',
  payload       TEXT    NOT NULL DEFAULT 'null',
  priority      INTEGER,
  max_attempts  INTEGER,
  overlap       INTEGER NOT NULL DEFAULT 0,
  paused        INTEGER NOT NULL DEFAULT 0,
  catch_up_ms   INTEGER NOT NULL,
  source        TEXT    NOT NULL DEFAULT 'api',
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  fired_through INTEGER NOT NULL,
  last_fired_at INTEGER,
  last_job_id   TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS schedule_fires (
  schedule TEXT    NOT NULL,
  fire_at  INTEGER NOT NULL,
  job_id   TEXT,
  PRIMARY KEY (schedule, fire_at)
) WITHOUT ROWID;
)sql";

// Push delivery's per-job bookkeeping (only push jobs have a row).
constexpr const char* kJobPushSchema = R"sql(
CREATE TABLE IF NOT EXISTS job_push (
  job_id        INTEGER PRIMARY KEY,
  continuations INTEGER NOT NULL DEFAULT 0,
  deferrals     INTEGER NOT NULL DEFAULT 0,
  state         TEXT
);
CREATE TRIGGER IF NOT EXISTS jobs_drop_push AFTER DELETE ON jobs BEGIN
  DELETE FROM job_push WHERE job_id = old.id;
END;
)sql";

// Version 8: the throughput history (store/sqlite/stats_samples.cpp): one
// row per sample, the queues' lifetime counters as JSON text
// {"queue": [processed, failed], …}; rows older than the history's span are
// deleted as new ones come, so the table stays small.
constexpr const char* kStatsSamplesSchema = R"sql(
CREATE TABLE IF NOT EXISTS stats_samples (
  at     INTEGER PRIMARY KEY,
  totals TEXT    NOT NULL
);
)sql";

// Version 10: values every server on the store shares (the job-token secret).
constexpr const char* kSettingsSchema = R"sql(
CREATE TABLE IF NOT EXISTS settings (
  name  TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
)sql";

// Version 11: dashboard sessions (store/sqlite/sessions.cpp), one row per
// login under the digest of its id, so a login outlives a restart.
// sessions_expiry serves the sweep of expired ones, sessions_created the cap
// (the oldest go first).
constexpr const char* kSessionsSchema = R"sql(
CREATE TABLE IF NOT EXISTS sessions (
  digest     TEXT    PRIMARY KEY,
  csrf_token TEXT    NOT NULL,
  client     TEXT    NOT NULL,
  expires_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_expiry ON sessions(expires_at);
CREATE INDEX IF NOT EXISTS sessions_created ON sessions(created_at);
)sql";

// Version 12: the node registry (store/sqlite/nodes.cpp): one row per
// server start, written by its heartbeat; rows a day old are deleted by the
// heartbeats that follow.
constexpr const char* kNodesSchema = R"sql(
CREATE TABLE IF NOT EXISTS nodes (
  id                TEXT    PRIMARY KEY,
  name              TEXT    NOT NULL,
  address           TEXT    NOT NULL,
  version           TEXT    NOT NULL,
  store             TEXT    NOT NULL,
  started_at        INTEGER NOT NULL,
  last_seen         INTEGER NOT NULL,
  stopped_at        INTEGER,
  waiting_claims    INTEGER NOT NULL DEFAULT 0,
  event_streams     INTEGER NOT NULL DEFAULT 0,
  workers_connected INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
)sql";

// Version 13: flow control. A job's key (core::Job::key; '' for none), the
// keys of unique and debounced enqueues; the ready index leads with the key,
// so each key's next job is one probe (fair claims, store/common/keys.hpp);
// queue_keys holds each key's queued and running counts, its turn (pass),
// its own limits and its rate-limit bucket, and for key '' the queue's fair
// clock and the keyless jobs' turn.
constexpr const char* kFlowSchema = R"sql(
ALTER TABLE jobs ADD COLUMN key TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN unique_key TEXT;
ALTER TABLE jobs ADD COLUMN debounce_key TEXT;
ALTER TABLE jobs ADD COLUMN debounce_until INTEGER;
DROP INDEX IF EXISTS jobs_ready;
CREATE INDEX jobs_ready ON jobs(queue, key, priority DESC) WHERE state = 1;
CREATE INDEX jobs_key_id ON jobs(key) WHERE key <> '';
CREATE INDEX jobs_unique ON jobs(queue, unique_key) WHERE unique_key IS NOT NULL;
CREATE INDEX jobs_debounce ON jobs(queue, debounce_key) WHERE debounce_key IS NOT NULL;
ALTER TABLE queues ADD COLUMN flow TEXT;
CREATE TABLE queue_keys (
  queue           TEXT    NOT NULL,
  key             TEXT    NOT NULL,
  n_queued        INTEGER NOT NULL DEFAULT 0,
  n_running       INTEGER NOT NULL DEFAULT 0,
  head_priority   INTEGER NOT NULL DEFAULT 0,
  pass            INTEGER NOT NULL DEFAULT 0,
  clock           INTEGER NOT NULL DEFAULT 0,
  overridden      INTEGER NOT NULL DEFAULT 0,
  concurrency     INTEGER,
  rate_limit      TEXT,
  paused          INTEGER NOT NULL DEFAULT 0,
  weight          INTEGER,
  bucket_tokens   REAL,
  bucket_at       INTEGER,
  throttled_until INTEGER,
  PRIMARY KEY (queue, key)
) WITHOUT ROWID;
CREATE INDEX queue_keys_ready ON queue_keys(queue, head_priority DESC, pass) WHERE n_queued > 0;
CREATE INDEX queue_keys_throttled ON queue_keys(throttled_until)
  WHERE throttled_until IS NOT NULL;
)sql";

// Version 14: workflows. `links` flags what a job takes part in (1: some
// job waits for it, 2: it waits for parents, 4: it runs after its parents
// fail too, 8: it was continued: claims read its job_push row), `blockers`
// counts its parents not yet done; job_deps holds the edges (`counted`: the
// parent's end was applied to the child). Blocked (7) jobs wait in no timer
// index; waiting (8) ones wait for their signal's timeout like scheduled
// ones. job_push keeps the last continuation's signal wait. Batches: a
// job's batch_id, and one row per batch with its counts, its callback jobs
// (as stored by core::callback_to_json) and the jobs they became.
constexpr const char* kWorkflowSchema = R"sql(
ALTER TABLE jobs ADD COLUMN batch_id INTEGER;
CREATE INDEX IF NOT EXISTS jobs_batch ON jobs(batch_id) WHERE batch_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS batches (
  id           INTEGER PRIMARY KEY,
  state        INTEGER NOT NULL,
  created_at   INTEGER NOT NULL,
  finished_at  INTEGER,
  total        INTEGER NOT NULL DEFAULT 0,
  succeeded    INTEGER NOT NULL DEFAULT 0,
  dead         INTEGER NOT NULL DEFAULT 0,
  cancelled    INTEGER NOT NULL DEFAULT 0,
  on_success   TEXT,
  on_complete  TEXT,
  on_death     TEXT,
  success_job  INTEGER,
  complete_job INTEGER,
  death_job    INTEGER
);
CREATE INDEX IF NOT EXISTS batches_finished ON batches(finished_at) WHERE finished_at IS NOT NULL;
ALTER TABLE jobs ADD COLUMN on_done TEXT;
CREATE TABLE IF NOT EXISTS webhooks (
  job_id       INTEGER PRIMARY KEY,
  queue        TEXT    NOT NULL,
  url          TEXT    NOT NULL,
  state        INTEGER NOT NULL DEFAULT 0,
  attempts     INTEGER NOT NULL DEFAULT 0,
  created_at   INTEGER NOT NULL,
  next_at      INTEGER NOT NULL,
  last_status  INTEGER,
  last_error   TEXT,
  delivered_at INTEGER
);
CREATE INDEX IF NOT EXISTS webhooks_due ON webhooks(next_at) WHERE state = 0;
CREATE TRIGGER IF NOT EXISTS jobs_drop_webhook AFTER DELETE ON jobs WHEN old.links & 32 <> 0 BEGIN
  DELETE FROM webhooks WHERE job_id = old.id;
END;
ALTER TABLE jobs ADD COLUMN links INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN blockers INTEGER NOT NULL DEFAULT 0;
ALTER TABLE queues ADD COLUMN n_blocked INTEGER NOT NULL DEFAULT 0;
ALTER TABLE queues ADD COLUMN n_waiting INTEGER NOT NULL DEFAULT 0;
ALTER TABLE job_push ADD COLUMN signal TEXT;
ALTER TABLE job_push ADD COLUMN signal_nonce TEXT;
ALTER TABLE job_push ADD COLUMN signal_status INTEGER NOT NULL DEFAULT 0;
DROP INDEX IF EXISTS jobs_waiting;
CREATE INDEX IF NOT EXISTS jobs_waiting ON jobs(run_at) WHERE state = 0 OR state = 4 OR state = 8;
CREATE TABLE IF NOT EXISTS job_deps (
  parent  INTEGER NOT NULL,
  child   INTEGER NOT NULL,
  counted INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (parent, child)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS job_deps_child ON job_deps(child);
CREATE TRIGGER IF NOT EXISTS jobs_drop_deps AFTER DELETE ON jobs WHEN old.links <> 0 BEGIN
  DELETE FROM job_deps WHERE child = old.id;
  DELETE FROM job_deps WHERE parent = old.id;
END;
)sql";

// Version 15: the job's W3C trace context (core/trace.hpp), NULL when none.
constexpr const char* kTraceSchema = R"sql(
ALTER TABLE jobs ADD COLUMN traceparent TEXT;
ALTER TABLE jobs ADD COLUMN tracestate TEXT;
)sql";

// Version 6 dropped jobs_ready_since and left running jobs out of
// jobs_state_id; version 7 rebuilds the jobs table (and its indexes) anyway.
constexpr const char* kIndexesV6 = R"sql(
DROP INDEX IF EXISTS jobs_ready_since;
)sql";

// Version 7: integer job ids. Every job keeps its 26-character id as
// legacy_id and gets an integer id in the same order (its id's millisecond,
// then its rank within that millisecond); job_logs and job_push follow.
constexpr const char* kJobsV7Before = R"sql(
DROP INDEX IF EXISTS jobs_ready;
DROP INDEX IF EXISTS jobs_waiting;
DROP INDEX IF EXISTS jobs_running;
DROP INDEX IF EXISTS jobs_finished;
DROP INDEX IF EXISTS jobs_idempotency;
DROP INDEX IF EXISTS jobs_queue_id;
DROP INDEX IF EXISTS jobs_state_id;
DROP INDEX IF EXISTS jobs_type_id;
DROP TRIGGER IF EXISTS jobs_drop_logs;
DROP TRIGGER IF EXISTS jobs_drop_push;
ALTER TABLE jobs RENAME TO jobs_v6;
ALTER TABLE job_logs RENAME TO job_logs_v6;
ALTER TABLE job_push RENAME TO job_push_v6;
)sql";
constexpr const char* kJobsV7After = R"sql(
INSERT INTO jobs(id, legacy_id, queue, type, payload, state, priority, run_at, created_at,
                 started_at, finished_at, attempt, max_attempts, timeout_ms, idempotency_key,
                 tags, progress, result, errors, lease_id, worker, lease_expires_at,
                 cancel_requested)
  SELECT (ms << 20) + row_number() OVER (PARTITION BY ms ORDER BY id) - 1, id, queue, type,
         payload, state, priority, run_at, created_at, started_at, finished_at, attempt,
         max_attempts, timeout_ms, idempotency_key, tags, progress, result, errors, lease_id,
         worker, lease_expires_at, cancel_requested
  FROM (SELECT *, errand_legacy_id_ms(id) AS ms FROM jobs_v6) ORDER BY id;
INSERT INTO job_logs(job_id, attempt, at, log)
  SELECT j.id, l.attempt, l.at, l.log FROM job_logs_v6 l JOIN jobs j ON j.legacy_id = l.job_id;
INSERT INTO job_push(job_id, continuations, deferrals, state)
  SELECT j.id, p.continuations, p.deferrals, p.state
  FROM job_push_v6 p JOIN jobs j ON j.legacy_id = p.job_id;
DROP TABLE jobs_v6;
DROP TABLE job_logs_v6;
DROP TABLE job_push_v6;
)sql";

// Each step takes a database from version `to - 1` to `to`, running its
// parts in order. kNewDatabase is always the latest version, so a new
// database needs none of the steps.
struct Migration {
  int to;
  std::array<const char*, 5> parts;
};
constexpr Migration kMigrations[] = {
    {2, {R"sql(
ALTER TABLE queues ADD COLUMN concurrency INTEGER;
ALTER TABLE queues ADD COLUMN rate_limit INTEGER;
ALTER TABLE queues ADD COLUMN rate_per_ms INTEGER;
ALTER TABLE queues ADD COLUMN default_priority INTEGER;
ALTER TABLE queues ADD COLUMN default_max_attempts INTEGER;
ALTER TABLE queues ADD COLUMN default_timeout_ms INTEGER;
)sql"}},
    {3, {kJobLogsSchema}},
    {4, {kSchedulesSchema}},
    {5,
     {R"sql(
ALTER TABLE queues ADD COLUMN push_url TEXT;
ALTER TABLE queues ADD COLUMN push_timeout_ms INTEGER;
ALTER TABLE queues ADD COLUMN push_concurrency INTEGER;
ALTER TABLE queues ADD COLUMN push_headers TEXT;
ALTER TABLE queues ADD COLUMN push_secret TEXT;
ALTER TABLE queues ADD COLUMN push_secret_prev TEXT;
ALTER TABLE queues ADD COLUMN push_secret_prev_until INTEGER;
)sql",
      kJobPushSchema}},
    {6, {kIndexesV6}},
    {7, {kJobsV7Before, kJobsSchema, kJobLogsSchema, kJobPushSchema, kJobsV7After}},
    {8, {kStatsSamplesSchema}},
    // Version 9: idempotency keys are scoped per queue.
    {9, {R"sql(
DROP INDEX IF EXISTS jobs_idempotency;
CREATE UNIQUE INDEX jobs_idempotency ON jobs(queue, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
)sql"}},
    {10, {kSettingsSchema}},
    {11, {kSessionsSchema}},
    {12, {kNodesSchema}},
    {13, {kFlowSchema}},
    {14, {kWorkflowSchema}},
    {15, {kTraceSchema}},
};
// The latest schema, as a new database gets it.
constexpr const char* kNewDatabase[] = {kJobsSchema,      kSchema,         kJobLogsSchema,
                                        kSchedulesSchema, kJobPushSchema,  kStatsSamplesSchema,
                                        kSettingsSchema,  kSessionsSchema, kNodesSchema,
                                        kFlowSchema,      kWorkflowSchema, kTraceSchema};

static_assert(std::size(kMigrations) == kSchemaVersion - 1, "one migration per version step");

// errand_legacy_id_ms(id): the millisecond of a 26-character id, for the
// version-7 migration.
void legacy_id_ms_sql(sqlite3_context* ctx, int, sqlite3_value** argv) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
  const auto size = static_cast<std::size_t>(sqlite3_value_bytes(argv[0]));
  const std::string_view id = text ? std::string_view(text, size) : std::string_view();
  sqlite3_result_int64(ctx, core::legacy_id_ms(id));
}

core::Result<void> set_pragmas(Db& db) {
  for (const char* pragma : kPragmas) {
    if (auto r = db.exec(pragma); !r) return r;
  }
  auto mode = db.query_text("PRAGMA journal_mode=WAL");
  if (!mode) return mode.error();
  if (*mode != "wal") {
    return core::make_error(
        core::errc::unavailable,
        fmt::format("cannot use WAL mode for {} (got \"{}\")", db.path(), *mode));
  }
  return {};
}

// Runs inside prepare_schema's transaction: a failed step leaves the
// database at its old version.
core::Result<void> migrate(Db& db, int from) {
  for (const auto& step : kMigrations) {
    if (step.to <= from) continue;
    core::Result<void> done;
    for (const char* part : step.parts) {
      if (part && done) done = db.exec(part);
    }
    if (done) done = db.exec(fmt::format("UPDATE schema_version SET version = {}", step.to));
    if (!done) {
      return core::make_error(core::errc::internal,
                              fmt::format("cannot migrate database {} to schema version {}: {}",
                                          db.path(), step.to, done.error().message));
    }
  }
  return {};
}

core::Result<void> create(Db& db) {
  for (const char* part : kNewDatabase) {
    if (auto done = db.exec(part); !done) return done;
  }
  return db.exec(fmt::format("INSERT INTO schema_version(version) VALUES ({})", kSchemaVersion));
}

// A new database gets the latest schema; an existing one is migrated.
core::Result<void> create_or_migrate(Db& db) {
  auto exists = db.query_text(
      "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_version'");
  if (!exists) return exists.error();
  if (*exists == "0") return create(db);
  auto version = db.query_text("SELECT max(version) FROM schema_version");
  if (!version) return version.error();
  if (version->empty()) {
    return core::make_error(core::errc::internal,
                            fmt::format("database {} has no schema version", db.path()));
  }
  const int found = std::stoi(*version);
  if (found > kSchemaVersion) {
    return core::make_error(
        core::errc::internal,
        fmt::format("database {} has schema version {}, newer than this server's {}", db.path(),
                    *version, kSchemaVersion));
  }
  if (found < 7) {
    const int rc = sqlite3_create_function_v2(db.handle(), "errand_legacy_id_ms", 1,
                                              SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr,
                                              legacy_id_ms_sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return db.error(rc, "register errand_legacy_id_ms");
  }
  return migrate(db, found);
}

core::Error locked_or(const core::Error& e, const Db& db) {
  if (e.message.find("locked") == std::string::npos) return e;
  return core::make_error(
      core::errc::unavailable,
      fmt::format("database {} is locked: is another errand server using this directory?",
                  db.path()));
}

}  // namespace

core::Result<void> prepare_schema(Db& db) {
  if (auto r = set_pragmas(db); !r) return locked_or(r.error(), db);
  if (auto r = db.exec("BEGIN IMMEDIATE"); !r) return locked_or(r.error(), db);
  auto created = create_or_migrate(db);
  if (!created) {
    (void)db.exec("ROLLBACK");
    return created;
  }
  return db.exec("COMMIT");
}

}  // namespace errand::store::sqlite
