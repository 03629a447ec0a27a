// SqliteStore behaviour beyond the conformance suite: opening (directories,
// exclusive lock), a failed commit turning the store read-only, and claims
// answered ahead of their commit.
#include "store/sqlite/sqlite_store.hpp"
#include "store/conformance/call.hpp"

#include "store/sqlite/schema.hpp"
#include "store/sqlite/statements.hpp"

#include <sqlite3.h>

#include <gtest/gtest.h>

#include <mutex>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <thread>

namespace errand::store {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A job of queue "q" told apart by its type (the store assigns ids).
core::NewJob new_job(std::string type) {
  core::NewJob j;
  j.type = std::move(type);
  j.queue = "q";
  j.run_at = kNow;
  return j;
}

// The id the store gave the job.
core::Result<std::string> insert(Store& s, std::string type) {
  auto out = call<std::vector<InsertOutcome>>([&](auto done) {
    s.job_insert_many({.jobs = {new_job(std::move(type))}, .now = kNow}, done);
  });
  if (!out) return out.error();
  return out->front().id;
}

// The types of every stored job, newest first.
std::vector<std::string> types(Store& s) {
  auto page = call<JobPage>([&](auto done) { s.job_list({}, done); });
  EXPECT_TRUE(page) << page.error().message;
  std::vector<std::string> out;
  if (page) {
    for (const auto& j : page->jobs) out.push_back(j.type);
  }
  return out;
}

// Holds the writer in a callback until the returned promise is set, so
// what is submitted meanwhile forms one batch. Returns once the callback
// runs: nothing else was waiting when its batch committed, so the writer
// thread settles that batch itself and is the one held.
std::promise<void> hold_writer(Store& store) {
  std::promise<void> release;
  auto gate = release.get_future().share();
  auto entered = std::make_shared<std::promise<void>>();
  auto in = entered->get_future();
  store.job_insert_many({.jobs = {new_job("gate")}, .now = kNow}, [gate, entered](auto) {
    entered->set_value();
    gate.wait();
  });
  in.wait();
  return release;
}

// Adds `trigger` (SQL) to the database in `dir` behind the store's back:
// the tests' way to make one statement of a batch fail.
void plant_trigger(const std::string& dir, const char* trigger) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((fs::path(dir) / "errand.db").c_str(), &db), SQLITE_OK);
  const int rc = sqlite3_exec(db, trigger, nullptr, nullptr, nullptr);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << trigger;
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "errand-sqlite-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A store whose commits fail while fail_next_ is set (fault injection).
  // `probe`: how soon after a failed commit a write may probe the disk.
  std::unique_ptr<SqliteStore> open_failing(core::Millis probe = core::Millis{3'600'000}) {
    auto opened =
        SqliteStore::open({.dir = dir_, .store = {.recovery_probe = probe}, .fail_commit = [this] {
                             return fail_next_.load();
                           }});
    EXPECT_TRUE(opened) << opened.error().message;
    return opened ? std::move(*opened) : nullptr;
  }

  std::string dir_;
  std::atomic<bool> fail_next_{false};
};

TEST_F(SqliteStoreTest, OpenCreatesMissingDirectories) {
  const auto nested = (fs::path(dir_) / "a" / "b").string();
  auto store = SqliteStore::open({.dir = nested});
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_TRUE(fs::exists(fs::path(nested) / "errand.db"));
}

TEST_F(SqliteStoreTest, OpenNamesThePathWhenTheDirectoryCannotBeMade) {
  const auto file = fs::path(dir_) / "not-a-dir";
  std::ofstream(file) << "x";
  auto store = SqliteStore::open({.dir = (file / "data").string()});
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, core::errc::unavailable);
  EXPECT_NE(store.error().message.find("not-a-dir"), std::string::npos) << store.error().message;
}

TEST_F(SqliteStoreTest, SecondStoreOnTheSameDirectoryIsRefused) {
  auto first = SqliteStore::open({.dir = dir_});
  ASSERT_TRUE(first);
  auto second = SqliteStore::open({.dir = dir_});
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, core::errc::unavailable);
  EXPECT_NE(second.error().message.find("errand.db"), std::string::npos) << second.error().message;
}

