#include "api/session.hpp"

#include <gtest/gtest.h>

namespace errand::api {
namespace {
using namespace std::chrono_literals;

const core::TimePoint kT0 = core::from_unix_ms(1'790'000'000'000);

TEST(Sessions, ASessionIsFoundByItsIdUntilItExpires) {
  Sessions sessions({.ttl = 1h});
  const auto s = sessions.create(kT0);
  EXPECT_EQ(s.id.size(), 64u);
  EXPECT_EQ(s.expires_at, kT0 + 1h);
  auto found = sessions.find(s.id, kT0 + 59min);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->csrf_token, s.csrf_token);
  EXPECT_TRUE(found->id.empty());  // the id is never handed out again
  EXPECT_FALSE(sessions.find(s.id, kT0 + 1h));
  EXPECT_FALSE(sessions.find("", kT0));
  EXPECT_FALSE(sessions.find(s.id + "0", kT0));
}

TEST(Sessions, ASessionIsBoundToTheAddressThatLoggedIn) {
  Sessions sessions({.ttl = 1h});
  const auto s = sessions.create(kT0, "192.0.2.7");
  EXPECT_EQ(s.client, "192.0.2.7");
  ASSERT_TRUE(sessions.find(s.id, kT0, "192.0.2.7"));
  EXPECT_FALSE(sessions.find(s.id, kT0, "192.0.2.8"));  // the cookie alone is not enough
  EXPECT_FALSE(sessions.find(s.id, kT0));
}

TEST(Sessions, EachSessionHasItsOwnIdAndCsrfToken) {
  Sessions sessions;
  const auto a = sessions.create(kT0);
  const auto b = sessions.create(kT0);
  EXPECT_NE(a.id, b.id);
  EXPECT_NE(a.csrf_token, b.csrf_token);
  EXPECT_NE(a.id, a.csrf_token);
}

TEST(Sessions, LogoutRemovesOnlyThatSession) {
  Sessions sessions;
  const auto a = sessions.create(kT0);
  const auto b = sessions.create(kT0);
  sessions.remove(a.id);
  sessions.remove("unknown");
  EXPECT_FALSE(sessions.find(a.id, kT0));
  EXPECT_TRUE(sessions.find(b.id, kT0));
  EXPECT_EQ(sessions.size(), 1u);
}

TEST(Sessions, ExpiredSessionsAreDroppedAndAFullTableDropsTheOldest) {
  Sessions sessions({.ttl = 1h, .max_sessions = 2});
  const auto a = sessions.create(kT0);
  const auto b = sessions.create(kT0 + 1min);
  const auto c = sessions.create(kT0 + 2min);
  EXPECT_FALSE(sessions.find(a.id, kT0 + 2min));
  EXPECT_TRUE(sessions.find(b.id, kT0 + 2min));
  EXPECT_TRUE(sessions.find(c.id, kT0 + 2min));
  sessions.create(kT0 + 3h);
  EXPECT_EQ(sessions.size(), 1u);
}

TEST(Cookies, FindsTheNamedValue) {
  EXPECT_EQ(cookie_value("a=1; errand_session=abc; b=2", "errand_session"), "abc");
  EXPECT_EQ(cookie_value("errand_session=abc", "errand_session"), "abc");
  EXPECT_EQ(cookie_value("xerrand_session=abc", "errand_session"), "");
  EXPECT_EQ(cookie_value("", "errand_session"), "");
  EXPECT_EQ(cookie_value("errand_session", "errand_session"), "");
}

TEST(Cookies, TheSessionCookieIsHttpOnlyAndStrict) {
  const Session s{.id = "abc", .csrf_token = "t", .expires_at = kT0};
  EXPECT_EQ(session_cookie(s, 12h),
            "errand_session=abc; Path=/; Max-Age=43200; HttpOnly; SameSite=Strict");
  EXPECT_EQ(cleared_session_cookie(),
            "errand_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
}

TEST(SameSecret, ComparesWholeStrings) {
  EXPECT_TRUE(same_secret("abc", "abc"));
  EXPECT_FALSE(same_secret("abc", "abd"));
  EXPECT_FALSE(same_secret("abc", "ab"));
  EXPECT_FALSE(same_secret("", "a"));
}

}  // namespace
}  // namespace errand::api
