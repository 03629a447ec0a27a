#include "core/schedule_json.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <string>

namespace errand::core {
namespace {

namespace json = boost::json;

// Answers of the server before the codec, byte for byte: a schedule whose
// payload Boost.JSON could not keep (1e400, 2.50, -0.0), and a paused one
// after a trigger.
constexpr const char* kWeekday =
    R"({"name":"weekday-report","cron":"0 8 * * mon-fri","timezone":"Europe/Berlin",)"
    R"("queue":"reports","type":"daily_report","payload":{"format":"pdf","big":1e400,)"
    R"("n":[1,2.50,-0.0]},"priority":5,"max_attempts":3,"overlap":"skip","paused":false,)"
    R"("catch_up":"2h","source":"api","created_at":"2026-12-05T20:10:54.542Z",)"
    R"("updated_at":"2026-12-05T20:10:54.542Z","last_fired_at":null,"last_job":null,)"
    R"("next":[{"at":"2026-12-07T07:00:00.000Z","local":"2026-12-07T08:00:00+01:00"},)"
    R"({"at":"2026-12-08T07:00:00.000Z","local":"2026-12-08T08:00:00+01:00"}]})";
constexpr const char* kNightly =
    R"({"name":"nightly","cron":"@daily","timezone":"UTC","queue":"reports","type":null,)"
    R"("payload":null,"priority":null,"max_attempts":null,"overlap":"allow","paused":true,)"
    R"("catch_up":"1h","source":"api","created_at":"2026-12-05T20:10:54.618Z",)"
    R"("updated_at":"2026-12-05T20:10:54.857Z","last_fired_at":"2026-12-05T20:10:54.910Z",)"
    R"("last_job":{"id":"1M93X9G1Y0000","state":"queued"},"next":[]})";

TimePoint at(std::string_view text) {
  return parse_rfc3339(text).value();
}

ScheduleStatus full_schedule() {
  ScheduleStatus s;
  s.schedule.spec = ScheduleSpec{
      .name = "reindex",
      .cron = "*/15 9-17 * * mon-fri",
      .timezone = "America/New_York",
      .queue = "search",
      .type = "reindex",
      .payload = RawJson::trusted(R"({"x":123456789012345678901234567890,"s":"\u00e9"})"),
      .priority = -7,
      .max_attempts = 2,
      .overlap = Overlap::skip,
      .paused = false,
      .catch_up = Millis{1'800'000},
      .source = ScheduleSource::config,
  };
  s.schedule.created_at = at("2026-01-02T03:04:05.006Z");
  s.schedule.updated_at = at("2026-01-03T03:04:05.006Z");
  s.schedule.last_fired_at = at("2026-01-04T14:00:00.000Z");
  s.schedule.last_job_id = "1M93X9G1Y0000";
  s.next = {{.at = at("2026-01-05T14:15:00.000Z"), .local = "2026-01-05T09:15:00-05:00"},
            {.at = at("2026-01-05T14:30:00.000Z"), .local = "2026-01-05T09:30:00-05:00"}};
  return s;
}

void expect_same(const ScheduleStatus& a, const ScheduleStatus& b) {
  const auto &x = a.schedule.spec, &y = b.schedule.spec;
  EXPECT_EQ(x.name, y.name);
  EXPECT_EQ(x.cron, y.cron);
  EXPECT_EQ(x.timezone, y.timezone);
  EXPECT_EQ(x.queue, y.queue);
  EXPECT_EQ(x.type, y.type);
  EXPECT_EQ(x.payload, y.payload);
  EXPECT_EQ(x.priority, y.priority);
  EXPECT_EQ(x.max_attempts, y.max_attempts);
  EXPECT_EQ(x.overlap, y.overlap);
  EXPECT_EQ(x.paused, y.paused);
  EXPECT_EQ(x.catch_up, y.catch_up);
  EXPECT_EQ(x.source, y.source);
  EXPECT_EQ(a.schedule.created_at, b.schedule.created_at);
  EXPECT_EQ(a.schedule.updated_at, b.schedule.updated_at);
  EXPECT_EQ(a.schedule.last_fired_at, b.schedule.last_fired_at);
  EXPECT_EQ(a.schedule.last_job_id, b.schedule.last_job_id);
  EXPECT_EQ(a.schedule.last_job_state, b.schedule.last_job_state);
  EXPECT_EQ(a.next, b.next);
}

TEST(ScheduleJson, ReadsWhatTheServerWritesAndWritesItBackByteForByte) {
  auto s = schedule_from_json(kWeekday);
  ASSERT_TRUE(s) << s.error().message;
  const auto& spec = s->schedule.spec;
  EXPECT_EQ(spec.name, "weekday-report");
  EXPECT_EQ(spec.timezone, "Europe/Berlin");
  EXPECT_EQ(spec.payload.text(), R"({"format":"pdf","big":1e400,"n":[1,2.50,-0.0]})");
  EXPECT_EQ(spec.priority, 5);
  EXPECT_EQ(spec.max_attempts, 3);
  EXPECT_EQ(spec.overlap, Overlap::skip);
  EXPECT_EQ(spec.catch_up, Millis{7'200'000});
  EXPECT_EQ(spec.source, ScheduleSource::api);
  EXPECT_FALSE(s->schedule.last_fired_at);
  EXPECT_TRUE(s->schedule.last_job_id.empty());
  ASSERT_EQ(s->next.size(), 2u);
  EXPECT_EQ(s->next[1].at, at("2026-12-08T07:00:00.000Z"));
  EXPECT_EQ(s->next[1].local, "2026-12-08T08:00:00+01:00");
  EXPECT_EQ(schedule_json(*s), kWeekday);
}

TEST(ScheduleJson, ALastJobAndNoPayloadWriteBackByteForByte) {
  auto s = schedule_from_json(kNightly);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_TRUE(s->schedule.spec.type.empty());
  EXPECT_TRUE(s->schedule.spec.payload.empty());
  EXPECT_FALSE(s->schedule.spec.priority);
  EXPECT_TRUE(s->schedule.spec.paused);
  EXPECT_EQ(s->schedule.last_job_id, "1M93X9G1Y0000");
  EXPECT_EQ(s->schedule.last_job_state, JobState::queued);
  EXPECT_TRUE(s->next.empty());
  EXPECT_EQ(schedule_json(*s), kNightly);
}

TEST(ScheduleJson, AListWritesBackByteForByte) {
  const std::string list = std::string(R"({"schedules":[)") + kNightly + "," + kWeekday + "]}";
  auto all = schedule_list_from_json(list);
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[1].schedule.spec.name, "weekday-report");
  EXPECT_EQ(schedule_list_json(*all), list);
  EXPECT_EQ(schedule_list_json({}), R"({"schedules":[]})");
}

TEST(ScheduleJson, RoundTripsEveryField) {
  const auto s = full_schedule();
  auto back = schedule_from_json(schedule_json(s));
  ASSERT_TRUE(back) << back.error().message;
  expect_same(*back, s);
  auto gone = s;  // the last job was pruned: its state is null
  gone.schedule.last_job_state.reset();
  auto gone_back = schedule_from_json(schedule_json(gone));
  ASSERT_TRUE(gone_back);
  expect_same(*gone_back, gone);
  auto done = s;
  done.schedule.last_job_state = JobState::succeeded;
  auto done_back = schedule_from_json(schedule_json(done));
  ASSERT_TRUE(done_back);
  expect_same(*done_back, done);
}

TEST(ScheduleJson, ReadsAPrettyPrintedAnswer) {
  auto s = schedule_from_json(json::serialize(json::parse(kNightly)) + "\n");
  ASSERT_TRUE(s) << s.error().message;
  auto spaced = schedule_from_json(R"( { "name" : "a", "cron" : "@daily", "timezone" : "UTC",
    "queue" : "q", "payload" : { "k" : [ 1, 2 ] }, "overlap" : "allow",
    "created_at" : "2026-12-05T20:10:54.618Z", "updated_at" : "2026-12-05T20:10:54.618Z" } )");
  ASSERT_TRUE(spaced) << spaced.error().message;
  EXPECT_EQ(spaced->schedule.spec.payload.text(), R"({"k":[1,2]})");
  EXPECT_TRUE(spaced->next.empty());
}

