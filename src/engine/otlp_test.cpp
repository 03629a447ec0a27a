#include "engine/otlp.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <chrono>

namespace errand::engine {
namespace {
namespace json = boost::json;
using namespace std::chrono_literals;

constexpr std::string_view kParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const core::TimePoint kReady = core::from_unix_ms(1'800'000'000'000);

AttemptSpan ended(std::string traceparent, std::string outcome, std::string error = {}) {
  return {.attempt = {.queue = "mail",
                      .claimed_at = kReady + 250ms,
                      .job_id = "0ABCDEFGHJKMN",
                      .type = "send",
                      .traceparent = std::move(traceparent),
                      .attempt = 2,
                      .ready_at = kReady},
          .ended_at = kReady + 1250ms,
          .outcome = std::move(outcome),
          .error = std::move(error)};
}

// The value of attribute `key` in an OTLP attribute list.
json::value attribute(const json::array& attributes, std::string_view key) {
  for (const auto& a : attributes) {
    if (a.at("key").as_string() == key) return a.at("value");
  }
  return nullptr;
}

TEST(OtlpSpan, SitsUnderTheEnqueuesSpanWithTheAttemptsTimes) {
  const auto s = make_span(ended(std::string(kParent), "succeeded"));
  EXPECT_EQ(s.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(s.parent_span_id, "00f067aa0ba902b7");
  EXPECT_EQ(s.span_id.size(), 16u);
  EXPECT_NE(s.span_id, s.parent_span_id);
  EXPECT_EQ(s.name, "errand.job send");
  EXPECT_EQ(s.start_ns, (1'800'000'000'000 + 250) * 1'000'000);
  EXPECT_EQ(s.end_ns, (1'800'000'000'000 + 1250) * 1'000'000);
  EXPECT_EQ(s.queue_wait_ms, 250);
  EXPECT_EQ(s.run_ms, 1000);
  EXPECT_FALSE(s.failed);
}

TEST(OtlpSpan, AJobWithoutTraceGetsAFreshTraceAndNoParent) {
  const auto s = make_span(ended("", "dead", "boom"));
  EXPECT_EQ(s.trace_id.size(), 32u);
  EXPECT_TRUE(s.parent_span_id.empty());
  EXPECT_TRUE(s.failed);
  EXPECT_EQ(s.error, "boom");
  EXPECT_NE(make_span(ended("", "dead")).trace_id, s.trace_id);
}

TEST(OtlpJson, IsAnExportRequestWithHexIdsAndDecimalStringTimes) {
  const std::vector<OtlpSpan> spans{make_span(ended(std::string(kParent), "failed", "it broke")),
                                    make_span(ended("", "succeeded"))};
  const auto body = json::parse(
      otlp_json(spans, {.service_version = "1.2.3", .host_name = "h1", .instance_id = "node-1"}));
  const auto& rs = body.at("resourceSpans").as_array().at(0);
  const auto& resource = rs.at("resource").at("attributes").as_array();
  EXPECT_EQ(attribute(resource, "service.name").at("stringValue"), "errand");
  EXPECT_EQ(attribute(resource, "service.version").at("stringValue"), "1.2.3");
  EXPECT_EQ(attribute(resource, "host.name").at("stringValue"), "h1");
  EXPECT_EQ(attribute(resource, "service.instance.id").at("stringValue"), "node-1");
  const auto& scope = rs.at("scopeSpans").as_array().at(0);
  EXPECT_EQ(scope.at("scope").at("name"), "errand");
  const auto& out = scope.at("spans").as_array();
  ASSERT_EQ(out.size(), 2u);

  const auto& failed = out[0].as_object();
  EXPECT_EQ(failed.at("traceId"), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(failed.at("parentSpanId"), "00f067aa0ba902b7");
  EXPECT_EQ(failed.at("spanId").as_string(), spans[0].span_id);
  EXPECT_EQ(failed.at("kind"), 5);
  EXPECT_EQ(failed.at("name"), "errand.job send");
  EXPECT_EQ(failed.at("startTimeUnixNano").as_string(), std::to_string(spans[0].start_ns));
  EXPECT_EQ(failed.at("endTimeUnixNano").as_string(), std::to_string(spans[0].end_ns));
  EXPECT_EQ(failed.at("status").at("code"), 2);
  EXPECT_EQ(failed.at("status").at("message"), "it broke");
  const auto& attributes = failed.at("attributes").as_array();
  EXPECT_EQ(attribute(attributes, "errand.job.id").at("stringValue"), "0ABCDEFGHJKMN");
  EXPECT_EQ(attribute(attributes, "errand.queue").at("stringValue"), "mail");
  EXPECT_EQ(attribute(attributes, "errand.job.type").at("stringValue"), "send");
  EXPECT_EQ(attribute(attributes, "errand.attempt").at("intValue"), "2");
  EXPECT_EQ(attribute(attributes, "errand.queue_wait_ms").at("intValue"), "250");
  EXPECT_EQ(attribute(attributes, "errand.run_ms").at("intValue"), "1000");
  EXPECT_EQ(attribute(attributes, "errand.outcome").at("stringValue"), "failed");

  const auto& root = out[1].as_object();
  EXPECT_FALSE(root.contains("parentSpanId"));
  EXPECT_FALSE(root.contains("status"));
}

TEST(OtlpExporter, OnlyHttpEndpointsAreTaken) {
  EXPECT_TRUE(OtlpExporter::check_endpoint("http://127.0.0.1:4318/v1/traces"));
  EXPECT_TRUE(OtlpExporter::check_endpoint("https://collector.example/v1/traces"));
  auto bad = OtlpExporter::check_endpoint("collector:4318");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().field, "--otlp-endpoint");
}

}  // namespace
}  // namespace errand::engine
