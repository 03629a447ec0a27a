#include "store/postgres/schema.hpp"

#include "core/state.hpp"
#include "store/postgres/sql_api.hpp"

#include <fmt/format.h>

#include <array>

namespace errand::store::postgres {
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

// Version 1. `@s` is the schema's name. The partial indexes are what the
// hot queries walk: jobs_ready for claims (queue, then priority, then id:
// the claim order itself), jobs_waiting for promotion and the next run_at,
// jobs_running for lease expiry, jobs_finished for pruning; the (x, id)
// indexes serve lists, newest first, filtered by queue, state or type.
// next_job_id is the one id formula for every writer, Errand's servers and
// SQL callers alike: ids stay unique across sessions (the sequence) and
// time-ordered (the millisecond in the high bits).
constexpr const char* kVersion1 = R"sql(
CREATE SEQUENCE @s.job_seq;
CREATE FUNCTION @s.next_job_id(now_ms bigint) RETURNS bigint LANGUAGE sql VOLATILE AS
  $$ SELECT (now_ms << 20) | (nextval('@s.job_seq') & 1048575) $$;
CREATE TABLE @s.jobs (
  id               bigint   PRIMARY KEY,
  queue            text     NOT NULL,
  type             text     NOT NULL DEFAULT '',
  payload          text     NOT NULL DEFAULT 'null',
  state            smallint NOT NULL,
  priority         bigint   NOT NULL DEFAULT 0,
  run_at           bigint   NOT NULL,
  created_at       bigint   NOT NULL,
  started_at       bigint,
  finished_at      bigint,
  attempt          integer  NOT NULL DEFAULT 0,
  max_attempts     integer  NOT NULL,
  timeout_ms       bigint   NOT NULL,
  idempotency_key  text,
  tags             text     NOT NULL DEFAULT '[]',
  progress         text,
  result           text,
  errors           text     NOT NULL DEFAULT '[]',
  lease_id         text,
  worker           text,
  lease_expires_at bigint,
  cancel_requested boolean  NOT NULL DEFAULT false
);
CREATE INDEX jobs_ready ON @s.jobs(queue, priority DESC, id) WHERE state = 1;
CREATE INDEX jobs_waiting ON @s.jobs(run_at) WHERE state = 0 OR state = 4;
CREATE INDEX jobs_running ON @s.jobs(lease_expires_at) WHERE state = 2;
CREATE INDEX jobs_finished ON @s.jobs(finished_at) WHERE state = 3 OR state = 5 OR state = 6;
CREATE UNIQUE INDEX jobs_idempotency ON @s.jobs(queue, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE INDEX jobs_queue_id ON @s.jobs(queue, id);
CREATE INDEX jobs_state_id ON @s.jobs(state, id);
CREATE INDEX jobs_type_id ON @s.jobs(type, id) WHERE type <> '';
CREATE TABLE @s.queues (
  name        text    PRIMARY KEY,
  paused      boolean NOT NULL DEFAULT false,
  processed   bigint  NOT NULL DEFAULT 0,
  failed      bigint  NOT NULL DEFAULT 0,
  n_scheduled bigint  NOT NULL DEFAULT 0,
  n_queued    bigint  NOT NULL DEFAULT 0,
  n_running   bigint  NOT NULL DEFAULT 0,
  n_succeeded bigint  NOT NULL DEFAULT 0,
  n_failed    bigint  NOT NULL DEFAULT 0,
  n_dead      bigint  NOT NULL DEFAULT 0,
  n_cancelled bigint  NOT NULL DEFAULT 0,
  concurrency          bigint,
  rate_limit           bigint,
  rate_per_ms          bigint,
  default_priority     bigint,
  default_max_attempts integer,
  default_timeout_ms   bigint,
  push_url               text,
  push_timeout_ms        bigint,
  push_concurrency       bigint,
  push_headers           text,
  push_secret            text,
  push_secret_prev       text,
  push_secret_prev_until bigint,
  bucket_tokens   double precision,
  bucket_at       bigint,
  throttled_until bigint
);
CREATE TABLE @s.job_logs (
  job_id  bigint  NOT NULL REFERENCES @s.jobs(id) ON DELETE CASCADE,
  attempt integer NOT NULL,
  at      bigint  NOT NULL,
  log     text    NOT NULL,
  PRIMARY KEY (job_id, attempt)
);
CREATE TABLE @s.job_push (
  job_id        bigint  PRIMARY KEY REFERENCES @s.jobs(id) ON DELETE CASCADE,
  continuations bigint  NOT NULL DEFAULT 0,
  deferrals     integer NOT NULL DEFAULT 0,
  state         text
);
CREATE TABLE @s.schedules (
  name          text    PRIMARY KEY,
  cron          text    NOT NULL,
  timezone      text    NOT NULL,
  queue         text    NOT NULL,
  type          text    NOT NULL DEFAULT '',
  payload       text    NOT NULL DEFAULT 'null',
  priority      bigint,
  max_attempts  integer,
  overlap       boolean NOT NULL DEFAULT false,
  paused        boolean NOT NULL DEFAULT false,
  catch_up_ms   bigint  NOT NULL,
  source        text    NOT NULL DEFAULT 'api',
  created_at    bigint  NOT NULL,
  updated_at    bigint  NOT NULL,
  fired_through bigint  NOT NULL,
  last_fired_at bigint,
  last_job_id   text
);
CREATE TABLE @s.schedule_fires (
  schedule text   NOT NULL,
  fire_at  bigint NOT NULL,
  job_id   text,
  PRIMARY KEY (schedule, fire_at)
);
CREATE TABLE @s.stats_samples (
  at     bigint PRIMARY KEY,
  totals text   NOT NULL
);
CREATE TABLE @s.settings (
  name  text PRIMARY KEY,
  value text NOT NULL
);
)sql";

// Version 3: dashboard sessions (store/postgres/sessions.cpp), shared by
// every server: one row per login under the digest of its id.
// sessions_expiry serves the sweep of expired ones, sessions_created the cap
// (the oldest go first).
constexpr const char* kSessionsMigration = R"sql(
CREATE TABLE @s.sessions (
  digest     text   PRIMARY KEY,
  csrf_token text   NOT NULL,
  client     text   NOT NULL,
  expires_at bigint NOT NULL,
  created_at bigint NOT NULL
);
CREATE INDEX sessions_expiry ON @s.sessions(expires_at);
CREATE INDEX sessions_created ON @s.sessions(created_at);
)sql";

