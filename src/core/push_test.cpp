#include "core/push.hpp"

#include "core/hmac.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <boost/json.hpp>
#include <ostream>

namespace errand::core {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

const TimePoint kNow = from_unix_ms(1'764'300'000'000);

Result<PushConfig> parse(std::string_view text) {
  return parse_push_config(json::parse(text).as_object());
}

TEST(PushConfig, ParsesWithDefaults) {
  auto c = parse(R"({"url":"https://app.example.com/api/errand"})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->url, "https://app.example.com/api/errand");
  EXPECT_EQ(c->timeout, kDefaultPushTimeout);
  EXPECT_EQ(c->concurrency, kDefaultPushConcurrency);
  EXPECT_TRUE(c->headers.empty());
}

TEST(PushConfig, ParsesEveryField) {
  auto c = parse(
      R"({"url":"http://10.0.0.1:8080/x?y=1","timeout":"2m","concurrency":64,"headers":{"x-a":"1","X-B":"two words"}})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->timeout, 2min);
  EXPECT_EQ(c->concurrency, 64);
  ASSERT_EQ(c->headers.size(), 2u);
  EXPECT_EQ(c->headers[1], (PushHeader{"X-B", "two words"}));
}

struct BadConfig {
  const char* json;
  const char* field;
  const char* words;
};

// Names the case by its JSON in test listings rather than by its bytes.
void PrintTo(const BadConfig& c, std::ostream* os) {
  *os << c.json;
}

class PushConfigErrors : public ::testing::TestWithParam<BadConfig> {};

TEST_P(PushConfigErrors, NameTheField) {
  auto c = parse(GetParam().json);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, errc::invalid_argument);
  EXPECT_EQ(c.error().field, GetParam().field);
  EXPECT_NE(c.error().message.find(GetParam().words), std::string::npos) << c.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    All, PushConfigErrors,
    ::testing::Values(
        BadConfig{R"({})", "push.url", "required"},
        BadConfig{R"({"url":"ftp://x/y"})", "push.url", "http:// or https://"},
        BadConfig{R"({"url":"not a url"})", "push.url", "absolute URL"},
        BadConfig{R"({"url":"https://u:p@x.com/"})", "push.url", "user:password"},
        BadConfig{R"({"url":"https://x.com/#frag"})", "push.url", "fragment"},
        BadConfig{R"({"url":"https:///path"})", "push.url", "no host"},
        BadConfig{R"({"url":"https://x.com","timeout":"0s"})", "push.timeout", "from 1s"},
        BadConfig{R"({"url":"https://x.com","timeout":"1h"})", "push.timeout", "15m"},
        BadConfig{R"({"url":"https://x.com","concurrency":0})", "push.concurrency",
                  "from 1 to 1000"},
        BadConfig{R"({"url":"https://x.com","headers":{"Errand-Foo":"1"}})",
                  "push.headers.Errand-Foo", "set by the server"},
        BadConfig{R"({"url":"https://x.com","headers":{"Host":"1"}})", "push.headers.Host",
                  "set by the server"},
        BadConfig{R"({"url":"https://x.com","headers":{"bad name":"1"}})", "push.headers.bad name",
                  "not a valid header name"},
        BadConfig{R"({"url":"https://x.com","headers":{"x-a":"a\nb"}})", "push.headers.x-a",
                  "control character"},
        BadConfig{R"({"url":"https://x.com","headers":{"x-a":1}})", "push.headers.x-a",
                  "must be a string"},
        BadConfig{R"({"url":"https://x.com","retries":1})", "push.retries", "unknown field"}));

TEST(PushConfig, JsonMasksHeaderValuesUnlessAsked) {
  const PushConfig c{.url = "https://x.com", .headers = {{"x-token", "secret"}}};
  EXPECT_EQ(
      json::serialize(push_config_to_json(c)),
      R"({"url":"https://x.com","timeout":"30s","concurrency":10,"headers":{"x-token":"***"}})");
  auto round = parse_push_config(push_config_to_json(c, false));
  ASSERT_TRUE(round);
  EXPECT_EQ(*round, c);
}

TEST(PushSignature, IsHmacOfTimeDotBodyAndCarriesThePreviousSecretDuringRotation) {
  const HmacSha256 current("whsec_new");
  const HmacSha256 previous("whsec_old");
  const std::string body = R"({"job":{}})";
  const std::string one = push_signature(1764300000, body, current, nullptr);
  EXPECT_EQ(one, "t=1764300000,v1=" + current.sign_hex("1764300000." + body));
  const std::string two = push_signature(1764300000, body, current, &previous);
  EXPECT_EQ(two, one + ",v1=" + previous.sign_hex("1764300000." + body));
}

TEST(PushSignature, SecretsAreFreshAndWellFormed) {
  const auto a = make_push_secret();
  EXPECT_EQ(a.rfind("whsec_", 0), 0u);
  EXPECT_EQ(a.size(), 70u);
  EXPECT_NE(a, make_push_secret());
}

TEST(PushBody, HasTheJobLeaseAttemptContinuationAndState) {
  Job job;
  job.lease_id = "L1";
  job.attempt = 2;
  job.push_continuations = 3;
  job.push_state = R"({"offset":5})";
  const auto body = json::parse(push_body(R"({"id":"J"})", job));
  EXPECT_EQ(body.at("job").at("id"), "J");
  EXPECT_EQ(body.at("lease_id"), "L1");
  EXPECT_EQ(body.at("attempt"), 2);
  EXPECT_EQ(body.at("continuation"), 3);
  EXPECT_EQ(body.at("state").at("offset"), 5);
  job.push_state.clear();
  EXPECT_TRUE(json::parse(push_body("{}", job)).at("state").is_null());
}

PushOutcome decide(unsigned status, std::string_view body = "", std::string_view retry_after = "",
                   bool no_retry = false, const Job& job = Job{}, PushLimits limits = {}) {
  return decide_push_outcome(
      {.status = status, .retry_after = retry_after, .no_retry = no_retry, .body = body}, job, kNow,
      limits);
}

TEST(PushOutcome, TwoHundredCompletesWithTheJsonBody) {
  auto o = decide(200, R"({"sent":3})");
  EXPECT_EQ(o.kind, PushOutcome::Kind::complete);
  EXPECT_EQ(o.result.text(), R"({"sent":3})");
  EXPECT_TRUE(decide(204).result.is_null());
  EXPECT_EQ(decide(200, "ok, plain text").kind, PushOutcome::Kind::complete);
  EXPECT_TRUE(decide(200, "ok, plain text").result.is_null());
}

TEST(PushOutcome, ContinueCarriesStateDelayAndProgress) {
  auto o = decide(
      202,
      R"({"continue":{"state":{"i":1},"delay":"10s","progress":{"percent":20,"message":"m"}}})");
  ASSERT_EQ(o.kind, PushOutcome::Kind::continue_) << o.error;
  EXPECT_EQ(o.state, R"({"i":1})");
  auto exact =
      decide(202, R"({"continue":{"state":{"n":1e400, "m":0.50},"progress":{"data":[1E2]}}})");
  EXPECT_EQ(exact.state, R"({"n":1e400,"m":0.50})");
  ASSERT_TRUE(exact.progress);
  EXPECT_EQ(exact.progress->data.text(), "[1E2]");
  EXPECT_EQ(decide(200, R"({ "n" : 123456789012345678901234567890 })").result.text(),
            R"({"n":123456789012345678901234567890})");
  EXPECT_EQ(o.run_at, kNow + 10s);
  ASSERT_TRUE(o.progress);
  EXPECT_EQ(o.progress->percent, 20);
  auto bare = decide(202, R"({"continue":{}})");
  ASSERT_EQ(bare.kind, PushOutcome::Kind::continue_);
  EXPECT_EQ(bare.state, "null");
  EXPECT_EQ(bare.run_at, kNow);
}

TEST(PushOutcome, ABadContinueIsAFailedAttemptNamingTheField) {
  auto o = decide(202, R"({"continue":{"delay":"soon"}})");
  EXPECT_EQ(o.kind, PushOutcome::Kind::fail);
  EXPECT_NE(o.error.find("continue.delay"), std::string::npos) << o.error;
  EXPECT_EQ(decide(202, R"({"continue":5})").kind, PushOutcome::Kind::fail);
  auto pct = decide(202, R"({"continue":{"progress":{"percent":101}}})");
  EXPECT_NE(pct.error.find("continue.progress.percent"), std::string::npos) << pct.error;
  // Found by fuzz_push_answer: a number no int64 holds was cast (undefined).
  for (const char* huge : {"5e90", "-5e90", "9.3e18", "1e308"}) {
    auto o = decide(202, fmt::format(R"({{"continue":{{"progress":{{"percent":{}}}}}}})", huge));
    EXPECT_EQ(o.kind, PushOutcome::Kind::fail) << huge;
    EXPECT_NE(o.error.find("continue.progress.percent"), std::string::npos) << o.error;
  }
}

TEST(PushOutcome, ContinuationLimitsMakeTheJobDead) {
  Job job;
  job.push_continuations = 5;
  auto over = decide(202, R"({"continue":{}})", "", false, job, {.max_continuations = 5});
  EXPECT_EQ(over.kind, PushOutcome::Kind::dead);
  EXPECT_NE(over.error.find("5 continuations"), std::string::npos) << over.error;
  auto big = decide(202, R"({"continue":{"state":"0123456789"}})", "", false, Job{},
                    {.max_state_bytes = 8});
  EXPECT_EQ(big.kind, PushOutcome::Kind::dead);
  EXPECT_NE(big.error.find("12 bytes"), std::string::npos) << big.error;
}

TEST(PushOutcome, FailuresKeepTheStatusAndTheBodyHead) {
  auto o = decide(500, std::string(5000, 'x'));
  EXPECT_EQ(o.kind, PushOutcome::Kind::fail);
  EXPECT_EQ(o.error, "HTTP 500: " + std::string(kPushErrorBody, 'x'));
  EXPECT_EQ(decide(404).error, "HTTP 404");
  EXPECT_EQ(decide(400, "bad", "", true).kind, PushOutcome::Kind::dead);
  EXPECT_NE(decide(301).error.find("redirects are not followed"), std::string::npos);
  EXPECT_EQ(decide(429).kind, PushOutcome::Kind::fail);  // no Retry-After: an attempt
}

TEST(PushOutcome, RetryAfterDefersTwiceThenCountsAnAttempt) {
  auto first = decide(429, "", "7");
  EXPECT_EQ(first.kind, PushOutcome::Kind::defer);
  EXPECT_EQ(first.run_at, kNow + 7s);
  Job job;
  job.push_deferrals = 1;
  EXPECT_EQ(decide(503, "", "7", false, job).kind, PushOutcome::Kind::defer);
  job.push_deferrals = 2;
  auto third = decide(503, "busy", "7", false, job);
  EXPECT_EQ(third.kind, PushOutcome::Kind::fail);
  EXPECT_EQ(third.retry_in, Millis{7000});
  EXPECT_NE(third.error.find("3 in a row"), std::string::npos) << third.error;
}

TEST(RetryAfter, SecondsOrHttpDateClampedToADay) {
  EXPECT_EQ(parse_retry_after("0", kNow), kNow);
  EXPECT_EQ(parse_retry_after(" 120 ", kNow), kNow + 120s);
  EXPECT_EQ(parse_retry_after("999999999999", kNow), kNow + kMaxPushDelay);
  // kNow is 2025-11-28T03:20:00Z.
  EXPECT_EQ(parse_retry_after("Fri, 28 Nov 2025 03:21:00 GMT", kNow), kNow + 60s);
  EXPECT_EQ(parse_retry_after("Fri, 28 Nov 2025 03:00:00 GMT", kNow), kNow);  // past: now
  EXPECT_FALSE(parse_retry_after("soon", kNow));
  EXPECT_FALSE(parse_retry_after("", kNow));
  EXPECT_FALSE(parse_retry_after("-5", kNow));
  // Malformed dates are no dates (the first once read as NaN seconds).
  for (const auto* bad : {"Wed, 21 Oct 2026 07:28:G 00MT", "Fri, 28 Nov 2025 03:21:00 UTC",
                          "Fri, 31 Nov 2025 03:21:00 GMT", "Fri, 28 Nov 2025 24:00:00 GMT",
                          "Xyz, 28 Nov 2025 03:21:00 GMT", "Fri, 28 Foo 2025 03:21:00 GMT",
                          "Fri,  28 Nov 2025 03:21:00 GMT"}) {
    EXPECT_FALSE(parse_retry_after(bad, kNow)) << bad;
  }
}

TEST(Utf8Head, CutsAtACharacterBoundary) {
  EXPECT_EQ(utf8_head("abc", 10), "abc");
  EXPECT_EQ(utf8_head("ab\xC3\xA9", 3), "ab");
  EXPECT_EQ(utf8_head("ab\xC3\xA9", 4), "ab\xC3\xA9");
}

}  // namespace
}  // namespace errand::core
