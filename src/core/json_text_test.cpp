#include "core/json_text.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <string>

namespace errand::core {
namespace {

// Values Boost.JSON cannot give back as written: each must come back byte
// for byte.
const std::string kVerbatim[] = {
    "1e400",
    "-1e400",
    "1e-400",
    "123456789012345678901234567890",
    "0.1",
    "0.5",
    "-0.0",
    "1E2",
    "1.50",
    "-0",
    "0e0",
    R"("\u0000 inside")",
    R"("\"\\\/\b\f\n\r\t\u00e9")",
    R"({"b":1,"a":2})",
    R"({"a":1,"a":2})",
    R"([1e400,{"x":-1e-400}])",
    "\"caf\xC3\xA9 \xF0\x9F\x98\x80\"",
};

TEST(JsonText, VerbatimValuesRoundTripByteForByte) {
  for (const auto& text : kVerbatim) {
    auto raw = RawJson::parse(text, "payload");
    ASSERT_TRUE(raw) << text << ": " << raw.error().message;
    EXPECT_EQ(raw->text(), text);
  }
}

TEST(JsonText, WhitespaceBetweenTokensIsDroppedButNotInsideStrings) {
  auto raw = RawJson::parse(" {\n  \"a b\" : [ 1 , \"x  y\\\" z\" ]\t}\r\n", "payload");
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->text(), R"({"a b":[1,"x  y\" z"]})");
}

TEST(JsonText, EmptyReadsAsNull) {
  RawJson none;
  EXPECT_TRUE(none.empty());
  EXPECT_TRUE(none.is_null());
  EXPECT_EQ(none.text(), "null");
  EXPECT_TRUE(RawJson::trusted("null").is_null());
  EXPECT_FALSE(RawJson::trusted("0").is_null());
}

TEST(JsonText, RejectsMalformedTextSayingWhere) {
  struct Case {
    std::string text;
    std::string message;
  };
  const Case cases[] = {
      {"", "payload is empty: expected a JSON value"},
      {"   ", "payload is empty: expected a JSON value"},
      {R"({"a":1,})",
       "payload is not valid JSON: expected a string key at line 1, column 8 (byte 7)"},
      {"{\n \"a\" 1}",
       "payload is not valid JSON: expected ':' after a key at line 2, column 6 (byte 7)"},
      {"[1 2]", "payload is not valid JSON: expected ',' or ']' at line 1, column 4 (byte 3)"},
      {"01",
       "payload is not valid JSON: unexpected text after the JSON value at line 1, column 2 (byte "
       "1)"},
      {"1.", "payload is not valid JSON: expected a digit at line 1, column 3 (byte 2)"},
      {"NaN", "payload is not valid JSON: unexpected character at line 1, column 1 (byte 0)"},
      {"Infinity", "payload is not valid JSON: unexpected character at line 1, column 1 (byte 0)"},
      {"\"a\nb\"",
       "payload is not valid JSON: a control character must be escaped inside a string at line 1, "
       "column 3 (byte 2)"},
      {R"("\x")",
       "payload is not valid JSON: invalid escape in a string at line 1, column 3 (byte 2)"},
      {R"("\u12g4")",
       "payload is not valid JSON: invalid \\u escape in a string at line 1, column 6 (byte 5)"},
      {"\"\xC0\xAF\"",
       "payload is not valid JSON: invalid UTF-8 in a string at line 1, column 2 (byte 1)"},
      {"\"\xED\xA0\x80\"",
       "payload is not valid JSON: invalid UTF-8 in a string at line 1, column 2 (byte 1)"},
      {"\"abc", "payload is not valid JSON: unterminated string at line 1, column 5 (byte 4)"},
      {"[", "payload is not valid JSON: unexpected end of JSON at line 1, column 2 (byte 1)"},
      {"tru", "payload is not valid JSON: unexpected character at line 1, column 1 (byte 0)"},
  };
  for (const auto& c : cases) {
    auto r = RawJson::parse(c.text, "payload");
    ASSERT_FALSE(r) << c.text;
    EXPECT_EQ(r.error().message, c.message) << c.text;
    EXPECT_EQ(r.error().field, "payload");
    EXPECT_EQ(r.error().code, errc::invalid_argument);
  }
}