TEST_F(SqliteStoreTest, FailedCommitMakesTheStoreReadOnlyAndLosesNothingAcknowledged) {
  auto opened = open_failing();
  ASSERT_TRUE(opened);
  auto& store = *opened;
  auto kept = insert(store, "kept");
  ASSERT_TRUE(kept);

  fail_next_ = true;
  auto lost = insert(store, "lost");
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().code, core::errc::unavailable);
  fail_next_ = false;

  auto refused = insert(store, "refused");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, core::errc::unavailable);
  EXPECT_NE(refused.error().message.find("read-only"), std::string::npos);
  EXPECT_NE(refused.error().message.find("errand.db"), std::string::npos);
  // Reads still work, and see only what was acknowledged.
  EXPECT_TRUE(call<core::Job>([&](auto d) { store.job_get({.id = *kept}, d); }));
  EXPECT_EQ(types(store), std::vector<std::string>{"kept"});
  auto queues = call<std::vector<QueueInfo>>([&](auto d) { store.queue_list(d); });
  ASSERT_TRUE(queues);
  ASSERT_EQ(queues->size(), 1u);
  EXPECT_EQ(queues->front().counts.at(core::JobState::queued), 1);
  opened.reset();

  auto reopened = SqliteStore::open({.dir = dir_});
  ASSERT_TRUE(reopened);
  EXPECT_TRUE(call<core::Job>([&](auto d) { (*reopened)->job_get({.id = *kept}, d); }));
  EXPECT_EQ(types(**reopened), std::vector<std::string>{"kept"});
  auto after = insert(**reopened, "after-restart");
  ASSERT_TRUE(after);
  EXPECT_GT(*after, *kept);  // ids only grow, across restarts too
}

// An insert of many jobs is one savepoint: a job the database refuses (here
// through a trigger planted in the file) drops the jobs before it in the
// same call, their queue and their counts, and nothing else.
TEST_F(SqliteStoreTest, AnInsertOfManyJobsIsAllOrNothing) {
  {
    auto opened = SqliteStore::open({.dir = dir_});
    ASSERT_TRUE(opened) << opened.error().message;
    ASSERT_TRUE(insert(**opened, "keep"));
  }
  ASSERT_NO_FATAL_FAILURE(
      plant_trigger(dir_,
                    "CREATE TRIGGER poison BEFORE INSERT ON jobs WHEN new.type = 'poison'"
                    " BEGIN SELECT RAISE(ABORT, 'poisoned'); END"));

  auto opened = SqliteStore::open({.dir = dir_});
  ASSERT_TRUE(opened) << opened.error().message;
  Store& store = **opened;
  auto fine = new_job("fine");
  fine.queue = "batch";
  auto poison = new_job("poison");
  poison.queue = "batch";
  auto out = call<std::vector<InsertOutcome>>([&](auto done) {
    store.job_insert_many({.jobs = {fine, poison}, .now = kNow}, done);
  });
  ASSERT_FALSE(out);
  EXPECT_NE(out.error().message.find("poisoned"), std::string::npos) << out.error().message;
  EXPECT_EQ(types(store), std::vector<std::string>{"keep"});
  auto queues = call<std::vector<QueueInfo>>([&](auto d) { store.queue_list(d); });
  ASSERT_TRUE(queues);
  ASSERT_EQ(queues->size(), 1u);
  EXPECT_EQ(queues->front().name, "q");
  EXPECT_EQ(queues->front().counts.at(core::JobState::queued), 1);
  EXPECT_TRUE(insert(store, "after"));  // the store still takes writes
}

// Empty tag and error lists are stored as '' (two bytes a job fewer than
// '[]'); rows written by earlier versions hold '[]'. Both read as empty, and
// a tag search passes over both.
TEST_F(SqliteStoreTest, EmptyTagAndErrorListsAreStoredEmptyAndBothFormsRead) {
  {
    auto opened = SqliteStore::open({.dir = dir_});
    ASSERT_TRUE(opened) << opened.error().message;
    auto tagged = new_job("tagged");
    tagged.tags = {"blue"};
    auto out = call<std::vector<InsertOutcome>>([&](auto done) {
      (*opened)->job_insert_many(
          {.jobs = {new_job("new"), new_job("old"), tagged, new_job("plain")}, .now = kNow}, done);
    });
    ASSERT_TRUE(out) << out.error().message;
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((fs::path(dir_) / "errand.db").c_str(), &db), SQLITE_OK);
  std::vector<std::string> stored;
  const auto collect = [](void* to, int n, char** values, char**) {
    for (int i = 0; i < n; ++i) static_cast<std::vector<std::string>*>(to)->emplace_back(values[i]);
    return 0;
  };
  ASSERT_EQ(sqlite3_exec(db, "SELECT type, tags, errors FROM jobs ORDER BY id", collect, &stored,
                         nullptr),
            SQLITE_OK);
  const int rc = sqlite3_exec(db, "UPDATE jobs SET tags = '[]', errors = '[]' WHERE type = 'old'",
                              nullptr, nullptr, nullptr);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK);
  EXPECT_EQ(stored, (std::vector<std::string>{"new", "", "", "old", "", "", "tagged", R"(["blue"])",
                                              "", "plain", "", ""}));

  auto opened = SqliteStore::open({.dir = dir_});
  ASSERT_TRUE(opened) << opened.error().message;
  auto page = call<JobPage>([&](auto done) { (*opened)->job_list({}, done); });
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->jobs.size(), 4u);
  for (const auto& j : page->jobs) {
    EXPECT_EQ(j.tags,
              j.type == "tagged" ? std::vector<std::string>{"blue"} : std::vector<std::string>{})
        << j.type;
    EXPECT_TRUE(j.errors.empty()) << j.type;
  }
  for (const std::string tag : {"blue", "green"}) {
    auto found = call<JobPage>([&](auto done) { (*opened)->job_list({.tag = tag}, done); });
    ASSERT_TRUE(found) << found.error().message;
    ASSERT_EQ(found->jobs.size(), tag == "blue" ? 1u : 0u) << tag;
    if (tag == "blue") {
      EXPECT_EQ(found->jobs.front().type, "tagged");
    }
  }
}

