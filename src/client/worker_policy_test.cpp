#include "client/worker_policy.hpp"

#include <gtest/gtest.h>

namespace errand::client::detail {
namespace {
using core::Millis;

boost::json::value tag(RunningJob&, const char* name) {
  return boost::json::value(name);
}

Handler named(const char* name) {
  return [name](RunningJob& job) { return tag(job, name); };
}

TEST(HandlerTable, TypedHandlerWinsOverTheQueuesCatchAll) {
  HandlerTable t;
  t.add("emails", "", named("any"));
  t.add("emails", "welcome", named("welcome"));
  ASSERT_NE(t.find("emails", "welcome"), nullptr);
  ASSERT_NE(t.find("emails", "reset"), nullptr);
  EXPECT_EQ(t.find("emails", "welcome"), t.find("emails", "welcome"));
  EXPECT_NE(t.find("emails", "welcome"), t.find("emails", "reset"));
  EXPECT_EQ(t.find("emails", ""), t.find("emails", "reset"));
}

TEST(HandlerTable, NoHandlerForAnotherQueueOrAnUnregisteredType) {
  HandlerTable t;
  t.add("emails", "welcome", named("welcome"));
  EXPECT_EQ(t.find("reports", "welcome"), nullptr);
  EXPECT_EQ(t.find("emails", "reset"), nullptr);
  EXPECT_EQ(t.find("emails", ""), nullptr);
}

TEST(HandlerTable, QueuesInFirstRegistrationOrderWithoutRepeats) {
  HandlerTable t;
  EXPECT_TRUE(t.empty());
  t.add("b", "", named("1"));
  t.add("a", "x", named("2"));
  t.add("b", "y", named("3"));
  t.add("b", "", named("4"));  // replaces the first
  EXPECT_FALSE(t.empty());
  EXPECT_EQ(t.queues(), (std::vector<std::string>{"b", "a"}));
}

TEST(GrantedLease, TheRequestedLeaseWhenTheClaimAskedForOne) {
  const core::TimePoint now{Millis{1'000'000}};
  EXPECT_EQ(granted_lease(now + Millis{4'000}, now, Millis{1'000}), Millis{1'000});
}

TEST(GrantedLease, OtherwiseTheJobsTimeoutRoundedToSeconds) {
  const core::TimePoint now{Millis{1'000'000}};
  EXPECT_EQ(granted_lease(now + Millis{299'970}, now, std::nullopt), Millis{300'000});
  EXPECT_EQ(granted_lease(now + Millis{1'400}, now, std::nullopt), Millis{1'000});
  // A clock behind or far ahead of the server's never makes a lease under 1s.
  EXPECT_EQ(granted_lease(now - Millis{5'000}, now, std::nullopt), Millis{1'000});
}

TEST(HeartbeatInterval, AThirdOfTheLeaseButNotAHotLoopAndAtLeastEvery10s) {
  EXPECT_EQ(heartbeat_interval(Millis{30'000}), Millis{10'000});
  EXPECT_EQ(heartbeat_interval(Millis{300'000}), Millis{10'000});
  EXPECT_EQ(heartbeat_interval(Millis{9'000}), Millis{3'000});
  EXPECT_EQ(heartbeat_interval(Millis{1'000}), Millis{333});
  EXPECT_EQ(heartbeat_interval(Millis{0}), Millis{100});
}

TEST(ReconnectBackoff, DoublesUpToTheCapWithTheUpperHalfJittered) {
  ReconnectBackoff b(Millis{2'000}, Millis{250});
  EXPECT_EQ(b.next(0.0), Millis{125});
  EXPECT_EQ(b.next(0.0), Millis{250});
  EXPECT_EQ(b.next(0.999), Millis{999});
  EXPECT_EQ(b.next(0.0), Millis{1'000});
  for (int i = 0; i < 50; ++i) {
    const auto d = b.next(0.999);
    EXPECT_GE(d, Millis{1'000});
    EXPECT_LE(d, Millis{2'000});
  }
  EXPECT_EQ(b.failures(), 54);
  b.reset();
  EXPECT_EQ(b.failures(), 0);
  EXPECT_EQ(b.next(0.0), Millis{125});
}

TEST(ShortDuration, ReadableUnits) {
  EXPECT_EQ(short_duration(Millis{250}), "250ms");
  EXPECT_EQ(short_duration(Millis{1'234}), "1.2s");
  EXPECT_EQ(short_duration(Millis{184'000}), "3m4s");
  EXPECT_EQ(short_duration(Millis{3'720'000}), "1h2m");
}

}  // namespace
}  // namespace errand::client::detail
