#include "cli/output.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include <sstream>

namespace errand::cli {
namespace {
using core::Millis;

const core::TimePoint kNow = core::from_unix_ms(1'800'000'000'000);

TEST(RelativeTime, PastFutureAndUnits) {
  EXPECT_EQ(relative_time(kNow, kNow), "just now");
  EXPECT_EQ(relative_time(kNow - Millis{42'000}, kNow), "42s ago");
  EXPECT_EQ(relative_time(kNow + Millis{10'000}, kNow), "in 10s");
  EXPECT_EQ(relative_time(kNow - Millis{5 * 60'000 + 59'000}, kNow), "5m ago");
  EXPECT_EQ(relative_time(kNow - Millis{65 * 60'000}, kNow), "1h5m ago");
  EXPECT_EQ(relative_time(kNow + Millis{2 * 3'600'000}, kNow), "in 2h");
  EXPECT_EQ(relative_time(kNow - Millis{(3 * 24 + 2) * 3'600'000LL}, kNow), "3d2h ago");
}

TEST(AbsoluteAndRelative, ReadableUtcWithAge) {
  EXPECT_EQ(absolute_and_relative(std::nullopt, kNow), "-");
  auto text = absolute_and_relative(kNow - Millis{180'000}, kNow);
  EXPECT_EQ(text, core::format_rfc3339(kNow - Millis{180'000}).substr(0, 10) + " " +
                      core::format_rfc3339(kNow - Millis{180'000}).substr(11, 8) + " UTC (3m ago)");
}

TEST(JsonPreview, CutsLongValues) {
  EXPECT_EQ(json_preview(boost::json::parse(R"({"a":1})")), R"({"a":1})");
  auto long_text = json_preview(boost::json::value(std::string(50, 'x')), 10);
  EXPECT_EQ(long_text.rfind("\"xxxxxxxxx… (52 bytes", 0), 0u) << long_text;
}

TEST(Table, AlignsColumnsAndRightAlignsCounts) {
  Table t({{"QUEUE"}, {"QUEUED", true}, {"NOTE"}});
  t.add({"emails", "3", "ok"});
  t.add({"a", "1200", "…"});
  std::ostringstream out;
  t.print(out);
  EXPECT_EQ(out.str(),
            "QUEUE   QUEUED  NOTE\n"
            "emails       3  ok\n"
            "a         1200  …\n");
}

TEST(Fields, AlignsValues) {
  Fields f;
  f.add("id", "J1");
  f.add("run at", "soon");
  std::ostringstream out;
  f.print(out);
  EXPECT_EQ(out.str(), "id:      J1\nrun at:  soon\n");
}

TEST(PrintJob, ShowsStateAttemptsProgressAndErrors) {
  core::Job job;
  job.id = "J1";
  job.queue = "emails";
  job.state = core::JobState::running;
  job.attempt = 2;
  job.max_attempts = 5;
  job.created_at = kNow - Millis{60'000};
  job.run_at = job.created_at;
  job.worker = "w1";
  job.lease_expires_at = kNow + Millis{240'000};
  job.progress = core::Progress{.percent = 40, .message = "rows 400/1000"};
  job.errors.push_back({1, kNow - Millis{30'000}, "SMTP timeout"});
  std::ostringstream out;
  print_job(out, job, kNow);
  auto text = out.str();
  EXPECT_NE(text.find("state:          running (attempt 2 of 5)"), std::string::npos) << text;
  EXPECT_NE(text.find("type:           -"), std::string::npos) << text;
  EXPECT_NE(text.find("(in 4m)"), std::string::npos) << text;
  EXPECT_NE(text.find("40%  rows 400/1000"), std::string::npos) << text;
  EXPECT_NE(text.find("30s ago  SMTP timeout"), std::string::npos) << text;
}

TEST(PrintJob, ShowsPushContinuationsAndARetry) {
  core::Job job;
  job.id = "J1";
  job.queue = "imports";
  job.state = core::JobState::queued;
  job.attempt = 3;
  job.max_attempts = 4;
  job.run_at = kNow - Millis{5'000};
  job.push_continuations = 2;
  job.push_state_bytes = 120;
  job.errors.push_back({3, kNow - Millis{60'000}, "HTTP 500"});
  std::ostringstream out;
  print_job(out, job, kNow);
  const auto text = out.str();
  EXPECT_NE(text.find("push:      continued 2 times (last state 120 bytes): each call went on "
                      "from the state the one before returned\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("retry:     queued again 5s ago for attempt 4\n"), std::string::npos) << text;
}

TEST(PrintJob, EndsWithTheLogOfTheLastAttempt) {
  core::Job job;
  job.id = "J1";
  job.state = core::JobState::failed;
  job.logs.push_back({.attempt = 1, .text = "old attempt\n"});
  job.logs.push_back({.attempt = 2, .text = "connecting\nsmtp refused"});
  std::ostringstream out;
  print_job(out, job, kNow);
  const auto text = out.str();
  EXPECT_NE(text.find("log of the last attempt:\nconnecting\nsmtp refused\n"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("old attempt"), std::string::npos) << text;
}

TEST(PrintTables, EmptyListsSaySo) {
  std::ostringstream jobs, queues;
  print_job_table(jobs, {}, kNow);
  print_queue_table(queues, {});
  EXPECT_EQ(jobs.str(), "no jobs\n");
  EXPECT_NE(queues.str().find("no queues yet"), std::string::npos);
}

TEST(PrintTables, QueueCounts) {
  client::QueueInfo q;
  q.name = "emails";
  q.paused = true;
  q.counts[static_cast<std::size_t>(core::JobState::queued)] = 3;
  q.processed = 10;
  std::ostringstream out;
  print_queue_table(out, {q});
  EXPECT_EQ(out.str(),
            "QUEUE   STATUS  SCHEDULED  QUEUED  RUNNING  SUCCEEDED  FAILED  DEAD  CANCELLED  "
            "BLOCKED  WAITING  PROCESSED  FAILURES\n"
            "emails  paused          0       3        0          0       0     0          0        "
            "0        0         10         0\n");
}

}  // namespace
}  // namespace errand::cli