// Version 4: each job's change number, which every server sees alike (job
// events across servers: store/postgres/events.hpp). A column with a
// constant default is added without rewriting the table.
constexpr const char* kJobEventSeq = R"sql(
ALTER TABLE @s.jobs ADD COLUMN event_seq bigint NOT NULL DEFAULT 0;
)sql";

// Version 5: the node registry (store/postgres/nodes.cpp): one row per
// server start, written by its heartbeats; rows a day old are deleted by the
// heartbeats that follow.
constexpr const char* kNodesMigration = R"sql(
CREATE TABLE @s.nodes (
  id                text   PRIMARY KEY,
  name              text   NOT NULL,
  address           text   NOT NULL,
  version           text   NOT NULL,
  store             text   NOT NULL,
  started_at        bigint NOT NULL,
  last_seen         bigint NOT NULL,
  stopped_at        bigint,
  waiting_claims    bigint NOT NULL DEFAULT 0,
  event_streams     bigint NOT NULL DEFAULT 0,
  workers_connected bigint NOT NULL DEFAULT 0
);
)sql";

// Version 6: flow control (store/common/keys.hpp). A job's key ('' for
// none) and the keys of unique and debounced enqueues; the ready index leads
// with the key, so each key's next job is one probe; queue_keys holds each
// key's counts, turn, own limits and bucket, and for key '' the queue's fair
// clock and the keyless jobs' turn.
constexpr const char* kFlowMigration = R"sql(
ALTER TABLE @s.jobs ADD COLUMN key text NOT NULL DEFAULT '';
ALTER TABLE @s.jobs ADD COLUMN unique_key text;
ALTER TABLE @s.jobs ADD COLUMN debounce_key text;
ALTER TABLE @s.jobs ADD COLUMN debounce_until bigint;
DROP INDEX @s.jobs_ready;
CREATE INDEX jobs_ready ON @s.jobs(queue, key, priority DESC, id) WHERE state = 1;
CREATE INDEX jobs_key_id ON @s.jobs(key, id) WHERE key <> '';
CREATE INDEX jobs_unique ON @s.jobs(queue, unique_key) WHERE unique_key IS NOT NULL;
CREATE INDEX jobs_debounce ON @s.jobs(queue, debounce_key) WHERE debounce_key IS NOT NULL;
ALTER TABLE @s.queues ADD COLUMN flow text;
CREATE TABLE @s.queue_keys (
  queue           text    NOT NULL,
  key             text    NOT NULL,
  n_queued        bigint  NOT NULL DEFAULT 0,
  n_running       bigint  NOT NULL DEFAULT 0,
  head_priority   bigint  NOT NULL DEFAULT 0,
  pass            bigint  NOT NULL DEFAULT 0,
  clock           bigint  NOT NULL DEFAULT 0,
  overridden      boolean NOT NULL DEFAULT false,
  concurrency     bigint,
  rate_limit      text,
  paused          boolean NOT NULL DEFAULT false,
  weight          bigint,
  bucket_tokens   double precision,
  bucket_at       bigint,
  throttled_until bigint,
  PRIMARY KEY (queue, key)
);
CREATE INDEX queue_keys_ready ON @s.queue_keys(queue, head_priority DESC, pass) WHERE n_queued > 0;
CREATE INDEX queue_keys_throttled ON @s.queue_keys(throttled_until)
  WHERE throttled_until IS NOT NULL;
)sql";

