// Unit tests of core/schedule: validation, latest_fire's bisection against a
// step-by-step reference, and due_fire's catch-up rule.
#include "core/schedule.hpp"

#include <gtest/gtest.h>

namespace errand::core {
namespace {

using namespace std::chrono_literals;

TimePoint utc(std::string_view text) {
  return parse_rfc3339(text).value();
}

CompiledSchedule compiled(std::string cron, std::string zone = "UTC") {
  ScheduleSpec spec{
      .name = "s", .cron = std::move(cron), .timezone = std::move(zone), .queue = "q"};
  auto c = compile_schedule(spec);
  EXPECT_TRUE(c) << c.error().message;
  return c ? *c : CompiledSchedule{};
}

// The latest fire time in (after, until] by walking cron_next.
std::optional<TimePoint> walk(const CompiledSchedule& s, TimePoint after, TimePoint until) {
  std::optional<TimePoint> last;
  for (auto t = cron_next(s.cron, s.zone, after); t && *t <= until;
       t = cron_next(s.cron, s.zone, *t)) {
    last = t;
  }
  return last;
}

TEST(ScheduleTest, CompileNamesTheFieldAtFault) {
  const ScheduleSpec ok{.name = "nightly-1.a_b", .cron = "0 3 * * *", .queue = "q"};
  EXPECT_TRUE(compile_schedule(ok));
  struct Case {
    ScheduleSpec spec;
    std::string field;
  };
  auto with = [&](auto change) {
    ScheduleSpec s = ok;
    change(s);
    return s;
  };
  const Case cases[] = {
      {with([](auto& s) { s.name = "a b"; }), "name"},
      {with([](auto& s) { s.name = ""; }), "name"},
      {with([](auto& s) { s.name = "x:y"; }), "name"},
      {with([](auto& s) { s.cron = "0 24 * * *"; }), "cron"},
      {with([](auto& s) { s.timezone = "Nowhere/City"; }), "timezone"},
      {with([](auto& s) { s.queue = "Q"; }), "queue"},
      {with([](auto& s) { s.type = "has space"; }), "type"},
      {with([](auto& s) { s.priority = 2'000'000; }), "priority"},
      {with([](auto& s) { s.max_attempts = 0; }), "max_attempts"},
      {with([](auto& s) { s.catch_up = 8 * 24h; }), "catch_up"},
  };
  for (const auto& c : cases) {
    auto r = compile_schedule(c.spec);
    ASSERT_FALSE(r) << c.field;
    EXPECT_EQ(r.error().field, c.field) << r.error().message;
    EXPECT_EQ(r.error().code, errc::invalid_argument);
  }
}

TEST(ScheduleTest, RearmsOnlyForCronZoneOrResume) {
  const ScheduleSpec a{.name = "s", .cron = "0 3 * * *", .queue = "q"};
  ScheduleSpec b = a;
  b.payload = RawJson::trusted("1");
  b.queue = "other";
  b.catch_up = 0ms;
  EXPECT_FALSE(schedule_rearms(a, b));
  b.cron = "0 4 * * *";
  EXPECT_TRUE(schedule_rearms(a, b));
  ScheduleSpec z = a;
  z.timezone = "Europe/Berlin";
  EXPECT_TRUE(schedule_rearms(a, z));
  ScheduleSpec paused = a;
  paused.paused = true;
  EXPECT_TRUE(schedule_rearms(paused, a));
  EXPECT_FALSE(schedule_rearms(a, paused));
}

TEST(ScheduleTest, LatestFireMatchesAStepByStepWalk) {
  const std::pair<const char*, const char*> exprs[] = {
      {"* * * * * *", "UTC"},
      {"*/7 * * * *", "UTC"},
      {"0 3 L * *", "UTC"},
      {"30 2 * * *", "Europe/Berlin"},
      {"*/15 * * * *", "Europe/Berlin"},
      {"0 0 29 2 *", "UTC"},
      {"15 1,13 * * mon", "America/New_York"},
  };
  const TimePoint after = utc("2026-03-27T10:17:03.250Z");
  for (const auto& [expr, zone] : exprs) {
    const auto s = compiled(expr, zone);
    for (std::chrono::seconds span :
         {std::chrono::seconds(1), std::chrono::seconds(59), std::chrono::seconds(3600),
          std::chrono::seconds(26 * 3600), std::chrono::seconds(40 * 86400)}) {
      if (s.cron.has_seconds && span > std::chrono::seconds(3600)) continue;  // a slow walk
      EXPECT_EQ(latest_fire(s.cron, s.zone, after, after + span), walk(s, after, after + span))
          << expr << " " << zone << " over " << span.count() << "s";
    }
  }
}

TEST(ScheduleTest, LatestFireOverYearsIsCheap) {
  const auto s = compiled("* * * * * *");
  const auto t =
      latest_fire(s.cron, s.zone, utc("2000-01-01T00:00:00Z"), utc("2030-06-01T12:00:00.999Z"));
  EXPECT_EQ(t, utc("2030-06-01T12:00:00Z"));
  EXPECT_EQ(latest_fire(s.cron, s.zone, utc("2030-01-01T00:00:00Z"), utc("2030-01-01T00:00:00Z")),
            std::nullopt);
}

TEST(ScheduleTest, DueFireCatchesUpOnlyTheMostRecentTimeWithinTheWindow) {
  const auto hourly = compiled("0 * * * *");
  const TimePoint fired = utc("2026-05-01T08:00:00Z");
  const TimePoint online = utc("2026-05-01T12:20:00Z");
  auto d = due_fire(hourly, fired, online, online, 1h);
  EXPECT_EQ(d.fire, utc("2026-05-01T12:00:00Z"));
  EXPECT_EQ(d.next, utc("2026-05-01T13:00:00Z"));

  d = due_fire(hourly, fired, online, online, 15min);
  EXPECT_EQ(d.fire, std::nullopt) << "20 minutes old, window 15";
  d = due_fire(hourly, fired, online, online, 20min);
  EXPECT_EQ(d.fire, utc("2026-05-01T12:00:00Z")) << "the window is inclusive";

  // While running, a due time fires however late the tick is.
  d = due_fire(hourly, utc("2026-05-01T12:00:00Z"), online, utc("2026-05-01T15:59:00Z"), 0ms);
  EXPECT_EQ(d.fire, utc("2026-05-01T15:00:00Z"));

  d = due_fire(hourly, utc("2026-05-01T12:00:00Z"), online, online, 1h);
  EXPECT_EQ(d.fire, std::nullopt) << "already fired";
  EXPECT_EQ(d.next, utc("2026-05-01T13:00:00Z"));
}

// A tick more than one period late (a busy machine, or the server that would
// have fired died) fires the times it missed one after another, none skipped.
TEST(ScheduleTest, DueFireWhileRunningFiresMissedTimesInOrder) {
  const auto every_second = compiled("* * * * * *");
  const TimePoint online = utc("2026-05-01T12:00:00Z");
  const TimePoint fired = utc("2026-05-01T12:00:10Z");
  const TimePoint now = utc("2026-05-01T12:00:12.500Z");
  auto d = due_fire(every_second, fired, online, now, 1h);
  EXPECT_EQ(d.fire, utc("2026-05-01T12:00:11Z"));
  EXPECT_EQ(d.next, utc("2026-05-01T12:00:12Z")) << "due at once";
  d = due_fire(every_second, *d.fire, online, now, 1h);
  EXPECT_EQ(d.fire, utc("2026-05-01T12:00:12Z"));
  EXPECT_EQ(d.next, utc("2026-05-01T12:00:13Z"));
  // Older than catch_up: only the most recent fires.
  d = due_fire(every_second, fired, online, now, 0ms);
  EXPECT_EQ(d.fire, utc("2026-05-01T12:00:12Z"));
}

TEST(ScheduleTest, DueFireOfAnExpressionThatNeverFires) {
  const auto never = compiled("0 0 30 2 *");
  const auto d = due_fire(never, utc("2026-01-01T00:00:00Z"), utc("2026-01-01T00:00:00Z"),
                          utc("2026-06-01T00:00:00Z"), 1h);
  EXPECT_EQ(d.fire, std::nullopt);
  EXPECT_EQ(d.next, std::nullopt);
}

TEST(ScheduleTest, FireKeyAndNames) {
  EXPECT_EQ(schedule_fire_key("nightly", from_unix_ms(1'800'000'000'000)),
            "schedule:nightly:1800000000000");
  EXPECT_EQ(parse_overlap("skip"), Overlap::skip);
  EXPECT_EQ(parse_overlap("Skip"), std::nullopt);
  EXPECT_EQ(to_string(Overlap::allow), "allow");
  EXPECT_EQ(parse_schedule_source("config"), ScheduleSource::config);
}

}  // namespace
}  // namespace errand::core