TEST(JsonText, DepthLimit) {
  const auto nested = [](std::size_t n) { return std::string(n, '[') + std::string(n, ']'); };
  EXPECT_TRUE(check_json(nested(kMaxJsonDepth), "payload"));
  auto deep = check_json(nested(kMaxJsonDepth + 1), "payload");
  ASSERT_FALSE(deep);
  EXPECT_NE(deep.error().message.find("nested more than 64 levels deep"), std::string::npos);
  // Deep input is refused without running out of stack.
  EXPECT_FALSE(check_json(std::string(1'000'000, '['), "payload"));
  // Surrogates pair up, as Boost.JSON reads them (a lone one once got past
  // this check and then threw in the client's parse: found by fuzz_answers).
  EXPECT_TRUE(check_json(R"("\ud83d\ude00")", "payload"));
  for (const auto* bad :
       {R"("\udeae")", R"("\ud83d")", R"("\ud83dx")", R"("\ud83d\u0041")", R"("\ud83d\n")"}) {
    auto r = check_json(bad, "payload");
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find("surrogate"), std::string::npos) << r.error().message;
  }
}

TEST(JsonText, MembersAndElementsAreViewsOfTheText) {
  const std::string text = R"( { "a" : 1e400 , "k\"ey" : {"x":[1,2]}, "a": "last" } )";
  ASSERT_TRUE(check_json(text, "t"));
  auto members = json_members(text);
  ASSERT_EQ(members.size(), 3u);
  EXPECT_EQ(members[0].key, "a");
  EXPECT_EQ(members[0].value, "1e400");
  EXPECT_EQ(members[1].key, "k\"ey");
  EXPECT_EQ(members[1].value, R"({"x":[1,2]})");
  EXPECT_EQ(json_member(text, "a"), R"("last")");
  EXPECT_EQ(json_member(text, "missing"), std::nullopt);
  auto elements = json_elements(R"([ 1 , "two" ,[3], {} ])");
  ASSERT_EQ(elements.size(), 4u);
  EXPECT_EQ(elements[1], R"("two")");
  EXPECT_EQ(elements[3], "{}");
  EXPECT_TRUE(json_elements("[]").empty());
  EXPECT_TRUE(json_members("{}").empty());
  EXPECT_TRUE(json_members("[1]").empty());
}

TEST(JsonText, WriterSplicesRawValuesAndEscapesStrings) {
  JsonWriter w;
  w.begin_object();
  w.key("payload").raw(RawJson::trusted("1e400"));
  w.key("none").raw(RawJson());
  w.key("s").string(std::string("a\"\\\n\x01\xC3\xA9", 7));
  w.key("list").begin_array().integer(-3).boolean(true).null().string_or_null("").end_array();
  w.key("nested").begin_object().end_object();
  w.key("value").value(boost::json::value{{"k", 1}});
  w.end_object();
  EXPECT_EQ(w.text(),
            "{\"payload\":1e400,\"none\":null,\"s\":\"a\\\"\\\\\\n\\u0001\xC3\xA9\",\"list\":"
            "[-3,true,null,null],\"nested\":{},\"value\":{\"k\":1}}");
  EXPECT_TRUE(check_json(w.text(), "w"));
}

TEST(JsonText, LossyValueForErrandsOwnReading) {
  EXPECT_EQ(RawJson::trusted(R"({"a":[1,"x"]})").value(), (boost::json::value{{"a", {1, "x"}}}));
  EXPECT_TRUE(RawJson().value().is_null());
}

}  // namespace
}  // namespace errand::core