// Version 7: workflows. `links` flags what a job takes part in (1: some
// job waits for it, 2: it waits for parents, 4: it runs after its parents
// fail too, 8: it was continued: claims read its job_push row), `blockers`
// counts its parents not yet done; job_deps holds the edges (`counted`: the
// parent's end was applied to the child). Blocked (7) jobs wait in no timer
// index; waiting (8) ones wait for their signal's timeout like scheduled
// ones. job_push keeps the last continuation's signal wait.
constexpr const char* kWorkflowMigration = R"sql(
ALTER TABLE @s.jobs ADD COLUMN batch_id bigint;
CREATE INDEX jobs_batch ON @s.jobs(batch_id, id) WHERE batch_id IS NOT NULL;
CREATE TABLE @s.batches (
  id           bigint   PRIMARY KEY,
  state        smallint NOT NULL,
  created_at   bigint   NOT NULL,
  finished_at  bigint,
  total        bigint   NOT NULL DEFAULT 0,
  succeeded    bigint   NOT NULL DEFAULT 0,
  dead         bigint   NOT NULL DEFAULT 0,
  cancelled    bigint   NOT NULL DEFAULT 0,
  on_success   text,
  on_complete  text,
  on_death     text,
  success_job  bigint,
  complete_job bigint,
  death_job    bigint
);
CREATE INDEX batches_finished ON @s.batches(finished_at) WHERE finished_at IS NOT NULL;
ALTER TABLE @s.jobs ADD COLUMN on_done text;
CREATE TABLE @s.webhooks (
  job_id       bigint   PRIMARY KEY REFERENCES @s.jobs(id) ON DELETE CASCADE,
  queue        text     NOT NULL,
  url          text     NOT NULL,
  state        smallint NOT NULL DEFAULT 0,
  attempts     integer  NOT NULL DEFAULT 0,
  created_at   bigint   NOT NULL,
  next_at      bigint   NOT NULL,
  last_status  integer,
  last_error   text,
  delivered_at bigint
);
CREATE INDEX webhooks_due ON @s.webhooks(next_at) WHERE state = 0;
ALTER TABLE @s.jobs ADD COLUMN links smallint NOT NULL DEFAULT 0;
ALTER TABLE @s.jobs ADD COLUMN blockers integer NOT NULL DEFAULT 0;
ALTER TABLE @s.queues ADD COLUMN n_blocked bigint NOT NULL DEFAULT 0;
ALTER TABLE @s.queues ADD COLUMN n_waiting bigint NOT NULL DEFAULT 0;
ALTER TABLE @s.job_push ADD COLUMN signal text;
ALTER TABLE @s.job_push ADD COLUMN signal_nonce text;
ALTER TABLE @s.job_push ADD COLUMN signal_status smallint NOT NULL DEFAULT 0;
DROP INDEX @s.jobs_waiting;
CREATE INDEX jobs_waiting ON @s.jobs(run_at) WHERE state = 0 OR state = 4 OR state = 8;
CREATE TABLE @s.job_deps (
  parent  bigint  NOT NULL REFERENCES @s.jobs(id) ON DELETE CASCADE,
  child   bigint  NOT NULL REFERENCES @s.jobs(id) ON DELETE CASCADE,
  counted boolean NOT NULL DEFAULT false,
  PRIMARY KEY (parent, child)
);
CREATE INDEX job_deps_child ON @s.job_deps(child);
)sql";

