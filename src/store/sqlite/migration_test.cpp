// Schema migration: a data directory written by an older server opens, keeps
// its jobs and queue counts, and is upgraded in place to kSchemaVersion.
#include "core/id.hpp"
#include "store/conformance/call.hpp"
#include "store/sqlite/schema.hpp"
#include "store/sqlite/sqlite_store.hpp"

#include <sqlite3.h>

#include <fmt/format.h>
#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <future>

namespace errand::store {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Runs SQL on the database file directly (no store holds it open).
void run_sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  const std::string message = error ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << message;
}

std::string query_text(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_stmt* stmt = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

// The jobs, job_logs and job_push tables of versions 5 and 6: 26-character
// text ids. Version 7 made the id an integer rowid. (Version 13's flow
// column and queue_keys table go too.)
constexpr const char* kVersion6Jobs = R"sql(
ALTER TABLE queues DROP COLUMN flow;
DROP TABLE queue_keys;
DROP TRIGGER jobs_drop_logs;
DROP TRIGGER jobs_drop_push;
DROP TABLE jobs;
DROP TABLE job_logs;
DROP TABLE job_push;
CREATE TABLE jobs (
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
CREATE INDEX jobs_ready ON jobs(queue, priority DESC, id) WHERE state = 1;
CREATE INDEX jobs_waiting ON jobs(run_at) WHERE state = 0 OR state = 4;
CREATE INDEX jobs_running ON jobs(lease_expires_at) WHERE state = 2;
CREATE INDEX jobs_finished ON jobs(finished_at) WHERE state = 3 OR state = 5 OR state = 6;
CREATE UNIQUE INDEX jobs_idempotency ON jobs(idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX jobs_queue_id ON jobs(queue, id);
CREATE INDEX jobs_state_id ON jobs(state, id) WHERE state <> 2;
CREATE INDEX jobs_type_id ON jobs(type, id) WHERE type <> '';
CREATE TABLE job_logs (
  job_id  TEXT    NOT NULL,
  attempt INTEGER NOT NULL,
  at      INTEGER NOT NULL,
  log     TEXT    NOT NULL,
  PRIMARY KEY (job_id, attempt)
);
CREATE TRIGGER jobs_drop_logs AFTER DELETE ON jobs BEGIN
  DELETE FROM job_logs WHERE job_id = old.id;
END;
CREATE TABLE job_push (
  job_id        TEXT PRIMARY KEY,
  continuations INTEGER NOT NULL DEFAULT 0,
  deferrals     INTEGER NOT NULL DEFAULT 0,
  state         TEXT
) WITHOUT ROWID;
CREATE TRIGGER jobs_drop_push AFTER DELETE ON jobs BEGIN
  DELETE FROM job_push WHERE job_id = old.id;
END;
UPDATE schema_version SET version = 6;
)sql";

// Three queued jobs of "q" as a version-6 server left them: two made in one
// millisecond, one a millisecond later (ids out of insertion order), the
// middle one with a log and push bookkeeping.
constexpr const char* kVersion6Rows = R"sql(
INSERT INTO jobs(id, queue, payload, state, run_at, created_at, max_attempts, timeout_ms)
  VALUES ('01JDQ7Z3K6000000000000000A', 'q', '{"n":3}', 1, 1000, 1000, 10, 60000),
         ('01JDQ7Z3K5X9V2M4N6P8R0T2W4', 'q', '{"n":1}', 1, 1000, 1000, 10, 60000),
         ('01JDQ7Z3K5X9V2M4N6P8R0T2W5', 'q', '{"n":2}', 1, 1000, 1000, 10, 60000);
INSERT INTO job_logs(job_id, attempt, at, log) VALUES ('01JDQ7Z3K5X9V2M4N6P8R0T2W5', 1, 1000, 'out');
INSERT INTO job_push(job_id, continuations, deferrals, state)
  VALUES ('01JDQ7Z3K5X9V2M4N6P8R0T2W5', 4, 0, 's');
UPDATE queues SET n_queued = 3 WHERE name = 'q';
)sql";
constexpr const char* kOldest = "01JDQ7Z3K5X9V2M4N6P8R0T2W4";
constexpr const char* kMiddle = "01JDQ7Z3K5X9V2M4N6P8R0T2W5";
constexpr const char* kNewest = "01JDQ7Z3K6000000000000000A";

// The version-1 layout from version 6: version 2 only added the queues'
// config columns, version 3 the job_logs table, version 4 the schedule
// tables, version 5 the push columns and the job_push table, version 6
// made jobs_state_id partial and dropped jobs_ready_since (which later
// version-5 servers made).
constexpr const char* kToVersion1 = R"sql(
DROP INDEX jobs_state_id;
CREATE INDEX jobs_state_id ON jobs(state, id);
CREATE INDEX jobs_ready_since ON jobs(queue, run_at) WHERE state = 1;
DROP TRIGGER jobs_drop_push;
DROP TABLE job_push;
ALTER TABLE queues DROP COLUMN push_url;
ALTER TABLE queues DROP COLUMN push_timeout_ms;
ALTER TABLE queues DROP COLUMN push_concurrency;
ALTER TABLE queues DROP COLUMN push_headers;
ALTER TABLE queues DROP COLUMN push_secret;
ALTER TABLE queues DROP COLUMN push_secret_prev;
ALTER TABLE queues DROP COLUMN push_secret_prev_until;
DROP TABLE schedule_fires;
DROP TABLE schedules;
DROP TRIGGER jobs_drop_logs;
DROP TABLE job_logs;
ALTER TABLE queues DROP COLUMN concurrency;
ALTER TABLE queues DROP COLUMN rate_limit;
ALTER TABLE queues DROP COLUMN rate_per_ms;
ALTER TABLE queues DROP COLUMN default_priority;
ALTER TABLE queues DROP COLUMN default_max_attempts;
ALTER TABLE queues DROP COLUMN default_timeout_ms;
UPDATE schema_version SET version = 1;
)sql";

