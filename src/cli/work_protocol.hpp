// What `errand work` reads from the commands it runs: their output split into
// lines, the `::progress`, `::result` and `::no-retry` directives among them,
// the tail of their log, and the failure message a finished command leaves.
//
// The protocol, one directive per stdout line:
//   ::progress 40 Importing rows 400/1000   percent 0..100, then an optional message
//   ::result {"rows": 1000}                 the job's result (any JSON value)
//   ::no-retry                              a failing exit is final (the job is dead)
//   ::continue {"state": …, "delay": "1h"}   at a successful exit, continue the job
//                                            (docs/API.md "Workflows"): it sleeps
//                                            ("delay" or "until") or, with "signal":
//                                            {"timeout"}, waits for its signal URL,
//                                            then runs again with "state"
//   ::wait-signal {"state": …, "timeout": "7d"}  the same as ::continue with "signal"
//   ::continued                             the command continued the job itself
//                                            (POST /v1/jobs/{id}/continue): no outcome
// Every other line (and every stderr line) is the job's log. Unknown `::`
// words are log lines too, so tools that print their own (`::warning`) work.
//
// Pure functions and value types, unit-tested in work_protocol_test.cpp.
// Thread-compatible.
#pragma once

#include "core/json_text.hpp"

#include <boost/json/value.hpp>

#include <cstddef>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace errand::cli {

struct LogLine {
  std::string text;
};
struct ProgressLine {
  int percent = 0;
  std::string message;
};
struct ResultLine {
  core::RawJson result;  // verbatim (core/json_text.hpp)
};
struct NoRetryLine {};
// ::continue / ::wait-signal: the continue's body (without lease_id), checked.
struct ContinueLine {
  boost::json::object body;
};
struct ContinuedLine {};
// A directive we know, written wrongly: logged, and for `::result` it fails the job.
struct BadDirective {
  std::string directive;  // "progress" or "result"
  std::string error;
};

using OutputLine = std::variant<LogLine, ProgressLine, ResultLine, NoRetryLine, ContinueLine,
                                ContinuedLine, BadDirective>;

// One stdout line (without its '\n'; a trailing '\r' is ignored).
OutputLine parse_output_line(std::string_view line);

// Splits a byte stream into lines. A line longer than `max_line` is passed on
// in pieces of that size, so a command printing without newlines cannot make
// the worker buffer without bound.
class LineSplitter {
 public:
  using Sink = std::function<void(std::string_view line)>;
  explicit LineSplitter(std::size_t max_line = 64 * 1024) : max_line_(max_line) {}
  void feed(std::string_view bytes, const Sink& sink);
  // At end of stream: the last line if it had no '\n'.
  void finish(const Sink& sink);

 private:
  std::size_t max_line_;
  std::string pending_;
};

// The last `max_bytes` of a log, kept as whole lines (one longer line keeps
// its end).
class LogTail {
 public:
  explicit LogTail(std::size_t max_bytes) : max_bytes_(max_bytes) {}
  void add(std::string_view line);
  // The last lines, '\n'-separated, together at most `max_bytes` long.
  std::string tail(std::size_t max_bytes) const;
  std::string text() const { return tail(max_bytes_); }
  bool empty() const noexcept { return lines_.empty(); }

 private:
  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  std::deque<std::string> lines_;
};

// How a command ended.
struct ExitStatus {
  bool signaled = false;
  int code = 0;    // exit code when !signaled
  int signal = 0;  // the signal when signaled
};

inline constexpr int kExitTempFail = 75;  // EX_TEMPFAIL: fail and retry

// "exit code 3", "exit code 75 (temporary failure)", "killed by signal 9 (SIGKILL)".
std::string describe_exit(const ExitStatus& status);

// The fail message for a command that failed: `what` (e.g. "exit code 3"),
// then the last stderr lines (at most kErrorStderrBytes, so the message stays
// under the server's 4 KiB). The whole log goes to the server's `log` field.
std::string failure_message(std::string_view what, const LogTail& stderr_tail);

inline constexpr std::size_t kLogBytes = 64 * 1024;
inline constexpr std::size_t kErrorStderrBytes = 1024;

}  // namespace errand::cli