TEST(ScheduleJson, AMalformedAnswerNamesTheField) {
  auto v = json::parse(kNightly).as_object();
  v["next"] = json::array{json::object{{"at", 5}, {"local", "x"}}};
  auto next = schedule_from_json(json::serialize(v));
  ASSERT_FALSE(next);
  EXPECT_EQ(next.error().code, errc::invalid_argument);
  EXPECT_EQ(next.error().field, "next[0].at");
  v["next"] = "soon";
  auto not_array = schedule_from_json(json::serialize(v));
  ASSERT_FALSE(not_array);
  EXPECT_EQ(not_array.error().field, "next");
  v = json::parse(kNightly).as_object();
  v["overlap"] = "queue";
  auto overlap = schedule_from_json(json::serialize(v));
  ASSERT_FALSE(overlap);
  EXPECT_EQ(overlap.error().field, "overlap");
  v = json::parse(kNightly).as_object();
  v["last_job"] = json::object{{"id", "J"}, {"state", "bogus"}};
  auto last = schedule_from_json(json::serialize(v));
  ASSERT_FALSE(last);
  EXPECT_EQ(last.error().field, "last_job.state");
  auto list = schedule_list_from_json(R"({"schedules":[{"name":1}]})");
  ASSERT_FALSE(list);
  EXPECT_EQ(list.error().field, "schedules[0].name");
  EXPECT_FALSE(schedule_list_from_json(R"({"schedules":{}})"));
  EXPECT_FALSE(schedule_list_from_json(R"({"schedules":)"));
  EXPECT_FALSE(schedule_from_json("[]"));
  EXPECT_FALSE(schedule_from_json(""));
}

}  // namespace
}  // namespace errand::core
