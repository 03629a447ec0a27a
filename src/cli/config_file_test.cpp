// errand.toml's reading (cli/config_file), from text: no file, no engine.
#include "cli/config_file.hpp"

#include "core/json_text.hpp"

#include <gtest/gtest.h>

#include <string>

namespace errand::cli {
namespace {

const std::string kPath = "/etc/errand/errand.toml";

std::string schedule_with_payload(const std::string& payload) {
  return "[[schedule]]\nname = \"nightly\"\ncron = \"0 3 * * *\"\nqueue = \"reports\"\npayload = " +
         payload + "\n";
}

TEST(ConfigFile, ReadsSchedulesQueuesPushAndServer) {
  auto c = parse_config_text(R"([server]
max_connections = 1000
key_file = "keys"
tls_cert = "tls/cert.pem"
tls_key = "/srv/key.pem"

[push]
allow = ["10.1.0.0/16"]

[[queue]]
name = "emails"
concurrency = 20
push = { url = "https://app.example.com/api/errand", timeout = "30s" }

[[schedule]]
name = "nightly"
cron = "0 3 * * *"
timezone = "Europe/Berlin"
queue = "reports"
payload = { kind = "daily", days = [1, 2], ratio = 0.5 }
)",
                             kPath);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->server.max_connections, 1000);
  // File names are relative to the file's directory.
  EXPECT_EQ(c->server.key_file, "/etc/errand/keys");
  EXPECT_EQ(c->server.tls_cert, "/etc/errand/tls/cert.pem");
  EXPECT_EQ(c->server.tls_key, "/srv/key.pem");
  EXPECT_EQ(c->push.allow, std::vector<std::string>{"10.1.0.0/16"});
  ASSERT_EQ(c->queues.size(), 1u);
  EXPECT_TRUE(c->queues[0].push.has_value());
  ASSERT_EQ(c->schedules.size(), 1u);
  EXPECT_EQ(c->schedules[0].payload.stored(), R"({"days":[1,2],"kind":"daily","ratio":5E-1})");
}

TEST(ConfigFile, ErrorsNameTheFileLineTableAndKey) {
  auto c = parse_config_text(
      "[[schedule]]\nname = \"nightly\"\ncron = \"0 25 * * *\"\nqueue = \"reports\"\n", kPath);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message,
            "/etc/errand/errand.toml:3: [[schedule]] 1 \"nightly\", key \"cron\": cron: field 2 "
            "(hour): 25 is out of range 0-23");
  auto broken = parse_config_text("[server\n", kPath);
  ASSERT_FALSE(broken);
  EXPECT_TRUE(broken.error().message.starts_with(kPath + ":1: ")) << broken.error().message;
}

// Found by fuzz_config_toml: TOML's nan and inf became Boost.JSON's NaN and
// Infinity, which are not JSON, and were stored as the schedule's payload
// (every job it fired then carried a payload no JSON reader takes).
TEST(ConfigFile, PayloadWithNanOrInfIsRefused) {
  for (const std::string value : {"nan", "+inf", "-inf", "[1.5, nan]", "{ a = { b = -inf } }"}) {
    auto c = parse_config_text(schedule_with_payload(value), kPath);
    ASSERT_FALSE(c) << value;
    EXPECT_EQ(c.error().message,
              "/etc/errand/errand.toml:5: [[schedule]] 1 \"nightly\", key "
              "\"payload\": nan and inf are not JSON numbers")
        << value;
  }
  auto push = parse_config_text(
      "[[queue]]\nname = \"q\"\npush = { url = \"https://a.example/h\", timeout = nan }\n", kPath);
  ASSERT_FALSE(push);
  EXPECT_NE(push.error().message.find("key \"push\": nan and inf are not JSON numbers"),
            std::string::npos)
      << push.error().message;
}

// Found by fuzz_config_toml: a payload nested deeper than the API takes one
// (core::kMaxJsonDepth) was stored as it was.
TEST(ConfigFile, PayloadNestedDeeperThanTheApiTakesIsRefused) {
  const auto nested = [](std::size_t depth) {
    return std::string(depth, '[') + std::string(depth, ']');
  };
  auto deepest = parse_config_text(schedule_with_payload(nested(core::kMaxJsonDepth)), kPath);
  ASSERT_TRUE(deepest) << deepest.error().message;
  EXPECT_TRUE(core::check_json(deepest->schedules[0].payload.stored(), "payload"));
  auto deeper = parse_config_text(schedule_with_payload(nested(core::kMaxJsonDepth + 1)), kPath);
  ASSERT_FALSE(deeper);
  EXPECT_NE(
      deeper.error().message.find("key \"payload\": nests arrays and tables more than 64 deep"),
      std::string::npos)
      << deeper.error().message;
}

// toml++ 3.3.0 reaches TOML_UNREACHABLE when it asks whether some non-ASCII
// characters are whitespace (upstream issue #190); the file is refused.
TEST(ConfigFile, NonAsciiCharacterInAValueIsAParseError) {
  auto c = parse_config_text(
      "[[schedule]]\nname = \"a\"\nat = 2025-03-0\xcf\xb2"
      "12:00:00Z\n",
      kPath);
  ASSERT_FALSE(c);
  EXPECT_TRUE(c.error().message.starts_with(kPath + ":3: ")) << c.error().message;
}

}  // namespace
}  // namespace errand::cli