// Acks share one savepoint until an item fails after it wrote; then each
// runs alone, so only that item's changes are undone. A trigger planted in
// the file refuses one job's log: that complete fails after its row update.
TEST_F(SqliteStoreTest, AnAckThatFailsAfterItWroteUndoesOnlyItself) {
  {
    auto opened = SqliteStore::open({.dir = dir_});
    ASSERT_TRUE(opened) << opened.error().message;
  }
  ASSERT_NO_FATAL_FAILURE(
      plant_trigger(dir_,
                    "CREATE TRIGGER poison BEFORE INSERT ON job_logs WHEN new.log = 'poison'"
                    " BEGIN SELECT RAISE(ABORT, 'poisoned'); END"));

  auto opened = SqliteStore::open({.dir = dir_});
  ASSERT_TRUE(opened) << opened.error().message;
  Store& store = **opened;
  for (const char* type : {"a", "b", "c", "d"}) ASSERT_TRUE(insert(store, type));
  auto claimed = call<std::vector<core::Job>>([&](auto done) {
    store.job_claim({.queues = {"q"}, .worker = "w", .max = 4, .now = kNow}, done);
  });
  ASSERT_TRUE(claimed);
  ASSERT_EQ(claimed->size(), 4u);
  std::vector<AckItem> items;
  for (const auto& job : *claimed) {
    AckItem item;
    item.complete = {.id = job.id, .lease_id = job.lease_id, .log = "fine", .now = kNow};
    items.push_back(std::move(item));
  }
  items[1].complete.log = "poison";              // fails after its update
  items[2].complete.lease_id = "not-the-lease";  // fails before writing anything
  auto acked = call<std::vector<core::Result<core::JobState>>>(
      [&](auto done) { store.job_ack_many(items, done); });
  ASSERT_TRUE(acked) << acked.error().message;
  ASSERT_EQ(acked->size(), 4u);
  EXPECT_TRUE((*acked)[0]);
  ASSERT_FALSE((*acked)[1]);
  EXPECT_NE((*acked)[1].error().message.find("poisoned"), std::string::npos);
  ASSERT_FALSE((*acked)[2]);
  EXPECT_EQ((*acked)[2].error().code, core::errc::conflict);
  EXPECT_TRUE((*acked)[3]);

  std::map<std::string, core::JobState> states;
  for (const auto& job : *claimed) {
    auto got = call<core::Job>([&](auto done) { store.job_get({.id = job.id}, done); });
    ASSERT_TRUE(got);
    states[job.type] = got->state;
  }
  EXPECT_EQ(states["a"], core::JobState::succeeded);
  EXPECT_EQ(states["b"], core::JobState::running);
  EXPECT_EQ(states["c"], core::JobState::running);
  EXPECT_EQ(states["d"], core::JobState::succeeded);
  auto queues = call<std::vector<QueueInfo>>([&](auto d) { store.queue_list(d); });
  ASSERT_TRUE(queues);
  ASSERT_EQ(queues->size(), 1u);
  EXPECT_EQ(queues->front().counts.at(core::JobState::running), 2);
  EXPECT_EQ(queues->front().counts.at(core::JobState::succeeded), 2);
}

TEST_F(SqliteStoreTest, EveryOpOfAFailedBatchIsUnavailable) {
  auto opened = open_failing();
  ASSERT_TRUE(opened);
  auto& store = *opened;
  // Hold the writer in a callback so the next submissions form one batch.
  auto release = hold_writer(store);
  std::vector<std::future<core::Result<std::vector<InsertOutcome>>>> answers;
  for (int i = 0; i < 5; ++i) {
    auto p = std::make_shared<std::promise<core::Result<std::vector<InsertOutcome>>>>();
    answers.push_back(p->get_future());
    store.job_insert_many({.jobs = {new_job("b" + std::to_string(i))}, .now = kNow},
                          [p](auto r) { p->set_value(std::move(r)); });
  }
  fail_next_ = true;
  release.set_value();
  for (auto& a : answers) {
    auto r = a.get();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, core::errc::unavailable);
  }
}

