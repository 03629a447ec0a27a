// Queue configuration: resolving a job's settings against the queue's
// defaults, and the rate limit's token bucket.
#include "core/queue_config.hpp"
#include "core/rate_limit.hpp"

#include <gtest/gtest.h>

namespace errand::core {
namespace {

using namespace std::chrono_literals;

const TimePoint kT0 = from_unix_ms(1'800'000'000'000);

TEST(ResolveSettings, JobThenQueueThenServerDefault) {
  NewJob job;
  const JobSettings server = resolve_settings(job, {});
  EXPECT_EQ(server.priority, 0);
  EXPECT_EQ(server.max_attempts, kDefaultMaxAttempts);
  EXPECT_EQ(server.timeout, kDefaultTimeout);

  const JobDefaults queue{.priority = 7, .max_attempts = 3, .timeout = 30s};
  const JobSettings from_queue = resolve_settings(job, queue);
  EXPECT_EQ(from_queue.priority, 7);
  EXPECT_EQ(from_queue.max_attempts, 3);
  EXPECT_EQ(from_queue.timeout, 30s);

  job.priority = -2;
  job.max_attempts = 1;
  job.timeout = 2s;
  const JobSettings own = resolve_settings(job, queue);
  EXPECT_EQ(own.priority, -2);
  EXPECT_EQ(own.max_attempts, 1);
  EXPECT_EQ(own.timeout, 2s);
}

TEST(ResolveSettings, AnExplicitZeroPriorityBeatsTheQueueDefault) {
  NewJob job;
  job.priority = 0;
  EXPECT_EQ(resolve_settings(job, {.priority = 5}).priority, 0);
}

TEST(TokenBucket, StartsFullAndAllowsABurstOfLimit) {
  const RateLimit rate{.limit = 3, .per = 1min};
  auto bucket = refill(std::nullopt, rate, kT0);
  EXPECT_EQ(available(bucket), 3);
  bucket = take(bucket, 3);
  EXPECT_EQ(available(bucket), 0);
  EXPECT_EQ(next_token_at(bucket, rate), kT0 + 20s);
}

TEST(TokenBucket, RefillsContinuouslyUpToLimit) {
  const RateLimit rate{.limit = 3, .per = 1min};
  auto bucket = take(refill(std::nullopt, rate, kT0), 3);
  EXPECT_EQ(available(refill(bucket, rate, kT0 + 19'999ms)), 0);
  EXPECT_EQ(available(refill(bucket, rate, kT0 + 20s)), 1);
  EXPECT_EQ(available(refill(bucket, rate, kT0 + 40s)), 2);
  EXPECT_EQ(available(refill(bucket, rate, kT0 + 1h)), 3);
}

TEST(TokenBucket, TimeGoingBackwardsAddsNothing) {
  const RateLimit rate{.limit = 1, .per = 1s};
  auto bucket = take(refill(std::nullopt, rate, kT0), 1);
  EXPECT_EQ(available(refill(bucket, rate, kT0 - 1h)), 0);
}

TEST(TokenBucket, NextTokenIsAlwaysInTheFutureWhenEmpty) {
  const RateLimit fast{.limit = 1'000'000, .per = 1s};  // 1000 per ms
  auto bucket = take(refill(std::nullopt, fast, kT0), 1'000'000);
  EXPECT_EQ(next_token_at(bucket, fast), kT0 + 1ms);
  EXPECT_GE(available(refill(bucket, fast, kT0 + 1ms)), 1);
}

TEST(TokenBucket, RefillInstantHasAWholeTokenForAwkwardRates) {
  for (std::int64_t limit : {1, 3, 7, 13, 999, 86'399}) {
    const RateLimit rate{.limit = limit, .per = 1min};
    auto bucket = take(refill(std::nullopt, rate, kT0), limit);
    const auto at = next_token_at(bucket, rate);
    EXPECT_GT(at, kT0) << limit;
    EXPECT_EQ(available(refill(bucket, rate, at)), 1) << limit;
    EXPECT_EQ(available(refill(bucket, rate, at - 1ms)), 0) << limit;
  }
}

}  // namespace
}  // namespace errand::core
