// Conformance: queue_list and queue_pause — per-state counts after every kind
// of transition, lifetime totals, pause and resume.
#include "store/conformance/harness.hpp"

namespace errand::store::conformance {
namespace {

core::Result<QueueInfo> pause(Store& store, std::string queue, bool paused) {
  return call<QueueInfo>(
      [&](auto done) { store.queue_pause({.queue = std::move(queue), .paused = paused}, done); });
}

TEST_P(QueuesTest, ListedByNameWithEveryState) {
  insert(job("zeta"));
  insert(job("alpha"));
  insert(job("mid"));
  auto all = queues();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].name, "alpha");
  EXPECT_EQ(all[1].name, "mid");
  EXPECT_EQ(all[2].name, "zeta");
  EXPECT_EQ(all[0].counts, counts_of({{JobState::queued, 1}}));
  EXPECT_EQ(all[0].counts.size(), std::size(core::kAllStates));
  EXPECT_FALSE(all[0].paused);
}

TEST_P(QueuesTest, NoQueuesBeforeAnyJob) {
  EXPECT_TRUE(queues().empty());
}

TEST_P(QueuesTest, CountsFollowEveryTransition) {
  using S = JobState;
  const std::string q = "q";
  auto a = job(q);
  auto b = job(q);
  auto c = job(q);
  c.max_attempts = 1;
  auto later = job(q);
  later.run_at = kNow + 10s;
  ASSERT_TRUE(insert_many({a, b, c, later}));
  EXPECT_EQ(counts(q), counts_of({{S::queued, 3}, {S::scheduled, 1}}));

  auto taken = claim({q}, 3);
  ASSERT_EQ(taken.size(), 3u);
  EXPECT_EQ(counts(q), counts_of({{S::running, 3}, {S::scheduled, 1}}));

  ASSERT_TRUE(complete(taken[0]));
  ASSERT_TRUE(fail(taken[1], {.retry_in = 5s}));
  ASSERT_TRUE(fail(taken[2]));  // its only attempt: dead
  EXPECT_EQ(counts(q),
            counts_of({{S::succeeded, 1}, {S::failed, 1}, {S::dead, 1}, {S::scheduled, 1}}));

  EXPECT_EQ(promote_due(kNow + 10s), 2);
  EXPECT_EQ(counts(q), counts_of({{S::succeeded, 1}, {S::queued, 2}, {S::dead, 1}}));

  auto again = claim({q}, 2, kNow + 10s);
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(expire_leases(kNow + 1h), 2);
  EXPECT_EQ(counts(q), counts_of({{S::succeeded, 1}, {S::failed, 2}, {S::dead, 1}}));

  ASSERT_TRUE(cancel(again[0].id));
  ASSERT_TRUE(retry(taken[2].id));
  EXPECT_EQ(counts(q),
            counts_of({{S::succeeded, 1}, {S::failed, 1}, {S::cancelled, 1}, {S::queued, 1}}));

  ASSERT_TRUE(call<Unit>([&](auto done) { store().job_delete({.id = again[1].id}, done); }));
  auto pruned = call<std::int64_t>(
      [&](auto done) { store().job_prune_finished({.finished_before = kNow + 2h}, done); });
  ASSERT_TRUE(pruned);
  EXPECT_EQ(*pruned, 2);  // the succeeded and the cancelled job
  EXPECT_EQ(counts(q), counts_of({{S::queued, 1}}));
}

TEST_P(QueuesTest, ProcessedAndFailedCountAttempts) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(complete(running("q")));
  ASSERT_TRUE(fail(running("q")));
  ASSERT_TRUE(fail(running("q"), {.retry = false}));
  running("q");
  EXPECT_EQ(expire_leases(kNow + 1h), 1);
  auto info = queue("q");
  EXPECT_EQ(info.processed, 3);
  EXPECT_EQ(info.failed, 3);
}

TEST_P(QueuesTest, PauseCreatesTheQueue) {
  auto info = pause(store(), "fresh", true);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->name, "fresh");
  EXPECT_TRUE(info->paused);
  EXPECT_EQ(info->counts, counts_of({}));
  auto listed = queue("fresh");
  EXPECT_TRUE(listed.paused);
}

TEST_P(QueuesTest, PausedQueueKeepsAcceptingJobs) {
  ASSERT_TRUE(pause(store(), "q", true));
  insert(job("q"));
  auto info = queue("q");
  EXPECT_TRUE(info.paused);
  EXPECT_EQ(info.counts, counts_of({{JobState::queued, 1}}));
}

TEST_P(QueuesTest, ResumingAQueueWithQueuedJobsMakesItRunnable) {
  ASSERT_TRUE(pause(store(), "q", true));
  ASSERT_TRUE(pause(store(), "empty", true));
  insert(job("q"));
  clear_notices();
  ASSERT_TRUE(pause(store(), "empty", false));
  EXPECT_TRUE(notices().empty());
  auto resumed = pause(store(), "q", false);
  ASSERT_TRUE(resumed);
  EXPECT_FALSE(resumed->paused);
  auto seen = notices();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].runnable_queues, std::vector<std::string>{"q"});
}

}  // namespace
}  // namespace errand::store::conformance
