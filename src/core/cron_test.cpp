#include "core/cron.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace errand::core {
namespace {

using namespace std::chrono_literals;

CronExpr cron(std::string_view text) {
  auto r = parse_cron(text);
  EXPECT_TRUE(r.has_value()) << "\"" << text << "\": " << (r ? "" : r.error().message);
  return r ? *r : CronExpr{};
}

TimeZone zone(std::string_view name) {
  auto z = find_time_zone(name);
  EXPECT_TRUE(z.has_value()) << name << ": " << (z ? "" : z.error().message);
  return z ? *z : TimeZone{};
}

TimePoint at(std::string_view rfc3339) {
  auto t = parse_rfc3339(rfc3339);
  EXPECT_TRUE(t.has_value()) << rfc3339;
  return t ? *t : TimePoint{};
}

// The next fire time as local time with its offset, or "none".
std::string next(std::string_view expr, std::string_view tz, std::string_view after) {
  const TimeZone z = zone(tz);
  auto t = cron_next(cron(expr), z, at(after));
  return t ? format_in_zone(*t, z) : "none";
}

std::string parse_error(std::string_view text) {
  auto r = parse_cron(text);
  if (r) return "accepted";
  EXPECT_EQ(r.error().code, errc::invalid_argument);
  EXPECT_EQ(r.error().field, "cron");
  return r.error().message;
}

template <std::size_t N>
std::vector<int> bits(const std::bitset<N>& b) {
  std::vector<int> out;
  for (std::size_t i = 0; i < N; ++i) {
    if (b[i]) out.push_back(static_cast<int>(i));
  }
  return out;
}

using V = std::vector<int>;

// ---------------------------------------------------------------------------
// Parsing

TEST(ParseCron, FiveFieldsDefaultToSecondZero) {
  auto c = cron("* * * * *");
  EXPECT_FALSE(c.has_seconds);
  EXPECT_EQ(bits(c.seconds), V{0});
  EXPECT_EQ(c.minutes.count(), 60u);
  EXPECT_EQ(c.hours.count(), 24u);
  EXPECT_EQ(bits(c.days_of_month).size(), 31u);
  EXPECT_FALSE(c.days_of_month[0]);
  EXPECT_EQ(bits(c.months).size(), 12u);
  EXPECT_EQ(c.days_of_week.count(), 7u);
  EXPECT_TRUE(c.day_of_month_star);
  EXPECT_TRUE(c.day_of_week_star);
}

TEST(ParseCron, SixFieldsStartWithSeconds) {
  auto c = cron("*/20 5 4 3 2 1");
  EXPECT_TRUE(c.has_seconds);
  EXPECT_EQ(bits(c.seconds), (V{0, 20, 40}));
  EXPECT_EQ(bits(c.minutes), V{5});
  EXPECT_EQ(bits(c.hours), V{4});
  EXPECT_EQ(bits(c.days_of_month), V{3});
  EXPECT_EQ(bits(c.months), V{2});
  EXPECT_EQ(bits(c.days_of_week), V{1});
}

TEST(ParseCron, ListsRangesAndSteps) {
  EXPECT_EQ(bits(cron("1,5,7 * * * *").minutes), (V{1, 5, 7}));
  EXPECT_EQ(bits(cron("10-13 * * * *").minutes), (V{10, 11, 12, 13}));
  EXPECT_EQ(bits(cron("*/15 * * * *").minutes), (V{0, 15, 30, 45}));
  EXPECT_EQ(bits(cron("1-10/3 * * * *").minutes), (V{1, 4, 7, 10}));
  EXPECT_EQ(bits(cron("5/15 * * * *").minutes), (V{5, 20, 35, 50}));
  EXPECT_EQ(bits(cron("0 */6 * * *").hours), (V{0, 6, 12, 18}));
  EXPECT_EQ(bits(cron("0 0 */10 * *").days_of_month), (V{1, 11, 21, 31}));
  EXPECT_EQ(bits(cron("0 0 * */4 *").months), (V{1, 5, 9}));
  EXPECT_EQ(bits(cron("1-3,50-59/4,30 * * * *").minutes), (V{1, 2, 3, 30, 50, 54, 58}));
  EXPECT_EQ(bits(cron("07 * * * *").minutes), V{7});
}

TEST(ParseCron, MonthAndWeekdayNamesInAnyCase) {
  EXPECT_EQ(bits(cron("0 0 * JAN *").months), V{1});
  EXPECT_EQ(bits(cron("0 0 * jan,Jul,DEC *").months), (V{1, 7, 12}));
  EXPECT_EQ(bits(cron("0 0 * feb-apr *").months), (V{2, 3, 4}));
  EXPECT_EQ(bits(cron("0 0 * * mon-fri").days_of_week), (V{1, 2, 3, 4, 5}));
  EXPECT_EQ(bits(cron("0 0 * * MON-FRI").days_of_week), (V{1, 2, 3, 4, 5}));
  EXPECT_EQ(bits(cron("0 0 * * sun,Sat").days_of_week), (V{0, 6}));
  EXPECT_EQ(bits(cron("0 0 * * mon-wed/2").days_of_week), (V{1, 3}));
}

TEST(ParseCron, SevenIsSundayToo) {
  EXPECT_EQ(bits(cron("0 0 * * 7").days_of_week), V{0});
  EXPECT_EQ(bits(cron("0 0 * * 5-7").days_of_week), (V{0, 5, 6}));
  EXPECT_EQ(bits(cron("0 0 * * sat-sun").days_of_week), (V{0, 6}));  // sun as the end is 7
  EXPECT_EQ(bits(cron("0 0 * * 0,7").days_of_week), V{0});
  EXPECT_EQ(bits(cron("0 0 * * */2").days_of_week), (V{0, 2, 4, 6}));
  EXPECT_EQ(bits(cron("0 0 * * 1/2").days_of_week), (V{1, 3, 5}));
}

TEST(ParseCron, LastDayOfMonthAndQuestionMark) {
  auto l = cron("0 0 L * *");
  EXPECT_TRUE(l.last_day_of_month);
  EXPECT_TRUE(l.days_of_month.none());
  EXPECT_FALSE(l.day_of_month_star);
  auto both = cron("0 0 1,15,l * *");
  EXPECT_TRUE(both.last_day_of_month);
  EXPECT_EQ(bits(both.days_of_month), (V{1, 15}));
  auto q = cron("0 0 ? * mon");
  EXPECT_TRUE(q.day_of_month_star);
  EXPECT_EQ(bits(q.days_of_month).size(), 31u);
  EXPECT_FALSE(q.day_of_week_star);
  EXPECT_TRUE(cron("0 0 1 * ?").day_of_week_star);
}

TEST(ParseCron, StarFlagsFollowTheFirstCharacterAsVixieDoes) {
  EXPECT_TRUE(cron("0 0 */2 * 1").day_of_month_star);
  EXPECT_FALSE(cron("0 0 1-31 * 1").day_of_month_star);
  EXPECT_TRUE(cron("0 0 1 * */2").day_of_week_star);
  EXPECT_FALSE(cron("0 0 1 * 0-6").day_of_week_star);
}

TEST(ParseCron, MacrosInAnyCase) {
  struct Case {
    const char* macro;
    const char* same_as;
  };
  for (auto [macro, same_as] :
       {Case{"@yearly", "0 0 1 1 *"}, Case{"@annually", "0 0 1 1 *"}, Case{"@monthly", "0 0 1 * *"},
        Case{"@weekly", "0 0 * * 0"}, Case{"@daily", "0 0 * * *"}, Case{"@midnight", "0 0 * * *"},
        Case{"@hourly", "0 * * * *"}, Case{"@Daily", "0 0 * * *"}}) {
    SCOPED_TRACE(macro);
    auto m = cron(macro);
    auto f = cron(same_as);
    EXPECT_EQ(m.text, macro);
    EXPECT_EQ(m.minutes, f.minutes);
    EXPECT_EQ(m.hours, f.hours);
    EXPECT_EQ(m.days_of_month, f.days_of_month);
    EXPECT_EQ(m.months, f.months);
    EXPECT_EQ(m.days_of_week, f.days_of_week);
    EXPECT_EQ(m.day_of_month_star, f.day_of_month_star);
    EXPECT_EQ(m.day_of_week_star, f.day_of_week_star);
  }
}

TEST(ParseCron, BlanksAroundAndBetweenFieldsAndTheTextIsKeptTrimmed) {
  auto c = cron("  */5\t*  * * *\n");
  EXPECT_EQ(c.text, "*/5\t*  * * *");
  EXPECT_EQ(bits(c.minutes), (V{0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55}));
}

struct ErrorCase {
  const char* text;
  const char* message;
};

class ParseCronRejects : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ParseCronRejects, WithAMessagePointingAtTheField) {
  EXPECT_EQ(parse_error(GetParam().text), GetParam().message) << GetParam().text;
}

