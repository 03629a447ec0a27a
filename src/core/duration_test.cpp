#include "core/duration.hpp"

#include <gtest/gtest.h>

#include <string>

namespace errand::core {
namespace {

Millis parse_ok(std::string_view s) {
  auto r = parse_duration(s, "delay");
  EXPECT_TRUE(r.has_value()) << "\"" << s << "\": " << (r ? "" : r.error().message);
  return r ? *r : Millis{-1};
}

TEST(ParseDuration, EveryUnit) {
  EXPECT_EQ(parse_ok("250ms"), Millis{250});
  EXPECT_EQ(parse_ok("10s"), Millis{10'000});
  EXPECT_EQ(parse_ok("5m"), Millis{300'000});
  EXPECT_EQ(parse_ok("2h"), Millis{7'200'000});
  EXPECT_EQ(parse_ok("1d"), Millis{86'400'000});
}

TEST(ParseDuration, Zero) {
  EXPECT_EQ(parse_ok("0s"), Millis{0});
  EXPECT_EQ(parse_ok("0ms"), Millis{0});
}

TEST(ParseDuration, Compounds) {
  EXPECT_EQ(parse_ok("1h30m"), Millis{5'400'000});
  EXPECT_EQ(parse_ok("1m30s"), Millis{90'000});
  EXPECT_EQ(parse_ok("1s500ms"), Millis{1'500});
  EXPECT_EQ(parse_ok("1d2h3m4s5ms"), Millis{86'400'000 + 7'200'000 + 180'000 + 4'000 + 5});
}

TEST(ParseDuration, MinutesFollowedBySecondsIsNotMilliseconds) {
  // "ms" is the unit; "m" then "s" without a number between is malformed.
  EXPECT_EQ(parse_ok("2ms"), Millis{2});
  EXPECT_FALSE(parse_duration("2mss"));
}

TEST(ParseDuration, LargestAcceptedIsACentury) {
  EXPECT_EQ(parse_ok("36500d"), Millis{std::int64_t{36500} * 86'400'000});
}

class ParseDurationRejects : public ::testing::TestWithParam<const char*> {};

TEST_P(ParseDurationRejects, WithInvalidArgumentNamingFieldAndQuotingInput) {
  const std::string text = GetParam();
  auto r = parse_duration(text, "delay");
  ASSERT_FALSE(r.has_value()) << "accepted \"" << text << "\" as " << r->count() << "ms";
  EXPECT_EQ(r.error().code, errc::invalid_argument);
  EXPECT_EQ(r.error().field, "delay");
  EXPECT_NE(r.error().message.find("delay"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("\"" + text + "\""), std::string::npos) << r.error().message;
}

INSTANTIATE_TEST_SUITE_P(Malformed, ParseDurationRejects,
                         ::testing::Values("", "-1s", "-0s", "10", "5x", "1.5s", "s", "ms", " 1s",
                                           "1s ", "1 s", "+1s", "1S", "1M", "1h30", "1e3ms", "abc",
                                           "1sec", "1min", "0x10s"));

INSTANTIATE_TEST_SUITE_P(Overflow, ParseDurationRejects,
                         ::testing::Values("36501d", "3153600000001ms", "99999999999999999999s",
                                           "9223372036854775807ms", "9223372036854775808ms",
                                           "100000000000000000000000000000d", "36500d1ms",
                                           "20000d20000d"));

TEST(ParseDuration, NegativeSaysSo) {
  auto r = parse_duration("-1s", "retry_in");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "retry_in");
  EXPECT_NE(r.error().message.find("negative"), std::string::npos) << r.error().message;
}

TEST(ParseDuration, DefaultFieldName) {
  auto r = parse_duration("nope");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "duration");
}

TEST(FormatDuration, ShortestExactForm) {
  EXPECT_EQ(format_duration(Millis{0}), "0s");
  EXPECT_EQ(format_duration(Millis{1}), "1ms");
  EXPECT_EQ(format_duration(Millis{250}), "250ms");
  EXPECT_EQ(format_duration(Millis{1'500}), "1500ms");
  EXPECT_EQ(format_duration(Millis{1'000}), "1s");
  EXPECT_EQ(format_duration(Millis{90'000}), "90s");
  EXPECT_EQ(format_duration(Millis{300'000}), "5m");
  EXPECT_EQ(format_duration(Millis{5'400'000}), "90m");
  EXPECT_EQ(format_duration(Millis{3'600'000}), "1h");
  EXPECT_EQ(format_duration(Millis{86'400'000}), "1d");
  EXPECT_EQ(format_duration(Millis{90'000'000}), "25h");
}

TEST(FormatDuration, RoundTripsThroughParse) {
  for (std::int64_t ms :
       {0LL, 1LL, 999LL, 1'000LL, 1'001LL, 59'999LL, 60'000LL, 90'000LL, 3'599'999LL, 3'600'000LL,
        5'400'000LL, 86'399'999LL, 86'400'000LL, 172'800'000LL, 3'153'600'000'000LL}) {
    const auto text = format_duration(Millis{ms});
    auto back = parse_duration(text);
    ASSERT_TRUE(back) << text;
    EXPECT_EQ(back->count(), ms) << text;
  }
}

TEST(FormatDuration, ParseThenFormatIsCanonical) {
  EXPECT_EQ(format_duration(parse_ok("60s")), "1m");
  EXPECT_EQ(format_duration(parse_ok("24h")), "1d");
  EXPECT_EQ(format_duration(parse_ok("1000ms")), "1s");
}

}  // namespace
}  // namespace errand::core
