#include "core/state.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace errand::core {
namespace {

const TimePoint kNow = from_unix_ms(1'800'000'000'000);

TEST(JobState, ToStringNames) {
  EXPECT_EQ(to_string(JobState::scheduled), "scheduled");
  EXPECT_EQ(to_string(JobState::queued), "queued");
  EXPECT_EQ(to_string(JobState::running), "running");
  EXPECT_EQ(to_string(JobState::succeeded), "succeeded");
  EXPECT_EQ(to_string(JobState::failed), "failed");
  EXPECT_EQ(to_string(JobState::dead), "dead");
  EXPECT_EQ(to_string(JobState::cancelled), "cancelled");
}

TEST(JobState, ParseRoundTripsEveryState) {
  std::set<std::string_view> names;
  for (auto s : kAllStates) {
    names.insert(to_string(s));
    auto back = parse_job_state(to_string(s));
    ASSERT_TRUE(back.has_value()) << to_string(s);
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(names.size(), 9u);
}

TEST(JobState, ParseRejectsOthers) {
  for (const char* s :
       {"", "Queued", "QUEUED", "queued ", " queued", "canceled", "unknown", "done", "pending"}) {
    EXPECT_FALSE(parse_job_state(s).has_value()) << s;
  }
}

TEST(JobState, TerminalSet) {
  std::set<JobState> terminal;
  for (auto s : kAllStates) {
    if (is_terminal(s)) terminal.insert(s);
  }
  EXPECT_EQ(terminal,
            (std::set<JobState>{JobState::succeeded, JobState::dead, JobState::cancelled}));
}

TEST(JobState, WaitingSet) {
  std::set<JobState> waiting;
  for (auto s : kAllStates) {
    if (is_waiting(s)) waiting.insert(s);
  }
  EXPECT_EQ(waiting,
            (std::set<JobState>{JobState::scheduled, JobState::failed, JobState::waiting}));
}

TEST(JobState, NoStateIsBothTerminalAndWaiting) {
  for (auto s : kAllStates) EXPECT_FALSE(is_terminal(s) && is_waiting(s)) << to_string(s);
}

TEST(InitialState, QueuedWhenDueScheduledWhenLater) {
  EXPECT_EQ(initial_state(kNow, kNow), JobState::queued);
  EXPECT_EQ(initial_state(kNow - Millis{1}, kNow), JobState::queued);
  EXPECT_EQ(initial_state(TimePoint{}, kNow), JobState::queued);
  EXPECT_EQ(initial_state(kNow + Millis{1}, kNow), JobState::scheduled);
  EXPECT_EQ(initial_state(kNow + Millis{86'400'000}, kNow), JobState::scheduled);
}

TEST(DecideFail, RetriesWithBackoffWindow) {
  const BackoffPolicy p;
  for (int attempt = 1; attempt <= 9; ++attempt) {
    const auto d = decide_fail(attempt, 10, FailInput{}, kNow, p, 1.0);
    EXPECT_EQ(d.next, JobState::failed) << attempt;
    EXPECT_EQ(d.run_at, kNow + retry_backoff(p, attempt, 1.0)) << attempt;
    const auto lo = decide_fail(attempt, 10, FailInput{}, kNow, p, 0.0);
    EXPECT_EQ(lo.run_at, kNow + p.floor) << attempt;
  }
  EXPECT_EQ(decide_fail(1, 10, FailInput{}, kNow, p, 1.0).run_at, kNow + Millis{1000});
  EXPECT_EQ(decide_fail(3, 10, FailInput{}, kNow, p, 0.5).run_at, kNow + Millis{2000});
}

TEST(DecideFail, RetryInOverridesBackoff) {
  const BackoffPolicy p;
  const FailInput in{.retry = true, .retry_in = Millis{30'000}, .cancel_requested = false};
  const auto d = decide_fail(1, 10, in, kNow, p, 0.9);
  EXPECT_EQ(d.next, JobState::failed);
  EXPECT_EQ(d.run_at, kNow + Millis{30'000});
  // Even an override below the backoff floor is honoured as given.
  const FailInput zero{.retry = true, .retry_in = Millis{0}, .cancel_requested = false};
  EXPECT_EQ(decide_fail(1, 10, zero, kNow, p, 0.9).run_at, kNow);
}

TEST(DecideFail, RetryFalseIsDead) {
  const FailInput in{.retry = false, .retry_in = std::nullopt, .cancel_requested = false};
  const auto d = decide_fail(1, 10, in, kNow, BackoffPolicy{}, 0.5);
  EXPECT_EQ(d.next, JobState::dead);
  EXPECT_EQ(d.run_at, kNow);
  const FailInput with_retry_in{
      .retry = false, .retry_in = Millis{5000}, .cancel_requested = false};
  EXPECT_EQ(decide_fail(1, 10, with_retry_in, kNow, BackoffPolicy{}, 0.5).next, JobState::dead);
}

TEST(DecideFail, LastAttemptIsDead) {
  EXPECT_EQ(decide_fail(10, 10, FailInput{}, kNow, BackoffPolicy{}, 0.5).next, JobState::dead);
  EXPECT_EQ(decide_fail(1, 1, FailInput{}, kNow, BackoffPolicy{}, 0.5).next, JobState::dead);
  // Past the limit (e.g. max_attempts lowered): still dead.
  EXPECT_EQ(decide_fail(12, 10, FailInput{}, kNow, BackoffPolicy{}, 0.5).next, JobState::dead);
  EXPECT_EQ(decide_fail(9, 10, FailInput{}, kNow, BackoffPolicy{}, 0.5).next, JobState::failed);
  const FailInput with_retry_in{.retry = true, .retry_in = Millis{5000}, .cancel_requested = false};
  EXPECT_EQ(decide_fail(3, 3, with_retry_in, kNow, BackoffPolicy{}, 0.5).next, JobState::dead);
}

TEST(DecideFail, CancelRequestedIsCancelled) {
  const FailInput in{.retry = true, .retry_in = std::nullopt, .cancel_requested = true};
  const auto d = decide_fail(1, 10, in, kNow, BackoffPolicy{}, 0.5);
  EXPECT_EQ(d.next, JobState::cancelled);
  EXPECT_EQ(d.run_at, kNow);
  // Cancellation wins over every other outcome.
  EXPECT_EQ(decide_fail(10, 10, in, kNow, BackoffPolicy{}, 0.5).next, JobState::cancelled);
  const FailInput no_retry{.retry = false, .retry_in = Millis{10}, .cancel_requested = true};
  EXPECT_EQ(decide_fail(1, 10, no_retry, kNow, BackoffPolicy{}, 0.5).next, JobState::cancelled);
}

TEST(CheckCancel, AllowedUnlessTerminal) {
  for (auto s : kAllStates) {
    auto r = check_cancel(s);
    if (is_terminal(s)) {
      ASSERT_FALSE(r) << to_string(s);
      EXPECT_EQ(r.error().code, errc::conflict);
      EXPECT_EQ(r.error().field, "state");
      EXPECT_NE(r.error().message.find(std::string(to_string(s))), std::string::npos)
          << r.error().message;
    } else {
      EXPECT_TRUE(r) << to_string(s);
    }
  }
}

TEST(CheckRetry, OnlyDeadFailedOrCancelled) {
  const std::set<JobState> allowed{JobState::dead, JobState::failed, JobState::cancelled};
  for (auto s : kAllStates) {
    auto r = check_retry(s);
    if (allowed.count(s)) {
      EXPECT_TRUE(r) << to_string(s);
    } else {
      ASSERT_FALSE(r) << to_string(s);
      EXPECT_EQ(r.error().code, errc::conflict);
      EXPECT_EQ(r.error().field, "state");
      EXPECT_NE(r.error().message.find(std::string(to_string(s))), std::string::npos)
          << r.error().message;
    }
  }
}

}  // namespace
}  // namespace errand::core
