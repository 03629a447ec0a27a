#include "core/backoff.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>

namespace errand::core {
namespace {

constexpr double kAlmostOne = 0.999999;

TEST(RetryBackoff, DefaultPolicy) {
  const BackoffPolicy p;
  EXPECT_EQ(p.base, Millis{1000});
  EXPECT_EQ(p.cap, Millis{3'600'000});
  EXPECT_EQ(p.floor, Millis{100});
}

TEST(RetryBackoff, WindowDoublesPerAttempt) {
  const BackoffPolicy p{.base = Millis{1000}, .cap = Millis{1'000'000'000}, .floor = Millis{0}};
  for (int attempt = 1; attempt <= 20; ++attempt) {
    const std::int64_t window = std::int64_t{1000} << (attempt - 1);
    EXPECT_EQ(retry_backoff(p, attempt, 1.0).count(), window) << "attempt " << attempt;
    EXPECT_NEAR(static_cast<double>(retry_backoff(p, attempt, kAlmostOne).count()),
                static_cast<double>(window), 0.001 * static_cast<double>(window) + 1)
        << "attempt " << attempt;
    EXPECT_EQ(retry_backoff(p, attempt, 0.5).count(), window / 2) << "attempt " << attempt;
  }
}

TEST(RetryBackoff, CappedWindow) {
  const BackoffPolicy p{.base = Millis{1000}, .cap = Millis{10'000}, .floor = Millis{100}};
  EXPECT_EQ(retry_backoff(p, 4, 1.0), Millis{8'000});
  EXPECT_EQ(retry_backoff(p, 5, 1.0), Millis{10'000});
  EXPECT_EQ(retry_backoff(p, 5, 0.5), Millis{5'000});
  EXPECT_EQ(retry_backoff(p, 30, kAlmostOne), Millis{9'999});
  EXPECT_EQ(retry_backoff(p, 1000, 1.0), Millis{10'000});
  EXPECT_EQ(retry_backoff(p, std::numeric_limits<int>::max(), 1.0), Millis{10'000});
}

TEST(RetryBackoff, DefaultCapIsAnHour) {
  const BackoffPolicy p;
  EXPECT_EQ(retry_backoff(p, 100, 1.0), Millis{3'600'000});
  EXPECT_LE(retry_backoff(p, 100, kAlmostOne), Millis{3'600'000});
}

TEST(RetryBackoff, ZeroJitterGivesTheFloor) {
  const BackoffPolicy p;
  for (int attempt : {1, 2, 10, 100}) EXPECT_EQ(retry_backoff(p, attempt, 0.0), Millis{100});
}

TEST(RetryBackoff, NeverBelowTheFloor) {
  const BackoffPolicy p{.base = Millis{50}, .cap = Millis{3'600'000}, .floor = Millis{100}};
  EXPECT_EQ(retry_backoff(p, 1, kAlmostOne), Millis{100});
  EXPECT_EQ(retry_backoff(p, 1, 0.0), Millis{100});
  EXPECT_EQ(retry_backoff(p, 3, 0.1), Millis{100});
}

TEST(RetryBackoff, JitterOutsideZeroOneIsClamped) {
  const BackoffPolicy p;
  EXPECT_EQ(retry_backoff(p, 1, -5.0), Millis{100});
  EXPECT_EQ(retry_backoff(p, 1, 7.0), Millis{1000});
}

TEST(RetryBackoff, AttemptBelowOneActsLikeTheFirst) {
  const BackoffPolicy p;
  EXPECT_EQ(retry_backoff(p, 0, 1.0), Millis{1000});
  EXPECT_EQ(retry_backoff(p, -3, 1.0), Millis{1000});
}

TEST(RetryBackoff, WithinFloorAndWindowForAnyJitter) {
  const BackoffPolicy p;
  for (int attempt = 1; attempt <= 15; ++attempt) {
    const auto window = std::min<std::int64_t>(std::int64_t{1000} << (attempt - 1), 3'600'000);
    for (double j = 0.0; j < 1.0; j += 0.01) {
      const auto d = retry_backoff(p, attempt, j).count();
      EXPECT_GE(d, 100);
      EXPECT_LE(d, window);
    }
  }
}

}  // namespace
}  // namespace errand::core
