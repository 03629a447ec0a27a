// The client's schedule wire format: request bodies, and responses parsed
// and rendered back (for --json) without losing anything.
#include "client/wire.hpp"

#include "core/schedule_json.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace errand::client {
namespace {
namespace json = boost::json;

constexpr const char* kSchedule = R"({"name":"weekday-report","cron":"0 8 * * mon-fri",
  "timezone":"Europe/Berlin","queue":"reports","type":"daily_report","payload":{"format":"pdf"},
  "priority":5,"max_attempts":3,"overlap":"skip","paused":false,"catch_up":"2h","source":"api",
  "created_at":"2026-03-02T09:12:00.000Z","updated_at":"2026-03-02T09:12:00.000Z",
  "last_fired_at":"2026-03-27T07:00:00.000Z",
  "last_job":{"id":"01JDQ7Z3K5X9V2M4N6P8R0T2W4","state":"succeeded"},
  "next":[{"at":"2026-03-30T06:00:00.000Z","local":"2026-03-30T08:00:00+02:00"}]})";

TEST(ScheduleWire, BodySendsOnlyWhatIsSet) {
  ScheduleOptions o;
  o.cron = "@daily";
  o.queue = "q";
  EXPECT_EQ(json::serialize(wire::schedule_body(o)), R"({"cron":"@daily","queue":"q"})");
  o.timezone = "Europe/Berlin";
  o.payload = json::parse(R"({"a":1})");
  o.priority = -1;
  o.max_attempts = 2;
  o.overlap = "skip";
  o.paused = true;
  o.catch_up = core::Millis{1'800'000};
  EXPECT_EQ(json::parse(json::serialize(wire::schedule_body(o))),
            json::parse(R"({"cron":"@daily","queue":"q","timezone":"Europe/Berlin",
              "payload":{"a":1},"priority":-1,"max_attempts":2,"overlap":"skip","paused":true,
              "catch_up":"30m"})"));
}

TEST(ScheduleWire, ParsesAndRendersBackTheSameJson) {
  auto s = wire::parse_schedule(kSchedule);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->schedule.spec.name, "weekday-report");
  EXPECT_EQ(s->schedule.spec.catch_up, core::Millis{7'200'000});
  EXPECT_EQ(s->schedule.spec.payload.text(), R"({"format":"pdf"})");
  EXPECT_EQ(s->schedule.last_job_state, core::JobState::succeeded);
  ASSERT_EQ(s->next.size(), 1u);
  EXPECT_EQ(s->next[0].local, "2026-03-30T08:00:00+02:00");
  EXPECT_EQ(json::parse(core::schedule_json(*s)), json::parse(kSchedule));
  auto list = wire::parse_schedules(std::string(R"({"schedules":[)") + kSchedule + "]}");
  ASSERT_TRUE(list) << list.error().message;
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].schedule.spec.queue, "reports");
}

TEST(ScheduleWire, AMalformedAnswerNamesTheField) {
  auto v = json::parse(kSchedule);
  v.as_object()["next"] = json::array{json::object{{"at", 5}, {"local", "x"}}};
  auto s = wire::parse_schedule(json::serialize(v));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, core::errc::internal);
  EXPECT_EQ(s.error().field, "next[0].at");
  EXPECT_EQ(s.error().message, "unexpected answer from errand: next[0].at is not an RFC 3339 time");
  auto list = wire::parse_schedules(R"({"schedules":[{"name":1}]})");
  ASSERT_FALSE(list);
  EXPECT_EQ(list.error().field, "schedules[0].name");
  EXPECT_FALSE(wire::parse_schedules(R"({"schedules":)"));
  EXPECT_EQ(wire::schedule_target("a b", "/pause"), "/v1/schedules/a%20b/pause");
}

}  // namespace
}  // namespace errand::client
