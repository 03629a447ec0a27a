// Conformance: the engine's tick verbs — job_promote_due, lease_expire,
// next_deadline and job_prune_finished.
#include "store/conformance/harness.hpp"

#include "core/backoff.hpp"

#include <algorithm>

namespace errand::store::conformance {
namespace {

std::optional<core::TimePoint> next_deadline(Store& store) {
  auto r = call<std::optional<core::TimePoint>>([&](auto done) { store.next_deadline(done); });
  EXPECT_TRUE(r);
  return r ? *r : std::nullopt;
}

std::int64_t prune(Store& store, core::TimePoint before, std::size_t limit = 10'000) {
  auto r = call<std::int64_t>([&](auto done) {
    store.job_prune_finished({.finished_before = before, .limit = limit}, done);
  });
  EXPECT_TRUE(r);
  return r ? *r : -1;
}

TEST_P(TimersTest, PromoteDueMovesOnlyDueJobs) {
  auto soon = job("q");
  soon.run_at = kNow + 1s;
  auto later = job("q");
  later.run_at = kNow + 5s;
  const auto ids = insert_ids({soon, later});
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(promote_due(kNow + 999ms), 0);
  EXPECT_EQ(promote_due(kNow + 1s), 1);
  EXPECT_EQ(get(ids[0])->state, JobState::queued);
  EXPECT_EQ(get(ids[1])->state, JobState::scheduled);
  EXPECT_EQ(promote_due(kNow + 1h), 1);
  EXPECT_EQ(promote_due(kNow + 2h), 0);
}

TEST_P(TimersTest, PromoteDueIncludesFailedJobsAndNotifiesTheirQueues) {
  auto j = running("retrying");
  ASSERT_TRUE(fail(j, {.retry_in = 2s}));
  auto waiting = job("waiting");
  waiting.run_at = kNow + 1s;
  insert(waiting);
  clear_notices();
  EXPECT_EQ(promote_due(kNow + 2s), 2);
  EXPECT_EQ(get(j.id)->state, JobState::queued);
  auto seen = notices();
  ASSERT_EQ(seen.size(), 1u);
  auto runnable = seen[0].runnable_queues;
  std::sort(runnable.begin(), runnable.end());
  EXPECT_EQ(runnable, (std::vector<std::string>{"retrying", "waiting"}));
}

TEST_P(TimersTest, PromoteDueReportsEachMovedJob) {
  auto j = running("retrying");
  ASSERT_TRUE(fail(j, {.retry_in = 2s}));
  auto waiting = job("waiting");
  waiting.run_at = kNow + 1s;
  const auto waiting_id = insert(waiting);
  clear_notices();
  EXPECT_EQ(promote_due(kNow + 2s), 2);
  auto seen = notices();
  ASSERT_EQ(seen.size(), 1u);
  auto changes = seen[0].job_changes;
  ASSERT_EQ(changes.size(), 2u);
  std::sort(changes.begin(), changes.end(), [](auto& a, auto& b) { return a.id < b.id; });
  auto ids = std::vector<std::string>{j.id, waiting_id};
  std::sort(ids.begin(), ids.end());
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(changes[i].id, ids[i]);
    EXPECT_EQ(changes[i].state, JobState::queued);
    EXPECT_EQ(changes[i].attempt, changes[i].id == j.id ? 1 : 0);
  }
}

TEST_P(TimersTest, LeaseExpiryReportsEachFailedJob) {
  auto j = running("q");  // lease until kNow + 60s
  clear_notices();
  EXPECT_EQ(expire_leases(kNow + 60s), 1);
  auto seen = notices();
  ASSERT_EQ(seen.size(), 1u);
  ASSERT_EQ(seen[0].job_changes.size(), 1u);
  const auto& change = seen[0].job_changes[0];
  EXPECT_EQ(change.id, j.id);
  EXPECT_EQ(change.state, JobState::failed);
  EXPECT_EQ(change.attempt, 1);
  EXPECT_EQ(change.error, "lease expired");
}

TEST_P(TimersTest, PromoteDueHandlesManyJobs) {
  std::vector<core::NewJob> many;
  for (int i = 0; i < 1300; ++i) {
    many.push_back(job("bulk"));
    many.back().run_at = kNow + core::Millis{1 + i % 7};
  }
  ASSERT_TRUE(insert_many(many));
  EXPECT_EQ(promote_due(kNow + 1s), 1300);
  EXPECT_EQ(counts("bulk"), counts_of({{JobState::queued, 1300}}));
}

TEST_P(TimersTest, LeaseExpiryFailsTheAttempt) {
  auto j = running("q");  // lease until kNow + 60s
  EXPECT_EQ(expire_leases(kNow + 59'999ms), 0);
  clear_notices();
  EXPECT_EQ(expire_leases(kNow + 60s, 0.5), 1);
  auto stored = get(j.id);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->state, JobState::failed);
  ASSERT_EQ(stored->errors.size(), 1u);
  EXPECT_EQ(stored->errors[0].message, "lease expired");
  EXPECT_EQ(stored->errors[0].attempt, 1);
  EXPECT_EQ(stored->run_at, kNow + 60s + core::retry_backoff(core::BackoffPolicy{}, 1, 0.5));
  EXPECT_TRUE(stored->lease_id.empty());
  EXPECT_EQ(queue("q").failed, 1);
  auto seen = notices();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].deadline, stored->run_at);
}

