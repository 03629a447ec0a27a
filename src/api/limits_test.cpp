// The API's request guards: Host names of a keyless server, event streams
// per token and client, failed dashboard logins per address.
#include "api/host_policy.hpp"
#include "api/login_throttle.hpp"
#include "api/stream_limits.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace errand::api {
namespace {
using namespace std::chrono_literals;

const core::TimePoint kT0 = core::from_unix_ms(1'790'000'000'000);

TEST(HostPolicy, AnswersOnlyNamesOfTheServer) {
  const HostPolicy policy{.allowed = {"errand.internal"}};
  for (const char* host :
       {"127.0.0.1:8740", "127.0.0.1", "[::1]:8740", "[::1]", "localhost:8740", "LOCALHOST",
        "localhost.:1", "10.0.0.5:80", "errand.internal:8740", "Errand.Internal", ""}) {
    EXPECT_TRUE(policy.allows(host)) << host;
  }
  for (const char* host :
       {"rebind.evil.example:8740", "rebind.evil.example", "localhost.evil.example",
        "127.0.0.1.nip.io:8740", "errand.internal.evil:1", "[::1", "::1:8740", "evil.localhost"}) {
    EXPECT_FALSE(policy.allows(host)) << host;
  }
}

TEST(HostPolicy, AllowedHostValuesAreChecked) {
  EXPECT_EQ(*parse_allowed_host("Errand.Internal.", "--allowed-host"), "errand.internal");
  EXPECT_EQ(*parse_allowed_host("192.0.2.1", "--allowed-host"), "192.0.2.1");
  for (const char* bad : {"", "http://errand.internal", "errand.internal:8740", "a/b", "a b"}) {
    auto r = parse_allowed_host(bad, "--allowed-host");
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().field, "--allowed-host");
  }
}

TEST(StreamLimits, CapsStreamsPerTokenAndPerClientUntilOneEnds) {
  StreamLimits limits({.per_token = 2, .per_client = 3});
  std::vector<StreamLimits::Slot> slots;
  slots.push_back(*limits.acquire("tok", "192.0.2.1"));
  slots.push_back(*limits.acquire("tok", "192.0.2.2"));
  auto third = limits.acquire("tok", "192.0.2.3");
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().code, core::errc::too_many_requests);
  EXPECT_EQ(third.error().field, "token");
  slots.push_back(*limits.acquire("", "192.0.2.1"));
  slots.push_back(*limits.acquire("other", "192.0.2.1"));
  auto fourth = limits.acquire("", "192.0.2.1");
  ASSERT_FALSE(fourth);
  EXPECT_EQ(fourth.error().code, core::errc::too_many_requests);
  EXPECT_EQ(limits.open_streams(), 4u);
  slots.erase(slots.begin());  // a stream of tok from 192.0.2.1 ends
  EXPECT_TRUE(limits.acquire("tok", "192.0.2.1"));
  slots.clear();
  EXPECT_EQ(limits.open_streams(), 0u);
}

TEST(LoginThrottle, RefusesAnAddressAfterTooManyFailuresUntilTheWindowEnds) {
  LoginThrottle throttle({.max_failures = 3, .window = 60s});
  const std::string a = "192.0.2.1", b = "192.0.2.2";
  std::vector<std::string> lines;
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(throttle.refused_for(a, kT0 + 1s));
    if (auto line = throttle.failed(a, kT0 + 1s)) lines.push_back(*line);
  }
  // One line for the first failure, one when the address is locked out.
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find(a), std::string::npos);
  EXPECT_NE(lines[1].find("3 times"), std::string::npos);
  auto wait = throttle.refused_for(a, kT0 + 21s);
  ASSERT_TRUE(wait);
  EXPECT_EQ(*wait, 40s);
  EXPECT_FALSE(throttle.refused_for(b, kT0 + 21s));  // another address is not affected
  EXPECT_FALSE(throttle.refused_for(a, kT0 + 61s));  // a new window
  auto line = throttle.failed(a, kT0 + 62s);
  ASSERT_TRUE(line);
  EXPECT_NE(line->find("3 failed, 1 refused"), std::string::npos) << *line;
}

TEST(LoginThrottle, DoublesTheLockOutForEachWindowInARowThatReachesTheLimit) {
  LoginThrottle throttle({.max_failures = 3, .window = 60s, .what = "API key"});
  const std::string a = "192.0.2.1";
  const auto fail_three = [&](core::TimePoint at) {
    std::optional<std::string> last;
    for (int i = 0; i < 3; ++i) {
      EXPECT_FALSE(throttle.refused_for(a, at));
      if (auto line = throttle.failed(a, at)) last = line;
    }
    return last;
  };
  fail_three(kT0);
  EXPECT_EQ(throttle.refused_for(a, kT0 + 30s), 30s);
  auto second = fail_three(kT0 + 60s);  // the window right after: twice as long
  ASSERT_TRUE(second);
  EXPECT_NE(second->find("API key: 192.0.2.1 failed 3 times within 1m"), std::string::npos)
      << *second;
  EXPECT_NE(second->find("refused for 2m"), std::string::npos) << *second;
  EXPECT_EQ(throttle.refused_for(a, kT0 + 100s), 80s);
  EXPECT_FALSE(throttle.refused_for(a, kT0 + 180s));
  fail_three(kT0 + 180s);  // and again: 4 windows
  EXPECT_EQ(throttle.refused_for(a, kT0 + 181s), 239s);
  // A window without the limit reached, then one without failures: forgotten.
  EXPECT_FALSE(throttle.refused_for(a, kT0 + 420s));
  (void)throttle.failed(a, kT0 + 420s);
  EXPECT_FALSE(throttle.refused_for(a, kT0 + 480s));
  EXPECT_FALSE(throttle.refused_for(a, kT0 + 600s));
  fail_three(kT0 + 600s);
  EXPECT_EQ(throttle.refused_for(a, kT0 + 600s), 60s);
}

TEST(LoginThrottle, TracksABoundedNumberOfAddresses) {
  LoginThrottle throttle({.max_failures = 1, .window = 60s, .max_addresses = 2});
  (void)throttle.failed("192.0.2.1", kT0);
  (void)throttle.failed("192.0.2.2", kT0 + 1s);
  (void)throttle.failed("192.0.2.3", kT0 + 2s);  // the stalest, .1, makes room
  EXPECT_FALSE(throttle.refused_for("192.0.2.1", kT0 + 3s));
  EXPECT_TRUE(throttle.refused_for("192.0.2.3", kT0 + 3s));
}

}  // namespace
}  // namespace errand::api
