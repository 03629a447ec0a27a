#include "client/wire.hpp"

#include "core/job_json.hpp"
#include "core/queue_json.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace errand::client {
namespace {
namespace json = boost::json;
using core::errc;
using core::JobState;
using core::Millis;

TEST(WireRequest, EnqueueSendsOnlyWhatIsSet) {
  EnqueueOptions o;
  o.queue = "emails";
  EXPECT_EQ(json::serialize(wire::enqueue_body(o)), R"({"queue":"emails"})");
}

TEST(WireRequest, EnqueueWritesDurationsTimesAndTags) {
  EnqueueOptions o;
  o.queue = "emails";
  o.type = "welcome";
  o.payload = json::parse(R"({"to":"a@example.com"})");
  o.delay = Millis{90'000};
  o.priority = 5;
  o.max_attempts = 3;
  o.timeout = Millis{300'000};
  o.idempotency_key = "signup-42";
  o.tags = {"signup", "web"};
  o.token_scope = {"payload"};
  auto b = wire::enqueue_body(o);
  EXPECT_EQ(b.at("delay"), "90s");
  EXPECT_EQ(b.at("timeout"), "5m");
  EXPECT_EQ(b.at("priority"), 5);
  EXPECT_EQ(b.at("max_attempts"), 3);
  EXPECT_EQ(b.at("payload").at("to"), "a@example.com");
  EXPECT_EQ(b.at("tags").as_array().size(), 2u);
  EXPECT_EQ(b.at("idempotency_key"), "signup-42");
  EXPECT_EQ(b.at("token_scope"), json::value(json::array{"payload"}));
  EXPECT_FALSE(b.contains("run_at"));

  EnqueueOptions at;
  at.queue = "q";
  at.run_at = core::from_unix_ms(1'800'000'000'123);
  EXPECT_EQ(wire::enqueue_body(at).at("run_at"), json::value(core::format_rfc3339(*at.run_at)));
}

TEST(WireRequest, EnqueueBodyCarriesTheKeyAndDeduplication) {
  EnqueueOptions o;
  o.queue = "imports";
  o.key = "acme";
  o.unique = core::UniqueSpec{.key = "sync-1", .within = Millis{600'000}, .replace = true};
  auto b = wire::enqueue_body(o);
  EXPECT_EQ(b.at("key"), "acme");
  EXPECT_EQ(b.at("unique").at("key"), "sync-1");
  EXPECT_EQ(b.at("unique").at("for"), "10m");
  EXPECT_EQ(b.at("unique").at("mode"), "replace");
  EXPECT_EQ(b.at("unique").at("states"),
            json::value(json::array{"scheduled", "queued", "running"}));
  EnqueueOptions d;
  d.queue = "q";
  d.debounce = core::DebounceSpec{.key = "u7", .period = Millis{5'000}, .max_wait = Millis{60'000}};
  auto db = wire::enqueue_body(d);
  EXPECT_EQ(db.at("debounce").at("period"), "5s");
  EXPECT_EQ(db.at("debounce").at("max_wait"), "1m");
  EXPECT_FALSE(db.contains("unique"));
}

TEST(WireRequest, BatchWrapsEachJob) {
  std::vector<EnqueueOptions> jobs(3);
  for (auto& j : jobs) j.queue = "q";
  auto b = wire::enqueue_batch_body(jobs);
  ASSERT_EQ(b.at("jobs").as_array().size(), 3u);
  EXPECT_EQ(b.at("jobs").as_array()[2].at("queue"), "q");
}

TEST(WireRequest, ClaimOmitsZeroWaitAndEmptyWorker) {
  ClaimOptions o;
  o.queues = {"a", "b"};
  EXPECT_EQ(json::serialize(wire::claim_body(o)), R"({"queues":["a","b"],"max":1})");
  o.worker = "host:1";
  o.max = 50;
  o.wait = Millis{1500};
  o.lease = Millis{60'000};
  auto b = wire::claim_body(o);
  EXPECT_EQ(b.at("worker"), "host:1");
  EXPECT_EQ(b.at("max"), 50);
  EXPECT_EQ(b.at("wait"), "1500ms");
  EXPECT_EQ(b.at("lease"), "1m");
}

TEST(WireRequest, AcksMixCompletesAndFails) {
  std::vector<Ack> acks(2);
  acks[0] = {.id = "j1", .lease_id = "l1", .result = json::value(7)};
  acks[1] = {
      .id = "j2", .lease_id = "l2", .error = "boom", .retry = false, .retry_in = Millis{30'000}};
  auto items = wire::acks_body(acks).at("acks").as_array();
  EXPECT_EQ(json::serialize(items[0]), R"({"lease_id":"l1","result":7,"id":"j1"})");
  EXPECT_EQ(items[1].at("error"), "boom");
  EXPECT_EQ(items[1].at("retry"), false);
  EXPECT_EQ(items[1].at("retry_in"), "30s");
  EXPECT_FALSE(items[1].as_object().contains("result"));
}

TEST(WireRequest, ProgressAndFailSendOnlyWhatIsSet) {
  EXPECT_EQ(json::serialize(wire::progress_body("l", {})), R"({"lease_id":"l"})");
  ProgressUpdate p{.percent = 40, .message = "rows 400/1000"};
  auto b = wire::progress_body("l", p);
  EXPECT_EQ(b.at("percent"), 40);
  EXPECT_EQ(b.at("message"), "rows 400/1000");
  EXPECT_EQ(json::serialize(wire::fail_body("l", {.error = "x"})),
            R"({"lease_id":"l","error":"x"})");
  EXPECT_EQ(json::serialize(wire::heartbeat_body("l", Millis{60'000})),
            R"({"lease_id":"l","extend":"1m"})");
}

TEST(WireRequest, TargetsAreEncoded) {
  EXPECT_EQ(wire::list_target({}), "/v1/jobs");
  ListOptions o{
      .queue = "emails", .state = JobState::dead, .type = "a&b c", .limit = 10, .cursor = "X"};
  EXPECT_EQ(wire::list_target(o),
            "/v1/jobs?queue=emails&state=dead&type=a%26b%20c&limit=10&cursor=X");
  ListOptions filters{.tag = "vip",
                      .text = "a@b",
                      .since = core::from_unix_ms(0),
                      .until = core::from_unix_ms(1'000)};
  EXPECT_EQ(wire::list_target(filters),
            "/v1/jobs?tag=vip&q=a@b&since=1970-01-01T00:00:00.000Z&until=1970-01-01T00:00:01.000Z");
  EXPECT_EQ(wire::job_target("01ABC", "/cancel"), "/v1/jobs/01ABC/cancel");
  EXPECT_EQ(wire::job_target("../x?y"), "/v1/jobs/..%2Fx%3Fy");
  EXPECT_EQ(wire::queue_target("q.1", "/pause"), "/v1/queues/q.1/pause");
  EXPECT_EQ(wire::queue_list_target(""), "/v1/queues");
  EXPECT_EQ(wire::queue_list_target("emails.eu", 1000), "/v1/queues?cursor=emails.eu&limit=1000");
}

TEST(WireResponse, ParsesAQueuePageAndItsCursor) {
  const auto named = [](std::string_view name) {
    return json::object{
        {"name", name}, {"paused", false}, {"counts", json::object{}}, {"config", json::object{}}};
  };
  auto page = wire::parse_queue_page(
      json::object{{"queues", json::array{named("a"), named("b")}}, {"next_cursor", "b"}});
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->queues.size(), 2u);
  EXPECT_EQ(page->queues[1].name, "b");
  EXPECT_EQ(page->next_cursor, "b");
  auto last = wire::parse_queue_page(
      json::object{{"queues", json::array{named("c")}}, {"next_cursor", nullptr}});
  ASSERT_TRUE(last) << last.error().message;
  EXPECT_EQ(last->next_cursor, "");
  // An answer from a server before paging has no next_cursor: one page, the last.
  auto old = wire::parse_queue_page(json::object{{"queues", json::array{named("c")}}});
  ASSERT_TRUE(old) << old.error().message;
  EXPECT_EQ(old->next_cursor, "");
}

TEST(WireResponse, ParsesEnqueuedAndDuplicate) {
  auto e = wire::parse_enqueued(json::parse(R"({"id":"J1","state":"scheduled","token":"t"})"));
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->id, "J1");
  EXPECT_EQ(e->state, JobState::scheduled);
  EXPECT_EQ(e->token, "t");
  EXPECT_FALSE(e->duplicate);
  auto d = wire::parse_enqueued(
      json::parse(R"({"id":"J1","state":"queued","token":"t","duplicate":true})"));
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->duplicate);
  EXPECT_EQ(json::serialize(wire::to_json(*d)),
            R"({"id":"J1","state":"queued","token":"t","duplicate":true})");
}

TEST(WireResponse, MalformedAnswerNamesTheField) {
  auto e = wire::parse_enqueued_batch(
      json::parse(R"({"jobs":[{"id":"a","state":"queued"},{"state":"queued"}]})"));
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, errc::internal);
  EXPECT_EQ(e.error().field, "jobs[1].id");
  EXPECT_EQ(e.error().message, "unexpected answer from errand: jobs[1].id is missing");
  auto s = wire::parse_enqueued(json::parse(R"({"id":"a","state":"bogus"})"));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().field, "state");
  EXPECT_FALSE(wire::parse_claimed("[]"));
  EXPECT_FALSE(wire::parse_claimed("{\"jobs\":"));
}

TEST(WireResponse, ParsesClaimedJobs) {
  const std::string v =
      (R"({"jobs":[{"id":"J","queue":"q","type":null,"payload":{"n":1,"big":1e400},"attempt":2,
    "max_attempts":10,"priority":3,"lease_id":"L","lease_expires_at":"2026-11-27T21:06:54.123Z",
    "tags":["a"],"created_at":"2026-11-27T21:00:00.000Z"}]})");
  auto jobs = wire::parse_claimed(v);
  ASSERT_TRUE(jobs) << jobs.error().message;
  ASSERT_EQ(jobs->size(), 1u);
  const auto& j = (*jobs)[0];
  EXPECT_EQ(j.type, "");
  EXPECT_EQ(j.payload.at("n"), 1);
  EXPECT_EQ(j.payload_json.text(), R"({"n":1,"big":1e400})");
  EXPECT_EQ(j.attempt, 2);
  EXPECT_EQ(j.priority, 3);
  EXPECT_EQ(j.lease_id, "L");
  EXPECT_EQ(core::format_rfc3339(j.lease_expires_at), "2026-11-27T21:06:54.123Z");
  EXPECT_EQ(j.tags, std::vector<std::string>{"a"});
  auto empty = wire::parse_claimed(R"({"jobs":[]})");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(WireResponse, ParsesJobPageAndRendersItBack) {
  core::Job job;
  job.id = "J";
  job.queue = "q";
  job.state = JobState::running;
  job.attempt = 1;
  job.payload = core::RawJson::trusted("[123456789012345678901234567890]");
  const std::string page =
      R"({"jobs":[)" + core::job_json(job) + R"(],"next_cursor":"C","partial":true})";
  auto parsed = wire::parse_job_page(page);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->next_cursor, "C");
  EXPECT_TRUE(parsed->partial);
  ASSERT_EQ(parsed->jobs.size(), 1u);
  EXPECT_EQ(parsed->jobs[0].state, JobState::running);
  parsed->client_json = true;  // as Client::list sets it for include_payload
  EXPECT_EQ(wire::page_json(*parsed), page);
  auto last = wire::parse_job_page(R"({"jobs":[],"next_cursor":null})");
  ASSERT_TRUE(last);
  EXPECT_TRUE(last->next_cursor.empty());
  EXPECT_FALSE(last->partial);  // an answer without the field
}

TEST(WireResponse, ParsesAckResults) {
  auto v = json::parse(R"({"results":[{"id":"a","ok":true,"state":"succeeded"},
    {"id":"b","ok":false,"error":{"code":"conflict","message":"stale lease"}}]})");
  auto r = wire::parse_ack_results(v);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_TRUE((*r)[0].ok);
  EXPECT_EQ((*r)[0].state, JobState::succeeded);
  EXPECT_FALSE((*r)[1].ok);
  EXPECT_EQ((*r)[1].error.code, errc::conflict);
  EXPECT_EQ((*r)[1].error.message, "stale lease");
}

TEST(WireResponse, ParsesQueuesAndRendersThemBack) {
  auto text =
      R"({"name":"emails","paused":true,"counts":{"scheduled":1,"queued":3,"running":1,)"
      R"("succeeded":10,"failed":0,"dead":2,"cancelled":0,"blocked":0,"waiting":0},"processed":12,"failed_total":2,)"
      R"("config":{"concurrency":2,"rate_limit":{"limit":100,"per":"1m"},)"
      R"("key_concurrency":1,"key_rate_limit":{"limit":5,"per":"1s","burst":10},)"
      R"("push":{"url":"https://app.example.com/e","timeout":"30s","concurrency":10,)"
      R"("headers":{"x-a":"***"}},)"
      R"("defaults":{"priority":null,"max_attempts":3,"timeout":"30s","on_done":null}}})";
  auto qs = wire::parse_queues(json::object{{"queues", json::array{json::parse(text)}}});
  ASSERT_TRUE(qs) << qs.error().message;
  ASSERT_EQ(qs->size(), 1u);
  const auto& q = (*qs)[0];
  EXPECT_TRUE(q.paused);
  EXPECT_EQ(q.count(JobState::queued), 3);
  EXPECT_EQ(q.count(JobState::dead), 2);
  EXPECT_EQ(q.processed, 12);
  EXPECT_EQ(q.config.concurrency, 2);
  EXPECT_EQ(q.config.rate_limit, (core::RateLimit{.limit = 100, .per = core::Millis{60'000}}));
  EXPECT_EQ(q.config.key_concurrency, 1);
  EXPECT_EQ(q.config.key_rate_limit,
            (core::RateLimit{.limit = 5, .per = core::Millis{1'000}, .burst = 10}));
  EXPECT_FALSE(q.config.defaults.priority);
  EXPECT_EQ(q.config.defaults.max_attempts, 3);
  EXPECT_EQ(q.config.defaults.timeout, core::Millis{30'000});
  ASSERT_TRUE(q.config.push);
  EXPECT_EQ(q.config.push->url, "https://app.example.com/e");
  EXPECT_EQ(json::serialize(core::queue_to_json(q)), text);
}

TEST(WireResponse, AQueueWithoutConfigReadsAsUnconfigured) {
  auto q = wire::parse_queue(json::parse(R"({"name":"a","paused":false,"counts":{}})"));
  ASSERT_TRUE(q) << q.error().message;
  EXPECT_EQ(q->config, core::QueueConfig{});
  auto bad = wire::parse_queue(
      json::parse(R"({"name":"a","counts":{},"config":{"defaults":{"timeout":"soon"}}})"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().field, "config.defaults.timeout");
}

TEST(WireResponse, ParsesHeartbeatAndFinished) {
  auto h = wire::parse_heartbeat(
      json::parse(R"({"lease_expires_at":"2026-11-27T21:06:54.123Z","cancel_requested":true})"));
  ASSERT_TRUE(h);
  EXPECT_TRUE(h->cancel_requested);
  auto f = wire::parse_finished(
      json::parse(R"({"id":"J","state":"failed","run_at":"2026-11-27T21:06:54.123Z"})"));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->state, JobState::failed);
  EXPECT_TRUE(f->run_at);
  auto g = wire::parse_finished(json::parse(R"({"id":"J","state":"succeeded"})"));
  ASSERT_TRUE(g);
  EXPECT_FALSE(g->run_at);
}

TEST(WireErrors, MapsTheApiErrorBody) {
  auto e = wire::error_from_response(
      400,
      R"({"error":{"code":"invalid_argument","message":"delay must be a duration","field":"delay"}})");
  EXPECT_EQ(e.code, errc::invalid_argument);
  EXPECT_EQ(e.message, "delay must be a duration");
  EXPECT_EQ(e.field, "delay");
  auto c =
      wire::error_from_response(409, R"({"error":{"code":"conflict","message":"stale lease"}})");
  EXPECT_EQ(c.code, errc::conflict);
  EXPECT_EQ(c.field, "");
}

TEST(WireErrors, FallsBackToTheStatus) {
  auto e = wire::error_from_response(404, "<html>not here</html>");
  EXPECT_EQ(e.code, errc::not_found);
  EXPECT_NE(e.message.find("not here"), std::string::npos);
  EXPECT_EQ(wire::error_from_response(503, "").code, errc::unavailable);
  EXPECT_EQ(wire::error_from_response(500, "{}").code, errc::internal);
  // An unknown code name keeps the message and takes the status's code.
  auto u = wire::error_from_response(413, R"({"error":{"code":"too_big","message":"m"}})");
  EXPECT_EQ(u.code, errc::payload_too_large);
  EXPECT_EQ(u.message, "m");
}

TEST(WireAnswers, ALoneSurrogateIsAnErrorNotACrash) {
  // Found by fuzz_answers: the whole-text check let it pass, the item's
  // parse threw, and a worker would have died on a server's answer.
  const std::string claim =
      R"({"jobs":[{"id":"1M8HZ4NKB0007","queue":"emle\udeae_ilfto(hle\udeae_ails","td":"3f9c"}]})";
  auto claimed = wire::parse_claimed(claim);
  ASSERT_FALSE(claimed);
  EXPECT_NE(claimed.error().message.find("surrogate"), std::string::npos)
      << claimed.error().message;
  EXPECT_FALSE(wire::parse_job_page(R"({"jobs":[],"next_cursor":"\ud800"})"));
}

}  // namespace
}  // namespace errand::client
