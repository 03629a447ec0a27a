#include "core/error_json.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace errand::core {
namespace {

namespace json = boost::json;

// Answers of the server before the codec, byte for byte.
constexpr const char* kWithField =
    R"({"error":{"code":"not_found","message":"no queue named \"nope\"","field":"queue"}})";
constexpr const char* kWithoutField =
    R"({"error":{"code":"not_found","message":"no such endpoint: /v1/nothing"}})";

TEST(ErrorJson, WritesTheAnswerBody) {
  EXPECT_EQ(error_body_json(make_error(errc::not_found, "no queue named \"nope\"", "queue")),
            kWithField);
  EXPECT_EQ(error_body_json(make_error(errc::not_found, "no such endpoint: /v1/nothing")),
            kWithoutField);
}

TEST(ErrorJson, AnItemErrorHasCodeAndMessageOnly) {
  const auto e = make_error(errc::conflict, "stale lease", "lease_id");
  EXPECT_EQ(json::serialize(error_to_json(e, ErrorMembers::code_and_message)),
            R"({"code":"conflict","message":"stale lease"})");
  EXPECT_EQ(json::serialize(error_to_json(e)),
            R"({"code":"conflict","message":"stale lease","field":"lease_id"})");
}

TEST(ErrorJson, ReadsWhatTheServerWrites) {
  auto e = error_from_body(kWithField, errc::internal);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, errc::not_found);
  EXPECT_EQ(e->message, "no queue named \"nope\"");
  EXPECT_EQ(e->field, "queue");
  auto f = error_from_body(kWithoutField, errc::internal);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->field, "");
}

TEST(ErrorJson, RoundTripsEveryCode) {
  for (int i = 1; i <= static_cast<int>(errc::too_many_requests); ++i) {
    const auto code = static_cast<errc>(i);
    EXPECT_EQ(errc_from_name(errc_name(code)), code);
    const auto e = make_error(code, "message " + std::to_string(i), i % 2 ? "field" : "");
    auto back = error_from_body(error_body_json(e), errc::ok);
    ASSERT_TRUE(back) << errc_name(code);
    EXPECT_EQ(back->code, e.code);
    EXPECT_EQ(back->message, e.message);
    EXPECT_EQ(back->field, e.field);
  }
  EXPECT_FALSE(errc_from_name("nonsense"));
  EXPECT_FALSE(errc_from_name("ok"));
}

TEST(ErrorJson, AnUnknownCodeReadsAsTheFallback) {
  auto e =
      error_from_body(R"({"error":{"code":"too_big","message":"m"}})", errc::payload_too_large);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, errc::payload_too_large);
  EXPECT_EQ(e->message, "m");
  auto bare = error_from_body(R"({"error":{}})", errc::unavailable);
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->code, errc::unavailable);
  EXPECT_EQ(bare->message, "");
}

TEST(ErrorJson, WhatIsNotAnErrorBodyReadsAsNothing) {
  EXPECT_FALSE(error_from_body("", errc::internal));
  EXPECT_FALSE(error_from_body("<html>502</html>", errc::internal));
  EXPECT_FALSE(error_from_body("{}", errc::internal));
  EXPECT_FALSE(error_from_body(R"({"error":"boom"})", errc::internal));
  EXPECT_FALSE(error_from_body(R"({"error":{"code":7,"message":"m"}})", errc::internal));
}

TEST(ErrorJson, AMemberOfTheWrongTypeIsNamed) {
  auto e = error_from_json(json::parse(R"({"code":"conflict","message":["m"]})"), errc::internal,
                           "results[1].error");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().field, "results[1].error.message");
  EXPECT_EQ(e.error().message, "results[1].error.message is not a string");
  auto not_object = error_from_json(json::value(nullptr), errc::internal, "results[0].error");
  ASSERT_FALSE(not_object);
  EXPECT_EQ(not_object.error().field, "results[0].error");
}

}  // namespace
}  // namespace errand::core
