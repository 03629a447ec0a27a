// Dashboard sessions on a real store (SQLite in a temporary directory): what
// a login stores, what a lookup finds, and that two servers with the store's
// key share every session. Plus the cookie helpers.
#include "api/session.hpp"

#include "store/conformance/call.hpp"
#include "store/sqlite/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdlib>
#include <exception>
#include <filesystem>
#include <future>

namespace errand::api {
namespace {
using namespace std::chrono_literals;
namespace asio = boost::asio;

const core::TimePoint kT0 = core::from_unix_ms(1'790'000'000'000);
const std::string kKey(64, 'k');

class SessionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "errand-sessions-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    auto opened = store::SqliteStore::open({.dir = dir_});
    ASSERT_TRUE(opened) << opened.error().message;
    store_ = std::move(*opened);
  }
  void TearDown() override {
    if (store_) store_->close();
    std::filesystem::remove_all(dir_);
  }

  // Runs `task` to completion on this test's io_context.
  template <class T>
  T run(asio::awaitable<T> task) {
    std::promise<T> promise;
    auto result = promise.get_future();
    asio::co_spawn(io_, std::move(task), [&](std::exception_ptr e, T value) {
      if (e) return promise.set_exception(e);
      promise.set_value(std::move(value));
    });
    io_.restart();
    io_.run();
    return result.get();
  }

  Session create(Sessions& sessions, core::TimePoint now, std::string client = {}) {
    auto made = run(sessions.create(now, std::move(client)));
    EXPECT_TRUE(made) << made.error().message;
    return made ? *made : Session{};
  }
  std::optional<Session> find(Sessions& sessions, std::string id, core::TimePoint now,
                              std::string client = {}) {
    auto found = run(sessions.find(std::move(id), now, std::move(client)));
    EXPECT_TRUE(found) << found.error().message;
    return found ? *found : std::nullopt;
  }
  void remove(Sessions& sessions, std::string id) {
    auto removed = run(sessions.remove(std::move(id)));
    EXPECT_TRUE(removed) << removed.error().message;
  }

  asio::io_context io_;
  std::string dir_;
  std::unique_ptr<store::SqliteStore> store_;
};

TEST_F(SessionsTest, ASessionIsFoundByItsIdUntilItExpires) {
  Sessions sessions(*store_, kKey, {.ttl = 1h});
  const auto s = create(sessions, kT0);
  EXPECT_EQ(s.id.size(), 64u);
  EXPECT_TRUE(is_session_id(s.id));
  EXPECT_EQ(s.expires_at, kT0 + 1h);
  auto found = find(sessions, s.id, kT0 + 59min);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->csrf_token, s.csrf_token);
  EXPECT_EQ(found->expires_at, kT0 + 1h);
  EXPECT_TRUE(found->id.empty());  // the id is never handed out again
  EXPECT_FALSE(find(sessions, s.id, kT0 + 1h));
  EXPECT_FALSE(find(sessions, "", kT0));
  EXPECT_FALSE(find(sessions, s.id + "0", kT0));
  EXPECT_FALSE(find(sessions, std::string(64, '0'), kT0));
}

TEST_F(SessionsTest, ASessionIsBoundToTheAddressThatLoggedIn) {
  Sessions sessions(*store_, kKey, {.ttl = 1h});
  const auto s = create(sessions, kT0, "192.0.2.7");
  EXPECT_EQ(s.client, "192.0.2.7");
  ASSERT_TRUE(find(sessions, s.id, kT0, "192.0.2.7"));
  EXPECT_FALSE(find(sessions, s.id, kT0, "192.0.2.8"));  // the cookie alone is not enough
  EXPECT_FALSE(find(sessions, s.id, kT0));
}

TEST_F(SessionsTest, EachSessionHasItsOwnIdAndCsrfToken) {
  Sessions sessions(*store_, kKey);
  const auto a = create(sessions, kT0);
  const auto b = create(sessions, kT0);
  EXPECT_NE(a.id, b.id);
  EXPECT_NE(a.csrf_token, b.csrf_token);
  EXPECT_NE(a.id, a.csrf_token);
}

