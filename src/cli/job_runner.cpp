#include "cli/job_runner.hpp"

#include "cli/child_process.hpp"
#include "cli/work_protocol.hpp"
#include "client/worker_policy.hpp"

#include <fmt/format.h>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <csignal>
#include <stdexcept>

namespace errand::cli {
using Clock = std::chrono::steady_clock;

namespace {

constexpr core::Millis kTick{100};  // how often cancel and stop requests are looked at

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};

// What the command said, line by line.
struct JobOutput {
  client::RunningJob& job;
  LogTail log{kLogBytes};
  LogTail stderr_tail{kErrorStderrBytes};
  core::RawJson result;
  bool no_retry = false;
  std::string result_error;

  void line(std::string_view text, bool from_stderr) {
    if (from_stderr) {
      stderr_tail.add(text);
      log.add(text);
      return;
    }
    auto parsed = parse_output_line(text);
    std::visit(Overloaded{
                   [&](LogLine& l) { log.add(l.text); },
                   [&](ProgressLine& p) { job.progress(p.percent, p.message); },
                   [&](ResultLine& r) { result = std::move(r.result); },
                   [&](NoRetryLine&) { no_retry = true; },
                   [&](BadDirective& b) {
                     log.add(b.error);
                     if (b.directive == "result") result_error = b.error;
                   },
               },
               parsed);
  }
};

std::vector<std::string> job_environment(const client::ClaimedJob& job, const std::string& url) {
  return {"ERRAND_JOB_ID=" + job.id,     "ERRAND_QUEUE=" + job.queue,
          "ERRAND_JOB_TYPE=" + job.type, "ERRAND_ATTEMPT=" + std::to_string(job.attempt),
          "ERRAND_URL=" + url,           "ERRAND_LEASE_ID=" + job.lease_id};
}

std::optional<core::Millis> time_limit(const client::RunningJob& job, const JobRunnerOptions& o) {
  if (o.timeout) return o.timeout;
  if (!o.lease_from_claim) return job.lease();
  return std::nullopt;
}

// Why the command must stop now; empty while it may run on.
std::string stop_reason(const client::RunningJob& job, Clock::duration ran,
                        std::optional<core::Millis> limit) {
  switch (job.stop_reason()) {
    case client::StopReason::cancelled:
      return "cancelled while running";
    case client::StopReason::lease_lost:
      return "its lease was lost";
    case client::StopReason::shutdown:
      return "the worker is shutting down";
    case client::StopReason::none:
      break;
  }
  if (limit && ran >= *limit)
    return fmt::format("timed out after {}", client::detail::short_duration(*limit));
  return {};
}

boost::json::value conclude(const ExitStatus& status, const std::string& stopped_because,
                            bool killed, const JobOutput& out, core::Millis kill_grace) {
  if (!stopped_because.empty()) {
    const auto how = killed ? fmt::format("SIGKILL after {} of SIGTERM",
                                          client::detail::short_duration(kill_grace))
                            : std::string("SIGTERM");
    throw std::runtime_error(failure_message(
        fmt::format("{}: stopped with {} ({})", stopped_because, how, describe_exit(status)),
        out.stderr_tail));
  }
  if (!status.signaled && status.code == 0) {
    if (!out.result_error.empty()) throw std::runtime_error(out.result_error);
    out.job.set_result_json(std::move(out.result));  // sent as the command printed it
    return nullptr;
  }
  auto message = failure_message(describe_exit(status), out.stderr_tail);
  if (out.no_retry) throw client::NoRetry(message);
  throw std::runtime_error(message);
}

}  // namespace

boost::json::value run_job_command(client::RunningJob& job, const JobRunnerOptions& options) {
  ChildSpec spec{.argv = options.command,
                 .env = job_environment(job.job(), options.server_urls()),
                 .stdin_data = std::string(job.payload_json().text())};
  auto spawned = ChildProcess::spawn(spec);
  if (!spawned) throw std::runtime_error(spawned.error().message);
  auto& child = **spawned;
  JobOutput out{job};
  const auto sink = [&out](std::string_view line, bool from_stderr) {
    out.line(line, from_stderr);
  };
  const auto limit = time_limit(job, options);
  const auto started = Clock::now();
  std::string stopped_because;
  std::optional<Clock::time_point> terminated_at;
  bool killed = false;
  for (;;) {
    const auto now = Clock::now();
    if (!terminated_at) {
      stopped_because = stop_reason(job, now - started, limit);
      if (!stopped_because.empty()) {
        child.signal_group(SIGTERM);
        terminated_at = now;
      }
    } else if (!killed && now - *terminated_at >= options.kill_grace) {
      child.signal_group(SIGKILL);
      killed = true;
    }
    if (auto status = child.pump(kTick, sink)) {
      job.set_log(out.log.text());
      return conclude(*status, stopped_because, killed, out, options.kill_grace);
    }
  }
}

}  // namespace errand::cli