INSTANTIATE_TEST_SUITE_P(
    Messages, ParseCronRejects,
    ::testing::Values(
        ErrorCase{"", "cron: expected 5 or 6 fields, got 0"},
        ErrorCase{"   ", "cron: expected 5 or 6 fields, got 0"},
        ErrorCase{"* * * *", "cron: expected 5 or 6 fields, got 4"},
        ErrorCase{"* * * * * * *", "cron: expected 5 or 6 fields, got 7"},
        ErrorCase{"0 25 * * *", "cron: field 2 (hour): 25 is out of range 0-23"},
        ErrorCase{"60 * * * *", "cron: field 1 (minute): 60 is out of range 0-59"},
        ErrorCase{"0 0 0 * *", "cron: field 3 (day-of-month): 0 is out of range 1-31"},
        ErrorCase{"0 0 32 * *", "cron: field 3 (day-of-month): 32 is out of range 1-31"},
        ErrorCase{"0 0 * 13 *", "cron: field 4 (month): 13 is out of range 1-12"},
        ErrorCase{"0 0 * 0 *", "cron: field 4 (month): 0 is out of range 1-12"},
        ErrorCase{"0 0 * * 8", "cron: field 5 (day-of-week): 8 is out of range 0-7"},
        ErrorCase{"99999999999 * * * *",
                  "cron: field 1 (minute): 99999999999 is out of range 0-59"},
        ErrorCase{"0 0 * * fry", "cron: field 5 (day-of-week): unknown name \"fry\""},
        ErrorCase{"0 0 * * monday", "cron: field 5 (day-of-week): unknown name \"monday\""},
        ErrorCase{"0 0 * foo *", "cron: field 4 (month): unknown name \"foo\""},
        ErrorCase{"0 0 * * L", "cron: field 5 (day-of-week): unknown name \"L\""},
        ErrorCase{"60 0 0 * * *", "cron: field 1 (second): 60 is out of range 0-59"},
        ErrorCase{"0 60 0 * * *", "cron: field 2 (minute): 60 is out of range 0-59"},
        ErrorCase{"0 0 24 * * *", "cron: field 3 (hour): 24 is out of range 0-23"},
        ErrorCase{"0 0 0 * * 9", "cron: field 6 (day-of-week): 9 is out of range 0-7"},
        ErrorCase{"*/0 * * * *", "cron: field 1 (minute): step 0 is out of range 1-59"},
        ErrorCase{"*/60 * * * *", "cron: field 1 (minute): step 60 is out of range 1-59"},
        ErrorCase{"0 */24 * * *", "cron: field 2 (hour): step 24 is out of range 1-23"},
        ErrorCase{"0 0 * * */7", "cron: field 5 (day-of-week): step 7 is out of range 1-6"},
        ErrorCase{"*/x * * * *", "cron: field 1 (minute): step \"x\" is not a number"},
        ErrorCase{"*/ * * * *", "cron: field 1 (minute): step \"\" is not a number"},
        ErrorCase{"1/2/3 * * * *", "cron: field 1 (minute): step \"2/3\" is not a number"},
        ErrorCase{"5-1 * * * *", "cron: field 1 (minute): range 5-1 goes backwards"},
        ErrorCase{"0 0 * * fri-mon", "cron: field 5 (day-of-week): range fri-mon goes backwards"},
        ErrorCase{"-5 * * * *", "cron: field 1 (minute): \"-5\" is not a valid range"},
        ErrorCase{"5- * * * *", "cron: field 1 (minute): \"5-\" is not a valid range"},
        ErrorCase{"1-2-3 * * * *", "cron: field 1 (minute): \"1-2-3\" is not a valid range"},
        ErrorCase{"1,,2 * * * *", "cron: field 1 (minute): empty list item in \"1,,2\""},
        ErrorCase{"1, * * * *", "cron: field 1 (minute): empty list item in \"1,\""},
        ErrorCase{"a * * * *", "cron: field 1 (minute): \"a\" is not a number"},
        ErrorCase{"5x * * * *", "cron: field 1 (minute): \"5x\" is not a number"},
        ErrorCase{"0 L * * *", "cron: field 2 (hour): \"L\" is not a number"},
        ErrorCase{"1.5 * * * *", "cron: field 1 (minute): \"1.5\" is not a number"},
        ErrorCase{"? * * * *", "cron: field 1 (minute): \"?\" is only allowed in the day fields"},
        ErrorCase{"0 0 * ? *", "cron: field 4 (month): \"?\" is only allowed in the day fields"},
        ErrorCase{"0 0 L/2 * *", "cron: field 3 (day-of-month): \"L\" cannot take a step"},
        ErrorCase{"0 0 L-3 * *", "cron: field 3 (day-of-month): \"L\" is not a number"},
        ErrorCase{"@reboot",
                  "cron: unknown macro \"@reboot\" (expected @yearly, @annually, "
                  "@monthly, @weekly, @daily, @midnight or @hourly)"},
        ErrorCase{"@",
                  "cron: unknown macro \"@\" (expected @yearly, @annually, @monthly, "
                  "@weekly, @daily, @midnight or @hourly)"},
        ErrorCase{"@daily 5", "cron: \"@daily\" takes no other fields"}));

