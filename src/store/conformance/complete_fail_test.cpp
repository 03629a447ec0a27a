// Conformance: job_complete, job_fail (backoff, retry_in, retry=false,
// exhausted attempts, cancel requests) and job_ack_many.
#include "store/conformance/harness.hpp"

#include "core/backoff.hpp"

namespace errand::store::conformance {
namespace {

TEST_P(CompleteFailTest, CompleteStoresTheResultAndFinishes) {
  auto j = running("q");
  auto done = complete(j, kNow + 3s);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(done->state, JobState::succeeded);
  EXPECT_EQ(done->result.text(), R"({"ok":true})");
  EXPECT_EQ(done->finished_at, kNow + 3s);
  EXPECT_TRUE(done->lease_id.empty());
  EXPECT_FALSE(done->lease_expires_at);
  auto stored = get(j.id);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->state, JobState::succeeded);
  EXPECT_EQ(stored->result, done->result);
  EXPECT_EQ(stored->finished_at, kNow + 3s);
  EXPECT_EQ(queue("q").processed, 1);
}

TEST_P(CompleteFailTest, EachAttemptKeepsTheTailOfItsLog) {
  auto j = running("q");
  ASSERT_TRUE(fail(j, {.error = "boom", .log = "first try\n", .now = kNow + 1s}));
  ASSERT_TRUE(retry(j.id, kNow + 2s));
  auto again = claim({"q"}, 1, kNow + 2s);
  ASSERT_EQ(again.size(), 1u);
  // One byte too long, so the cut falls inside the leading two-byte character.
  const std::string long_log = "é" + std::string(core::kMaxLogBytes - 1, 'x');
  auto done = call<core::Job>([&](auto cb) {
    store().job_complete(
        {.id = j.id, .lease_id = again[0].lease_id, .log = long_log, .now = kNow + 3s}, cb);
  });
  ASSERT_TRUE(done) << done.error().message;
  auto stored = get(j.id);
  ASSERT_TRUE(stored);
  ASSERT_EQ(stored->logs.size(), 2u);
  EXPECT_EQ(stored->logs[0].attempt, 1);
  EXPECT_EQ(stored->logs[0].at, kNow + 1s);
  EXPECT_EQ(stored->logs[0].text, "first try\n");
  EXPECT_EQ(stored->logs[1].attempt, 2);
  EXPECT_EQ(stored->logs[1].at, kNow + 3s);
  EXPECT_EQ(stored->logs[1].text.size(), core::kMaxLogBytes - 1);
  EXPECT_TRUE(stored->logs[1].text == std::string(core::kMaxLogBytes - 1, 'x'));
}

TEST_P(CompleteFailTest, NoLogSentKeepsNone) {
  auto j = running("q");
  ASSERT_TRUE(complete(j));
  auto stored = get(j.id);
  ASSERT_TRUE(stored);
  EXPECT_TRUE(stored->logs.empty());
}

TEST_P(CompleteFailTest, CompleteWinsOverACancelRequest) {
  auto j = running("q");
  ASSERT_TRUE(cancel(j.id));
  auto done = complete(j);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->state, JobState::succeeded);
}

TEST_P(CompleteFailTest, FailWaitsWithinTheBackoffWindow) {
  const core::BackoffPolicy policy;  // the factories use the default policy
  for (double jitter : {0.0, 0.5, 0.999}) {
    auto j = running("q");
    auto failed = fail(j, {.error = "SMTP timeout", .now = kNow + 1s, .jitter = jitter});
    ASSERT_TRUE(failed) << failed.error().message;
    EXPECT_EQ(failed->state, JobState::failed);
    const auto wait = failed->run_at - (kNow + 1s);
    EXPECT_GE(wait, policy.floor);
    EXPECT_LE(wait, policy.base);
    EXPECT_EQ(wait, core::retry_backoff(policy, 1, jitter));
    ASSERT_EQ(failed->errors.size(), 1u);
    EXPECT_EQ(failed->errors[0].attempt, 1);
    EXPECT_EQ(failed->errors[0].at, kNow + 1s);
    EXPECT_EQ(failed->errors[0].message, "SMTP timeout");
    EXPECT_FALSE(failed->finished_at);
    EXPECT_TRUE(failed->lease_id.empty());
    EXPECT_EQ(get(j.id)->run_at, failed->run_at);
  }
}