// A claim of jobs that were already durable is answered before its batch
// commits; when that commit fails the lease is simply not there after a
// restart and the job is still queued (at-least-once, as for a lost lease).
TEST_F(SqliteStoreTest, AClaimOfDurableJobsIsAnsweredBeforeTheCommit) {
  auto opened = open_failing();
  ASSERT_TRUE(opened);
  auto& store = *opened;
  auto durable = insert(store, "durable");
  ASSERT_TRUE(durable);
  fail_next_ = true;
  auto claimed = call<std::vector<core::Job>>(
      [&](auto d) { store.job_claim({.queues = {"q"}, .worker = "w", .max = 1, .now = kNow}, d); });
  ASSERT_TRUE(claimed) << claimed.error().message;
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ(claimed->front().id, *durable);
  // The batch did not commit: the store is read-only and the lease was never written.
  EXPECT_EQ(insert(store, "refused").error().code, core::errc::unavailable);
  opened.reset();
  auto reopened = SqliteStore::open({.dir = dir_});
  ASSERT_TRUE(reopened);
  auto job = call<core::Job>([&](auto d) { (*reopened)->job_get({.id = *durable}, d); });
  ASSERT_TRUE(job);
  EXPECT_EQ(job->state, core::JobState::queued);
  auto late = call<core::Job>([&](auto d) {
    (*reopened)->job_complete({.id = *durable, .lease_id = claimed->front().lease_id, .now = kNow},
                              d);
  });
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, core::errc::conflict);
}

// A read earlier in the batch is answered before a claim after it: a watcher
// subscribing in its read's callback must not miss the claim's state change.
TEST_F(SqliteStoreTest, AClaimIsNotAnsweredBeforeAnEarlierReadOfItsBatch) {
  auto opened = open_failing();
  ASSERT_TRUE(opened);
  auto& store = *opened;
  auto durable = insert(store, "durable");
  ASSERT_TRUE(durable);
  auto release = hold_writer(store);
  auto order = std::make_shared<std::vector<std::string>>();
  auto mutex = std::make_shared<std::mutex>();
  auto both = std::make_shared<std::promise<void>>();
  auto note = [order, mutex, both](std::string what) {
    std::lock_guard lock(*mutex);
    order->push_back(std::move(what));
    if (order->size() == 2) both->set_value();
  };
  store.job_get({.id = *durable}, [note](auto r) {
    EXPECT_TRUE(r);
    if (r) {
      EXPECT_EQ(r->state, core::JobState::queued);
    }
    note("read");
  });
  store.job_claim({.queues = {"q"}, .worker = "w", .max = 1, .now = kNow}, [note](auto r) {
    EXPECT_TRUE(r && r->size() == 1u);
    note("claim");
  });
  release.set_value();
  both->get_future().get();
  EXPECT_EQ(*order, (std::vector<std::string>{"read", "claim"}));
}

// A job made runnable earlier in the same batch is not durable yet: a claim
// that follows it waits for the commit like every other op.
TEST_F(SqliteStoreTest, AClaimAfterAnInsertInTheSameBatchWaitsForTheCommit) {
  auto opened = open_failing();
  ASSERT_TRUE(opened);
  auto& store = *opened;
  auto release = hold_writer(store);
  // Both land in the next batch: the insert, then a claim that would take it.
  auto inserted = std::make_shared<std::promise<core::Result<std::vector<InsertOutcome>>>>();
  auto claimed = std::make_shared<std::promise<core::Result<std::vector<core::Job>>>>();
  auto inserted_answer = inserted->get_future();
  auto claimed_answer = claimed->get_future();
  store.job_insert_many({.jobs = {new_job("fresh")}, .now = kNow},
                        [inserted](auto r) { inserted->set_value(std::move(r)); });
  store.job_claim({.queues = {"q"}, .worker = "w", .max = 5, .now = kNow},
                  [claimed](auto r) { claimed->set_value(std::move(r)); });
  fail_next_ = true;
  release.set_value();
  auto i = inserted_answer.get();
  auto c = claimed_answer.get();
  ASSERT_FALSE(i);
  ASSERT_FALSE(c);  // not answered with the uncommitted job
  EXPECT_EQ(c.error().code, core::errc::unavailable);
}