// What schema version 15 added (trace context), taken away again.
constexpr const char* kUndoVersion15 = R"sql(
ALTER TABLE jobs DROP COLUMN traceparent;
ALTER TABLE jobs DROP COLUMN tracestate;
)sql";

// What schema version 14 added (workflows), taken away again.
constexpr const char* kUndoVersion14 = R"sql(
DROP TRIGGER jobs_drop_deps;
DROP TRIGGER jobs_drop_webhook;
DROP TABLE webhooks;
DROP TABLE batches;
DROP TABLE job_deps;
DROP INDEX jobs_batch;
DROP INDEX jobs_waiting;
CREATE INDEX jobs_waiting ON jobs(run_at) WHERE state = 0 OR state = 4;
ALTER TABLE jobs DROP COLUMN links;
ALTER TABLE jobs DROP COLUMN blockers;
ALTER TABLE jobs DROP COLUMN batch_id;
ALTER TABLE jobs DROP COLUMN on_done;
ALTER TABLE queues DROP COLUMN n_blocked;
ALTER TABLE queues DROP COLUMN n_waiting;
ALTER TABLE job_push DROP COLUMN signal;
ALTER TABLE job_push DROP COLUMN signal_nonce;
ALTER TABLE job_push DROP COLUMN signal_status;
)sql";

// What version 13 added (flow control), taken away again.
constexpr const char* kUndoVersion13 = R"sql(
DROP TABLE queue_keys;
DROP INDEX jobs_key_id;
DROP INDEX jobs_unique;
DROP INDEX jobs_debounce;
DROP INDEX jobs_ready;
CREATE INDEX jobs_ready ON jobs(queue, priority DESC) WHERE state = 1;
ALTER TABLE jobs DROP COLUMN key;
ALTER TABLE jobs DROP COLUMN unique_key;
ALTER TABLE jobs DROP COLUMN debounce_key;
ALTER TABLE jobs DROP COLUMN debounce_until;
ALTER TABLE queues DROP COLUMN flow;
)sql";

class MigrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "errand-migrate-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string db_path() const { return (fs::path(dir_) / "errand.db").string(); }

  // A data directory as a version-6 server leaves it: kVersion6Rows.
  void make_version_6() {
    auto store = SqliteStore::open({.dir = dir_});
    ASSERT_TRUE(store) << store.error().message;
    auto paused = call<QueueInfo>(
        [&](auto done) { (*store)->queue_pause({.queue = "q", .paused = false}, done); });
    ASSERT_TRUE(paused) << paused.error().message;
    (*store)->close();
    store->reset();
    run_sql(db_path(), kUndoVersion15);
    run_sql(db_path(), kUndoVersion14);
    run_sql(db_path(), kVersion6Jobs);
    run_sql(db_path(), kVersion6Rows);
  }

  // The same as a version-1 server leaves it (no logs: version 1 had none).
  void make_version_1() {
    make_version_6();
    run_sql(db_path(), kToVersion1);
  }

  std::string dir_;
};

