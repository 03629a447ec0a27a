#include "core/job_json.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <string>

namespace errand::core {
namespace {

namespace json = boost::json;

const TimePoint kCreated = from_unix_ms(1'800'000'000'123);

json::object to_object(const Job& j) {
  return json::parse(job_json(j)).as_object();
}

Job full_job() {
  Job j;
  j.id = "01JDQ7Z3K5X9V2M4N6P8R0T2W4";
  j.queue = "emails";
  j.type = "welcome";
  j.payload = RawJson::trusted(
      R"({"to":"a@example.com","n":[1,2.5e0,true,null],"nested":{"k":"v"},"big":1e400})");
  j.state = JobState::running;
  j.priority = -42;
  j.run_at = kCreated + Millis{10'000};
  j.created_at = kCreated;
  j.started_at = kCreated + Millis{10'500};
  j.finished_at = kCreated + Millis{20'999};
  j.attempt = 3;
  j.max_attempts = 7;
  j.timeout = Millis{90'000};
  j.idempotency_key = "signup-42";
  j.tags = {"signup", "vip"};
  j.progress =
      Progress{.percent = 40,
               .message = "Importing rows 400/1000",
               .data = RawJson::trusted(R"({"rows":400,"x":123456789012345678901234567890})"),
               .updated_at = kCreated + Millis{15'001}};
  j.result = RawJson::trusted(R"({"sent":true,"id":"m-1","z":-0.0})");
  j.errors = {{1, kCreated + Millis{11'000}, "SMTP timeout"},
              {2, kCreated + Millis{12'000}, "lease expired"}};
  j.lease_id = "3f2a";
  j.worker = "host-1:77";
  j.lease_expires_at = kCreated + Millis{70'000};
  j.cancel_requested = true;
  return j;
}

void expect_same_job(const Job& a, const Job& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.queue, b.queue);
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.payload, b.payload);
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.priority, b.priority);
  EXPECT_EQ(a.run_at, b.run_at);
  EXPECT_EQ(a.created_at, b.created_at);
  EXPECT_EQ(a.started_at, b.started_at);
  EXPECT_EQ(a.finished_at, b.finished_at);
  EXPECT_EQ(a.attempt, b.attempt);
  EXPECT_EQ(a.max_attempts, b.max_attempts);
  EXPECT_EQ(a.timeout, b.timeout);
  EXPECT_EQ(a.idempotency_key, b.idempotency_key);
  EXPECT_EQ(a.tags, b.tags);
  ASSERT_EQ(a.progress.has_value(), b.progress.has_value());
  if (a.progress) {
    EXPECT_EQ(a.progress->percent, b.progress->percent);
    EXPECT_EQ(a.progress->message, b.progress->message);
    EXPECT_EQ(a.progress->data, b.progress->data);
    EXPECT_EQ(a.progress->updated_at, b.progress->updated_at);
  }
  EXPECT_EQ(a.result, b.result);
  ASSERT_EQ(a.errors.size(), b.errors.size());
  for (std::size_t i = 0; i < a.errors.size(); ++i) {
    EXPECT_EQ(a.errors[i].attempt, b.errors[i].attempt);
    EXPECT_EQ(a.errors[i].at, b.errors[i].at);
    EXPECT_EQ(a.errors[i].message, b.errors[i].message);
  }
  EXPECT_EQ(a.worker, b.worker);
  EXPECT_EQ(a.lease_expires_at, b.lease_expires_at);
  EXPECT_EQ(a.cancel_requested, b.cancel_requested);
}

TEST(JobJson, FieldsAsTheApiDocumentsThem) {
  const auto o = to_object(full_job());
  EXPECT_EQ(o.at("id"), "01JDQ7Z3K5X9V2M4N6P8R0T2W4");
  EXPECT_EQ(o.at("queue"), "emails");
  EXPECT_EQ(o.at("type"), "welcome");
  EXPECT_EQ(o.at("state"), "running");
  EXPECT_EQ(o.at("priority").as_int64(), -42);
  EXPECT_EQ(o.at("run_at"), "2027-01-15T08:00:10.123Z");
  EXPECT_EQ(o.at("created_at"), "2027-01-15T08:00:00.123Z");
  EXPECT_EQ(o.at("attempt").as_int64(), 3);
  EXPECT_EQ(o.at("max_attempts").as_int64(), 7);
  EXPECT_EQ(o.at("timeout"), "90s");
  EXPECT_EQ(o.at("idempotency_key"), "signup-42");
  EXPECT_EQ(o.at("tags"), (json::array{"signup", "vip"}));
  const auto& progress = o.at("progress").as_object();
  EXPECT_EQ(progress.at("percent").as_int64(), 40);
  EXPECT_EQ(progress.at("message"), "Importing rows 400/1000");
  EXPECT_EQ(progress.at("data").as_object().at("rows"), 400);
  EXPECT_TRUE(progress.at("updated_at").is_string());
  const auto& errors = o.at("errors").as_array();
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].as_object().at("attempt").as_int64(), 1);
  EXPECT_EQ(errors[0].as_object().at("message"), "SMTP timeout");
  EXPECT_EQ(errors[0].as_object().at("at"), "2027-01-15T08:00:11.123Z");
  EXPECT_EQ(o.at("cancel_requested"), true);
  EXPECT_EQ(o.at("worker"), "host-1:77");
  EXPECT_TRUE(o.at("lease_expires_at").is_string());
  EXPECT_TRUE(o.at("started_at").is_string());
  EXPECT_TRUE(o.at("finished_at").is_string());
  // The lease is the worker's secret: a reader of the job must not see it.
  EXPECT_FALSE(o.contains("lease_id"));
}

TEST(JobJson, AJobTokensViewLeavesOutPrivateFieldsAndThePayloadUnlessScoped) {
  const auto j = full_job();
  const auto token = json::parse(job_json(j, {.private_fields = false})).as_object();
  for (const auto* key : {"payload", "idempotency_key", "tags", "worker", "lease_expires_at"}) {
    EXPECT_FALSE(token.contains(key)) << key;
  }
  EXPECT_TRUE(token.contains("progress"));
  const auto scoped =
      json::parse(job_json(j, {.private_fields = false, .token_payload = true})).as_object();
  ASSERT_TRUE(scoped.contains("payload"));
  EXPECT_EQ(scoped.at("payload").at("to"), "a@example.com");
  EXPECT_FALSE(scoped.contains("idempotency_key"));
  EXPECT_FALSE(scoped.contains("worker"));
}

TEST(JobJson, EmptyOptionalsAreNull) {
  Job j;
  j.id = "01JDQ7Z3K5X9V2M4N6P8R0T2W4";
  j.queue = "q";
  const auto o = to_object(j);
  for (const char* key : {"type", "payload", "idempotency_key", "progress", "result", "worker",
                          "lease_expires_at", "started_at", "finished_at"}) {
    ASSERT_TRUE(o.contains(key)) << key;
    EXPECT_TRUE(o.at(key).is_null()) << key;
  }
  EXPECT_EQ(o.at("tags"), json::array{});
  EXPECT_EQ(o.at("errors"), json::array{});
  EXPECT_EQ(o.at("timeout"), "5m");
  EXPECT_EQ(o.at("cancel_requested"), false);
}

TEST(JobJson, RoundTripOfAFullyPopulatedJob) {
  const Job original = full_job();
  auto back = job_from_json(job_json(original));
  ASSERT_TRUE(back) << back.error().message;
  expect_same_job(original, *back);
  EXPECT_TRUE(back->lease_id.empty());  // never rendered, so never read back
}

TEST(JobJson, ClientJsonIsSplicedVerbatim) {
  const auto text = job_json(full_job());
  EXPECT_NE(
      text.find(
          R"("payload":{"to":"a@example.com","n":[1,2.5e0,true,null],"nested":{"k":"v"},"big":1e400})"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find(R"("data":{"rows":400,"x":123456789012345678901234567890})"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"("result":{"sent":true,"id":"m-1","z":-0.0})"), std::string::npos) << text;
}

TEST(JobJson, ReadsJobsWithWhitespaceAndKeepsClientJson) {
  const std::string text = R"( { "id" : "X", "queue":"q", "state" : "succeeded",
      "payload" : [ 1e400 , "a  b" ], "result" : { "n" : 0.10 } } )";
  auto back = job_from_json(text);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->payload.text(), R"([1e400,"a  b"])");
  EXPECT_EQ(back->result.text(), R"({"n":0.10})");
  EXPECT_EQ(back->state, JobState::succeeded);
}

TEST(JobJson, RoundTripEveryState) {
  for (auto s : kAllStates) {
    Job j = full_job();
    j.state = s;
    auto back = job_from_json(job_json(j));
    ASSERT_TRUE(back) << to_string(s);
    EXPECT_EQ(back->state, s);
  }
}

TEST(JobJson, RoundTripOfAMinimalJob) {
  Job j;
  j.id = "01JDQ7Z3K5X9V2M4N6P8R0T2W4";
  j.queue = "q";
  j.created_at = kCreated;
  j.run_at = kCreated;
  auto back = job_from_json(job_json(j));
  ASSERT_TRUE(back) << back.error().message;
  expect_same_job(j, *back);
}

TEST(JobJson, ProgressWithoutPercent) {
  Job j = full_job();
  j.progress = Progress{.percent = std::nullopt, .message = "", .data = {}, .updated_at = kCreated};
  const auto o = to_object(j);
  EXPECT_TRUE(o.at("progress").as_object().at("percent").is_null());
  auto back = job_from_json(job_json(j));
  ASSERT_TRUE(back);
  ASSERT_TRUE(back->progress);
  EXPECT_FALSE(back->progress->percent.has_value());
}

TEST(JobJson, RejectsNonObjectsAndUnknownStates) {
  EXPECT_FALSE(job_from_json("null"));
  EXPECT_FALSE(job_from_json("[1,2]"));
  EXPECT_FALSE(job_from_json(R"("job")"));
  EXPECT_FALSE(job_from_json(R"({"id":)"));
  auto text = job_json(full_job());
  text.replace(text.find(R"("running")"), 9, R"("exploded")");
  auto r = job_from_json(text);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::invalid_argument);
  EXPECT_EQ(r.error().field, "state");
}

TEST(ProgressJson, Fields) {
  const Progress p{
      .percent = 100, .message = "done", .data = RawJson::trusted("[1]"), .updated_at = kCreated};
  JsonWriter w;
  write_progress(w, p);
  const auto o = json::parse(w.text()).as_object();
  EXPECT_EQ(o.at("percent").as_int64(), 100);
  EXPECT_EQ(o.at("message"), "done");
  EXPECT_EQ(o.at("data"), json::array{1});
  EXPECT_EQ(o.at("updated_at"), "2027-01-15T08:00:00.123Z");
}

}  // namespace
}  // namespace errand::core