// ---------------------------------------------------------------------------
// Time zones

TEST(TimeZone, DefaultAndEmptyNameAreUtc) {
  EXPECT_TRUE(TimeZone{}.is_utc());
  EXPECT_EQ(TimeZone{}.name(), "UTC");
  EXPECT_TRUE(zone("").is_utc());
  EXPECT_TRUE(zone("UTC").is_utc());
  EXPECT_EQ(zone("Etc/UTC").name(), "Etc/UTC");
}

TEST(TimeZone, FindsIanaNames) {
  for (const char* name : {"Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
                           "Asia/Kolkata", "Pacific/Chatham", "America/Sao_Paulo"}) {
    auto z = find_time_zone(name);
    ASSERT_TRUE(z) << name << ": " << z.error().message;
    EXPECT_EQ(z->name(), name);
    EXPECT_FALSE(z->is_utc());
  }
  EXPECT_EQ(zone("Europe/Berlin"), zone("Europe/Berlin"));
  EXPECT_FALSE(zone("Europe/Berlin") == zone("Europe/Paris"));
}

TEST(TimeZone, UnknownNameIsAClearError) {
  for (const char* name : {"Mars/Base", "../etc/passwd", "/usr/share/zoneinfo/UTC", "+01:00"}) {
    auto z = find_time_zone(name);
    ASSERT_FALSE(z) << name;
    EXPECT_EQ(z.error().code, errc::invalid_argument);
    EXPECT_EQ(z.error().field, "timezone");
    EXPECT_EQ(z.error().message, std::string("timezone: unknown time zone \"") + name + "\"");
  }
}

TEST(TimeZone, AMistypedOrBareCityNameSuggestsTheZone) {
  for (const auto& [name, meant] :
       std::vector<std::pair<std::string, std::string>>{{"Berlin", "Europe/Berlin"},
                                                        {"europe/berlin", "Europe/Berlin"},
                                                        {"Europe/Berlin ", "Europe/Berlin"},
                                                        {"new york", "America/New_York"}}) {
    auto z = find_time_zone(name);
    ASSERT_FALSE(z) << name;
    EXPECT_EQ(z.error().field, "timezone");
    EXPECT_EQ(z.error().message,
              "timezone: unknown time zone \"" + name + "\"; did you mean \"" + meant + "\"?");
  }
}

TEST(TimeZone, UtcOffsetFollowsDaylightSaving) {
  EXPECT_EQ(utc_offset(TimeZone{}, at("2026-07-01T00:00:00Z")), 0s);
  EXPECT_EQ(utc_offset(zone("Europe/Berlin"), at("2026-01-01T00:00:00Z")), 1h);
  EXPECT_EQ(utc_offset(zone("Europe/Berlin"), at("2026-07-01T00:00:00Z")), 2h);
  EXPECT_EQ(utc_offset(zone("America/New_York"), at("2026-01-01T00:00:00Z")), -5h);
  EXPECT_EQ(utc_offset(zone("Asia/Kolkata"), at("2026-01-01T00:00:00Z")), 5h + 30min);
  EXPECT_EQ(utc_offset(zone("Australia/Lord_Howe"), at("2026-07-01T00:00:00Z")), 10h + 30min);
  EXPECT_EQ(utc_offset(zone("Australia/Lord_Howe"), at("2026-12-01T00:00:00Z")), 11h);
}

TEST(TimeZone, FormatInZoneShowsLocalTimeAndOffset) {
  EXPECT_EQ(format_in_zone(at("2026-10-25T00:30:00Z"), zone("Europe/Berlin")),
            "2026-10-25T02:30:00+02:00");
  EXPECT_EQ(format_in_zone(at("2026-10-25T01:30:00Z"), zone("Europe/Berlin")),
            "2026-10-25T02:30:00+01:00");
  EXPECT_EQ(format_in_zone(at("2026-01-01T04:59:59.250Z"), zone("America/New_York")),
            "2025-12-31T23:59:59.250-05:00");
  EXPECT_EQ(format_in_zone(at("2026-01-01T00:00:00Z"), zone("Asia/Kolkata")),
            "2026-01-01T05:30:00+05:30");
  EXPECT_EQ(format_in_zone(at("2026-01-01T00:00:00Z"), zone("America/St_Johns")),
            "2025-12-31T20:30:00-03:30");
  EXPECT_EQ(format_in_zone(at("1969-12-31T23:59:59Z"), TimeZone{}), "1969-12-31T23:59:59Z");
}

// ---------------------------------------------------------------------------
// Next fire time: a table of expression, zone, instant, expected next

struct NextCase {
  const char* expr;
  const char* tz;
  const char* after;
  const char* expected;  // local time with offset, or "none"
};

void PrintTo(const NextCase& c, std::ostream* os) {
  *os << "\"" << c.expr << "\" in " << c.tz << " after " << c.after;
}

class CronNext : public ::testing::TestWithParam<NextCase> {};

