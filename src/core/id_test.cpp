#include "core/id.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

namespace errand::core {
namespace {

constexpr std::string_view kCrockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

constexpr std::int64_t kMs = 1'800'000'000'123;

TEST(JobId, ThirteenCrockfordCharactersInNumberOrder) {
  EXPECT_EQ(format_job_id(0), "0000000000000");
  EXPECT_EQ(format_job_id(1), "0000000000001");
  EXPECT_EQ(format_job_id(32), "0000000000010");
  EXPECT_EQ(format_job_id(INT64_MAX), "7ZZZZZZZZZZZZ");
  std::string prev = format_job_id(0);
  for (std::int64_t v : {std::int64_t{1}, std::int64_t{31}, std::int64_t{32}, kMs << 20,
                         (kMs << 20) + 1, (kMs + 1) << 20, INT64_MAX}) {
    const auto id = format_job_id(v);
    ASSERT_EQ(id.size(), kJobIdLength);
    for (char c : id) EXPECT_NE(kCrockford.find(c), std::string_view::npos) << id;
    EXPECT_LT(prev, id) << v;
    EXPECT_EQ(parse_job_id(id), v);
    EXPECT_TRUE(is_valid_id(id));
    prev = id;
  }
}

TEST(JobId, ParseRejectsWhatFormatNeverMakes) {
  EXPECT_EQ(parse_job_id(""), std::nullopt);
  EXPECT_EQ(parse_job_id("000000000001"), std::nullopt);                // 12
  EXPECT_EQ(parse_job_id("00000000000001"), std::nullopt);              // 14
  EXPECT_EQ(parse_job_id("8000000000000"), std::nullopt);               // 2^63: over int64
  EXPECT_EQ(parse_job_id("000000000000a"), std::nullopt);               // lowercase
  EXPECT_EQ(parse_job_id("000000000000I"), std::nullopt);               // not Crockford
  EXPECT_EQ(parse_job_id("01JDQ7Z3K5X9V2M4N6P8R0T2W4"), std::nullopt);  // legacy
}

TEST(JobId, FloorIsTheMillisecondShiftedPastTheSequence) {
  const auto t = from_unix_ms(kMs);
  EXPECT_EQ(job_id_floor(t), kMs << kJobIdSequenceBits);
  EXPECT_EQ(job_id_floor(from_unix_ms(-5)), 0);
  EXPECT_LT(job_id_floor(t - Millis{1}) + (1 << kJobIdSequenceBits) - 1, job_id_floor(t));
}

TEST(JobId, NextIsTheFloorOfNowOrOneMoreThanTheLast) {
  const auto t = from_unix_ms(kMs);
  EXPECT_EQ(next_job_id(0, t), kMs << 20);
  EXPECT_EQ(next_job_id(kMs << 20, t), (kMs << 20) + 1);              // same millisecond
  EXPECT_EQ(next_job_id((kMs + 5) << 20, t), ((kMs + 5) << 20) + 1);  // clock went back
  std::int64_t last = 0;
  std::set<std::int64_t> seen;
  for (int i = 0; i < 100'000; ++i) {
    const auto id = next_job_id(last, from_unix_ms(kMs + i / 7));
    ASSERT_GT(id, last) << i;
    last = id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 100'000u);
}

TEST(LegacyId, TheFirstTenCharactersAreTheMillisecond) {
  EXPECT_TRUE(is_legacy_id("01JDQ7Z3K5X9V2M4N6P8R0T2W4"));
  EXPECT_EQ(legacy_id_ms("0000000000ZZZZZZZZZZZZZZZZ"), 0);
  std::int64_t ms = 0;
  for (char c : std::string_view("01JDQ7Z3K5")) {
    ms = ms * 32 + static_cast<std::int64_t>(kCrockford.find(c));
  }
  EXPECT_EQ(legacy_id_ms("01JDQ7Z3K5X9V2M4N6P8R0T2W4"), ms);
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