TEST_F(SqliteStoreTest, AReadOnlyStoreTakesWritesAgainOnceAProbeWriteCommits) {
  auto opened = open_failing(core::Millis{0});  // a probe at every write
  ASSERT_TRUE(opened);
  auto& store = *opened;
  auto kept = insert(store, "kept");
  ASSERT_TRUE(kept);
  fail_next_ = true;  // the disk refuses writes
  auto lost = insert(store, "lost");
  ASSERT_FALSE(lost);
  auto refused = insert(store, "refused");  // its probe fails too
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("writes resume by themselves"), std::string::npos)
      << refused.error().message;
  fail_next_ = false;  // space again
  auto resumed = insert(store, "resumed");
  ASSERT_TRUE(resumed) << resumed.error().message;
  auto now_stored = types(store);
  std::sort(now_stored.begin(), now_stored.end());
  EXPECT_EQ(now_stored, (std::vector<std::string>{"kept", "resumed"}));
  auto queues = call<std::vector<QueueInfo>>([&](auto d) { store.queue_list(d); });
  ASSERT_TRUE(queues);
  ASSERT_EQ(queues->size(), 1u);
  EXPECT_EQ(queues->front().counts.at(core::JobState::queued), 2);
  opened.reset();
  auto reopened = SqliteStore::open({.dir = dir_});
  ASSERT_TRUE(reopened);
  auto after_reopen = types(**reopened);
  std::sort(after_reopen.begin(), after_reopen.end());
  EXPECT_EQ(after_reopen, (std::vector<std::string>{"kept", "resumed"}));
}

TEST_F(SqliteStoreTest, AFailedFsyncMakesTheStoreReadOnly) {
  std::atomic<bool> fail{false};
  auto opened = SqliteStore::open({.dir = dir_, .fail_sync = [&fail] { return fail.load(); }});
  ASSERT_TRUE(opened) << opened.error().message;
  auto& store = **opened;
  auto kept = insert(store, "kept");
  ASSERT_TRUE(kept);
  fail = true;
  auto unsynced = insert(store, "unsynced");
  ASSERT_FALSE(unsynced);
  EXPECT_EQ(unsynced.error().code, core::errc::unavailable);
  EXPECT_NE(unsynced.error().message.find("fdatasync"), std::string::npos)
      << unsynced.error().message;
  EXPECT_NE(unsynced.error().message.find("errand.db-wal"), std::string::npos);
  fail = false;
  auto refused = insert(store, "refused");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("read-only"), std::string::npos);
  EXPECT_TRUE(call<core::Job>([&](auto d) { store.job_get({.id = *kept}, d); }));
}

// An insert, and then (in the next batch, while the insert's fsync is held
// until that batch has committed) a claim that takes the inserted job. With
// `fail_fsync` the held fsync fails.
struct InsertThenClaim {
  std::vector<std::string> log;
  core::Result<std::vector<InsertOutcome>> inserted{std::vector<InsertOutcome>{}};
  core::Result<std::vector<core::Job>> claimed{std::vector<core::Job>{}};
};

InsertThenClaim insert_then_claim_during_its_fsync(const std::string& dir, bool fail_fsync) {
  std::mutex m;
  std::condition_variable cv;
  bool armed = false;
  int commits = 0, syncs = 0;
  InsertThenClaim out;
  auto opened =
      SqliteStore::open({.dir = dir,
                         .store = {.max_batch = 1},  // the insert and the claim commit separately
                         .fail_commit =
                             [&] {
                               std::lock_guard lock(m);
                               if (armed) ++commits;
                               cv.notify_all();
                               return false;
                             },
                         .fail_sync =
                             [&] {
                               std::unique_lock lock(m);
                               if (armed && ++syncs == 1) {  // the insert's batch
                                 cv.wait(lock, [&] { return commits >= 2; });
                                 out.log.push_back("fsync of the insert");
                                 return fail_fsync;
                               }
                               return false;
                             }});
  EXPECT_TRUE(opened) << opened.error().message;
  if (!opened) return out;
  auto& store = **opened;
  auto release = hold_writer(store);
  {
    std::lock_guard lock(m);
    armed = true;
  }
  auto note = [&](std::string what) {
    std::lock_guard lock(m);
    out.log.push_back(std::move(what));
  };
  std::promise<void> inserted, claimed;
  store.job_insert_many({.jobs = {new_job("fresh")}, .now = kNow}, [&](auto r) {
    out.inserted = std::move(r);
    note("insert answered");
    inserted.set_value();
  });
  store.job_claim({.queues = {"q"}, .worker = "w", .max = 5, .now = kNow}, [&](auto r) {
    out.claimed = std::move(r);
    note("claim answered");
    claimed.set_value();
  });
  release.set_value();
  inserted.get_future().wait();
  claimed.get_future().wait();
  return out;
}

