// SqliteStore::database_backup: a copy taken while writes go on holds every
// write acknowledged before it began, is a single-file database a store
// opens, and is refused when another backup runs, when it names another
// database, and after close. The copy helpers (store/sqlite/backup.hpp) on
// files: a locked database, damage, a newer schema.
#include "store/sqlite/backup.hpp"
#include "store/conformance/call.hpp"
#include "store/sqlite/schema.hpp"
#include "store/sqlite/sqlite_store.hpp"

#include <sqlite3.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <mutex>
#include <thread>

namespace errand::store {
namespace {

namespace fs = std::filesystem;

core::NewJob new_job(int i, std::size_t pad = 0) {
  core::NewJob j;
  j.queue = "q";
  j.type = "t" + std::to_string(i);
  j.run_at = kNow;
  if (pad) j.payload = *core::RawJson::parse("\"" + std::string(pad, 'x') + "\"", "payload");
  return j;
}

core::Result<std::vector<InsertOutcome>> insert(Store& s, std::vector<core::NewJob> jobs) {
  return call<std::vector<InsertOutcome>>(
      [&](auto done) { s.job_insert_many({.jobs = std::move(jobs), .now = kNow}, done); });
}

core::Result<DatabaseBackup> backup(Store& s, DatabaseBackupParams p = {}) {
  return call<DatabaseBackup>([&](auto done) { s.database_backup(p, done); });
}

std::string sql_text(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

// Holds the writer in a callback until the returned promise is set.
std::promise<void> hold_writer(Store& store) {
  std::promise<void> release;
  auto gate = release.get_future().share();
  auto entered = std::make_shared<std::promise<void>>();
  auto in = entered->get_future();
  store.job_insert_many({.jobs = {new_job(-1)}, .now = kNow}, [gate, entered](auto) {
    entered->set_value();
    gate.wait();
  });
  in.wait();
  return release;
}

class SqliteBackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "errand-backup-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<SqliteStore> open(const std::string& dir) {
    auto opened = SqliteStore::open({.dir = dir});
    EXPECT_TRUE(opened) << opened.error().message;
    return opened ? std::move(*opened) : nullptr;
  }

  std::string dir_;
};

TEST_F(SqliteBackupTest, ACopyTakenDuringWritesHoldsEveryWriteAcknowledgedBeforeIt) {
  auto store = open((fs::path(dir_) / "data").string());
  ASSERT_TRUE(store);
  for (int i = 0; i < 20; ++i) {  // ~6 MB: the copy takes several slices
    std::vector<core::NewJob> jobs;
    for (int k = 0; k < 50; ++k) jobs.push_back(new_job(i * 50 + k, 6000));
    ASSERT_TRUE(insert(*store, std::move(jobs)));
  }
  std::mutex m;
  std::vector<std::string> acked;
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      auto done = insert(*store, {new_job(100'000 + i, 100)});
      if (!done) {
        ADD_FAILURE() << done.error().message;
        stop = true;
        return;
      }
      std::lock_guard lock(m);
      acked.push_back(done->front().id);
    }
  });
  auto count = [&] {
    std::lock_guard lock(m);
    return acked.size();
  };
  while (count() < 50 && !stop) std::this_thread::yield();
  std::vector<std::string> before;
  {
    std::lock_guard lock(m);
    before = acked;
  }
  auto copy = backup(*store);
  const auto after = count();
  stop = true;
  writer.join();
  ASSERT_TRUE(copy) << copy.error().message;
  EXPECT_TRUE(copy->file.starts_with("errand-backup-")) << copy->file;
  EXPECT_GT(copy->pages, 1000);
  std::cout << "copied " << copy->pages << " pages in " << copy->took.count() << " ms; "
            << (after - before.size()) << " inserts acknowledged meanwhile\n";
  const auto file = (fs::path(dir_) / "data" / copy->file).string();
  EXPECT_EQ(static_cast<std::int64_t>(fs::file_size(file)), copy->bytes);
  EXPECT_FALSE(fs::exists(file + "-wal"));
  EXPECT_EQ(sql_text(file, "PRAGMA journal_mode"), "delete");
  auto facts = sqlite::check_database_file(file, sqlite::CheckDepth::full);
  ASSERT_TRUE(facts) << facts.error().message;
  EXPECT_GE(facts->jobs, static_cast<std::int64_t>(1000 + before.size()));

  // A store opens the copy and finds every job acknowledged before it began.
  const auto restored = fs::path(dir_) / "restored";
  fs::create_directories(restored);
  fs::rename(file, restored / "errand.db");
  auto again = open(restored.string());
  ASSERT_TRUE(again);
  for (const auto& id : before) {
    auto job = call<core::Job>([&](auto done) { again->job_get({.id = id}, done); });
    EXPECT_TRUE(job) << id;
  }
}

TEST_F(SqliteBackupTest, OneBackupAtATime) {
  auto store = open(dir_);
  ASSERT_TRUE(store);
  auto release = hold_writer(*store);  // the first backup cannot take a step yet
  std::promise<core::Result<DatabaseBackup>> first;
  store->database_backup({}, [&](auto r) { first.set_value(std::move(r)); });
  auto second = backup(*store);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, core::errc::conflict);
  EXPECT_NE(second.error().message.find("running already"), std::string::npos);
  release.set_value();
  auto done = first.get_future().get();
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_TRUE(backup(*store));  // and the next one after it
}

