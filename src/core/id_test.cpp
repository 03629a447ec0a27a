#include "core/id.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace errand::core {
namespace {

constexpr std::string_view kCrockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

void expect_well_formed(const std::string& id) {
  ASSERT_EQ(id.size(), 26u) << id;
  EXPECT_LE(id[0], '7') << id;  // 128 bits in 26 characters: the first carries 3 bits
  for (char c : id) EXPECT_NE(kCrockford.find(c), std::string_view::npos) << id;
  EXPECT_TRUE(is_valid_id(id)) << id;
}

TEST(IdGenerator, TwentySixCrockfordCharacters) {
  IdGenerator gen;
  SystemClock clock;
  for (int i = 0; i < 1000; ++i) expect_well_formed(gen.next(clock.now()));
}

TEST(IdGenerator, TimestampIsTheFirstTenCharacters) {
  IdGenerator gen;
  // 48-bit milliseconds in the first 10 characters (50 bits, top two zero).
  const auto id = gen.next(from_unix_ms(0));
  EXPECT_EQ(id.substr(0, 10), "0000000000");
  const auto later = gen.next(from_unix_ms(1'800'000'000'000));
  std::int64_t ms = 0;
  for (char c : later.substr(0, 10)) ms = ms * 32 + static_cast<std::int64_t>(kCrockford.find(c));
  EXPECT_EQ(ms, 1'800'000'000'000);
}

TEST(IdFloor, IdsOfJobsCreatedAtOrAfterSortAtOrAfterIt) {
  IdGenerator gen;
  const auto t = from_unix_ms(1'800'000'000'123);
  const auto floor = id_floor(t);
  expect_well_formed(floor);
  EXPECT_EQ(floor.substr(10), std::string(16, '0'));
  EXPECT_LE(floor, gen.next(t));
  EXPECT_LT(IdGenerator().next(t - Millis{1}), floor);
  EXPECT_LT(floor, id_floor(t + Millis{1}));
  EXPECT_EQ(id_floor(from_unix_ms(-5)), std::string(26, '0'));
}

TEST(IdGenerator, StrictlyIncreasingWithinOneMillisecond) {
  IdGenerator gen;
  const auto now = from_unix_ms(1'800'000'000'000);
  std::string prev = gen.next(now);
  for (int i = 0; i < 100'000; ++i) {
    auto id = gen.next(now);
    ASSERT_LT(prev, id) << "at " << i;
    prev = std::move(id);
  }
}

TEST(IdGenerator, StrictlyIncreasingAcrossMilliseconds) {
  IdGenerator gen;
  std::string prev = gen.next(from_unix_ms(1'800'000'000'000));
  for (int i = 1; i < 100'000; ++i) {
    // A few ids per millisecond, then the next millisecond.
    auto id = gen.next(from_unix_ms(1'800'000'000'000 + i / 3));
    ASSERT_LT(prev, id) << "at " << i;
    prev = std::move(id);
  }
}

TEST(IdGenerator, StaysIncreasingWhenTheClockGoesBack) {
  IdGenerator gen;
  const auto a = gen.next(from_unix_ms(2'000'000));
  const auto b = gen.next(from_unix_ms(1'000'000));
  const auto c = gen.next(from_unix_ms(1'500'000));
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
}

TEST(IdGenerator, UniqueAcrossFourThreads) {
  IdGenerator gen;
  SystemClock clock;
  constexpr int kPerThread = 25'000;
  std::vector<std::vector<std::string>> out(4);
  std::vector<std::thread> threads;
  for (auto& ids : out) {
    threads.emplace_back([&gen, &clock, &ids] {
      ids.reserve(kPerThread);
      for (int i = 0; i < kPerThread; ++i) ids.push_back(gen.next(clock.now()));
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> all;
  for (const auto& ids : out) {
    // Each thread sees its own ids in increasing order (one generator, one lock).
    EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
    all.insert(ids.begin(), ids.end());
  }
  EXPECT_EQ(all.size(), 4u * kPerThread);
}

TEST(IdGenerator, SeparateGeneratorsDoNotCollide) {
  IdGenerator a, b;
  const auto now = from_unix_ms(1'800'000'000'000);
  std::set<std::string> all;
  for (int i = 0; i < 1000; ++i) {
    all.insert(a.next(now));
    all.insert(b.next(now));
  }
  EXPECT_EQ(all.size(), 2000u);
}

TEST(IsValidId, Accepts) {
  EXPECT_TRUE(is_valid_id("01JDQ7Z3K5X9V2M4N6P8R0T2W4"));
  EXPECT_TRUE(is_valid_id("00000000000000000000000000"));
  EXPECT_TRUE(is_valid_id("7ZZZZZZZZZZZZZZZZZZZZZZZZZ"));
}

TEST(IsValidId, Rejects) {
  EXPECT_FALSE(is_valid_id(""));
  EXPECT_FALSE(is_valid_id("01JDQ7Z3K5X9V2M4N6P8R0T2W"));    // 25
  EXPECT_FALSE(is_valid_id("01JDQ7Z3K5X9V2M4N6P8R0T2W4X"));  // 27
  EXPECT_FALSE(is_valid_id("01jdq7z3k5x9v2m4n6p8r0t2w4"));   // lowercase
  EXPECT_FALSE(is_valid_id("8ZZZZZZZZZZZZZZZZZZZZZZZZZ"));   // over 128 bits
  EXPECT_FALSE(is_valid_id("01JDQ7Z3K5X9V2M4N6P8R0T2WI"));   // I is not Crockford
  EXPECT_FALSE(is_valid_id("01JDQ7Z3K5X9V2M4N6P8R0T2WL"));
  EXPECT_FALSE(is_valid_id("01JDQ7Z3K5X9V2M4N6P8R0T2WO"));
  EXPECT_FALSE(is_valid_id("01JDQ7Z3K5X9V2M4N6P8R0T2WU"));
  EXPECT_FALSE(is_valid_id("01JDQ7Z3K5X9V2M4N6P8R0T2W-"));
  EXPECT_FALSE(is_valid_id("../../../../../../etc/pass"));
  EXPECT_FALSE(is_valid_id(std::string_view("01JDQ7Z3K5X9V2M4N6P8R0T2W\0", 26)));
}

TEST(RandomHex, LengthAndAlphabet) {
  for (std::size_t n : {0u, 1u, 16u, 32u, 300u}) {
    const auto hex = random_hex(n);
    EXPECT_EQ(hex.size(), 2 * n);
    EXPECT_EQ(hex.find_first_not_of("0123456789abcdef"), std::string::npos) << hex;
  }
  EXPECT_NE(random_hex(16), random_hex(16));
}

}  // namespace
}  // namespace errand::core
