#include "cli/usage.hpp"

#include <gtest/gtest.h>

namespace errand::cli {
namespace {

const std::vector<std::string> kCommands{"enqueue", "job",    "jobs", "queues", "queue",   "cancel",
                                         "retry",   "delete", "work", "server", "schedule"};

TEST(ClosestWord, AMisspeltCommandFindsTheCommand) {
  EXPECT_EQ(closest_word("enqueu", kCommands), "enqueue");
  EXPECT_EQ(closest_word("enqeue", kCommands), "enqueue");
  EXPECT_EQ(closest_word("serve", kCommands), "server");
  EXPECT_EQ(closest_word("schedules", kCommands), "schedule");
  EXPECT_EQ(closest_word("wrok", kCommands), "work");
}

TEST(ClosestWord, NothingCloseIsNoGuess) {
  EXPECT_EQ(closest_word("deploy", kCommands), "");
  EXPECT_EQ(closest_word("x", kCommands), "");
}

TEST(JsonSyntaxError, ValidJsonIsNoError) {
  EXPECT_EQ(json_syntax_error(R"({"to": "a@example.com"})"), "");
  EXPECT_EQ(json_syntax_error("42"), "");
}

TEST(JsonSyntaxError, SaysWhereItBroke) {
  EXPECT_EQ(json_syntax_error(R"({"to": ada@example.com})"),
            R"(not valid JSON at line 1, column 8, near "ada@exampl" (syntax error))");
  EXPECT_EQ(json_syntax_error("{\"a\": 1,\n \"b\": ?}"),
            R"(not valid JSON at line 2, column 7, near "?}" (syntax error))");
}

TEST(JsonSyntaxError, CutShortOrWithTrailingText) {
  EXPECT_NE(json_syntax_error(R"({"rows": 20)").find("ends too early at line 1, column 12"),
            std::string::npos);
  EXPECT_NE(json_syntax_error("{} x").find("not valid JSON at line 1, column "), std::string::npos);
}

}  // namespace
}  // namespace errand::cli