// Version 9: the job's W3C trace context (core/trace.hpp), NULL when none.
constexpr const char* kTraceMigration = R"sql(
ALTER TABLE @s.jobs ADD COLUMN traceparent text;
ALTER TABLE @s.jobs ADD COLUMN tracestate text;
)sql";

// kMigrations[i] takes the schema from version i to i + 1. Version 2: the
// SQL enqueue functions (store/postgres/sql_api.hpp); version 3: sessions;
// version 8 only redefines sql_enqueue (sql_enqueue_webhook_migration).
const std::array<const char*, kSchemaVersion> kMigrations = {
    kVersion1,       kSqlEnqueueMigration, kSessionsMigration, kJobEventSeq,
    kNodesMigration, kFlowMigration,       kWorkflowMigration, "",
    kTraceMigration};

std::string with_schema(std::string sql, const std::string& schema) {
  for (auto at = sql.find("@s"); at != std::string::npos; at = sql.find("@s", at)) {
    sql.replace(at, 2, schema);
    at += schema.size();
  }
  return sql;
}

const Statement kVersionOf{"schema_version_of",
                           "SELECT coalesce(max(version), 0) FROM schema_version"};
const Statement kVersionAdd{"schema_version_add",
                            "INSERT INTO schema_version(version) VALUES ($1)"};
const Statement kLock{"schema_lock", "SELECT pg_advisory_xact_lock($1)"};

// One transaction: takes the lock, reads the version and applies the next
// migration if any. Returns the version found (before the step) and whether
// it stepped.
core::Result<std::pair<int, bool>> step(Conn& conn, const std::string& schema) {
  if (auto r = conn.run(kLock, Params().integer(migration_lock_key(schema))); !r) return r.error();
  auto prepared = conn.exec(
      with_schema("CREATE SCHEMA IF NOT EXISTS @s; CREATE TABLE IF NOT EXISTS @s.schema_version ("
                  " version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                  schema));
  if (!prepared) return prepared.error();
  auto found = conn.run(kVersionOf);
  if (!found) return found.error();
  const int version = static_cast<int>(found->integer(0, 0));
  if (version > kSchemaVersion) {
    return core::make_error(
        core::errc::internal,
        fmt::format("the database schema \"{}\" has schema version {}, newer than this server's "
                    "{}: upgrade errand",
                    schema, version, kSchemaVersion));
  }
  if (version == kSchemaVersion) return std::pair{version, false};
  std::string migration = kMigrations[static_cast<std::size_t>(version)];
  // Version 6 also gives the SQL enqueue functions the `key` option.
  if (version + 1 == 6) migration += sql_enqueue_keys_migration();
  // Version 8: the queue's default completion webhook in the SQL enqueue.
  if (version + 1 == 8) migration += sql_enqueue_webhook_migration();
  if (auto done = conn.exec(with_schema(std::move(migration), schema)); !done) {
    return core::make_error(done.error().code,
                            fmt::format("cannot migrate schema \"{}\" to version {}: {}", schema,
                                        version + 1, done.error().message));
  }
  if (auto r = conn.run(kVersionAdd, Params().integer(version + 1)); !r) return r.error();
  return std::pair{version, true};
}

}  // namespace

bool valid_schema_name(std::string_view schema) {
  if (schema.empty() || schema.size() > 63) return false;
  for (std::size_t i = 0; i < schema.size(); ++i) {
    const char c = schema[i];
    const bool ok = (c >= 'a' && c <= 'z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

std::string notify_channel(const std::string& schema) {
  return (schema + "_jobs").substr(0, 63);
}

std::int64_t migration_lock_key(const std::string& schema) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : "errand-migrate:" + schema) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return static_cast<std::int64_t>(h);
}

core::Result<int> migrate_schema(Conn& conn, const std::string& schema) {
  if (!valid_schema_name(schema)) {
    return core::make_error(
        core::errc::invalid_argument,
        fmt::format("invalid schema name \"{}\": use [a-z_][a-z0-9_]{{0,62}}", schema), "schema");
  }
  for (;;) {
    if (auto begun = conn.exec("BEGIN"); !begun) return begun.error();
    auto stepped = step(conn, schema);
    if (!stepped) {
      (void)conn.exec("ROLLBACK");
      return stepped.error();
    }
    if (auto committed = conn.exec("COMMIT"); !committed) return committed.error();
    if (!stepped->second) return stepped->first;
  }
}

}  // namespace errand::store::postgres