TEST_F(SessionsTest, LogoutRemovesOnlyThatSession) {
  Sessions sessions(*store_, kKey);
  const auto a = create(sessions, kT0);
  const auto b = create(sessions, kT0);
  remove(sessions, a.id);
  remove(sessions, a.id);                  // twice: nothing left to end
  remove(sessions, std::string(64, 'f'));  // unknown
  remove(sessions, "not an id");
  EXPECT_FALSE(find(sessions, a.id, kT0));
  EXPECT_TRUE(find(sessions, b.id, kT0));
}

TEST_F(SessionsTest, TheStoreKeepsOnlyTheIdsKeyedDigest) {
  Sessions sessions(*store_, kKey, {.ttl = 1h});
  const auto s = create(sessions, kT0, "192.0.2.7");
  const auto digest = sessions.digest(s.id);
  EXPECT_EQ(digest, core::HmacSha256(kKey).sign_hex(s.id));
  auto stored = store::call<store::DashboardSession>(
      [&](auto done) { store_->session_get({.digest = digest, .now = kT0}, done); });
  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_EQ(stored->csrf_token, s.csrf_token);
  EXPECT_EQ(stored->client, "192.0.2.7");
  EXPECT_EQ(stored->created_at, kT0);
  auto by_id = store::call<store::DashboardSession>(
      [&](auto done) { store_->session_get({.digest = s.id, .now = kT0}, done); });
  EXPECT_FALSE(by_id);
}

TEST_F(SessionsTest, ServersWithTheStoresKeyShareEverySession) {
  Sessions one(*store_, kKey);
  Sessions two(*store_, kKey);
  Sessions other_key(*store_, std::string(64, 'o'));
  const auto s = create(one, kT0, "192.0.2.7");
  EXPECT_TRUE(find(two, s.id, kT0, "192.0.2.7"));
  EXPECT_FALSE(find(other_key, s.id, kT0, "192.0.2.7"));
  remove(two, s.id);
  EXPECT_FALSE(find(one, s.id, kT0, "192.0.2.7"));
}

TEST_F(SessionsTest, ALoginDropsExpiredSessionsAndPastTheCapTheOldest) {
  Sessions sessions(*store_, kKey, {.ttl = 1h, .max_sessions = 2});
  const auto a = create(sessions, kT0);
  const auto b = create(sessions, kT0 + 1min);
  const auto c = create(sessions, kT0 + 2min);
  EXPECT_FALSE(find(sessions, a.id, kT0 + 2min));
  EXPECT_TRUE(find(sessions, b.id, kT0 + 2min));
  EXPECT_TRUE(find(sessions, c.id, kT0 + 2min));
  const auto d = create(sessions, kT0 + 3h);
  // b and c expired and went; found before their expiry they would show.
  EXPECT_FALSE(find(sessions, b.id, kT0 + 2min));
  EXPECT_FALSE(find(sessions, c.id, kT0 + 2min));
  EXPECT_TRUE(find(sessions, d.id, kT0 + 3h));
}

TEST_F(SessionsTest, AnIdOfTheWrongShapeNeverReachesTheStore) {
  Sessions sessions(*store_, kKey);
  store_->close();  // every verb now fails with unavailable
  auto malformed = run(sessions.find("abc", kT0, ""));
  ASSERT_TRUE(malformed);
  EXPECT_FALSE(*malformed);
  auto unavailable = run(sessions.find(std::string(64, 'a'), kT0, ""));
  ASSERT_FALSE(unavailable);
  EXPECT_EQ(unavailable.error().code, core::errc::unavailable);
  auto login = run(sessions.create(kT0, ""));
  ASSERT_FALSE(login);
  EXPECT_EQ(login.error().code, core::errc::unavailable);
}

TEST_F(SessionsTest, TheSessionKeyIsMadeOnceAndKept) {
  auto first = load_or_create_session_key(*store_);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->size(), 64u);
  auto again = load_or_create_session_key(*store_);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(*again, *first);
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
