// Schema migration: a data directory written by an older server opens, keeps
// its jobs and queue counts, and is upgraded in place to kSchemaVersion.
#include "store/conformance/call.hpp"
#include "store/sqlite/schema.hpp"
#include "store/sqlite/sqlite_store.hpp"

#include <sqlite3.h>

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

// The version-1 layout: version 2 only added the queues' config columns,
// version 3 the job_logs table, version 4 the schedule tables, version 5
// the push columns and the job_push table, version 6 made jobs_state_id
// partial and dropped jobs_ready_since (which later version-5 servers made).
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

class MigrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "errand-migrate-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string db_path() const { return (fs::path(dir_) / "errand.db").string(); }

  // A data directory as a version-1 server leaves it: one queued job in "q".
  void make_version_1() {
    auto store = SqliteStore::open({.dir = dir_});
    ASSERT_TRUE(store) << store.error().message;
    core::NewJob job;
    job.id = "J1";
    job.queue = "q";
    job.run_at = kNow;
    auto inserted = call<std::vector<InsertOutcome>>(
        [&](auto done) { (*store)->job_insert_many({.jobs = {job}, .now = kNow}, done); });
    ASSERT_TRUE(inserted) << inserted.error().message;
    (*store)->close();
    store->reset();
    run_sql(db_path(), kToVersion1);
  }

  std::string dir_;
};

TEST_F(MigrationTest, AVersion1DataDirectoryOpensAndIsUpgraded) {
  make_version_1();
  ASSERT_EQ(query_text(db_path(), "SELECT max(version) FROM schema_version"), "1");

  auto store = SqliteStore::open({.dir = dir_});
  ASSERT_TRUE(store) << store.error().message;
  auto info = call<QueueInfo>([&](auto done) { (*store)->queue_get({.queue = "q"}, done); });
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->counts[core::JobState::queued], 1);
  EXPECT_EQ(info->config, core::QueueConfig{});
  auto job = call<core::Job>([&](auto done) { (*store)->job_get({.id = "J1"}, done); });
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
            "CREATE INDEX jobs_state_id ON jobs(state, id) WHERE state <> 2");
  EXPECT_EQ(query_text(db_path(),
                       "SELECT count(*) FROM sqlite_master WHERE name = "
                       "'jobs_ready_since'"),
            "0");
  auto reopened = SqliteStore::open({.dir = dir_});
  ASSERT_TRUE(reopened) << reopened.error().message;
  auto again = call<QueueInfo>([&](auto done) { (*reopened)->queue_get({.queue = "q"}, done); });
  ASSERT_TRUE(again);
  EXPECT_EQ(again->config, config);
  EXPECT_EQ(again->counts[core::JobState::queued], 1);
  auto schedule = call<core::Schedule>(
      [&](auto done) { (*reopened)->schedule_get({.name = "nightly"}, done); });
  ASSERT_TRUE(schedule) << schedule.error().message;
  EXPECT_EQ(schedule->spec.cron, "0 3 * * *");
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