// Batches settle in commit order while the next batch runs: the claim
// (which takes the inserted job) is answered only after the insert's fsync,
// and after the insert.
TEST_F(SqliteStoreTest, AnswersWaitForTheFsyncOfEveryEarlierBatch) {
  auto run = insert_then_claim_during_its_fsync(dir_, false);
  ASSERT_TRUE(run.inserted);
  ASSERT_TRUE(run.claimed);
  EXPECT_EQ(run.claimed->size(), 2u);  // the gate's job and the fresh one
  EXPECT_EQ(run.log,
            (std::vector<std::string>{"fsync of the insert", "insert answered", "claim answered"}));
}

// When that fsync fails, the claim that ran meanwhile fails too: it may have
// taken a job that never became durable.
TEST_F(SqliteStoreTest, AClaimAfterAFailedFsyncIsNotAnswered) {
  auto run = insert_then_claim_during_its_fsync(dir_, true);
  ASSERT_FALSE(run.inserted);
  EXPECT_EQ(run.inserted.error().code, core::errc::unavailable);
  ASSERT_FALSE(run.claimed);
  EXPECT_EQ(run.claimed.error().code, core::errc::unavailable);
  EXPECT_EQ(run.log,
            (std::vector<std::string>{"fsync of the insert", "insert answered", "claim answered"}));
}

// A lone request: where it runs, what ran first, and whether it was
// answered before the call returned.
struct LoneRun {
  std::thread::id answered_on;
  std::thread::id synced_on;
  bool answered_before_return = false;
  std::vector<std::string> log;
};

// One insert from this thread, in a RunHere scope if `here`.
LoneRun insert_alone(SqliteStore& store, bool here, LoneRun& run, std::mutex& m) {
  std::promise<void> answered;
  bool returned = false;
  auto done = [&](core::Result<std::vector<InsertOutcome>> r) {
    EXPECT_TRUE(r) << r.error().message;
    std::lock_guard lock(m);
    run.answered_on = std::this_thread::get_id();
    run.answered_before_return = !returned;
    run.log.push_back("answered");
    answered.set_value();
  };
  {
    std::optional<RunHere> scope;
    if (here) scope.emplace();
    store.job_insert_many({.jobs = {new_job("lone")}, .now = kNow}, done);
  }
  {
    std::lock_guard lock(m);
    returned = true;
  }
  answered.get_future().wait();
  std::lock_guard lock(m);
  return run;
}

class LoneRequestTest : public SqliteStoreTest {
 protected:
  std::unique_ptr<SqliteStore> open_store(std::chrono::microseconds lone_interval) {
    auto opened =
        SqliteStore::open({.dir = dir_,
                           .store = {.lone_interval = lone_interval, .lone_sync_max = 50ms},
                           .fail_sync = [this] {
                             std::lock_guard lock(m_);
                             run_.synced_on = std::this_thread::get_id();
                             run_.log.push_back("fsync");
                             // A slow disk: the fsync as the store times it.
                             std::this_thread::sleep_for(sync_takes_);
                             return false;
                           }});
    EXPECT_TRUE(opened) << opened.error().message;
    return opened ? std::move(*opened) : nullptr;
  }
  LoneRun insert(SqliteStore& store, bool here) {
    {
      std::lock_guard lock(m_);
      run_ = {};
    }
    return insert_alone(store, here, run_, m_);
  }

  void set_sync_takes(std::chrono::milliseconds d) {
    std::lock_guard lock(m_);
    sync_takes_ = d;
  }

  std::mutex m_;
  LoneRun run_;
  std::chrono::milliseconds sync_takes_{0};
};

// In a RunHere scope with the writer idle, the request commits, is made
// durable and is answered on the calling thread before the call returns:
// no trip to the writer thread and back.
TEST_F(LoneRequestTest, ALoneRequestInARunHereScopeRunsOnTheCallersThread) {
  auto store = open_store(0us);
  ASSERT_TRUE(store);
  const auto run = insert(*store, true);
  EXPECT_TRUE(run.answered_before_return);
  EXPECT_EQ(run.answered_on, std::this_thread::get_id());
  EXPECT_EQ(run.synced_on, std::this_thread::get_id());
  EXPECT_EQ(run.log, (std::vector<std::string>{"fsync", "answered"}));
  EXPECT_EQ(types(*store), (std::vector<std::string>{"lone"}));
}

// After an fsync that took long, the next lone request still runs here, but
// its fsync and answer are left to the settler thread: a slow disk must not
// hold up the caller's thread, which serves every other connection too.
TEST_F(LoneRequestTest, ALoneRequestLeavesItsFsyncToTheSettlerWhileTheDiskIsSlow) {
  auto store = open_store(0us);
  ASSERT_TRUE(store);
  set_sync_takes(100ms);  // real fsyncs take well under lone_sync_max (50 ms)
  const auto slow = insert(*store, true);
  EXPECT_EQ(slow.synced_on, std::this_thread::get_id());
  set_sync_takes(0ms);
  const auto next = insert(*store, true);
  EXPECT_NE(next.synced_on, std::this_thread::get_id());
  EXPECT_NE(next.answered_on, std::this_thread::get_id());
  EXPECT_EQ(next.log, (std::vector<std::string>{"fsync", "answered"}));
  // Once the disk is fast again (and the settler done with that one), lone
  // requests run here again.
  bool here_again = false;
  for (int i = 0; i < 100 && !here_again; ++i) {
    const auto again = insert(*store, true);
    here_again = again.synced_on == std::this_thread::get_id() && again.answered_before_return;
  }
  EXPECT_TRUE(here_again);
}

