// Conformance: session_put, session_get, session_delete, session_list and
// session_drop_expired — a session is found by its digest until it expires
// or is deleted, outlives a reopen, and the sweep drops the expired ones,
// then the oldest past the cap, never more than its limit per call.
#include "store/conformance/harness.hpp"

namespace errand::store::conformance {
namespace {

DashboardSession session(std::string digest, core::TimePoint created = kNow,
                         core::Millis ttl = 1h) {
  auto csrf_token = "csrf-" + digest;
  return {.digest = std::move(digest),
          .csrf_token = std::move(csrf_token),
          .client = "192.0.2.7",
          .expires_at = created + ttl,
          .created_at = created};
}

core::Result<Unit> put_session(Store& store, DashboardSession s) {
  return call<Unit>([&](auto done) { store.session_put({.session = std::move(s)}, done); });
}

core::Result<DashboardSession> find_session(Store& store, std::string digest,
                                            core::TimePoint now = kNow) {
  return call<DashboardSession>(
      [&](auto done) { store.session_get({.digest = std::move(digest), .now = now}, done); });
}

core::Result<Unit> delete_session(Store& store, std::string digest) {
  return call<Unit>([&](auto done) { store.session_delete({.digest = std::move(digest)}, done); });
}

std::int64_t sweep(Store& store, SessionDropExpiredParams p) {
  auto dropped = call<std::int64_t>([&](auto done) { store.session_drop_expired(p, done); });
  EXPECT_TRUE(dropped) << dropped.error().message;
  return dropped ? *dropped : -1;
}

// Which of `digests` are still found at `now`.
std::vector<std::string> found(Store& store, const std::vector<std::string>& digests,
                               core::TimePoint now) {
  std::vector<std::string> out;
  for (const auto& d : digests) {
    if (find_session(store, d, now)) out.push_back(d);
  }
  return out;
}

void expect_not_found(const core::Result<DashboardSession>& r) {
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::errc::not_found);
  EXPECT_EQ(r.error().field, "session");
}

TEST_P(SessionsTest, ASessionIsFoundByItsDigestUntilItExpires) {
  ASSERT_TRUE(put_session(store(), session("d1", kNow, 1h)));
  auto got = find_session(store(), "d1", kNow + 59min);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(got->digest, "d1");
  EXPECT_EQ(got->csrf_token, "csrf-d1");
  EXPECT_EQ(got->client, "192.0.2.7");
  EXPECT_EQ(got->expires_at, kNow + 1h);
  EXPECT_EQ(got->created_at, kNow);
  expect_not_found(find_session(store(), "d1", kNow + 1h));  // expired at its expires_at
  expect_not_found(find_session(store(), "d2"));
  expect_not_found(find_session(store(), ""));
}

TEST_P(SessionsTest, APutUnderTheSameDigestReplacesTheSession) {
  ASSERT_TRUE(put_session(store(), session("d1")));
  auto again = session("d1", kNow + 1min);
  again.csrf_token = "another";
  ASSERT_TRUE(put_session(store(), again));
  auto got = find_session(store(), "d1");
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(got->csrf_token, "another");
  EXPECT_EQ(got->expires_at, kNow + 1min + 1h);
}

TEST_P(SessionsTest, DeleteEndsOnlyThatSession) {
  ASSERT_TRUE(put_session(store(), session("d1")));
  ASSERT_TRUE(put_session(store(), session("d2")));
  ASSERT_TRUE(delete_session(store(), "d1"));
  expect_not_found(find_session(store(), "d1"));
  EXPECT_TRUE(find_session(store(), "d2"));
  auto twice = delete_session(store(), "d1");
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, core::errc::not_found);
  EXPECT_EQ(twice.error().field, "session");
}

TEST_P(SessionsTest, SessionsOutliveAReopen) {
  ASSERT_TRUE(put_session(store(), session("d1")));
  ASSERT_TRUE(put_session(store(), session("d2")));
  ASSERT_TRUE(delete_session(store(), "d2"));
  reopen();
  EXPECT_TRUE(find_session(store(), "d1"));
  expect_not_found(find_session(store(), "d2"));
}

