#include "core/job.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace errand::core {
namespace {

TEST(ValidateQueueName, Accepts) {
  for (const std::string& name :
       std::vector<std::string>{"a", "emails", "reports-2026", "a.b.c", "snake_case", "0",
                                "abcdefghijklmnopqrstuvwxyz0123456789_.-"}) {
    EXPECT_TRUE(validate_queue_name(name)) << name;
  }
  EXPECT_TRUE(validate_queue_name(std::string(64, 'q')));
}

TEST(ValidateQueueName, Rejects) {
  for (const std::string& name :
       std::vector<std::string>{"", "Emails", "EMAILS", "with space", "slash/queue", "colon:q",
                                "star*", "tab\t", "new\nline", "caf\xc3\xa9", "q!", "q#", "q?",
                                "q%20", "q+", "q@x", std::string("nul\0x", 5)}) {
    auto r = validate_queue_name(name);
    ASSERT_FALSE(r) << name;
    EXPECT_EQ(r.error().code, errc::invalid_argument) << name;
    EXPECT_EQ(r.error().field, "queue") << name;
    EXPECT_NE(r.error().message.find("queue"), std::string::npos) << r.error().message;
  }
  EXPECT_FALSE(validate_queue_name(std::string(65, 'q')));
}

TEST(ValidateQueueName, ErrorNamesTheGivenField) {
  auto r = validate_queue_name("Bad", "queues[2]");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "queues[2]");
  EXPECT_NE(r.error().message.find("queues[2]"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("\"Bad\""), std::string::npos) << r.error().message;
}

TEST(ValidateQueueName, ErrorQuotesAtMostAHundredCharacters) {
  auto r = validate_queue_name(std::string(5000, 'X'));
  ASSERT_FALSE(r);
  EXPECT_LT(r.error().message.size(), 300u);
}

TEST(ValidateLabel, Accepts) {
  EXPECT_TRUE(validate_label("send_welcome_email", kMaxTypeName, "type"));
  EXPECT_TRUE(validate_label("a", kMaxTypeName, "type"));
  EXPECT_TRUE(validate_label("Mixed.Case-With/Punct:uation!~", kMaxTypeName, "type"));
  EXPECT_TRUE(validate_label(std::string(kMaxTypeName, 'x'), kMaxTypeName, "type"));
  EXPECT_TRUE(validate_label(std::string(kMaxTagLength, 't'), kMaxTagLength, "tags[0]"));
}

TEST(ValidateLabel, Rejects) {
  for (const std::string& value :
       std::vector<std::string>{"", "two words", " lead", "trail ", "tab\there", "nl\n", "del\x7f",
                                std::string("nul\0", 4), "caf\xc3\xa9"}) {
    auto r = validate_label(value, kMaxTypeName, "type");
    ASSERT_FALSE(r) << value;
    EXPECT_EQ(r.error().code, errc::invalid_argument);
    EXPECT_EQ(r.error().field, "type");
    EXPECT_NE(r.error().message.find("type"), std::string::npos) << r.error().message;
  }
  EXPECT_FALSE(validate_label(std::string(kMaxTypeName + 1, 'x'), kMaxTypeName, "type"));
  auto r = validate_label(std::string(kMaxTagLength + 1, 't'), kMaxTagLength, "tags[3]");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "tags[3]");
  EXPECT_NE(r.error().message.find("64"), std::string::npos) << r.error().message;
}

TEST(Utf8Clip, KeepsShortTextWhole) {
  EXPECT_EQ(utf8_clip("héllo", 6), "héllo");
  EXPECT_EQ(utf8_clip("", 0), "");
}

TEST(Utf8Clip, NeverSplitsACharacter) {
  // "é" is two bytes: a cut inside it drops the whole character.
  EXPECT_EQ(utf8_clip("aé", 2), "a");
  EXPECT_EQ(utf8_clip("aéb", 3), "aé");
  EXPECT_EQ(utf8_clip("éa", 2, true), "a");
  EXPECT_EQ(utf8_clip("xéa", 3, true), "éa");
  EXPECT_EQ(utf8_clip("€", 2), "");  // three bytes
}

TEST(Utf8Clip, TailKeepsTheEnd) {
  EXPECT_EQ(utf8_clip("line 1\nline 2\n", 7, true), "line 2\n");
  EXPECT_EQ(utf8_clip("abcdef", 3), "abc");
}

TEST(JobDefaults, MatchTheApi) {
  const Job j;
  EXPECT_EQ(j.state, JobState::queued);
  EXPECT_EQ(j.max_attempts, 10);
  EXPECT_EQ(j.timeout, Millis{300'000});
  EXPECT_EQ(j.attempt, 0);
  EXPECT_TRUE(j.payload.is_null());
  EXPECT_TRUE(j.result.is_null());
  EXPECT_FALSE(j.cancel_requested);
  const NewJob n;  // unset: resolved against the queue's defaults at insert
  EXPECT_FALSE(n.max_attempts);
  EXPECT_FALSE(n.timeout);
  EXPECT_FALSE(n.priority);
}

}  // namespace
}  // namespace errand::core
