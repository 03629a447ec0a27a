#include "core/trace.hpp"

#include <gtest/gtest.h>

#include <string>

namespace errand::core {
namespace {

constexpr std::string_view kParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(Traceparent, AVersion00ValueIsKeptAsGiven) {
  EXPECT_EQ(parse_traceparent(kParent), std::string(kParent));
  EXPECT_EQ(parse_traceparent(std::string(" ") + std::string(kParent) + "\t"),
            std::string(kParent));
  EXPECT_EQ(trace_id_of(kParent), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(parent_id_of(kParent), "00f067aa0ba902b7");
  EXPECT_EQ(trace_id_of(""), "");
  EXPECT_EQ(parent_id_of(""), "");
}

TEST(Traceparent, MalformedValuesAreRefused) {
  for (const std::string bad : {
           "",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",        // no flags
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",     // uppercase
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",     // zero trace id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",     // zero parent id
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",     // version ff
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xx",  // 00 has 4 fields
           "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",     // separator
           "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",     // not hex
           "0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",     // version not hex
       }) {
    EXPECT_EQ(parse_traceparent(bad), std::nullopt) << bad;
  }
}

TEST(Traceparent, ALaterVersionKeepsItsFirstFourFields) {
  EXPECT_EQ(parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future"),
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  EXPECT_EQ(parse_traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09"),
            "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09");
  EXPECT_EQ(parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x"),
            std::nullopt);
}

TEST(Tracestate, PrintableAsciiIsKeptAndLongListsLoseWholeMembersFromTheEnd) {
  EXPECT_EQ(parse_tracestate("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"),
            "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  EXPECT_EQ(parse_tracestate("a=1\n"), std::nullopt);
  EXPECT_EQ(parse_tracestate("a=\xc3\xa9"), std::nullopt);
  std::string longer;
  for (int i = 0; i < 40; ++i)
    longer += (i ? "," : "") + std::string("k") + std::to_string(i) + "=" + std::string(10, 'v');
  ASSERT_GT(longer.size(), kMaxTracestate);
  const auto kept = parse_tracestate(longer);
  ASSERT_TRUE(kept);
  EXPECT_LE(kept->size(), kMaxTracestate);
  EXPECT_EQ(longer.substr(0, kept->size()), *kept);
  EXPECT_EQ(longer[kept->size()], ',');  // cut between members
}

TEST(TraceContext, BadHeadersAreIgnoredAndBadFieldsNamed) {
  auto t = trace_from_headers(kParent, "a=1");
  EXPECT_EQ(t.traceparent, kParent);
  EXPECT_EQ(t.tracestate, "a=1");
  t = trace_from_headers("00-bad", "a=1");
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.tracestate, "");
  t = trace_from_headers(kParent, "a=\x01");
  EXPECT_EQ(t.traceparent, kParent);
  EXPECT_EQ(t.tracestate, "");

  auto ok = trace_from_fields(kParent, std::string_view("a=1"));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->traceparent, kParent);
  auto bad = trace_from_fields(std::string_view("nope"), std::nullopt, "jobs[1].traceparent");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().field, "jobs[1].traceparent");
  EXPECT_NE(bad.error().message.find("jobs[1].traceparent"), std::string::npos);
  bad = trace_from_fields(std::nullopt, std::string_view("a=1"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().field, "tracestate");
  bad = trace_from_fields(kParent, std::string_view("a=\x7f"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().field, "tracestate");
}

TEST(TraceContext, NewIdsAreLowercaseHexOfTheRightLength) {
  const auto trace = new_trace_id();
  const auto span = new_span_id();
  EXPECT_EQ(trace.size(), 32u);
  EXPECT_EQ(span.size(), 16u);
  EXPECT_NE(trace, new_trace_id());
  const auto parent = "00-" + trace + "-" + span + "-01";
  EXPECT_EQ(parse_traceparent(parent), parent);
}

}  // namespace
}  // namespace errand::core