TEST_P(TimersTest, LeaseExpiryHonoursACancelRequest) {
  auto j = running("q");
  ASSERT_TRUE(cancel(j.id));
  EXPECT_EQ(expire_leases(kNow + 1h), 1);
  auto stored = get(j.id);
  EXPECT_EQ(stored->state, JobState::cancelled);
  EXPECT_EQ(stored->finished_at, kNow + 1h);
}

TEST_P(TimersTest, LeaseExpiryOnTheLastAttemptIsDead) {
  auto j = job("q");
  j.max_attempts = 1;
  const auto id = running(j).id;
  EXPECT_EQ(expire_leases(kNow + 1h), 1);
  EXPECT_EQ(get(id)->state, JobState::dead);
}

TEST_P(TimersTest, ExtendedLeaseDoesNotExpireEarly) {
  auto j = running("q");
  ASSERT_TRUE(extend(j, j.lease_id, 10min, kNow + 30s));
  EXPECT_EQ(expire_leases(kNow + 5min), 0);
  EXPECT_EQ(get(j.id)->state, JobState::running);
}

TEST_P(TimersTest, NextDeadlineIsTheEarliestRunAtOrLeaseExpiry) {
  EXPECT_EQ(next_deadline(store()), std::nullopt);
  auto later = job("q");
  later.run_at = kNow + 90s;
  insert(later);
  EXPECT_EQ(next_deadline(store()), kNow + 90s);
  auto lease = running("r");  // expires kNow + 60s
  EXPECT_EQ(next_deadline(store()), kNow + 60s);
  ASSERT_TRUE(complete(lease));
  EXPECT_EQ(next_deadline(store()), kNow + 90s);
  auto retrying = running("s");
  ASSERT_TRUE(fail(retrying, {.retry_in = 5s}));
  EXPECT_EQ(next_deadline(store()), kNow + 5s);
}

TEST_P(TimersTest, QueuedAndFinishedJobsHaveNoDeadline) {
  insert(job("q"));
  ASSERT_TRUE(complete(running("r")));
  EXPECT_EQ(next_deadline(store()), std::nullopt);
}

TEST_P(TimersTest, PruneDeletesOnlyFinishedJobsOlderThanTheCutoff) {
  auto old_done = running("q");
  ASSERT_TRUE(complete(old_done, kNow));
  auto new_dead = running("q");
  ASSERT_TRUE(fail(new_dead, {.retry = false, .now = kNow + 1s}));
  auto busy = running("q");
  auto waiting = insert(job("q"));
  EXPECT_EQ(prune(store(), kNow + 500ms), 1);
  EXPECT_EQ(get(old_done.id).error().code, core::errc::not_found);
  EXPECT_TRUE(get(new_dead.id));
  EXPECT_TRUE(get(busy.id));
  EXPECT_TRUE(get(waiting));
  EXPECT_EQ(counts("q"),
            counts_of({{JobState::dead, 1}, {JobState::running, 1}, {JobState::queued, 1}}));
  EXPECT_EQ(queue("q").processed, 1);  // lifetime totals survive pruning
}

TEST_P(TimersTest, PruneRespectsTheLimit) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(cancel(insert(job("q"))));
  EXPECT_EQ(prune(store(), kNow + 1s, 2), 2);
  EXPECT_EQ(prune(store(), kNow + 1s, 2), 2);
  EXPECT_EQ(prune(store(), kNow + 1s, 2), 1);
  EXPECT_EQ(prune(store(), kNow + 1s, 2), 0);
}

TEST_P(TimersTest, PrunedIdempotencyKeyCanBeUsedAgain) {
  auto j = job("q");
  j.idempotency_key = "once";
  const auto first = insert(j);
  ASSERT_TRUE(cancel(first));
  EXPECT_EQ(prune(store(), kNow + 1s), 1);
  auto again = job("q");
  again.idempotency_key = "once";
  auto out = insert_many({again});
  ASSERT_TRUE(out);
  EXPECT_FALSE((*out)[0].duplicate);
  EXPECT_NE((*out)[0].id, first);
  EXPECT_TRUE(get((*out)[0].id));
}

}  // namespace
}  // namespace errand::store::conformance