std::vector<std::string> listed(Store& store, JobListParams p = {}) {
  auto page = call<JobPage>([&](auto done) { store.job_list(std::move(p), done); });
  EXPECT_TRUE(page) << page.error().message;
  std::vector<std::string> ids;
  if (page) {
    for (const auto& j : page->jobs) ids.push_back(j.id);
  }
  return ids;
}

TEST_F(MigrationTest, AVersion1DataDirectoryOpensAndIsUpgraded) {
  make_version_1();
  ASSERT_EQ(query_text(db_path(), "SELECT max(version) FROM schema_version"), "1");

  auto store = SqliteStore::open({.dir = dir_});
  ASSERT_TRUE(store) << store.error().message;
  auto info = call<QueueInfo>([&](auto done) { (*store)->queue_get({.queue = "q"}, done); });
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->counts[core::JobState::queued], 3);
  EXPECT_EQ(info->config, core::QueueConfig{});
  auto job = call<core::Job>([&](auto done) { (*store)->job_get({.id = kOldest}, done); });
  ASSERT_TRUE(job) << job.error().message;

  const core::QueueConfig config{.concurrency = 2, .defaults = {.timeout = 1min}};
  auto configured = call<QueueInfo>(
      [&](auto done) { (*store)->queue_configure({.queue = "q", .config = config}, done); });
  ASSERT_TRUE(configured) << configured.error().message;
  core::ScheduleSpec spec{.name = "nightly", .cron = "0 3 * * *", .queue = "q"};
  auto put = call<SchedulePutOutcome>(
      [&](auto done) { (*store)->schedule_put({.spec = spec, .now = kNow}, done); });
  ASSERT_TRUE(put) << put.error().message;
  (*store)->close();
  store->reset();

  EXPECT_EQ(query_text(db_path(), "SELECT max(version) FROM schema_version"),
            std::to_string(sqlite::kSchemaVersion));
  EXPECT_EQ(query_text(db_path(), "SELECT sql FROM sqlite_master WHERE name = 'jobs_state_id'"),
            "CREATE INDEX jobs_state_id ON jobs(state) WHERE state <> 2");
  EXPECT_EQ(query_text(db_path(),
                       "SELECT count(*) FROM sqlite_master WHERE name = "
                       "'jobs_ready_since'"),
            "0");
  auto reopened = SqliteStore::open({.dir = dir_});
  ASSERT_TRUE(reopened) << reopened.error().message;
  auto again = call<QueueInfo>([&](auto done) { (*reopened)->queue_get({.queue = "q"}, done); });
  ASSERT_TRUE(again);
  EXPECT_EQ(again->config, config);
  EXPECT_EQ(again->counts[core::JobState::queued], 3);
  auto schedule = call<core::Schedule>(
      [&](auto done) { (*reopened)->schedule_get({.name = "nightly"}, done); });
  ASSERT_TRUE(schedule) << schedule.error().message;
  EXPECT_EQ(schedule->spec.cron, "0 3 * * *");
}

