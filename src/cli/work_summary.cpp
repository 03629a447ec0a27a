#include "cli/work_summary.hpp"

#include "client/worker_policy.hpp"
#include "core/state.hpp"

#include <fmt/format.h>

namespace errand::cli {

namespace {

std::string first_line(std::string_view text) {
  return std::string(text.substr(0, text.find('\n')));
}

std::string seconds(core::Millis d) {
  return fmt::format("{:.1f}s", static_cast<double>(d.count()) / 1000);
}

}  // namespace

std::string summary_line(const client::JobOutcome& o) {
  const auto& job = o.job;
  if (o.ok && o.report_error.empty())
    return fmt::format("✓ {} {} {}", job.queue, job.id, seconds(o.elapsed));
  std::string line = fmt::format("✗ {} {} {} attempt {}/{}", job.queue, job.id, seconds(o.elapsed),
                                 job.attempt, job.max_attempts);
  if (!o.ok) line += ": " + first_line(o.error);
  if (o.state == core::JobState::dead || o.state == core::JobState::cancelled)
    line += fmt::format(" [{}]", core::to_string(o.state));
  if (!o.report_error.empty()) line += " (not reported: " + first_line(o.report_error) + ")";
  return line;
}

boost::json::object summary_json(const client::JobOutcome& o) {
  boost::json::object out{
      {"id", o.job.id},
      {"queue", o.job.queue},
      {"type", o.job.type.empty() ? boost::json::value(nullptr) : boost::json::value(o.job.type)},
      {"attempt", o.job.attempt},
      {"max_attempts", o.job.max_attempts},
      {"ok", o.ok},
      {"state", o.report_error.empty() ? boost::json::value(core::to_string(o.state))
                                       : boost::json::value(nullptr)},
      {"seconds", static_cast<double>(o.elapsed.count()) / 1000},
  };
  if (!o.ok) out["error"] = o.error;
  if (!o.report_error.empty()) out["report_error"] = o.report_error;
  return out;
}

}  // namespace errand::cli
