#include "cli/job_runner.hpp"

#include "cli/child_process.hpp"
#include "cli/work_protocol.hpp"
#include "client/worker_policy.hpp"
#include "core/duration.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>

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
template <class... F>
Overloaded(F...) -> Overloaded<F...>;  // clang 14 does not deduce aggregates' arguments

// What the command said, line by line.
struct JobOutput {
  client::RunningJob& job;
  LogTail log{kLogBytes};
  LogTail stderr_tail{kErrorStderrBytes};
  core::RawJson result;
  bool no_retry = false;
  std::string result_error;
  std::optional<boost::json::object> continue_body;  // ::continue / ::wait-signal
  bool continued = false;                            // ::continued

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
                   [&](ContinueLine& c) { continue_body = std::move(c.body); },
                   [&](ContinuedLine&) { continued = true; },
                   [&](BadDirective& b) {
                     log.add(b.error);
                     if (b.directive != "progress") result_error = b.error;
                   },
               },
               parsed);
  }
};

std::vector<std::string> job_environment(const client::ClaimedJob& job, const std::string& url,
                                         const std::string& ca_file) {
  std::vector<std::string> env{
      "ERRAND_JOB_ID=" + job.id,     "ERRAND_QUEUE=" + job.queue,
      "ERRAND_JOB_TYPE=" + job.type, "ERRAND_ATTEMPT=" + std::to_string(job.attempt),
      "ERRAND_URL=" + url,           "ERRAND_LEASE_ID=" + job.lease_id};
  // The job's W3C trace context, under the names OpenTelemetry SDKs read.
  if (!job.traceparent.empty()) {
    env.push_back("TRACEPARENT=" + job.traceparent);
    if (!job.tracestate.empty()) env.push_back("TRACESTATE=" + job.tracestate);
  }
  if (!ca_file.empty()) env.push_back("ERRAND_CA=" + ca_file);
  // Workflows: what a continue saved, the signal that resumed the job, the parents' results.
  if (job.continuation > 0) {
    env.push_back("ERRAND_CONTINUATION=" + std::to_string(job.continuation));
    env.push_back("ERRAND_STATE=" + boost::json::serialize(job.state));
  }
  if (job.signal) env.push_back("ERRAND_SIGNAL=" + boost::json::serialize(*job.signal));
  if (!job.parents.empty()) {
    boost::json::array parents;
    for (const auto& p : job.parents) {
      parents.emplace_back(boost::json::object{
          {"id", p.id}, {"state", core::to_string(p.state)}, {"result", p.result}});
    }
    env.push_back("ERRAND_PARENTS=" + boost::json::serialize(parents));
  }
  return env;
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

// ::continue / ::wait-signal at a successful exit: the job continues; the
// signal URL of a wait goes to the log (and shows on the job for keys).
boost::json::value continue_now(client::RunningJob& job, const boost::json::object& body) {
  client::ContinueOptions o;
  if (const auto* s = body.if_contains("state")) o.state = *s;
  const auto text = [&](std::string_view key) -> std::string {
    const auto* v = body.if_contains(key);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
  };
  if (auto d = text("delay"); !d.empty()) {
    auto parsed = core::parse_duration(d);
    if (!parsed) throw std::runtime_error("::continue: delay: " + parsed.error().message);
    o.delay = *parsed;
  }
  if (auto u = text("until"); !u.empty()) {
    auto parsed = core::parse_rfc3339(u, "until");
    if (!parsed) throw std::runtime_error("::continue: until: " + parsed.error().message);
    o.until = *parsed;
  }
  if (const auto* signal = body.if_contains("signal"); signal && signal->is_object()) {
    const auto* timeout = signal->as_object().if_contains("timeout");
    auto parsed = core::parse_duration(
        timeout && timeout->is_string() ? std::string(timeout->get_string()) : std::string());
    if (!parsed) throw std::runtime_error("::wait-signal: timeout: " + parsed.error().message);
    o.signal_timeout = *parsed;
  }
  auto done = job.continue_job(o);
  if (!done) throw std::runtime_error("continue: " + done.error().message);
  return nullptr;
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
    if (out.continued) {
      out.job.mark_continued();
      return nullptr;
    }
    if (out.continue_body) return continue_now(out.job, *out.continue_body);
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
                 .env = job_environment(job.job(), options.server_urls(), options.ca_file),
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