// Version 7: every job keeps the id it was given, in the same order, with
// its logs and push bookkeeping; new jobs get integer ids after them.
TEST_F(MigrationTest, Version7KeepsEveryOldIdAndItsOrder) {
  make_version_6();
  {
    auto store = SqliteStore::open({.dir = dir_});
    ASSERT_TRUE(store) << store.error().message;
    Store& s = **store;
    using V = std::vector<std::string>;
    EXPECT_EQ(listed(s), (V{kNewest, kMiddle, kOldest}));
    EXPECT_EQ(listed(s, {.limit = 1, .cursor = kNewest}), (V{kMiddle}));
    auto middle = call<core::Job>([&](auto done) { s.job_get({.id = kMiddle}, done); });
    ASSERT_TRUE(middle) << middle.error().message;
    EXPECT_EQ(middle->id, kMiddle);
    EXPECT_EQ(middle->payload.text(), R"({"n":2})");
    ASSERT_EQ(middle->logs.size(), 1u);
    EXPECT_EQ(middle->logs[0].text, "out");
    EXPECT_EQ(middle->push_continuations, 4);

    // Claimed in id order; a new job's id is after every old one.
    auto claimed = call<std::vector<core::Job>>([&](auto done) {
      s.job_claim({.queues = {"q"}, .worker = "w", .max = 1, .now = kNow}, done);
    });
    ASSERT_TRUE(claimed) << claimed.error().message;
    ASSERT_EQ(claimed->size(), 1u);
    EXPECT_EQ(claimed->front().id, kOldest);
    core::NewJob fresh;
    fresh.queue = "q";
    fresh.run_at = kNow;
    auto inserted = call<std::vector<InsertOutcome>>(
        [&](auto done) { s.job_insert_many({.jobs = {fresh}, .now = kNow}, done); });
    ASSERT_TRUE(inserted) << inserted.error().message;
    const std::string new_id = inserted->front().id;
    EXPECT_EQ(new_id.size(), core::kJobIdLength);
    EXPECT_EQ(listed(s, {.limit = 2}), (V{new_id, kNewest}));

    // A deleted old job takes its logs and push row with it.
    ASSERT_TRUE(call<Unit>([&](auto done) { s.job_delete({.id = kMiddle}, done); }));
    EXPECT_EQ(call<core::Job>([&](auto done) { s.job_get({.id = kMiddle}, done); }).error().code,
              core::errc::not_found);
    s.close();
  }
  EXPECT_EQ(query_text(db_path(), "SELECT count(*) FROM job_logs"), "0");
  EXPECT_EQ(query_text(db_path(), "SELECT count(*) FROM job_push"), "0");
  EXPECT_EQ(query_text(db_path(), "SELECT count(*) FROM sqlite_master WHERE name LIKE '%_v6'"),
            "0");
  // Old ids became the millisecond of their id, then their rank within it.
  const std::int64_t ms = core::legacy_id_ms(kOldest);
  EXPECT_EQ(
      query_text(db_path(), fmt::format("SELECT id FROM jobs WHERE legacy_id = '{}'", kOldest)),
      std::to_string(ms << core::kJobIdSequenceBits));
  EXPECT_EQ(
      query_text(db_path(), fmt::format("SELECT id FROM jobs WHERE legacy_id = '{}'", kNewest)),
      std::to_string((ms + 1) << core::kJobIdSequenceBits));
}

TEST_F(MigrationTest, AVersion10DataDirectoryGainsTheSessionsTable) {
  make_version_6();
  {
    auto store = SqliteStore::open({.dir = dir_});
    ASSERT_TRUE(store) << store.error().message;
    (*store)->close();
  }
  run_sql(db_path(), kUndoVersion15);
  run_sql(db_path(), kUndoVersion14);
  run_sql(db_path(), kUndoVersion13);
  run_sql(db_path(), "DROP TABLE sessions; UPDATE schema_version SET version = 10;");
  auto store = SqliteStore::open({.dir = dir_});
  ASSERT_TRUE(store) << store.error().message;
  const DashboardSession session{.digest = "d",
                                 .csrf_token = "c",
                                 .client = "192.0.2.7",
                                 .expires_at = kNow + 1h,
                                 .created_at = kNow};
  ASSERT_TRUE(call<Unit>([&](auto done) { (*store)->session_put({.session = session}, done); }));
  auto got = call<DashboardSession>(
      [&](auto done) { (*store)->session_get({.digest = "d", .now = kNow}, done); });
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(got->client, "192.0.2.7");
  EXPECT_EQ(listed(**store).size(), 3u);  // the jobs are still there
  (*store)->close();
  EXPECT_EQ(query_text(db_path(), "SELECT max(version) FROM schema_version"),
            std::to_string(sqlite::kSchemaVersion));
}

TEST_F(MigrationTest, ANewerSchemaIsRefusedWithItsVersion) {
  make_version_1();
  run_sql(db_path(), "UPDATE schema_version SET version = 99");
  auto store = SqliteStore::open({.dir = dir_});
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().message.find("99"), std::string::npos) << store.error().message;
}

}  // namespace
}  // namespace errand::store
