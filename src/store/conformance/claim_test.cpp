// Conformance: job_claim — queue order, priority then FIFO, max, paused
// queues, lease fields, and exclusivity under concurrent claims.
#include "store/conformance/harness.hpp"

#include <set>
#include <thread>

namespace errand::store::conformance {
namespace {

std::vector<std::string> ids(const std::vector<core::Job>& jobs) {
  std::vector<std::string> out;
  for (const auto& j : jobs) out.push_back(j.id);
  return out;
}

TEST_P(ClaimTest, TakesQueuesInTheGivenOrder) {
  auto a1 = insert(job("a"));
  auto b1 = insert(job("b"));
  auto b2 = insert(job("b"));
  auto claimed = claim({"b", "a"}, 3);
  EXPECT_EQ(ids(claimed), (std::vector<std::string>{b1, b2, a1}));
}

TEST_P(ClaimTest, HigherPriorityFirstThenOldestFirst) {
  auto low = insert(job("q", 0));
  auto high1 = insert(job("q", 5));
  auto high2 = insert(job("q", 5));
  auto negative = insert(job("q", -1));
  auto low2 = insert(job("q", 0));
  auto claimed = claim({"q"}, 10);
  EXPECT_EQ(ids(claimed), (std::vector<std::string>{high1, high2, low, low2, negative}));
}

TEST_P(ClaimTest, TakesAtMostMax) {
  for (int i = 0; i < 5; ++i) insert(job("q"));
  EXPECT_EQ(claim({"q"}, 2).size(), 2u);
  EXPECT_EQ(counts("q"), counts_of({{JobState::queued, 3}, {JobState::running, 2}}));
  EXPECT_EQ(claim({"q"}, 10).size(), 3u);
  EXPECT_TRUE(claim({"q"}, 10).empty());
}

TEST_P(ClaimTest, UnknownOrEmptyQueuesGiveAnEmptyResult) {
  EXPECT_TRUE(claim({"nothing-here"}, 5).empty());
  insert(job("a"));
  claim({"a"});
  EXPECT_TRUE(claim({"a"}, 5).empty());
}

TEST_P(ClaimTest, SkipsPausedQueues) {
  auto a = insert(job("a"));
  auto b = insert(job("b"));
  ASSERT_TRUE(call<QueueInfo>([&](auto done) { store().queue_pause({.queue = "a"}, done); }));
  EXPECT_EQ(ids(claim({"a", "b"}, 5)), std::vector<std::string>{b});
  ASSERT_TRUE(call<QueueInfo>(
      [&](auto done) { store().queue_pause({.queue = "a", .paused = false}, done); }));
  EXPECT_EQ(ids(claim({"a", "b"}, 5)), std::vector<std::string>{a});
}

TEST_P(ClaimTest, DoesNotTakeScheduledJobs) {
  auto later = job("q");
  later.run_at = kNow + 10s;
  insert(later);
  EXPECT_TRUE(claim({"q"}, 1).empty());
}

TEST_P(ClaimTest, LeasesTheJobForItsTimeout) {
  auto j = job("q");
  j.timeout = 45s;
  const auto id = insert(j);
  auto claimed = claim({"q"}, 1, kNow + 1s);
  ASSERT_EQ(claimed.size(), 1u);
  const auto& c = claimed[0];
  EXPECT_EQ(c.state, JobState::running);
  EXPECT_EQ(c.attempt, 1);
  EXPECT_EQ(c.lease_id.size(), 32u);
  EXPECT_EQ(c.lease_id.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(c.lease_expires_at, kNow + 46s);
  EXPECT_EQ(c.started_at, kNow + 1s);
  EXPECT_EQ(c.worker, "w1");
  auto stored = get(id);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->state, JobState::running);
  EXPECT_EQ(stored->lease_id, c.lease_id);
  EXPECT_EQ(stored->lease_expires_at, c.lease_expires_at);
  EXPECT_EQ(stored->attempt, 1);
}

TEST_P(ClaimTest, ExplicitLeaseOverridesTheTimeout) {
  insert(job("q"));
  auto claimed = claim({"q"}, 1, kNow, 5s);
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].lease_expires_at, kNow + 5s);
}

TEST_P(ClaimTest, LaterAttemptKeepsStartedAtAndGetsAFreshLease) {
  auto first = running("q");
  ASSERT_TRUE(fail(first, {.retry_in = 1s}));
  EXPECT_EQ(promote_due(kNow + 2s), 1);
  auto second = claim({"q"}, 1, kNow + 3s);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].attempt, 2);
  EXPECT_EQ(second[0].started_at, kNow);
  EXPECT_NE(second[0].lease_id, first.lease_id);
  EXPECT_EQ(second[0].errors.size(), 1u);
}

TEST_P(ClaimTest, NoticeDeadlineIsTheEarliestNewLeaseExpiry) {
  auto slow = job("q");
  slow.timeout = 30s;
  auto quick = job("q");
  quick.timeout = 10s;
  ASSERT_TRUE(insert_many({slow, quick}));
  clear_notices();
  ASSERT_EQ(claim({"q"}, 2).size(), 2u);
  auto seen = notices();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].deadline, kNow + 10s);
  EXPECT_TRUE(seen[0].runnable_queues.empty());
}

TEST_P(ClaimTest, ConcurrentClaimsNeverHandOutAJobTwice) {
  constexpr int kJobs = 400;
  constexpr int kThreads = 8;
  std::vector<core::NewJob> jobs;
  for (int i = 0; i < kJobs; ++i) jobs.push_back(job(i % 2 ? "odd" : "even", i % 3));
  ASSERT_TRUE(insert_many(jobs));

  std::vector<std::vector<std::string>> taken(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (;;) {
        auto r = call<std::vector<core::Job>>([&](auto done) {
          store().job_claim({.queues = {"even", "odd"}, .worker = "w", .max = 3, .now = kNow},
                            done);
        });
        if (!r || r->empty()) return;
        for (const auto& j : *r) taken[t].push_back(j.id);
      }
    });
  }
  for (auto& th : threads) th.join();

  std::set<std::string> unique;
  std::size_t total = 0;
  for (const auto& ids : taken) {
    total += ids.size();
    unique.insert(ids.begin(), ids.end());
  }
  EXPECT_EQ(total, static_cast<std::size_t>(kJobs));
  EXPECT_EQ(unique.size(), static_cast<std::size_t>(kJobs));
  EXPECT_EQ(counts("even"), counts_of({{JobState::running, kJobs / 2}}));
}

}  // namespace
}  // namespace errand::store::conformance
