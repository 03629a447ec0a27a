// The backend-independent store code (src/store/common): row decoding and
// the job and queue transitions, without a database. The conformance suite
// covers the same behaviour through each backend.
#include "store/common/job_page.hpp"
#include "store/common/job_rows.hpp"
#include "store/common/job_transitions.hpp"
#include "store/common/queue_rows.hpp"
#include "store/common/queue_transitions.hpp"
#include "store/common/stats_samples.hpp"

#include <gtest/gtest.h>

namespace errand::store {
namespace {

using core::JobState;

const core::TimePoint kNow = core::from_unix_ms(1'700'000'000'000);

JobColumns readable_columns() {
  JobColumns c;
  c.rowid = 7;
  c.id = "job-7";
  c.queue = "mail";
  c.type = "send";
  c.payload = R"({"to":"a"})";
  c.state = static_cast<std::int64_t>(JobState::running);
  c.attempt = 1;
  c.max_attempts = 3;
  c.timeout_ms = 30'000;
  c.tags = R"(["x","y"])";
  c.errors = "[]";
  c.lease_id = "lease";
  return c;
}

TEST(JobRows, DecodesTheColumns) {
  const auto row = decode_job(readable_columns());
  ASSERT_TRUE(row.unreadable.empty()) << row.unreadable;
  EXPECT_EQ(row.rowid, 7);
  EXPECT_EQ(row.job.state, JobState::running);
  EXPECT_EQ(row.job.payload.text(), R"({"to":"a"})");
  EXPECT_EQ(row.job.tags, (std::vector<std::string>{"x", "y"}));
}

TEST(JobRows, AnUnknownStateIsUnreadableWithItsIdAndQueue) {
  auto c = readable_columns();
  c.state = 99;
  const auto row = decode_job(c);
  EXPECT_EQ(row.unreadable, "unknown state 99");
  EXPECT_EQ(row.job.id, "job-7");
  EXPECT_EQ(row.job.queue, "mail");
  EXPECT_NE(unreadable_error(row).message.find("DELETE /v1/jobs/job-7"), std::string::npos);
}

TEST(JobRows, ErrorsAndProgressRoundTrip) {
  auto c = readable_columns();
  const std::vector<core::AttemptError> errors{{.attempt = 1, .at = kNow, .message = "boom"}};
  const std::string errors_json = errors_text(errors);
  c.errors = errors_json;
  core::Progress progress;
  progress.percent = 40;
  progress.message = "half";
  progress.updated_at = kNow;
  const std::string progress_json = progress_text(progress);
  c.progress = progress_json;
  const auto row = decode_job(c);
  ASSERT_TRUE(row.unreadable.empty()) << row.unreadable;
  ASSERT_EQ(row.job.errors.size(), 1u);
  EXPECT_EQ(row.job.errors[0].message, "boom");
  ASSERT_TRUE(row.job.progress);
  EXPECT_EQ(row.job.progress->percent, 40);
  EXPECT_EQ(row.job.progress->updated_at, kNow);
}

TEST(JobTransitions, ARequeuedDeferralDoesNotCountAsAnAttempt) {
  core::Job job;
  job.state = JobState::running;
  job.attempt = 2;
  job.lease_id = "lease";
  job.lease_expires_at = kNow;
  apply_requeue(job, {.run_at = kNow + core::Millis{5000}, .now = kNow});
  EXPECT_EQ(job.attempt, 1);
  EXPECT_EQ(job.push_deferrals, 1);
  EXPECT_EQ(job.state, JobState::scheduled);
  EXPECT_TRUE(job.lease_id.empty());
  EXPECT_FALSE(job.lease_expires_at);
}

TEST(JobTransitions, AFailedAttemptWithRoomLeftWaitsToRetry) {
  core::Job job;
  job.state = JobState::running;
  job.attempt = 1;
  job.max_attempts = 3;
  const auto decision = apply_fail(job, "boom", {.retry = true}, kNow, {}, 0.0);
  EXPECT_EQ(decision.next, JobState::failed);
  EXPECT_EQ(job.state, JobState::failed);
  EXPECT_EQ(job.run_at, decision.run_at);
  EXPECT_FALSE(job.finished_at);
  ASSERT_EQ(job.errors.size(), 1u);
  EXPECT_EQ(job.errors[0].attempt, 1);
}

TEST(JobTransitions, ACancelRequestMakesTheFailedAttemptFinal) {
  core::Job job;
  job.state = JobState::running;
  job.attempt = 1;
  job.max_attempts = 3;
  job.cancel_requested = true;
  const auto decision = apply_fail(job, "boom", {.retry = true}, kNow, {}, 0.0);
  EXPECT_EQ(decision.next, JobState::cancelled);
  EXPECT_EQ(job.finished_at, kNow);
}

TEST(JobTransitions, CancelOfARunningJobOnlyAsks) {
  core::Job job;
  job.state = JobState::running;
  auto left = apply_cancel(job, kNow);
  ASSERT_TRUE(left);
  EXPECT_FALSE(*left);
  EXPECT_TRUE(job.cancel_requested);
  EXPECT_EQ(job.state, JobState::running);
}

TEST(JobTransitions, RetryGivesRoomForOneMoreAttemptAndDropsTheCancelRequest) {
  core::Job job;
  job.state = JobState::dead;
  job.attempt = 3;
  job.max_attempts = 3;
  job.cancel_requested = true;
  job.finished_at = kNow;
  auto left = apply_retry(job, kNow);
  ASSERT_TRUE(left);
  EXPECT_EQ(*left, JobState::dead);
  EXPECT_EQ(job.state, JobState::queued);
  EXPECT_EQ(job.max_attempts, 4);
  EXPECT_FALSE(job.cancel_requested);
  EXPECT_FALSE(job.finished_at);
}

TEST(JobTransitions, ARepeatedKeyWithAnotherPayloadIsAConflict) {
  core::NewJob job;
  job.queue = "mail";
  job.type = "send";
  job.idempotency_key = "k";
  EXPECT_TRUE(repeated_insert(job, "job-1", "send", "null", JobState::queued));
  const auto other = repeated_insert(job, "job-1", "send", "{}", JobState::queued);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, core::errc::conflict);
}

TEST(QueueTransitions, ConcurrencyRoomIsWhatTheLimitLeaves) {
  QueueRow row;
  EXPECT_EQ(concurrency_room(row, 5), 5u);
  row.config.concurrency = 3;
  row.count(JobState::running) = 2;
  EXPECT_EQ(concurrency_room(row, 5), 1u);
  row.count(JobState::running) = 4;
  EXPECT_EQ(concurrency_room(row, 5), 0u);
}

TEST(QueueTransitions, AnEmptyBucketHoldsClaimsBackUntilItsRefill) {
  QueueRow row;
  const core::RateLimit rate{.limit = 1, .per = core::Millis{1000}};
  EXPECT_EQ(rate_room(row, rate, kNow, 5), 1u);
  row.bucket = core::take(*row.bucket, 1);
  EXPECT_EQ(rate_room(row, rate, kNow, 5), 0u);
  ASSERT_TRUE(row.throttled_until);
  EXPECT_GT(*row.throttled_until, kNow);
}

TEST(QueueRows, TheConfigColumnsRoundTrip) {
  core::QueueConfig config;
  config.concurrency = 2;
  config.rate_limit = core::RateLimit{.limit = 10, .per = core::Millis{1000}};
  config.defaults.max_attempts = 4;
  config.push = core::PushConfig{.url = "https://example.test/hook", .headers = {{"X-Key", "v"}}};
  EXPECT_EQ(decode_queue_config(encode_queue_config(config)), config);
  EXPECT_EQ(decode_queue_config(encode_queue_config({})), core::QueueConfig{});
}

TEST(StatsSamples, TotalsRoundTripAndForeignTextReadsAsNone) {
  const std::map<std::string, QueueTotals> totals{{"mail", {.processed = 3, .failed = 1}}};
  const auto back = stats_totals_of(stats_totals_text(totals));
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back.at("mail").processed, 3);
  EXPECT_EQ(back.at("mail").failed, 1);
  EXPECT_TRUE(stats_totals_of("not json").empty());
}

TEST(JobPage, AFullPageStopsBeforeTheNextHitAndPointsPastItsLastJob) {
  JobPageFill fill({.limit = 1});
  EXPECT_EQ(fill.rows_to_read(), 2);
  ASSERT_TRUE(fill.take_row());
  ASSERT_TRUE(fill.has_room());
  fill.add(decode_job(readable_columns()));
  ASSERT_TRUE(fill.take_row());
  EXPECT_FALSE(fill.has_room());
  const auto page = fill.take();
  EXPECT_EQ(page.jobs.size(), 1u);
  EXPECT_EQ(page.next_cursor, "job-7");
  EXPECT_FALSE(page.partial);
}

}  // namespace
}  // namespace errand::store