TEST_P(CronNext, IsTheFirstFireTimeStrictlyAfter) {
  EXPECT_EQ(next(GetParam().expr, GetParam().tz, GetParam().after), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Utc, CronNext,
    ::testing::Values(
        NextCase{"* * * * *", "UTC", "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z"},
        NextCase{"* * * * *", "UTC", "2026-01-01T00:00:30.500Z", "2026-01-01T00:01:00Z"},
        NextCase{"* * * * *", "UTC", "2026-01-01T00:00:59.999Z", "2026-01-01T00:01:00Z"},
        NextCase{"*/5 * * * *", "UTC", "2026-01-01T00:03:00Z", "2026-01-01T00:05:00Z"},
        NextCase{"*/5 * * * *", "UTC", "2026-01-01T00:05:00Z", "2026-01-01T00:10:00Z"},
        NextCase{"*/5 * * * *", "UTC", "2026-01-01T23:55:00Z", "2026-01-02T00:00:00Z"},
        NextCase{"0 * * * *", "UTC", "2026-01-01T00:59:59.999Z", "2026-01-01T01:00:00Z"},
        NextCase{"15,45 * * * *", "UTC", "2026-01-01T00:20:00Z", "2026-01-01T00:45:00Z"},
        NextCase{"1-30/2 * * * *", "UTC", "2026-01-01T00:29:00Z", "2026-01-01T01:01:00Z"},
        NextCase{"5/15 * * * *", "UTC", "2026-01-01T00:50:00Z", "2026-01-01T01:05:00Z"},
        NextCase{"0 9 * * *", "UTC", "2026-01-01T09:00:00Z", "2026-01-02T09:00:00Z"},
        NextCase{"0 9 * * mon-fri", "UTC", "2026-01-02T10:00:00Z", "2026-01-05T09:00:00Z"},
        NextCase{"0 9 * * MON-FRI", "UTC", "2026-01-02T10:00:00Z", "2026-01-05T09:00:00Z"},
        NextCase{"0 9 * * 1-5", "UTC", "2026-01-02T10:00:00Z", "2026-01-05T09:00:00Z"},
        NextCase{"0 0 * * 0", "UTC", "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z"},
        NextCase{"0 0 * * 7", "UTC", "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z"},
        NextCase{"0 0 * * sun", "UTC", "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z"},
        NextCase{"0 0 * * sat-sun", "UTC", "2026-01-01T00:00:00Z", "2026-01-03T00:00:00Z"},
        NextCase{"0 0 * * 5-7", "UTC", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"},
        NextCase{"0 0 1 * *", "UTC", "2026-01-15T00:00:00Z", "2026-02-01T00:00:00Z"},
        NextCase{"0 0 1 jan *", "UTC", "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"},
        NextCase{"0 0 1 JAN,jul *", "UTC", "2026-02-01T00:00:00Z", "2026-07-01T00:00:00Z"},
        NextCase{"0 12 * feb-apr *", "UTC", "2026-05-01T00:00:00Z", "2027-02-01T12:00:00Z"},
        NextCase{"59 23 31 12 *", "UTC", "2026-12-31T23:59:00Z", "2027-12-31T23:59:00Z"},
        NextCase{"0 0 1 1 *", "UTC", "2026-12-31T23:59:59.999Z", "2027-01-01T00:00:00Z"}));

INSTANTIATE_TEST_SUITE_P(
    MonthEndsAndLeapYears, CronNext,
    ::testing::Values(
        NextCase{"0 0 31 * *", "UTC", "2026-01-31T00:00:00Z", "2026-03-31T00:00:00Z"},
        NextCase{"0 0 31 * *", "UTC", "2026-04-01T00:00:00Z", "2026-05-31T00:00:00Z"},
        NextCase{"0 0 30 * *", "UTC", "2026-01-30T00:00:00Z", "2026-03-30T00:00:00Z"},
        NextCase{"0 0 L * *", "UTC", "2026-01-31T00:00:00Z", "2026-02-28T00:00:00Z"},
        NextCase{"0 0 L * *", "UTC", "2026-04-15T00:00:00Z", "2026-04-30T00:00:00Z"},
        NextCase{"0 0 L * *", "UTC", "2026-12-31T00:00:00Z", "2027-01-31T00:00:00Z"},
        NextCase{"0 0 L 2 *", "UTC", "2027-03-01T00:00:00Z", "2028-02-29T00:00:00Z"},
        NextCase{"0 0 L 2 *", "UTC", "2028-03-01T00:00:00Z", "2029-02-28T00:00:00Z"},
        NextCase{"0 0 L 2 *", "UTC", "2099-03-01T00:00:00Z", "2100-02-28T00:00:00Z"},
        NextCase{"0 0 L 2 *", "UTC", "2399-03-01T00:00:00Z", "2400-02-29T00:00:00Z"},
        NextCase{"0 0 1,L * *", "UTC", "2026-02-01T00:00:00Z", "2026-02-28T00:00:00Z"},
        NextCase{"0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z", "2028-02-29T00:00:00Z"},
        NextCase{"0 0 29 2 *", "UTC", "2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"},
        NextCase{"0 0 29 2 *", "UTC", "2096-03-01T00:00:00Z", "2104-02-29T00:00:00Z"},
        NextCase{"0 0 29 2 *", "UTC", "2399-01-01T00:00:00Z", "2400-02-29T00:00:00Z"},
        NextCase{"0 0 29 * *", "UTC", "2026-01-29T00:00:00Z", "2026-03-29T00:00:00Z"},
        NextCase{"0 0 29 * *", "UTC", "2028-01-29T00:00:00Z", "2028-02-29T00:00:00Z"}));

INSTANTIATE_TEST_SUITE_P(
    VixieDayFields, CronNext,
    ::testing::Values(
        // Both restricted: either matches.
        NextCase{"0 0 1,15 * 5", "UTC", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"},
        NextCase{"0 0 1,15 * 5", "UTC", "2026-01-10T00:00:00Z", "2026-01-15T00:00:00Z"},
        NextCase{"0 0 13 * fri", "UTC", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"},
        NextCase{"0 0 L * 5", "UTC", "2026-01-24T00:00:00Z", "2026-01-30T00:00:00Z"},
        NextCase{"0 0 L * 5", "UTC", "2026-01-30T00:00:00Z", "2026-01-31T00:00:00Z"},
        NextCase{"0 0 1 * 1", "UTC", "2026-01-01T00:00:00Z", "2026-01-05T00:00:00Z"},
        NextCase{"0 0 31 2 mon", "UTC", "2026-01-01T00:00:00Z", "2026-02-02T00:00:00Z"},
        // A field starting with `*` or `?` makes both required.
        NextCase{"0 0 */2 * 5", "UTC", "2026-01-01T00:00:00Z", "2026-01-09T00:00:00Z"},
        NextCase{"0 0 */2 * 5", "UTC", "2026-01-23T00:00:00Z", "2026-02-13T00:00:00Z"},
        NextCase{"0 0 29 2 */6", "UTC", "2026-01-01T00:00:00Z", "2032-02-29T00:00:00Z"},
        NextCase{"0 0 ? * mon", "UTC", "2026-01-01T00:00:00Z", "2026-01-05T00:00:00Z"},
        NextCase{"0 0 13 * ?", "UTC", "2026-01-01T00:00:00Z", "2026-01-13T00:00:00Z"},
        NextCase{"0 0 * * 1", "UTC", "2026-01-05T00:00:00Z", "2026-01-12T00:00:00Z"},
        NextCase{"0 0 13 * *", "UTC", "2026-01-01T00:00:00Z", "2026-01-13T00:00:00Z"}));

INSTANTIATE_TEST_SUITE_P(
    SecondsAndMacros, CronNext,
    ::testing::Values(
        NextCase{"*/10 * * * * *", "UTC", "2026-01-01T00:00:05Z", "2026-01-01T00:00:10Z"},
        NextCase{"30 * * * * *", "UTC", "2026-01-01T00:00:30Z", "2026-01-01T00:01:30Z"},
        NextCase{"0 0 12 * * *", "UTC", "2026-01-01T12:00:00Z", "2026-01-02T12:00:00Z"},
        NextCase{"15-17 0 0 1 1 *", "UTC", "2026-01-01T00:00:16Z", "2026-01-01T00:00:17Z"},
        NextCase{"15-17 0 0 1 1 *", "UTC", "2026-01-01T00:00:17Z", "2027-01-01T00:00:15Z"},
        NextCase{"* * * * * *", "UTC", "2026-01-01T00:00:00.999Z", "2026-01-01T00:00:01Z"},
        NextCase{"59 59 23 31 12 *", "UTC", "2026-06-01T00:00:00Z", "2026-12-31T23:59:59Z"},
        NextCase{"@yearly", "UTC", "2026-06-01T00:00:00Z", "2027-01-01T00:00:00Z"},
        NextCase{"@annually", "UTC", "2026-06-01T00:00:00Z", "2027-01-01T00:00:00Z"},
        NextCase{"@monthly", "UTC", "2026-01-31T00:00:00Z", "2026-02-01T00:00:00Z"},
        NextCase{"@weekly", "UTC", "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z"},
        NextCase{"@daily", "UTC", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"},
        NextCase{"@midnight", "UTC", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"},
        NextCase{"@hourly", "UTC", "2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z"}));

INSTANTIATE_TEST_SUITE_P(
    Zones, CronNext,
    ::testing::Values(
        NextCase{"0 8 * * *", "Europe/Berlin", "2026-01-15T08:00:00+01:00",
                 "2026-01-16T08:00:00+01:00"},
        NextCase{"0 8 * * *", "Europe/Berlin", "2026-07-01T00:00:00Z", "2026-07-01T08:00:00+02:00"},
        NextCase{"0 9 * * *", "Asia/Kolkata", "2026-01-01T00:00:00Z", "2026-01-01T09:00:00+05:30"},
        NextCase{"0 0 1 * *", "America/New_York", "2026-01-31T12:00:00-05:00",
                 "2026-02-01T00:00:00-05:00"},
        NextCase{"0 0 * * *", "America/New_York", "2026-01-01T03:00:00Z",
                 "2026-01-01T00:00:00-05:00"},
        NextCase{"@daily", "Asia/Tokyo", "2026-01-01T00:00:00+09:00",
                 "2026-01-02T00:00:00+09:00"}));

// Europe/Berlin: 2026-03-29 02:00 CET -> 03:00 CEST; 2026-10-25 03:00 CEST -> 02:00 CET.
INSTANTIATE_TEST_SUITE_P(
    BerlinDaylightSaving, CronNext,
    ::testing::Values(
        // Spring forward: 02:00..02:59 do not exist; they fire once, at 03:00 CEST.
        NextCase{"30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00+01:00",
                 "2026-03-29T03:00:00+02:00"},
        NextCase{"30 2 * * *", "Europe/Berlin", "2026-03-29T03:00:00+02:00",
                 "2026-03-30T02:30:00+02:00"},
        NextCase{"0 2 * * *", "Europe/Berlin", "2026-03-29T01:59:59+01:00",
                 "2026-03-29T03:00:00+02:00"},
        NextCase{"0 3 * * *", "Europe/Berlin", "2026-03-29T01:00:00+01:00",
                 "2026-03-29T03:00:00+02:00"},
        NextCase{"30 2 29 3 *", "Europe/Berlin", "2026-03-01T00:00:00+01:00",
                 "2026-03-29T03:00:00+02:00"},
        NextCase{"*/15 * * * *", "Europe/Berlin", "2026-03-29T01:45:00+01:00",
                 "2026-03-29T03:00:00+02:00"},
        NextCase{"*/15 * * * *", "Europe/Berlin", "2026-03-29T03:00:00+02:00",
                 "2026-03-29T03:15:00+02:00"},
        NextCase{"* * * * * *", "Europe/Berlin", "2026-03-29T01:59:59+01:00",
                 "2026-03-29T03:00:00+02:00"},
        NextCase{"* * * * * *", "Europe/Berlin", "2026-03-29T03:00:00+02:00",
                 "2026-03-29T03:00:01+02:00"},
        // Fall back: 02:00..02:59 happen twice; they fire at the first (CEST) only.
        NextCase{"30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00+02:00",
                 "2026-10-25T02:30:00+02:00"},
        NextCase{"30 2 * * *", "Europe/Berlin", "2026-10-25T02:30:00+02:00",
                 "2026-10-26T02:30:00+01:00"},
        NextCase{"30 2 * * *", "Europe/Berlin", "2026-10-25T02:10:00+01:00",
                 "2026-10-26T02:30:00+01:00"},
        NextCase{"*/15 * * * *", "Europe/Berlin", "2026-10-25T02:45:00+02:00",
                 "2026-10-25T03:00:00+01:00"},
        NextCase{"*/15 * * * *", "Europe/Berlin", "2026-10-25T02:00:00+01:00",
                 "2026-10-25T03:00:00+01:00"},
        NextCase{"0 * * * *", "Europe/Berlin", "2026-10-25T01:30:00+02:00",
                 "2026-10-25T02:00:00+02:00"},
        NextCase{"0 * * * *", "Europe/Berlin", "2026-10-25T02:00:00+02:00",
                 "2026-10-25T03:00:00+01:00"},
        NextCase{"0 3 * * *", "Europe/Berlin", "2026-10-25T02:59:00+02:00",
                 "2026-10-25T03:00:00+01:00"},
        NextCase{"59 59 2 * * *", "Europe/Berlin", "2026-10-25T02:59:59+02:00",
                 "2026-10-26T02:59:59+01:00"}));

// America/New_York: 2026-03-08 02:00 EST -> 03:00 EDT; 2026-11-01 02:00 EDT -> 01:00 EST.
INSTANTIATE_TEST_SUITE_P(
    NewYorkDaylightSaving, CronNext,
    ::testing::Values(NextCase{"30 2 * * *", "America/New_York", "2026-03-07T12:00:00-05:00",
                               "2026-03-08T03:00:00-04:00"},
                      NextCase{"30 2 * * *", "America/New_York", "2026-03-08T03:00:00-04:00",
                               "2026-03-09T02:30:00-04:00"},
                      NextCase{"0 9 * * 1-5", "America/New_York", "2026-03-06T09:00:00-05:00",
                               "2026-03-09T09:00:00-04:00"},
                      NextCase{"30 1 * * *", "America/New_York", "2026-10-31T12:00:00-04:00",
                               "2026-11-01T01:30:00-04:00"},
                      NextCase{"30 1 * * *", "America/New_York", "2026-11-01T01:30:00-04:00",
                               "2026-11-02T01:30:00-05:00"},
                      NextCase{"0 * * * *", "America/New_York", "2026-11-01T01:00:00-04:00",
                               "2026-11-01T02:00:00-05:00"},
                      NextCase{"*/20 * * * *", "America/New_York", "2026-11-01T01:20:00-05:00",
                               "2026-11-01T02:00:00-05:00"}));

// Australia/Lord_Howe moves by 30 minutes: 2026-04-05 02:00 (+11) -> 01:30
// (+10:30); 2026-10-04 02:00 (+10:30) -> 02:30 (+11).
INSTANTIATE_TEST_SUITE_P(
    LordHoweHalfHourDaylightSaving, CronNext,
    ::testing::Values(NextCase{"15 2 * * *", "Australia/Lord_Howe", "2026-10-03T12:00:00+10:30",
                               "2026-10-04T02:30:00+11:00"},
                      NextCase{"*/10 * * * *", "Australia/Lord_Howe", "2026-10-04T01:50:00+10:30",
                               "2026-10-04T02:30:00+11:00"},
                      NextCase{"*/10 * * * *", "Australia/Lord_Howe", "2026-10-04T02:30:00+11:00",
                               "2026-10-04T02:40:00+11:00"},
                      NextCase{"45 1 * * *", "Australia/Lord_Howe", "2026-04-04T12:00:00+11:00",
                               "2026-04-05T01:45:00+11:00"},
                      NextCase{"45 1 * * *", "Australia/Lord_Howe", "2026-04-05T01:45:00+11:00",
                               "2026-04-06T01:45:00+10:30"},
                      NextCase{"*/15 * * * *", "Australia/Lord_Howe", "2026-04-05T01:45:00+11:00",
                               "2026-04-05T02:00:00+10:30"}));

INSTANTIATE_TEST_SUITE_P(
    NeverAndFarFuture, CronNext,
    ::testing::Values(NextCase{"0 0 30 2 *", "UTC", "2026-01-01T00:00:00Z", "none"},
                      NextCase{"0 0 31 4,6,9,11 *", "UTC", "2026-01-01T00:00:00Z", "none"},
                      NextCase{"0 0 30,31 feb *", "Europe/Berlin", "2026-01-01T00:00:00Z", "none"},
                      NextCase{"0 0 31 2 *", "UTC", "2026-01-01T00:00:00Z", "none"},
                      NextCase{"0 0 1 1 *", "UTC", "9999-06-01T00:00:00Z", "none"},
                      NextCase{"0 0 29 2 *", "UTC", "9996-03-01T00:00:00Z", "none"},
                      NextCase{"0 0 1 1 *", "UTC", "9998-06-01T00:00:00Z", "9999-01-01T00:00:00Z"},
                      NextCase{"0 0 1 1 *", "UTC", "1899-06-01T00:00:00Z", "1900-01-01T00:00:00Z"},
                      NextCase{"0 0 1 1 *", "Europe/Berlin", "2099-06-01T00:00:00Z",
                               "2100-01-01T00:00:00+01:00"}));

TEST(CronNextN, ListsSuccessiveFireTimes) {
  const TimeZone berlin = zone("Europe/Berlin");
  auto times = cron_next_n(cron("*/15 * * * *"), berlin, at("2026-10-25T02:15:00+02:00"), 5);
  std::vector<std::string> local;
  for (auto t : times) local.push_back(format_in_zone(t, berlin));
  EXPECT_EQ(local,
            (std::vector<std::string>{"2026-10-25T02:30:00+02:00", "2026-10-25T02:45:00+02:00",
                                      "2026-10-25T03:00:00+01:00", "2026-10-25T03:15:00+01:00",
                                      "2026-10-25T03:30:00+01:00"}));
}

TEST(CronNextN, StopsWhenItNeverFires) {
  EXPECT_TRUE(cron_next_n(cron("0 0 30 2 *"), TimeZone{}, at("2026-01-01T00:00:00Z"), 5).empty());
  EXPECT_TRUE(cron_next_n(cron("* * * * *"), TimeZone{}, at("2026-01-01T00:00:00Z"), 0).empty());
  auto last = cron_next_n(cron("0 0 1 1 *"), TimeZone{}, at("9997-06-01T00:00:00Z"), 10);
  EXPECT_EQ(last.size(), 2u);
}

TEST(CronNext, SpringForwardFiresOnceForTheWholeGap) {
  const TimeZone berlin = zone("Europe/Berlin");
  auto times = cron_next_n(cron("*/15 * * * *"), berlin, at("2026-03-29T01:30:00+01:00"), 4);
  std::vector<std::string> local;
  for (auto t : times) local.push_back(format_in_zone(t, berlin));
  EXPECT_EQ(local,
            (std::vector<std::string>{"2026-03-29T01:45:00+01:00", "2026-03-29T03:00:00+02:00",
                                      "2026-03-29T03:15:00+02:00", "2026-03-29T03:30:00+02:00"}));
}

TEST(CronNext, FallBackNeverFiresTheSameWallClockTimeTwice) {
  // Every minute across the night of 2026-10-25 in Berlin: each local minute once.
  const TimeZone berlin = zone("Europe/Berlin");
  auto times = cron_next_n(cron("* * * * *"), berlin, at("2026-10-25T00:00:00+02:00"), 6 * 60);
  std::set<std::string> wall;
  for (auto t : times) {
    auto text = format_in_zone(t, berlin).substr(0, 16);
    EXPECT_TRUE(wall.insert(text).second) << "fired twice at " << text;
  }
  // Nothing fires during the repeated hour (00:00Z..01:00Z is CEST, 01:00Z..02:00Z repeats).
  for (auto t : times) {
    EXPECT_FALSE(t >= at("2026-10-25T01:00:00Z") && t < at("2026-10-25T02:00:00Z"))
        << format_rfc3339(t);
  }
}

TEST(CronNext, ExtremeInstantsAreClampedToYearsOneTo9999) {
  EXPECT_FALSE(cron_next(cron("* * * * * *"), TimeZone{}, TimePoint::max()));
  EXPECT_FALSE(cron_next(cron("* * * * * *"), zone("Europe/Berlin"), TimePoint::max()));
  EXPECT_FALSE(cron_next(cron("* * * * *"), TimeZone{}, at("9999-12-31T23:59:00Z")));
  auto first = cron_next(cron("0 0 1 1 *"), TimeZone{}, TimePoint::min());
  ASSERT_TRUE(first);
  EXPECT_EQ(format_in_zone(*first, TimeZone{}), "0001-01-01T00:00:00Z");
  auto berlin = cron_next(cron("0 0 1 1 *"), zone("Europe/Berlin"), TimePoint::min());
  ASSERT_TRUE(berlin);
  // Year 1 starts at 00:53 local time in Berlin (local mean time), after midnight.
  EXPECT_EQ(format_in_zone(*berlin, zone("Europe/Berlin")).substr(0, 19), "0002-01-01T00:00:00");
}

TEST(CronNext, JumpsByFieldsInsteadOfScanning) {
  // Sparse and never-firing expressions answer in microseconds, not by walking minutes.
  const TimeZone berlin = zone("Europe/Berlin");
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 200; ++i) {
    const TimePoint t = at("2026-01-01T00:00:00Z") + std::chrono::hours{i * 97};
    EXPECT_FALSE(cron_next(cron("0 0 30 2 *"), berlin, t));
    EXPECT_TRUE(cron_next(cron("59 59 23 29 2 *"), berlin, t));
    EXPECT_TRUE(cron_next(cron("0 0 29 2 */6"), berlin, t));
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
}

// ---------------------------------------------------------------------------
// Cross-check against a brute-force reference

// An independent reading of the rules: walk instants one step at a time and
// fire at instant u when some matching wall-clock time lies in (the latest
// wall-clock time shown before u, the wall-clock time at u]. That fires a
// gap's times once at its end and never fires a repeated hour twice.
class Reference {
 public:
  Reference(const CronExpr& c, const TimeZone& z, std::chrono::seconds step)
      : c_(c), z_(z), step_(step) {}

  std::vector<TimePoint> fires(TimePoint from, TimePoint to) const {
    std::vector<TimePoint> out;
    TimePoint u = std::chrono::floor<std::chrono::minutes>(from) - 2h;  // > any DST shift
    auto shown = local(u);
    for (u += step_; u <= to; u += step_) {
      const auto wall = local(u);
      if (wall <= shown) continue;
      bool fire = false;
      for (auto x = shown + step_; x <= wall && !fire; x += step_) fire = matches(x);
      shown = wall;
      if (fire && u > from) out.push_back(u);
    }
    return out;
  }

 private:
  using Wall = std::chrono::sys_seconds;  // wall-clock fields, read as if UTC

  Wall local(TimePoint u) const {
    return std::chrono::floor<std::chrono::seconds>(u) + utc_offset(z_, u);
  }

  bool matches(Wall w) const {
    const auto day = std::chrono::floor<std::chrono::days>(w);
    const std::chrono::year_month_day ymd{day};
    const std::chrono::hh_mm_ss<std::chrono::seconds> tod{w - day};
    const auto last = std::chrono::year_month_day_last{
        ymd.year(),
        std::chrono::month_day_last{
            ymd.month()}}.day();
    const unsigned d = unsigned(ymd.day());
    const bool dom = c_.days_of_month[d] || (c_.last_day_of_month && ymd.day() == last);
    const bool dow = c_.days_of_week[std::chrono::weekday{day}.c_encoding()];
    const bool day_ok = (c_.day_of_month_star || c_.day_of_week_star) ? dom && dow : dom || dow;
    return day_ok && c_.months[unsigned(ymd.month())] &&
           c_.hours[std::size_t(tod.hours().count())] &&
           c_.minutes[std::size_t(tod.minutes().count())] &&
           c_.seconds[std::size_t(tod.seconds().count())];
  }

  const CronExpr& c_;
  const TimeZone& z_;
  std::chrono::seconds step_;
};

std::vector<TimePoint> production_fires(const CronExpr& c, const TimeZone& z, TimePoint from,
                                        TimePoint to) {
  std::vector<TimePoint> out;
  for (auto t = cron_next(c, z, from); t && *t <= to; t = cron_next(c, z, *t)) {
    out.push_back(*t);
  }
  return out;
}

// Random fields: `*`, values, ranges, steps, lists, names, `L`, `?`, 7.
class RandomCron {
 public:
  explicit RandomCron(unsigned seed) : rng_(seed) {}

  std::int64_t pick_ms(std::int64_t below) {
    return std::uniform_int_distribution<std::int64_t>(0, below - 1)(rng_);
  }

  std::string expression(bool seconds) {
    std::string e;
    if (seconds) e += field(0, 59, kSeconds) + " ";
    e += field(0, 59, kMinute) + " " + field(0, 23, kHour) + " ";
    e += field(1, 31, kDom) + " " + field(1, 12, kMonth) + " " + field(0, 7, kDow);
    return e;
  }

 private:
  enum Kind { kSeconds, kMinute, kHour, kDom, kMonth, kDow };

  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

  std::string value(int v, Kind kind) {
    static constexpr const char* kMonths[] = {"jan", "FEB", "Mar", "apr", "may", "jun",
                                              "jul", "aug", "sep", "oct", "nov", "dec"};
    static constexpr const char* kDays[] = {"sun", "MON", "Tue", "wed", "thu", "fri", "sat"};
    if (kind == kMonth && pick(0, 3) == 0) return kMonths[v - 1];
    if (kind == kDow && v < 7 && pick(0, 3) == 0) return kDays[v];
    return std::to_string(v);
  }

  std::string item(int lo, int hi, Kind kind) {
    const int span = kind == kDow ? 6 : hi - lo;
    const int a = pick(lo, hi);
    const int b = pick(a, hi);
    switch (pick(0, 5)) {
      case 0:
        return "*/" + std::to_string(pick(1, std::min(span, 12)));
      case 1:
      case 2:
        return value(a, kind);
      case 3:
        return value(a, kind) + "-" + value(b, kind);
      case 4:
        return value(a, kind) + "-" + value(b, kind) + "/" + std::to_string(pick(1, span));
      default:
        return value(a, kind) + "/" + std::to_string(pick(1, span));
    }
  }

  std::string field(int lo, int hi, Kind kind) {
    const int roll = pick(0, 9);
    if (kind == kMonth && roll < 7) return "*";  // keep fires frequent in a short window
    if (roll < 3) return (kind == kDom || kind == kDow) && pick(0, 3) == 0 ? "?" : "*";
    if (kind == kDom && roll == 3) return pick(0, 1) ? "L" : "L," + item(lo, hi, kind);
    std::string f = item(lo, hi, kind);
    for (int n = pick(0, 2); n > 0; --n) f += "," + item(lo, hi, kind);
    return f;
  }

  std::mt19937 rng_;
};

std::string describe(const std::vector<TimePoint>& times, const TimeZone& z) {
  std::string out;
  for (std::size_t i = 0; i < times.size() && i < 12; ++i) out += format_in_zone(times[i], z) + " ";
  if (times.size() > 12) out += "... (" + std::to_string(times.size()) + ")";
  return out;
}

// From instants anywhere in [from, to) — inside gaps and repeated hours too —
// the next fire is the reference's first fire after it.
void expect_next_from_anywhere(const CronExpr& c, const TimeZone& z,
                               const std::vector<TimePoint>& fires, TimePoint from, TimePoint to,
                               RandomCron& random) {
  const auto span = std::chrono::duration_cast<Millis>(to - from).count();
  for (int k = 0; k < 20; ++k) {
    const TimePoint after = from + Millis{random.pick_ms(span)};
    const auto want = std::upper_bound(fires.begin(), fires.end(), after);
    if (want == fires.end()) continue;  // the next fire lies past the window
    ASSERT_EQ(cron_next(c, z, after), *want) << "after " << format_in_zone(after, z);
  }
}

struct Window {
  const char* zone;
  const char* center;  // a daylight-saving change, or a year or month end
};

constexpr Window kWindows[] = {
    {"UTC", "2026-01-01T00:00:00Z"},
    {"UTC", "2028-02-29T00:00:00Z"},
    {"Europe/Berlin", "2026-03-29T01:00:00Z"},
    {"Europe/Berlin", "2026-10-25T01:00:00Z"},
    {"Europe/Berlin", "2026-12-31T23:00:00Z"},
    {"America/New_York", "2026-03-08T07:00:00Z"},
    {"America/New_York", "2026-11-01T06:00:00Z"},
    {"Australia/Lord_Howe", "2026-04-04T15:00:00Z"},
    {"Australia/Lord_Howe", "2026-10-03T15:30:00Z"},
};

TEST(CronCrossCheck, RandomExpressionsAgreeWithMinuteByMinuteReference) {
  RandomCron random(20260325);
  int fired = 0;
  for (const Window& w : kWindows) {
    const TimeZone z = zone(w.zone);
    const TimePoint from = at(w.center) - std::chrono::days{1};
    const TimePoint to = at(w.center) + std::chrono::days{1};
    for (int i = 0; i < 25; ++i) {
      const std::string expr = random.expression(false);
      SCOPED_TRACE("\"" + expr + "\" in " + w.zone + " around " + w.center);
      const CronExpr c = cron(expr);
      const auto want = Reference(c, z, 60s).fires(from, to);
      const auto got = production_fires(c, z, from, to);
      ASSERT_EQ(describe(got, z), describe(want, z));
      ASSERT_EQ(got, want);
      fired += int(got.size());
      expect_next_from_anywhere(c, z, want, from, to, random);
    }
  }
  EXPECT_GT(fired, 1000);  // the random expressions fire, not just agree on nothing
}

TEST(CronCrossCheck, RandomSecondExpressionsAgreeWithSecondBySecondReference) {
  RandomCron random(7);
  int fired = 0;
  for (const Window& w : kWindows) {
    const TimeZone z = zone(w.zone);
    const TimePoint from = at(w.center) - 1h;
    const TimePoint to = at(w.center) + 1h;
    for (int i = 0; i < 4; ++i) {
      const std::string expr = random.expression(true);
      SCOPED_TRACE("\"" + expr + "\" in " + w.zone + " around " + w.center);
      const CronExpr c = cron(expr);
      const auto got = production_fires(c, z, from, to);
      const auto want = Reference(c, z, 1s).fires(from, to);
      ASSERT_EQ(got, want);
      fired += int(got.size());
      expect_next_from_anywhere(c, z, want, from, to, random);
    }
  }
  EXPECT_GT(fired, 100);
}

TEST(CronCrossCheck, EveryStartingMinuteAcrossBerlinTransitions) {
  // From each minute of the two transition nights, the next fire of a few
  // expressions is the reference's first fire after it.
  const TimeZone berlin = zone("Europe/Berlin");
  for (const char* expr : {"*/15 * * * *", "30 2 * * *", "0 3 * * *", "*/7 1-3 * * *"}) {
    const CronExpr c = cron(expr);
    for (const char* night : {"2026-03-28T22:00:00Z", "2026-10-24T22:00:00Z"}) {
      const auto all = Reference(c, berlin, 60s).fires(at(night), at(night) + std::chrono::days{2});
      for (int m = 0; m < 6 * 60; ++m) {
        const TimePoint after = at(night) + std::chrono::minutes{m};
        const auto want = std::upper_bound(all.begin(), all.end(), after);
        ASSERT_NE(want, all.end());
        ASSERT_EQ(cron_next(c, berlin, after), *want)
            << expr << " after " << format_in_zone(after, berlin);
      }
    }
  }
}

}  // namespace
}  // namespace errand::core