TEST_P(CompleteFailTest, RetryInOverridesTheBackoff) {
  auto j = running("q");
  clear_notices();
  auto failed = fail(j, {.retry_in = 30s});
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->state, JobState::failed);
  EXPECT_EQ(failed->run_at, kNow + 30s);
  auto seen = notices();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].deadline, kNow + 30s);
}

TEST_P(CompleteFailTest, RetryFalseIsDead) {
  auto j = running("q");
  auto failed = fail(j, {.retry = false, .now = kNow + 1s});
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->state, JobState::dead);
  EXPECT_EQ(failed->finished_at, kNow + 1s);
}

TEST_P(CompleteFailTest, LastAttemptIsDead) {
  auto j = job("q");
  j.max_attempts = 2;
  auto first = running(j);
  ASSERT_EQ(fail(first, {.retry_in = 1s})->state, JobState::failed);
  promote_due(kNow + 1s);
  auto second = claim({"q"}, 1, kNow + 1s);
  ASSERT_EQ(second.size(), 1u);
  auto failed = fail(second[0], {.now = kNow + 2s});
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->state, JobState::dead);
  EXPECT_EQ(failed->attempt, 2);
  ASSERT_EQ(failed->errors.size(), 2u);
  EXPECT_EQ(failed->errors[1].attempt, 2);
  EXPECT_EQ(queue("q").failed, 2);
}

TEST_P(CompleteFailTest, CancelRequestedEndsCancelled) {
  auto j = running("q");
  ASSERT_TRUE(cancel(j.id));
  auto failed = fail(j, {.now = kNow + 1s});
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->state, JobState::cancelled);
  EXPECT_EQ(failed->finished_at, kNow + 1s);
}

TEST_P(CompleteFailTest, AckManyTakesEachItemOnItsOwn) {
  auto ok = running("a");
  auto dies = running("b");
  auto stale = running("c");
  std::vector<AckItem> items{
      {.complete = {.id = ok.id,
                    .lease_id = ok.lease_id,
                    .result = core::RawJson::trusted("42"),
                    .now = kNow}},
      {.fail = true,
       .failure =
           {.id = dies.id, .lease_id = dies.lease_id, .error = "bad", .retry = false, .now = kNow}},
      {.complete = {.id = stale.id, .lease_id = "not-the-lease", .now = kNow}},
      {.complete = {.id = "J-unknown", .lease_id = "x", .now = kNow}},
  };
  auto results = call<std::vector<core::Result<JobState>>>(
      [&](auto done) { store().job_ack_many(std::move(items), done); });
  ASSERT_TRUE(results) << results.error().message;
  ASSERT_EQ(results->size(), 4u);
  ASSERT_TRUE((*results)[0]);
  EXPECT_EQ(*(*results)[0], JobState::succeeded);
  ASSERT_TRUE((*results)[1]);
  EXPECT_EQ(*(*results)[1], JobState::dead);
  ASSERT_FALSE((*results)[2]);
  EXPECT_EQ((*results)[2].error().code, core::errc::conflict);
  ASSERT_FALSE((*results)[3]);
  EXPECT_EQ((*results)[3].error().code, core::errc::not_found);

  EXPECT_EQ(get(ok.id)->result.text(), "42");
  EXPECT_EQ(get(dies.id)->state, JobState::dead);
  EXPECT_EQ(get(stale.id)->state, JobState::running);
  EXPECT_EQ(counts("c"), counts_of({{JobState::running, 1}}));
  EXPECT_EQ(queue("a").processed, 1);
  EXPECT_EQ(queue("b").failed, 1);
}

TEST_P(CompleteFailTest, AckManyAcknowledgingAJobTwiceFailsTheSecond) {
  auto j = running("q");
  std::vector<AckItem> items{
      {.complete = {.id = j.id, .lease_id = j.lease_id, .now = kNow}},
      {.fail = true, .failure = {.id = j.id, .lease_id = j.lease_id, .error = "late", .now = kNow}},
  };
  auto results = call<std::vector<core::Result<JobState>>>(
      [&](auto done) { store().job_ack_many(std::move(items), done); });
  ASSERT_TRUE(results);
  ASSERT_EQ(results->size(), 2u);
  EXPECT_TRUE((*results)[0]);
  ASSERT_FALSE((*results)[1]);
  EXPECT_EQ((*results)[1].error().code, core::errc::conflict);
  auto stored = get(j.id);
  EXPECT_EQ(stored->state, JobState::succeeded);
  EXPECT_TRUE(stored->errors.empty());
  EXPECT_EQ(queue("q").failed, 0);
}

}  // namespace
}  // namespace errand::store::conformance
