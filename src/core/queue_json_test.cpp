#include "core/queue_json.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <string>

namespace errand::core {
namespace {

namespace json = boost::json;

// Answers of the server, byte for byte (kKeyPage with its throttle and
// cursor filled in).
constexpr const char* kEmails =
    R"({"name":"emails","paused":true,"counts":{"scheduled":0,"queued":1,"running":0,)"
    R"("succeeded":0,"failed":0,"dead":0,"cancelled":0,"blocked":0,"waiting":0},)"
    R"("processed":0,"failed_total":0,)"
    R"("config":{"concurrency":4,"rate_limit":{"limit":100,"per":"1m","burst":20},)"
    R"("key_concurrency":2,"key_rate_limit":{"limit":5,"per":"1s"},"push":null,)"
    R"("defaults":{"priority":-3,"max_attempts":7,"timeout":"90s",)"
    R"("on_done":{"url":"https://app.example.com/done"}}}})";
constexpr const char* kHooksPage =
    R"({"queues":[{"name":"hooks","paused":false,"counts":{"scheduled":0,"queued":0,)"
    R"("running":0,"succeeded":0,"failed":0,"dead":0,"cancelled":0,"blocked":0,)"
    R"("waiting":0},"processed":0,)"
    R"("failed_total":0,"config":{"concurrency":null,"rate_limit":null,"key_concurrency":null,)"
    R"("key_rate_limit":null,"push":{"url":"https://app.example.com/errand","timeout":"30s",)"
    R"("concurrency":3,"headers":{"x-token":"***"}},"defaults":{"priority":null,)"
    R"("max_attempts":null,"timeout":null,"on_done":null}}}],"next_cursor":null})";
constexpr const char* kKey =
    R"({"queue":"emails","key":"team/a","queued":1,"running":0,"overridden":true,)"
    R"("concurrency":1,"rate_limit":{"limit":2,"per":"10s","burst":3},"paused":true,)"
    R"("weight":5,"throttled_until":null})";
constexpr const char* kKeyPage =
    R"({"keys":[{"queue":"emails","key":"team/a","queued":1,"running":0,"overridden":false,)"
    R"("concurrency":null,"rate_limit":null,"paused":false,"weight":null,)"
    R"("throttled_until":"2026-12-05T20:10:54.542Z"}],"next_cursor":"team/a"})";

QueueStatus full_queue() {
  QueueStatus q{.name = "imports", .paused = true, .processed = 12, .failed_total = 2};
  for (std::size_t i = 0; i < q.counts.size(); ++i) q.counts[i] = static_cast<std::int64_t>(i + 1);
  q.config = QueueConfig{
      .concurrency = 8,
      .rate_limit = RateLimit{.limit = 10, .per = Millis{60'000}, .burst = 30},
      .key_concurrency = 1,
      .key_rate_limit = RateLimit{.limit = 2, .per = Millis{1'000}},
      .defaults = {.priority = 5,
                   .max_attempts = 9,
                   .timeout = Millis{90'000},
                   .on_done = "https://app.example.com/done"},
      .push = PushConfig{.url = "https://app.example.com/e", .timeout = Millis{20'000}},
  };
  return q;
}

TEST(QueueJson, ReadsWhatTheServerWritesAndWritesItBackByteForByte) {
  auto q = queue_from_json(json::parse(kEmails));
  ASSERT_TRUE(q) << q.error().message;
  EXPECT_EQ(q->name, "emails");
  EXPECT_TRUE(q->paused);
  EXPECT_EQ(q->count(JobState::queued), 1);
  EXPECT_EQ(q->config.concurrency, 4);
  EXPECT_EQ(q->config.rate_limit,
            (RateLimit{.limit = 100, .per = Millis{60'000}, .burst = std::int64_t{20}}));
  EXPECT_EQ(q->config.key_rate_limit, (RateLimit{.limit = 5, .per = Millis{1'000}}));
  EXPECT_EQ(q->config.defaults.priority, -3);
  EXPECT_EQ(q->config.defaults.max_attempts, 7);
  EXPECT_EQ(q->config.defaults.timeout, Millis{90'000});
  EXPECT_FALSE(q->config.push);
  EXPECT_EQ(json::serialize(queue_to_json(*q)), kEmails);
}

TEST(QueueJson, APageWithAPushQueueWritesBackByteForByte) {
  auto page = queue_page_from_json(json::parse(kHooksPage));
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->queues.size(), 1u);
  EXPECT_EQ(page->next_cursor, "");
  const auto& push = page->queues[0].config.push;
  ASSERT_TRUE(push);
  EXPECT_EQ(push->url, "https://app.example.com/errand");
  EXPECT_EQ(push->concurrency, 3);
  EXPECT_EQ(json::serialize(queue_page_to_json(*page)), kHooksPage);
}

TEST(QueueJson, RoundTripsEveryField) {
  const auto q = full_queue();
  auto back = queue_from_json(queue_to_json(q));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, q);
  const QueuePage page{.queues = {q, QueueStatus{.name = "z"}}, .next_cursor = "z"};
  auto page_back = queue_page_from_json(queue_page_to_json(page));
  ASSERT_TRUE(page_back) << page_back.error().message;
  EXPECT_EQ(page_back->queues, page.queues);
  EXPECT_EQ(page_back->next_cursor, "z");
}

TEST(QueueJson, ShowsPushHeaderValuesMasked) {
  auto q = full_queue();
  q.config.push->headers = {{.name = "x-token", .value = "s3cret"}};
  const auto text = json::serialize(queue_to_json(q));
  EXPECT_EQ(text.find("s3cret"), std::string::npos);
  EXPECT_NE(text.find(R"("headers":{"x-token":"***"})"), std::string::npos);
}

TEST(QueueJson, AQueueWithoutConfigReadsAsUnconfigured) {
  auto q = queue_from_json(json::parse(R"({"name":"a","paused":false,"counts":{}})"));
  ASSERT_TRUE(q) << q.error().message;
  EXPECT_EQ(q->config, QueueConfig{});
  EXPECT_EQ(q->count(JobState::queued), 0);
}

TEST(QueueJson, AMalformedAnswerNamesTheField) {
  auto bad = queue_page_from_json(json::parse(
      R"({"queues":[{"name":"a","counts":{},"config":{"defaults":{"timeout":"soon"}}}]})"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, errc::invalid_argument);
  EXPECT_EQ(bad.error().field, "queues[0].config.defaults.timeout");
  EXPECT_EQ(bad.error().message, "queues[0].config.defaults.timeout is not a duration");
  auto counts = queue_from_json(json::parse(R"({"name":"a","counts":{"queued":"3"}})"));
  ASSERT_FALSE(counts);
  EXPECT_EQ(counts.error().field, "counts.queued");
  auto rate = queue_from_json(
      json::parse(R"({"name":"a","counts":{},"config":{"rate_limit":{"limit":true}}})"));
  ASSERT_FALSE(rate);
  EXPECT_EQ(rate.error().field, "config.rate_limit.limit");
  EXPECT_FALSE(queue_page_from_json(json::parse(R"({"next_cursor":null})")));
  EXPECT_FALSE(queue_from_json(json::parse("[]")));
}

TEST(QueueJson, ReadsAKeyAndItsPageAndWritesThemBackByteForByte) {
  auto k = key_from_json(json::parse(kKey));
  ASSERT_TRUE(k) << k.error().message;
  EXPECT_EQ(k->key, "team/a");
  EXPECT_TRUE(k->overridden);
  EXPECT_EQ(k->limits,
            (KeyLimits{.concurrency = 1,
                       .rate_limit =
                           RateLimit{.limit = 2, .per = Millis{10'000}, .burst = std::int64_t{3}},
                       .paused = true,
                       .weight = 5}));
  EXPECT_FALSE(k->throttled_until);
  EXPECT_EQ(json::serialize(key_to_json(*k)), kKey);
  auto page = key_page_from_json(json::parse(kKeyPage));
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->keys.size(), 1u);
  EXPECT_EQ(page->keys[0].limits, KeyLimits{});
  EXPECT_EQ(page->keys[0].throttled_until, parse_rfc3339("2026-12-05T20:10:54.542Z").value());
  EXPECT_EQ(page->next_cursor, "team/a");
  EXPECT_EQ(json::serialize(key_page_to_json(*page)), kKeyPage);
  auto bad = key_page_from_json(json::parse(R"({"keys":[{"queue":"q","key":"k","weight":"x"}]})"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().field, "keys[0].weight");
}

// ---- requests ----

TEST(QueueJson, TheSettingsBodyLeavesUnsetFieldsOut) {
  EXPECT_EQ(json::serialize(queue_settings_body({})), R"({"paused":false})");
  const QueueSettings s{.paused = true,
                        .config = {.concurrency = 2,
                                   .rate_limit = RateLimit{.limit = 5, .per = Millis{1'000}},
                                   .defaults = {.timeout = Millis{90'000}}}};
  EXPECT_EQ(json::serialize(queue_settings_body(s)),
            R"({"paused":true,"concurrency":2,"rate_limit":{"limit":5,"per":"1s"},)"
            R"("defaults":{"timeout":"90s"}})");
}

TEST(QueueJson, TheServerReadsTheSettingsTheClientWrites) {
  auto s = QueueSettings{.paused = true, .config = full_queue().config};
  s.config.push->headers = {{.name = "x-token", .value = "s3cret"}};  // sent unmasked
  auto back = queue_settings_from_body(queue_settings_body(s));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_TRUE(back->paused);
  EXPECT_EQ(back->config, s.config);
  auto empty = queue_settings_from_body(queue_settings_body({}));
  ASSERT_TRUE(empty);
  EXPECT_FALSE(empty->paused);
  EXPECT_EQ(empty->config, QueueConfig{});
}

TEST(QueueJson, TheSettingsBodyIsValidated) {
  // The server's answers before the codec, word for word.
  auto zero =
      queue_settings_from_body(json::parse(R"({"rate_limit":{"limit":0,"per":"1m"}})").as_object());
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().field, "rate_limit.limit");
  EXPECT_EQ(zero.error().message, "rate_limit.limit must be from 1 to 1000000, got 0");
  auto unknown = queue_settings_from_body(json::parse(R"({"bogus":1})").as_object());
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().field, "bogus");
  EXPECT_EQ(unknown.error().message,
            "unknown field bogus (expected one of: paused, concurrency, rate_limit, "
            "key_concurrency, key_rate_limit, defaults, push)");
  auto both = queue_settings_from_body(
      json::parse(R"({"key_rate_limit":{"limit":1,"per":"1s","period":"1s"}})").as_object());
  ASSERT_FALSE(both);
  EXPECT_EQ(both.error().field, "key_rate_limit.period");
  auto period = queue_settings_from_body(
      json::parse(R"({"rate_limit":{"limit":3,"period":"1m"}})").as_object());
  ASSERT_TRUE(period) << period.error().message;
  EXPECT_EQ(period->config.rate_limit, (RateLimit{.limit = 3, .per = Millis{60'000}}));
  auto defaults =
      queue_settings_from_body(json::parse(R"({"defaults":{"timeout":"1ms"}})").as_object());
  ASSERT_FALSE(defaults);
  EXPECT_EQ(defaults.error().field, "defaults.timeout");
  for (const auto* body :
       {R"({"defaults":{"on_done":"https://x"}})", R"({"defaults":{"on_done":{"url":"ftp://x"}}})",
        R"({"defaults":{"on_done":{}}})"}) {
    auto webhook = queue_settings_from_body(json::parse(body).as_object());
    ASSERT_FALSE(webhook) << body;
    EXPECT_EQ(webhook.error().field.rfind("defaults.on_done", 0), 0u) << webhook.error().field;
  }
}

TEST(QueueJson, TheServerReadsTheKeyLimitsTheClientWrites) {
  EXPECT_EQ(json::serialize(key_limits_body({})), "{}");
  const KeyLimits l{.concurrency = 2,
                    .rate_limit = RateLimit{.limit = 4, .per = Millis{2'000}, .burst = 8},
                    .paused = true,
                    .weight = 3};
  EXPECT_EQ(json::serialize(key_limits_body(l)),
            R"({"concurrency":2,"rate_limit":{"limit":4,"per":"2s","burst":8},"paused":true,)"
            R"("weight":3})");
  auto back = key_limits_from_body(key_limits_body(l));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, l);
  auto heavy = key_limits_from_body(json::parse(R"({"weight":1001})").as_object());
  ASSERT_FALSE(heavy);
  EXPECT_EQ(heavy.error().field, "weight");
}

}  // namespace
}  // namespace errand::core