// Without the scope the writer runs it, as every verb whose callback may do
// more than hand the answer on.
TEST_F(LoneRequestTest, ARequestOutsideARunHereScopeGoesToTheWriter) {
  auto store = open_store(0us);
  ASSERT_TRUE(store);
  const auto run = insert(*store, false);
  EXPECT_NE(run.answered_on, std::this_thread::get_id());
  EXPECT_EQ(run.log, (std::vector<std::string>{"fsync", "answered"}));
}

// Requests that come closer together than lone_interval go to the writer,
// where they share commits.
TEST_F(LoneRequestTest, RequestsThatComeCloseTogetherGoToTheWriter) {
  auto store = open_store(10min);
  ASSERT_TRUE(store);
  (void)insert(*store, false);
  const auto run = insert(*store, true);
  EXPECT_NE(run.answered_on, std::this_thread::get_id());
  EXPECT_NE(run.synced_on, std::this_thread::get_id());
}

// What a callback of a request run here calls goes to the writer: it does
// not run nested inside the first (whose batch holds the connection).
TEST_F(LoneRequestTest, AVerbCalledFromTheCallbackOfALoneRequestGoesToTheWriter) {
  auto store = open_store(0us);
  ASSERT_TRUE(store);
  std::promise<std::thread::id> nested;
  bool ran_here = false;
  {
    RunHere scope;
    store->job_insert_many({.jobs = {new_job("outer")}, .now = kNow}, [&](auto r) {
      ASSERT_TRUE(r);
      ran_here = true;
      store->job_get({.id = r->front().id}, [&](auto got) {
        EXPECT_TRUE(got);
        nested.set_value(std::this_thread::get_id());
      });
    });
  }
  EXPECT_TRUE(ran_here);
  EXPECT_NE(nested.get_future().get(), std::this_thread::get_id());
}

// Claims that the change listener submits when a lone insert's job becomes
// runnable (the engine's waiting long polls). Each answer notes its thread
// and its place in run_.log.
struct WokenClaims {
  std::mutex m;
  std::vector<std::thread::id> answered_on;
  std::vector<std::size_t> jobs;
};

// `claims` claims per notice with runnable queues, from the listener.
void claim_when_woken(SqliteStore& store, int claims, WokenClaims& woken, LoneRun& run,
                      std::mutex& run_m) {
  store.set_change_listener([&store, claims, &woken, &run, &run_m](const ChangeNotice& notice) {
    if (notice.runnable_queues.empty()) return;
    for (int i = 0; i < claims; ++i) {
      store.job_claim({.queues = {"q"}, .worker = "w", .max = 1, .now = kNow},
                      [&](core::Result<std::vector<core::Job>> r) {
                        ASSERT_TRUE(r) << r.error().message;
                        {
                          std::lock_guard lock(run_m);
                          run.log.push_back("claim answered");
                        }
                        std::lock_guard lock(woken.m);
                        woken.answered_on.push_back(std::this_thread::get_id());
                        woken.jobs.push_back(r->size());
                      });
    }
  });
}

// The claims a lone insert's job wakes run on the caller's thread right
// after its fsync, before its answer (a waiting worker starts without
// waiting for the enqueue's answer to be written), and the first takes
// the job; their own fsync is the settler's, so the caller does not wait.
TEST_F(LoneRequestTest, TheClaimsALoneRequestWakesRunOnItsThreadBeforeItsAnswer) {
  auto store = open_store(0us);
  ASSERT_TRUE(store);
  WokenClaims woken;
  claim_when_woken(*store, 2, woken, run_, m_);
  const auto run = insert(*store, true);
  ASSERT_TRUE(run.answered_before_return);
  // The insert's fsync first; the claims' own one, on the settler, may come
  // anywhere after it.
  ASSERT_FALSE(run.log.empty());
  EXPECT_EQ(run.log.front(), "fsync");
  std::vector<std::string> answers;
  std::copy_if(run.log.begin() + 1, run.log.end(), std::back_inserter(answers),
               [](const auto& line) { return line != "fsync"; });
  EXPECT_EQ(answers, (std::vector<std::string>{"claim answered", "claim answered", "answered"}));
  std::lock_guard wl(woken.m);
  EXPECT_EQ(woken.answered_on,
            (std::vector<std::thread::id>{std::this_thread::get_id(), std::this_thread::get_id()}));
  EXPECT_EQ(woken.jobs, (std::vector<std::size_t>{1, 0}));
}

