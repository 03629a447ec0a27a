#include "core/hmac.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace errand::core {
namespace {

// RFC 4231, test case 2.
TEST(HmacSha256, MatchesRfc4231ShortKey) {
  HmacSha256 mac("Jefe");
  EXPECT_EQ(mac.sign_hex("what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

// RFC 4231, test case 6: a key longer than the block is hashed first.
TEST(HmacSha256, MatchesRfc4231LongKey) {
  HmacSha256 mac(std::string(131, '\xaa'));
  EXPECT_EQ(mac.sign_hex("Test Using Larger Than Block-Size Key - Hash Key First"),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(HmacSha256, SameAnswerFromManyThreads) {
  HmacSha256 mac("Jefe");
  std::vector<std::thread> threads;
  std::vector<std::string> answers(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 1000; ++i) answers[t] = mac.sign_hex("what do ya want for nothing?");
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& a : answers) {
    EXPECT_EQ(a, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  }
}

}  // namespace
}  // namespace errand::core
