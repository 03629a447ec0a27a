// Conformance: job_cancel, job_retry and job_delete.
#include "store/conformance/harness.hpp"

namespace errand::store::conformance {
namespace {

TEST_P(CancelRetryDeleteTest, CancelEndsEveryWaitingState) {
  auto queued = insert(job("q"));
  auto later = job("q");
  later.run_at = kNow + 1h;
  auto scheduled = insert(later);
  auto failing = running("f");
  ASSERT_TRUE(fail(failing, {.retry_in = 1h}));
  for (const auto& id : {queued, scheduled, failing.id}) {
    auto c = cancel(id, kNow + 1s);
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->state, JobState::cancelled);
    EXPECT_EQ(c->finished_at, kNow + 1s);
    EXPECT_EQ(get(id)->state, JobState::cancelled);
  }
  EXPECT_EQ(counts("q"), counts_of({{JobState::cancelled, 2}}));
  EXPECT_EQ(counts("f"), counts_of({{JobState::cancelled, 1}}));
}

TEST_P(CancelRetryDeleteTest, CancelRunningOnlyRequestsIt) {
  auto j = running("q");
  auto c = cancel(j.id);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->state, JobState::running);
  EXPECT_TRUE(c->cancel_requested);
  EXPECT_FALSE(c->finished_at);
  EXPECT_TRUE(get(j.id)->cancel_requested);
  EXPECT_EQ(counts("q"), counts_of({{JobState::running, 1}}));
}

TEST_P(CancelRetryDeleteTest, CancelFinishedIsAConflict) {
  auto j = running("q");
  ASSERT_TRUE(complete(j));
  auto c = cancel(j.id);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, core::errc::conflict);
  EXPECT_EQ(get(j.id)->state, JobState::succeeded);
}

TEST_P(CancelRetryDeleteTest, CancelUnknownIsNotFound) {
  EXPECT_EQ(cancel("J-missing").error().code, core::errc::not_found);
}

TEST_P(CancelRetryDeleteTest, RetryQueuesADeadJobWithAnAttemptLeft) {
  auto j = job("q");
  j.max_attempts = 1;
  auto first = running(j);
  ASSERT_EQ(fail(first)->state, JobState::dead);
  auto r = retry(first.id, kNow + 1min);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->state, JobState::queued);
  EXPECT_EQ(r->run_at, kNow + 1min);
  EXPECT_EQ(r->max_attempts, 2);
  EXPECT_FALSE(r->finished_at);
  auto again = claim({"q"}, 1, kNow + 1min);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].attempt, 2);
  EXPECT_EQ(counts("q"), counts_of({{JobState::running, 1}}));
}

TEST_P(CancelRetryDeleteTest, RetryKeepsALargerMaxAttempts) {
  auto id = insert(job("q"));
  ASSERT_TRUE(cancel(id));
  auto r = retry(id);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->state, JobState::queued);
  EXPECT_EQ(r->max_attempts, core::kDefaultMaxAttempts);
}

TEST_P(CancelRetryDeleteTest, RetryOfACancelledRunningJobClearsTheRequest) {
  auto j = running("q");
  ASSERT_TRUE(cancel(j.id));
  ASSERT_EQ(fail(j)->state, JobState::cancelled);
  auto r = retry(j.id);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->cancel_requested);
}

TEST_P(CancelRetryDeleteTest, RetryOfAFailedJobQueuesItNow) {
  auto j = running("q");
  ASSERT_TRUE(fail(j, {.retry_in = 1h}));
  auto r = retry(j.id, kNow + 1s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->state, JobState::queued);
  EXPECT_EQ(r->run_at, kNow + 1s);
}

TEST_P(CancelRetryDeleteTest, RetryNotifiesTheQueueIsRunnable) {
  auto id = insert(job("q"));
  ASSERT_TRUE(cancel(id));
  clear_notices();
  ASSERT_TRUE(retry(id));
  auto seen = notices();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].runnable_queues, std::vector<std::string>{"q"});
}

TEST_P(CancelRetryDeleteTest, RetryOfQueuedOrRunningIsAConflict) {
  auto queued = insert(job("q"));
  auto r1 = retry(queued);
  ASSERT_FALSE(r1);
  EXPECT_EQ(r1.error().code, core::errc::conflict);
  auto j = running("r");
  EXPECT_EQ(retry(j.id).error().code, core::errc::conflict);
  EXPECT_EQ(retry("J-missing").error().code, core::errc::not_found);
}

TEST_P(CancelRetryDeleteTest, DeleteRemovesTheJob) {
  auto id = insert(job("q"));
  auto d = call<Unit>([&](auto done) { store().job_delete({.id = id}, done); });
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(get(id).error().code, core::errc::not_found);
  EXPECT_EQ(counts("q"), counts_of({}));
}

TEST_P(CancelRetryDeleteTest, DeleteDropsTheLogsToo) {
  auto j = running("q");
  ASSERT_TRUE(fail(j, {.retry = false, .log = "output\n"}));
  ASSERT_EQ(get(j.id)->logs.size(), 1u);
  ASSERT_TRUE(call<Unit>([&](auto done) { store().job_delete({.id = j.id}, done); }));
  EXPECT_EQ(get(j.id).error().code, core::errc::not_found);
  // The next job, whatever id it gets, starts without logs.
  auto stored = get(insert(job("q")));
  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_TRUE(stored->logs.empty());
}

TEST_P(CancelRetryDeleteTest, DeleteUnknownIsNotFound) {
  auto d = call<Unit>([&](auto done) { store().job_delete({.id = "J-missing"}, done); });
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, core::errc::not_found);
}

TEST_P(CancelRetryDeleteTest, WorkerOfADeletedJobGetsNotFound) {
  auto j = running("q");
  ASSERT_TRUE(call<Unit>([&](auto done) { store().job_delete({.id = j.id}, done); }));
  EXPECT_EQ(complete(j).error().code, core::errc::not_found);
  EXPECT_EQ(counts("q"), counts_of({}));
}

}  // namespace
}  // namespace errand::store::conformance