// A herd of woken claims is the writer thread's: the caller's thread,
// which serves every other connection, does not run them one by one.
TEST_F(LoneRequestTest, AHerdOfWokenClaimsGoesToTheWriter) {
  auto store = open_store(0us);
  ASSERT_TRUE(store);
  WokenClaims woken;
  constexpr int kHerd = 20;
  claim_when_woken(*store, kHerd, woken, run_, m_);
  (void)insert(*store, true);
  store.reset();  // closing runs every op submitted
  ASSERT_EQ(woken.answered_on.size(), std::size_t{kHerd});
  for (const auto& id : woken.answered_on) EXPECT_NE(id, std::this_thread::get_id());
  EXPECT_EQ(std::count(woken.jobs.begin(), woken.jobs.end(), 1u), 1);
}

// Writes ~40 MiB of payload in commits of ~1 MiB (in RunHere scopes if
// `here`) and returns the WAL file's largest size meanwhile.
std::uintmax_t largest_wal(SqliteStore& store, const std::string& dir, bool here) {
  const auto wal = fs::path(dir) / "errand.db-wal";
  std::uintmax_t largest = 0;
  for (int commit = 0; commit < 40; ++commit) {
    std::vector<core::NewJob> jobs;
    for (int i = 0; i < 10; ++i) {
      auto job = new_job("big");
      job.payload = core::RawJson::trusted('"' + std::string(100 * 1024, 'x') + '"');
      jobs.push_back(std::move(job));
    }
    std::optional<RunHere> scope;
    if (here) scope.emplace();
    auto out = call<std::vector<InsertOutcome>>(
        [&](auto done) { store.job_insert_many({.jobs = std::move(jobs), .now = kNow}, done); });
    EXPECT_TRUE(out) << out.error().message;
    largest = std::max(largest, fs::file_size(wal));
  }
  return largest;
}

// The writer checkpoints the WAL every ~8 MiB (SQLite's own checkpoint is
// off), also when the commits ran on their callers' threads, so the WAL
// stays near the 12 MiB it is truncated to.
TEST_F(LoneRequestTest, TheWalIsCheckpointedWhereverItsCommitsRan) {
  for (const bool here : {false, true}) {
    auto store = open_store(0us);
    ASSERT_TRUE(store);
    EXPECT_LT(largest_wal(*store, dir_, here), 16u << 20) << (here ? "run here" : "writer");
    store.reset();
    fs::remove_all(dir_);
  }
}

// Every named statement must reach `jobs` through an index and never sort:
// each verb stays O(log n) however many jobs are stored. The one exception
// is the list of running jobs, which sorts them (there are only as many as
// leases held), so that claims and completes need not keep an index of
// running jobs by id.
TEST_F(SqliteStoreTest, EveryStatementUsesAnIndexOnJobs) {
  auto db = sqlite::Db::open((fs::path(dir_) / "errand.db").string());
  ASSERT_TRUE(db);
  ASSERT_TRUE(sqlite::prepare_schema(**db));
  for (const auto& named : sqlite::Statements::all_sql()) {
    if (named.sql.rfind("SELECT", 0) != 0 && named.sql.rfind("UPDATE", 0) != 0 &&
        named.sql.rfind("DELETE", 0) != 0) {
      continue;  // transaction control and plain inserts have no plan to check
    }
    sqlite3_stmt* stmt = nullptr;
    const std::string explain = "EXPLAIN QUERY PLAN " + named.sql;
    ASSERT_EQ(sqlite3_prepare_v2((*db)->handle(), explain.c_str(), -1, &stmt, nullptr), SQLITE_OK)
        << named.label;
    const bool lists_running =
        named.sql.find("INDEXED BY jobs_running WHERE id <") != std::string::npos;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      const std::string detail = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3));
      if (lists_running && detail == "USE TEMP B-TREE FOR ORDER BY") continue;
      // The busiest keys are sorted by load: a read of the queue's key rows.
      if (named.name == sqlite::Sql::keys_busiest && detail == "USE TEMP B-TREE FOR ORDER BY")
        continue;
      EXPECT_EQ(detail.find("TEMP B-TREE"), std::string::npos) << named.label << ": " << detail;
      const bool scans_jobs = detail.find("SCAN jobs") != std::string::npos;
      EXPECT_FALSE(scans_jobs && detail.find("INDEX") == std::string::npos)
          << named.label << ": " << detail;
    }
    sqlite3_finalize(stmt);
  }
}

}  // namespace
}  // namespace errand::store
