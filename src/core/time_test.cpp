#include "core/time.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace errand::core {
namespace {

using namespace std::chrono;

TimePoint at(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0, int ms = 0) {
  return time_point_cast<Millis>(sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi} +
                                 seconds{s} + Millis{ms});
}

TimePoint parse_ok(std::string_view s) {
  auto r = parse_rfc3339(s, "run_at");
  EXPECT_TRUE(r.has_value()) << "\"" << s << "\": " << (r ? "" : r.error().message);
  return r ? *r : TimePoint{};
}

TEST(FormatRfc3339, MillisecondsInUtc) {
  EXPECT_EQ(format_rfc3339(at(2026, 1, 31, 8, 5, 9, 7)), "2026-01-31T08:05:09.007Z");
  EXPECT_EQ(format_rfc3339(at(1970, 1, 1)), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339(at(2024, 2, 29, 23, 59, 59, 999)), "2024-02-29T23:59:59.999Z");
  EXPECT_EQ(format_rfc3339(at(1969, 12, 31, 23, 59, 59, 1)), "1969-12-31T23:59:59.001Z");
  EXPECT_EQ(format_rfc3339(at(9999, 12, 31, 1, 2, 3, 4)), "9999-12-31T01:02:03.004Z");
}

TEST(FormatRfc3339, RoundTripsThroughParse) {
  for (auto t : {at(2026, 11, 28, 1, 2, 3, 456), at(2000, 1, 1), at(2100, 3, 1, 12)}) {
    EXPECT_EQ(parse_ok(format_rfc3339(t)), t);
  }
}

TEST(ParseRfc3339, Utc) {
  EXPECT_EQ(parse_ok("2026-01-31T08:00:00Z"), at(2026, 1, 31, 8));
  EXPECT_EQ(parse_ok("2026-11-27T21:06:54Z"), at(2026, 11, 27, 21, 6, 54));
  EXPECT_EQ(parse_ok("1970-01-01T00:00:00Z"), TimePoint{});
}

TEST(ParseRfc3339, LowercaseAndSpaceSeparators) {
  EXPECT_EQ(parse_ok("2026-01-31t08:00:00z"), at(2026, 1, 31, 8));
  EXPECT_EQ(parse_ok("2026-01-31 08:00:00Z"), at(2026, 1, 31, 8));
}

TEST(ParseRfc3339, Offsets) {
  EXPECT_EQ(parse_ok("2026-01-31T08:00:00+00:00"), at(2026, 1, 31, 8));
  EXPECT_EQ(parse_ok("2026-01-31T08:00:00-00:00"), at(2026, 1, 31, 8));
  EXPECT_EQ(parse_ok("2026-01-31T08:00:00+01:00"), at(2026, 1, 31, 7));
  EXPECT_EQ(parse_ok("2026-01-31T08:00:00-05:00"), at(2026, 1, 31, 13));
  EXPECT_EQ(parse_ok("2026-01-31T08:00:00+05:30"), at(2026, 1, 31, 2, 30));
  // Crosses a day and a year boundary.
  EXPECT_EQ(parse_ok("2026-01-01T01:00:00+02:00"), at(2025, 12, 31, 23));
  EXPECT_EQ(parse_ok("2025-12-31T23:30:00-01:00"), at(2026, 1, 1, 0, 30));
}

TEST(ParseRfc3339, FractionsAreTruncatedToMilliseconds) {
  EXPECT_EQ(parse_ok("2026-01-31T08:00:00.1Z"), at(2026, 1, 31, 8, 0, 0, 100));
  EXPECT_EQ(parse_ok("2026-01-31T08:00:00.12Z"), at(2026, 1, 31, 8, 0, 0, 120));
  EXPECT_EQ(parse_ok("2026-01-31T08:00:00.123Z"), at(2026, 1, 31, 8, 0, 0, 123));
  EXPECT_EQ(parse_ok("2026-01-31T08:00:00.1239Z"), at(2026, 1, 31, 8, 0, 0, 123));
  EXPECT_EQ(parse_ok("2026-01-31T08:00:00.999999999Z"), at(2026, 1, 31, 8, 0, 0, 999));
  EXPECT_EQ(parse_ok("2026-01-31T08:00:00.000Z"), at(2026, 1, 31, 8));
  EXPECT_EQ(parse_ok("2026-01-31T08:00:00.5+01:00"), at(2026, 1, 31, 7, 0, 0, 500));
}

