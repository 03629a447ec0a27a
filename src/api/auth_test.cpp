// Auth's keys replaced while requests are checked (a configuration reload),
// and CORS origins likewise.
#include "api/auth.hpp"
#include "api/cors.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace errand::api {
namespace {

const std::string kSecret(32, 's');

Request with_key(std::string_view secret) {
  Request r;
  r.authorization = "Bearer " + std::string(secret);
  return r;
}

ApiKey key(Role role, std::string secret) {
  return {role, std::move(secret)};
}

TEST(AuthTest, SetKeysReplacesTheWholeSet) {
  Auth auth({key(Role::producer, "producer-secret-0001")}, kSecret, false);
  const auto now = core::TimePoint{};
  EXPECT_TRUE(auth.check(with_key("producer-secret-0001"), Access::producer, "", now));
  auth.set_keys(
      {key(Role::worker, "worker-secret-000001"), key(Role::admin, "admin-secret-0000001")});
  EXPECT_EQ(auth.key_count(), 2u);
  auto gone = auth.check(with_key("producer-secret-0001"), Access::producer, "", now);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, core::errc::unauthorized);
  EXPECT_TRUE(auth.check(with_key("worker-secret-000001"), Access::worker, "", now));
  EXPECT_EQ(auth.role_of("admin-secret-0000001"), Role::admin);
  EXPECT_EQ(auth.role_of("producer-secret-0001"), std::nullopt);
}

TEST(AuthTest, ChecksDuringASwapSeeOneSetOrTheOther) {
  Auth auth({key(Role::admin, "first-admin-secret-01")}, kSecret, false);
  std::atomic<bool> done{false};
  std::thread swapper([&] {
    for (int i = 0; i < 2000; ++i) {
      auth.set_keys(i % 2 ? std::vector<ApiKey>{key(Role::admin, "first-admin-secret-01")}
                          : std::vector<ApiKey>{key(Role::admin, "second-admin-secret-2")});
    }
    done = true;
  });
  // Each lookup reads one whole set (under ASan a freed set would be seen).
  while (!done) {
    const auto role = auth.role_of("first-admin-secret-01");
    EXPECT_TRUE(!role || *role == Role::admin);
    EXPECT_EQ(auth.key_count(), 1u);
  }
  swapper.join();
  EXPECT_EQ(auth.role_of("first-admin-secret-01"), Role::admin);
}

TEST(CorsPolicyTest, OriginsCanBeReplaced) {
  CorsPolicy cors({"https://one.example"});
  EXPECT_TRUE(cors.allows("https://one.example"));
  EXPECT_FALSE(cors.allows("https://two.example"));
  cors.set_origins({"*"});
  EXPECT_TRUE(cors.allows("https://two.example"));
  cors.set_origins({});
  EXPECT_TRUE(cors.empty());
  EXPECT_FALSE(cors.allows("https://one.example"));
}

}  // namespace
}  // namespace errand::api