TEST_F(SqliteBackupTest, ABackupNamingAnotherDatabaseIsRefused) {
  auto store = open(dir_);
  ASSERT_TRUE(store);
  struct stat st {};
  ASSERT_EQ(::stat((fs::path(dir_) / "errand.db").c_str(), &st), 0);
  const auto dev = static_cast<std::uint64_t>(st.st_dev);
  const auto ino = static_cast<std::uint64_t>(st.st_ino);
  auto other = backup(*store, {.device = dev, .inode = ino + 1});
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, core::errc::conflict);
  EXPECT_EQ(other.error().field, "database");
  EXPECT_TRUE(backup(*store, {.device = dev, .inode = ino}));
}

TEST_F(SqliteBackupTest, AfterCloseABackupIsUnavailableAndLeavesNoFile) {
  auto store = open(dir_);
  ASSERT_TRUE(store);
  store->close();
  auto late = backup(*store);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, core::errc::unavailable);
  for (const auto& entry : fs::directory_iterator(dir_)) {
    EXPECT_FALSE(entry.path().filename().string().starts_with("errand-backup-")) << entry.path();
  }
}

TEST_F(SqliteBackupTest, AFileCopyRefusesADatabaseInUse) {
  auto store = open(dir_);
  ASSERT_TRUE(store);
  const auto db = (fs::path(dir_) / "errand.db").string();
  EXPECT_TRUE(sqlite::database_in_use(db));
  auto copied = sqlite::copy_database_file(db, dir_ + "/copy.db", sqlite::SourceAccess::locked);
  ASSERT_FALSE(copied);
  EXPECT_EQ(copied.error().code, core::errc::unavailable);
  EXPECT_NE(copied.error().message.find("in use"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ + "/copy.db"));
  store->close();
  store.reset();
  EXPECT_FALSE(sqlite::database_in_use(db));
  copied = sqlite::copy_database_file(db, dir_ + "/copy.db", sqlite::SourceAccess::locked);
  ASSERT_TRUE(copied) << copied.error().message;
  auto facts = sqlite::check_database_file(dir_ + "/copy.db", sqlite::CheckDepth::quick);
  ASSERT_TRUE(facts) << facts.error().message;
  EXPECT_EQ(facts->schema_version, sqlite::kSchemaVersion);
  EXPECT_TRUE(facts->token_secret == false);  // no server ever put one
}

TEST_F(SqliteBackupTest, TheCheckNamesWhatIsWrongWithAFile) {
  const auto text = dir_ + "/notes.txt";
  std::ofstream(text) << "plain text, long enough for a header of sixteen bytes\n";
  auto not_db = sqlite::check_database_file(text, sqlite::CheckDepth::quick);
  ASSERT_FALSE(not_db);
  EXPECT_EQ(not_db.error().code, core::errc::invalid_argument);
  EXPECT_NE(not_db.error().message.find("not a SQLite database"), std::string::npos);

  auto missing = sqlite::check_database_file(dir_ + "/none.db", sqlite::CheckDepth::quick);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, core::errc::not_found);

  {
    auto store = open(dir_);
    ASSERT_TRUE(store);
  }
  const auto db = (fs::path(dir_) / "errand.db").string();
  sqlite3* handle = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &handle), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(handle, "UPDATE schema_version SET version = 999", nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(handle);
  auto newer = sqlite::check_database_file(db, sqlite::CheckDepth::full);
  ASSERT_FALSE(newer);
  EXPECT_NE(newer.error().message.find("schema version 999, newer"), std::string::npos)
      << newer.error().message;
}

}  // namespace
}  // namespace errand::store