TEST(ParseRfc3339, LeapDayOnlyInLeapYears) {
  EXPECT_EQ(parse_ok("2028-02-29T00:00:00Z"), at(2028, 2, 29));
  EXPECT_EQ(parse_ok("2000-02-29T00:00:00Z"), at(2000, 2, 29));
  EXPECT_FALSE(parse_rfc3339("2026-02-29T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("1900-02-29T00:00:00Z"));
}

class ParseRfc3339Rejects : public ::testing::TestWithParam<const char*> {};

TEST_P(ParseRfc3339Rejects, WithInvalidArgumentNamingFieldAndQuotingInput) {
  const std::string text = GetParam();
  auto r = parse_rfc3339(text, "run_at");
  ASSERT_FALSE(r.has_value()) << "accepted \"" << text << "\" as " << format_rfc3339(*r);
  EXPECT_EQ(r.error().code, errc::invalid_argument);
  EXPECT_EQ(r.error().field, "run_at");
  EXPECT_NE(r.error().message.find("run_at"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("\"" + text + "\""), std::string::npos) << r.error().message;
}

INSTANTIATE_TEST_SUITE_P(BadDates, ParseRfc3339Rejects,
                         ::testing::Values("2026-02-30T00:00:00Z", "2026-04-31T00:00:00Z",
                                           "2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z",
                                           "2026-01-00T00:00:00Z", "2026-01-32T00:00:00Z",
                                           "2026-01-31T24:00:00Z", "2026-01-31T23:60:00Z",
                                           "2026-01-31T23:59:61Z"));

INSTANTIATE_TEST_SUITE_P(
    Garbage, ParseRfc3339Rejects,
    ::testing::Values("", "now", "tomorrow", "2026", "2026-01-31", "2026-01-31T08:00:00",
                      "2026-01-31T08:00Z", "2026-01-31T08:00:00ZZ", "2026-01-31T08:00:00Z ",
                      " 2026-01-31T08:00:00Z", "2026-01-31X08:00:00Z", "2026/01/31T08:00:00Z",
                      "26-01-31T08:00:00Z", "2026-1-31T08:00:00Z", "2026-01-31T8:00:00Z",
                      "2026-01-31T08:00:00.Z", "2026-01-31T08:00:00.12a3Z",
                      "2026-01-31T08:00:00+0100", "2026-01-31T08:00:00+01",
                      "2026-01-31T08:00:00+01:0", "2026-01-31T08:00:00+24:00",
                      "2026-01-31T08:00:00+01:60", "2026-01-31T08:00:00UTC", "1769846400",
                      "2026-01-31T08:00:00+01:00:00", "abcd-ef-ghTij:kl:mnZ"));

TEST(ParseRfc3339, DefaultFieldName) {
  auto r = parse_rfc3339("x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "time");
}

TEST(FormatRfc3339, UtcWithMilliseconds) {
  EXPECT_EQ(format_rfc3339(TimePoint{}), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339(at(2026, 11, 27, 21, 6, 54, 123)), "2026-11-27T21:06:54.123Z");
  EXPECT_EQ(format_rfc3339(at(2026, 1, 2, 3, 4, 5, 6)), "2026-01-02T03:04:05.006Z");
  EXPECT_EQ(format_rfc3339(at(2028, 2, 29, 23, 59, 59, 999)), "2028-02-29T23:59:59.999Z");
}

TEST(FormatRfc3339, BeforeTheEpoch) {
  EXPECT_EQ(format_rfc3339(at(1969, 12, 31, 23, 59, 59, 999)), "1969-12-31T23:59:59.999Z");
}

TEST(Rfc3339, RoundTrip) {
  for (std::int64_t ms : {0LL, 1LL, 999LL, 1'769'846'400'000LL, 1'800'000'000'123LL,
                          4'102'444'799'999LL, -1LL, -86'400'001LL}) {
    const TimePoint t = from_unix_ms(ms);
    const auto text = format_rfc3339(t);
    auto back = parse_rfc3339(text);
    ASSERT_TRUE(back) << text;
    EXPECT_EQ(to_unix_ms(*back), ms) << text;
  }
  for (const char* text : {"2026-11-27T21:06:54.123Z", "2000-02-29T00:00:00.000Z"}) {
    EXPECT_EQ(format_rfc3339(parse_ok(text)), text);
  }
}

TEST(UnixMs, Conversions) {
  EXPECT_EQ(to_unix_ms(from_unix_ms(1'800'000'000'000)), 1'800'000'000'000);
  EXPECT_EQ(to_unix_ms(at(1970, 1, 1, 0, 0, 1)), 1'000);
}

TEST(FakeClock, SetAndAdvance) {
  FakeClock clock(from_unix_ms(1'000));
  EXPECT_EQ(to_unix_ms(clock.now()), 1'000);
  clock.advance(Millis{500});
  EXPECT_EQ(to_unix_ms(clock.now()), 1'500);
  clock.set(from_unix_ms(42));
  EXPECT_EQ(to_unix_ms(clock.now()), 42);
}

TEST(ShiftedClock, FollowsItsBaseByTheShift) {
  FakeClock base(from_unix_ms(10'000));
  ShiftedClock clock(base, Millis{5'000});
  EXPECT_EQ(to_unix_ms(clock.now()), 15'000);
  base.advance(Millis{1});
  EXPECT_EQ(to_unix_ms(clock.now()), 15'001);
  clock.set_shift(Millis{-250});
  EXPECT_EQ(clock.shift(), Millis{-250});
  EXPECT_EQ(to_unix_ms(clock.now()), 9'751);
}

TEST(SystemClock, IsNearTheRealTime) {
  SystemClock clock;
  const auto real = time_point_cast<Millis>(system_clock::now());
  EXPECT_LE(std::chrono::abs(clock.now() - real), Millis{1'000});
}

}  // namespace
}  // namespace errand::core