TEST_P(SessionsTest, TheSweepDropsExpiredSessionsAtMostLimitPerCall) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(put_session(
        store(), session("old" + std::to_string(i), kNow + std::chrono::minutes(i), 1min)));
  }
  ASSERT_TRUE(put_session(store(), session("live", kNow, 1h)));
  const auto now = kNow + 10min;
  EXPECT_EQ(sweep(store(), {.now = now, .keep = 100, .limit = 2}), 2);
  EXPECT_EQ(sweep(store(), {.now = now, .keep = 100, .limit = 2}), 1);
  EXPECT_EQ(sweep(store(), {.now = now, .keep = 100, .limit = 2}), 0);
  // Gone from the table, not only hidden: they are not found even before they expired.
  EXPECT_EQ(found(store(), {"old0", "old1", "old2", "live"}, kNow),
            std::vector<std::string>{"live"});
}

TEST_P(SessionsTest, PastTheCapTheOldestGoFirst) {
  std::vector<std::string> digests;
  for (int i = 0; i < 5; ++i) {
    digests.push_back("s" + std::to_string(i));
    // Created out of digest order, so the order is the creation time's.
    ASSERT_TRUE(put_session(store(), session(digests.back(), kNow + std::chrono::minutes(5 - i))));
  }
  EXPECT_EQ(sweep(store(), {.now = kNow, .keep = 3, .limit = 1}), 1);  // the limit holds
  EXPECT_EQ(found(store(), digests, kNow), (std::vector<std::string>{"s0", "s1", "s2", "s3"}));
  EXPECT_EQ(sweep(store(), {.now = kNow, .keep = 3, .limit = 10}), 1);
  EXPECT_EQ(found(store(), digests, kNow), (std::vector<std::string>{"s0", "s1", "s2"}));
  EXPECT_EQ(sweep(store(), {.now = kNow, .keep = 3, .limit = 10}), 0);
}

TEST_P(SessionsTest, ExpiredSessionsCountTowardsTheLimitBeforeTheCap) {
  ASSERT_TRUE(put_session(store(), session("expired", kNow - 2h, 1h)));
  ASSERT_TRUE(put_session(store(), session("older", kNow - 10min)));
  ASSERT_TRUE(put_session(store(), session("newer", kNow - 5min)));
  EXPECT_EQ(sweep(store(), {.now = kNow, .keep = 1, .limit = 1}), 1);
  // The expired one went first; both live ones stay until the next call.
  EXPECT_EQ(found(store(), {"older", "newer"}, kNow), (std::vector<std::string>{"older", "newer"}));
  EXPECT_EQ(sweep(store(), {.now = kNow, .keep = 1, .limit = 1}), 1);
  EXPECT_EQ(found(store(), {"older", "newer"}, kNow), std::vector<std::string>{"newer"});
}

TEST_P(SessionsTest, TheListHoldsTheCurrentSessionsNewestFirst) {
  ASSERT_TRUE(put_session(store(), session("expired", kNow - 2h, 1h)));
  ASSERT_TRUE(put_session(store(), session("older", kNow - 10min)));
  ASSERT_TRUE(put_session(store(), session("newer", kNow - 5min)));
  ASSERT_TRUE(put_session(store(), session("same-b", kNow - 1min)));
  ASSERT_TRUE(put_session(store(), session("same-a", kNow - 1min)));
  const auto list = [&](std::size_t limit) {
    auto got = call<std::vector<DashboardSession>>(
        [&](auto done) { store().session_list({.now = kNow, .limit = limit}, done); });
    EXPECT_TRUE(got) << got.error().message;
    std::vector<std::string> digests;
    if (got) {
      for (const auto& s : *got) digests.push_back(s.digest);
    }
    return digests;
  };
  EXPECT_EQ(list(10), (std::vector<std::string>{"same-b", "same-a", "newer", "older"}));
  EXPECT_EQ(list(2), (std::vector<std::string>{"same-b", "same-a"}));
  auto got = call<std::vector<DashboardSession>>(
      [&](auto done) { store().session_list({.now = kNow, .limit = 1}, done); });
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].client, "192.0.2.7");
  EXPECT_EQ((*got)[0].created_at, kNow - 1min);
  EXPECT_EQ((*got)[0].expires_at, kNow - 1min + 1h);
  // A revoked session leaves the list.
  ASSERT_TRUE(delete_session(store(), "same-b"));
  EXPECT_EQ(list(10), (std::vector<std::string>{"same-a", "newer", "older"}));
}

}  // namespace
}  // namespace errand::store::conformance
