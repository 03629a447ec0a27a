// Conformance: durability and lifecycle — every acknowledged change survives
// close and reopen (also under concurrent writers), the change listener hears
// about commits, and a closed store refuses verbs.
#include "store/conformance/harness.hpp"

#include "core/job_json.hpp"

#include <fmt/format.h>

#include <atomic>
#include <set>
#include <thread>

namespace errand::store::conformance {
namespace {

TEST_P(DurabilityTest, ReopenKeepsEveryAcknowledgedChange) {
  auto scheduled = job("a");
  scheduled.run_at = kNow + 1h;
  scheduled.idempotency_key = "key-1";
  scheduled.payload = core::RawJson::trusted(R"({"big":")" + std::string(10'000, 'x') + R"("})");
  const auto scheduled_id = insert(scheduled);
  auto done = running("a");
  ASSERT_TRUE(complete(done));
  auto failed = running("b");
  ASSERT_TRUE(fail(failed, {.error = "nope", .retry_in = 1min}));
  auto busy = running("c");
  ASSERT_TRUE(progress(busy, busy.lease_id, {.percent = 10, .message = "m"}));
  ASSERT_TRUE(cancel(busy.id));
  ASSERT_TRUE(call<QueueInfo>([&](auto d) { store().queue_pause({.queue = "c"}, d); }));
  const auto queues_before = queues();
  std::vector<core::Job> jobs_before;
  for (const auto& id : {scheduled_id, done.id, failed.id, busy.id})
    jobs_before.push_back(*get(id));

  reopen();

  for (const auto& before : jobs_before) {
    auto after = get(before.id);
    ASSERT_TRUE(after) << before.id;
    EXPECT_EQ(core::job_json(*after), core::job_json(before));
  }
  auto queues_after = queues();
  ASSERT_EQ(queues_after.size(), queues_before.size());
  for (std::size_t i = 0; i < queues_after.size(); ++i) {
    EXPECT_EQ(queues_after[i].name, queues_before[i].name);
    EXPECT_EQ(queues_after[i].paused, queues_before[i].paused);
    EXPECT_EQ(queues_after[i].counts, queues_before[i].counts);
    EXPECT_EQ(queues_after[i].processed, queues_before[i].processed);
    EXPECT_EQ(queues_after[i].failed, queues_before[i].failed);
  }
  auto dup = scheduled;  // the same job asked for again
  auto out = insert_many({dup});
  ASSERT_TRUE(out);
  EXPECT_TRUE((*out)[0].duplicate);
  // The reopened store keeps working on the old data.
  auto lease = extend(busy, busy.lease_id, std::nullopt, kNow);
  ASSERT_TRUE(lease);
  EXPECT_TRUE(lease->cancel_requested);
}

TEST_P(DurabilityTest, ConcurrentInsertsAreAllPresentAfterReopen) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 500;
  std::vector<std::vector<std::string>> ids(kThreads);  // as the store answered
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        core::NewJob j;
        j.queue = "t" + std::to_string(t);
        j.run_at = kNow;
        auto r = call<std::vector<InsertOutcome>>([&](auto done) {
          store().job_insert_many({.jobs = {std::move(j)}, .now = kNow}, done);
        });
        if (!r) {
          ++failures;
        } else {
          ids[t].push_back(r->front().id);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);

  reopen();

  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(counts("t" + std::to_string(t)), counts_of({{JobState::queued, kPerThread}}));
  }
  std::set<std::string> listed;
  std::string cursor;
  do {
    auto page = call<JobPage>(
        [&](auto done) { store().job_list({.limit = 1000, .cursor = cursor}, done); });
    ASSERT_TRUE(page);
    for (const auto& j : page->jobs) listed.insert(j.id);
    cursor = page->next_cursor;
  } while (!cursor.empty());
  EXPECT_EQ(listed.size(), static_cast<std::size_t>(kThreads * kPerThread));
  for (const auto& thread_ids : ids) {
    for (const auto& id : thread_ids) ASSERT_TRUE(listed.count(id)) << id;
  }
}

TEST_P(DurabilityTest, ListenerHearsAboutCommits) {
  clear_notices();
  insert(job("a"));
  auto seen = notices();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].runnable_queues, std::vector<std::string>{"a"});
  EXPECT_FALSE(seen[0].deadline);
}

// A verb called in a store::RunHere scope, as the server's request handlers
// call them, does and answers what it does outside one, durably: a store may
// run it on the calling thread (SQLite does, for a small request that comes
// alone; this suite's SQLite store lets every one) or ignore the scope.
TEST_P(DurabilityTest, VerbsCalledInARunHereScopeBehaveAsOutsideIt) {
  clear_notices();
  std::string id;
  {
    RunHere here;
    id = insert(job("a"));
  }
  auto seen = notices();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].runnable_queues, std::vector<std::string>{"a"});
  auto claimed = claim({"a"}, 1);
  ASSERT_EQ(claimed.size(), 1u);
  ASSERT_EQ(claimed[0].id, id);
  core::Result<core::Job> done = core::Job{};
  {
    RunHere here;
    done = complete(claimed[0]);
    EXPECT_FALSE(get("J-missing"));
  }
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(done->state, core::JobState::succeeded);
  reopen();
  auto after = get(id);
  ASSERT_TRUE(after) << after.error().message;
  EXPECT_EQ(after->state, core::JobState::succeeded);
}

TEST_P(DurabilityTest, FailedVerbsAndReadsSendNoNotice) {
  insert(job("a"));
  clear_notices();
  (void)get("J-missing");
  (void)cancel("J-missing");
  EXPECT_TRUE(claim({"nothing"}, 1).empty());
  EXPECT_TRUE(notices().empty());
}

TEST_P(DurabilityTest, VerbsAfterCloseAreUnavailable) {
  insert(job("a"));
  store().close();
  auto r = get("anything");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::errc::unavailable);
  auto w = insert_many({job("a")});
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, core::errc::unavailable);
}

TEST_P(DurabilityTest, CloseIsSafeTwiceAndWaitsForQueuedWork) {
  std::atomic<int> answered{0};
  for (int i = 0; i < 50; ++i) {
    store().job_insert_many({.jobs = {job("a")}, .now = kNow}, [&](auto r) {
      if (r) ++answered;
    });
  }
  store().close();
  EXPECT_EQ(answered.load(), 50);
  store().close();
  reopen();
  EXPECT_EQ(counts("a"), counts_of({{JobState::queued, 50}}));
}

}  // namespace
}  // namespace errand::store::conformance
