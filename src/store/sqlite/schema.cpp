#include "store/sqlite/schema.hpp"

#include "core/state.hpp"

#include <fmt/format.h>

#include <iterator>

namespace errand::store::sqlite {
namespace {

static_assert(static_cast<int>(core::JobState::scheduled) == 0 &&
                  static_cast<int>(core::JobState::queued) == 1 &&
                  static_cast<int>(core::JobState::running) == 2 &&
                  static_cast<int>(core::JobState::succeeded) == 3 &&
                  static_cast<int>(core::JobState::failed) == 4 &&
                  static_cast<int>(core::JobState::dead) == 5 &&
                  static_cast<int>(core::JobState::cancelled) == 6,
              "the schema's partial indexes spell states as these numbers");

// Exclusive locking before WAL keeps the WAL index in heap memory (no -shm
// file) and makes a second server on the same directory fail at open instead
// of silently invalidating the in-memory queue counts.
constexpr const char* kPragmas[] = {
    // NORMAL: COMMIT writes the WAL without an fsync; the writer fsyncs it
    // (WalSync) before it answers, so one batch's fsync overlaps the next
    // batch's statements. Checkpoints still sync the WAL and the database.
    "PRAGMA locking_mode=EXCLUSIVE",      "PRAGMA synchronous=NORMAL", "PRAGMA temp_store=MEMORY",
    "PRAGMA cache_size=-32768",            // 32 MiB of page cache
    "PRAGMA wal_autocheckpoint=8000",      // checkpoint every ~32 MiB of WAL
    "PRAGMA journal_size_limit=67108864",  // truncate the WAL back to 64 MiB
    "PRAGMA busy_timeout=2000",
};

// Each index costs every job a B-tree write when it is inserted and at each
// state change that enters or leaves it, and a WAL page per commit, so the
// hot path (insert, claim, complete) touches as few as the reads need:
// jobs_state_id leaves out running jobs (listed through jobs_running),
// which spares a claim and a complete one B-tree write each.
// Partial-index predicates use OR rather than IN: SQLite evaluates an IN list
// through a temporary b-tree on every row written, which cost ~15% of a claim.
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
  id               TEXT    NOT NULL UNIQUE,
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
CREATE INDEX IF NOT EXISTS jobs_ready ON jobs(queue, priority DESC, id) WHERE state = 1;
CREATE INDEX IF NOT EXISTS jobs_waiting ON jobs(run_at) WHERE state = 0 OR state = 4;
CREATE INDEX IF NOT EXISTS jobs_running ON jobs(lease_expires_at) WHERE state = 2;
CREATE INDEX IF NOT EXISTS jobs_finished ON jobs(finished_at)
  WHERE state = 3 OR state = 5 OR state = 6;
CREATE UNIQUE INDEX IF NOT EXISTS jobs_idempotency ON jobs(idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_queue_id ON jobs(queue, id);
CREATE INDEX IF NOT EXISTS jobs_state_id ON jobs(state, id) WHERE state <> 2;
CREATE INDEX IF NOT EXISTS jobs_type_id ON jobs(type, id) WHERE type <> '';
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
  job_id  TEXT    NOT NULL,
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
  job_id        TEXT PRIMARY KEY,
  continuations INTEGER NOT NULL DEFAULT 0,
  deferrals     INTEGER NOT NULL DEFAULT 0,
  state         TEXT
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS jobs_drop_push AFTER DELETE ON jobs BEGIN
  DELETE FROM job_push WHERE job_id = old.id;
END;
)sql";

// Version 6: jobs_state_id leaves out running jobs, and the index
// jobs_ready_since (which some version-5 databases have) is gone: the
// oldest-waiting ages come from jobs_ready.
constexpr const char* kIndexesV6 = R"sql(
DROP INDEX IF EXISTS jobs_ready_since;
DROP INDEX IF EXISTS jobs_state_id;
CREATE INDEX jobs_state_id ON jobs(state, id) WHERE state <> 2;
)sql";

// Each step takes a database from version `to - 1` to `to`. kSchema and the
// kLaterTables are always the latest version, so a new database needs none
// of the steps.
struct Migration {
  int to;
  const char* sql;
};
constexpr Migration kMigrations[] = {
    {2, R"sql(
ALTER TABLE queues ADD COLUMN concurrency INTEGER;
ALTER TABLE queues ADD COLUMN rate_limit INTEGER;
ALTER TABLE queues ADD COLUMN rate_per_ms INTEGER;
ALTER TABLE queues ADD COLUMN default_priority INTEGER;
ALTER TABLE queues ADD COLUMN default_max_attempts INTEGER;
ALTER TABLE queues ADD COLUMN default_timeout_ms INTEGER;
)sql"},
    {3, kJobLogsSchema},
    {4, kSchedulesSchema},
    {5, R"sql(
ALTER TABLE queues ADD COLUMN push_url TEXT;
ALTER TABLE queues ADD COLUMN push_timeout_ms INTEGER;
ALTER TABLE queues ADD COLUMN push_concurrency INTEGER;
ALTER TABLE queues ADD COLUMN push_headers TEXT;
ALTER TABLE queues ADD COLUMN push_secret TEXT;
ALTER TABLE queues ADD COLUMN push_secret_prev TEXT;
ALTER TABLE queues ADD COLUMN push_secret_prev_until INTEGER;
)sql"},
    {6, kIndexesV6},
};
// Version 5's job_push table is created by kLaterTables for every database.
constexpr const char* kLaterTables[] = {kJobLogsSchema, kSchedulesSchema, kJobPushSchema};

static_assert(std::size(kMigrations) == kSchemaVersion - 1, "one migration per version step");

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
    auto done = db.exec(step.sql);
    if (done) done = db.exec(fmt::format("UPDATE schema_version SET version = {}", step.to));
    if (!done) {
      return core::make_error(core::errc::internal,
                              fmt::format("cannot migrate database {} to schema version {}: {}",
                                          db.path(), step.to, done.error().message));
    }
  }
  return {};
}

core::Result<void> check_version(Db& db) {
  auto version = db.query_text("SELECT max(version) FROM schema_version");
  if (!version) return version.error();
  if (version->empty()) {
    return db.exec(fmt::format("INSERT INTO schema_version(version) VALUES ({})", kSchemaVersion));
  }
  const int found = std::stoi(*version);
  if (found > kSchemaVersion) {
    return core::make_error(
        core::errc::internal,
        fmt::format("database {} has schema version {}, newer than this server's {}", db.path(),
                    *version, kSchemaVersion));
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
  auto created = db.exec(kSchema);
  for (const char* table : kLaterTables) {
    if (created) created = db.exec(table);
  }
  if (created) created = check_version(db);
  if (!created) {
    (void)db.exec("ROLLBACK");
    return created;
  }
  return db.exec("COMMIT");
}

}  // namespace errand::store::sqlite
