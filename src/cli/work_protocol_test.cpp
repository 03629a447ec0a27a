#include "cli/work_protocol.hpp"
#include "cli/work_summary.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include <csignal>

namespace errand::cli {
namespace {

// By value: callers pass temporaries, and a reference into one would dangle.
template <class T>
T as(const OutputLine& line) {
  EXPECT_TRUE(std::holds_alternative<T>(line));
  return std::holds_alternative<T>(line) ? std::get<T>(line) : T{};
}

TEST(ParseOutputLine, ProgressWithPercentAndMessage) {
  const auto p = as<ProgressLine>(parse_output_line("::progress 40 Importing rows 400/1000"));
  EXPECT_EQ(p.percent, 40);
  EXPECT_EQ(p.message, "Importing rows 400/1000");
}

TEST(ParseOutputLine, ProgressWithoutMessageOrWithDecimalsAndCarriageReturn) {
  EXPECT_EQ(as<ProgressLine>(parse_output_line("::progress 100")).percent, 100);
  EXPECT_EQ(as<ProgressLine>(parse_output_line("::progress 0")).message, "");
  const auto p = as<ProgressLine>(parse_output_line("::progress 12.6  almost\r"));
  EXPECT_EQ(p.percent, 13);
  EXPECT_EQ(p.message, "almost");
}

TEST(ParseOutputLine, ProgressOutOfRangeOrNotANumberIsABadDirective) {
  for (const char* line : {"::progress", "::progress 101 x", "::progress -1", "::progress abc",
                           "::progress 40%", "::progress nan"}) {
    const auto bad = as<BadDirective>(parse_output_line(line));
    EXPECT_EQ(bad.directive, "progress") << line;
    EXPECT_NE(bad.error.find("0 to 100"), std::string::npos) << line;
  }
}

TEST(ParseOutputLine, ResultIsAnyJsonValue) {
  EXPECT_EQ(as<ResultLine>(parse_output_line(R"(::result {"rows": 1000})")).result.text(),
            R"({"rows":1000})");
  EXPECT_EQ(as<ResultLine>(parse_output_line("::result 42")).result.text(), "42");
  EXPECT_EQ(as<ResultLine>(parse_output_line("::result [1e400, 0.10]")).result.text(),
            "[1e400,0.10]");
  EXPECT_EQ(as<ResultLine>(parse_output_line("::result \"done\"")).result.text(), "\"done\"");
}

TEST(ParseOutputLine, ResultThatIsNotJsonIsABadDirective) {
  for (const char* line : {"::result", "::result {oops", "::result done"}) {
    const auto bad = as<BadDirective>(parse_output_line(line));
    EXPECT_EQ(bad.directive, "result") << line;
    EXPECT_NE(bad.error.find("valid JSON"), std::string::npos) << line;
  }
}

TEST(ParseOutputLine, NoRetry) {
  EXPECT_TRUE(std::holds_alternative<NoRetryLine>(parse_output_line("::no-retry")));
  EXPECT_TRUE(std::holds_alternative<NoRetryLine>(parse_output_line("::no-retry  \r")));
}

TEST(ParseOutputLine, EverythingElseIsALogLine) {
  for (const char* line : {"hello", "", " ::progress 40 indented", ":progress 40", "::warning x",
                           "::no-retry please", "::progressive 40", "::"}) {
    EXPECT_EQ(as<LogLine>(parse_output_line(line)).text, line);
  }
}

std::vector<std::string> split(LineSplitter& s, std::initializer_list<std::string_view> chunks,
                               bool finish = true) {
  std::vector<std::string> lines;
  auto sink = [&](std::string_view l) { lines.emplace_back(l); };
  for (auto c : chunks) s.feed(c, sink);
  if (finish) s.finish(sink);
  return lines;
}

TEST(LineSplitter, JoinsLinesAcrossReadsAndKeepsEmptyOnes) {
  LineSplitter s;
  EXPECT_EQ(split(s, {"::progr", "ess 40 a\nb\n\nc", "d"}),
            (std::vector<std::string>{"::progress 40 a", "b", "", "cd"}));
}

TEST(LineSplitter, UnfinishedLineWaitsForMoreOrTheEnd) {
  LineSplitter s;
  EXPECT_TRUE(split(s, {"abc"}, false).empty());
  EXPECT_EQ(split(s, {"def\n"}, false), (std::vector<std::string>{"abcdef"}));
}

TEST(LineSplitter, CutsOverlongLinesIntoPieces) {
  LineSplitter s(4);
  EXPECT_EQ(split(s, {"abcdefghij\nxy"}), (std::vector<std::string>{"abcd", "efgh", "ij", "xy"}));
  LineSplitter t(4);
  EXPECT_EQ(split(t, {"abcd\nef"}), (std::vector<std::string>{"abcd", "ef"}));
}

TEST(LogTail, KeepsTheLastWholeLinesWithinItsSize) {
  LogTail log(10);
  for (const char* l : {"one", "two", "three", "four"}) log.add(l);
  EXPECT_EQ(log.text(), "three\nfour");
  EXPECT_EQ(log.tail(4), "four");
  EXPECT_EQ(log.tail(3), "our");  // the last line alone is too long: its end
}

TEST(LogTail, OneLongLineKeepsItsEnd) {
  LogTail log(5);
  log.add("0123456789");
  EXPECT_EQ(log.text(), "56789");
  EXPECT_TRUE(LogTail(5).empty());
}

TEST(DescribeExit, CodesAndSignals) {
  EXPECT_EQ(describe_exit({.code = 3}), "exit code 3");
  EXPECT_EQ(describe_exit({.code = 75}), "exit code 75 (temporary failure)");
  EXPECT_EQ(describe_exit({.signaled = true, .signal = SIGKILL}), "killed by signal 9 (SIGKILL)");
}

TEST(FailureMessage, ExitThenTheLastStderrLines) {
  LogTail err(kErrorStderrBytes);
  for (const char* l : {"smtp refused", "giving up"}) err.add(l);
  EXPECT_EQ(failure_message("exit code 3", err), "exit code 3: smtp refused\ngiving up");
  EXPECT_EQ(failure_message("exit code 1", LogTail(10)), "exit code 1");
}

TEST(FailureMessage, StaysUnderTheServersLimit) {
  LogTail err(kErrorStderrBytes);
  for (int i = 0; i < 5000; ++i) err.add("an error line that repeats");
  EXPECT_LT(failure_message("exit code 1", err).size(), 4096u);
}

client::JobOutcome outcome(bool ok, core::JobState state, std::string error = {}) {
  client::JobOutcome o;
  o.job.id = "01JDQ7Z3K5X9V2M4N6P8R0T2W4";
  o.job.queue = "emails";
  o.job.attempt = 2;
  o.job.max_attempts = 10;
  o.ok = ok;
  o.state = state;
  o.error = std::move(error);
  o.elapsed = core::Millis{1'234};
  return o;
}

TEST(Summary, SucceededAndFailedLines) {
  EXPECT_EQ(summary_line(outcome(true, core::JobState::succeeded)),
            "✓ emails 01JDQ7Z3K5X9V2M4N6P8R0T2W4 1.2s");
  EXPECT_EQ(summary_line(outcome(false, core::JobState::failed, "exit code 3: boom\nmore")),
            "✗ emails 01JDQ7Z3K5X9V2M4N6P8R0T2W4 1.2s attempt 2/10: exit code 3: boom");
  EXPECT_EQ(summary_line(outcome(false, core::JobState::dead, "exit code 1")),
            "✗ emails 01JDQ7Z3K5X9V2M4N6P8R0T2W4 1.2s attempt 2/10: exit code 1 [dead]");
}

TEST(Summary, AnOutcomeTheServerDidNotTakeIsAFailure) {
  auto o = outcome(true, core::JobState::running);
  o.report_error = "lease expired";
  EXPECT_EQ(summary_line(o),
            "✗ emails 01JDQ7Z3K5X9V2M4N6P8R0T2W4 1.2s attempt 2/10 (not reported: lease expired)");
  const auto j = summary_json(o);
  EXPECT_TRUE(j.at("state").is_null());
  EXPECT_EQ(j.at("report_error"), "lease expired");
}

TEST(Summary, Json) {
  const auto j = summary_json(outcome(false, core::JobState::cancelled, "cancelled while running"));
  EXPECT_EQ(j.at("id"), "01JDQ7Z3K5X9V2M4N6P8R0T2W4");
  EXPECT_EQ(j.at("state"), "cancelled");
  EXPECT_EQ(j.at("ok"), false);
  EXPECT_EQ(j.at("error"), "cancelled while running");
  EXPECT_EQ(j.at("attempt"), 2);
  EXPECT_DOUBLE_EQ(j.at("seconds").as_double(), 1.234);
  EXPECT_TRUE(j.at("type").is_null());
}

}  // namespace
}  // namespace errand::cli
