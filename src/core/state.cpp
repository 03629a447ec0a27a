#include "core/state.hpp"

#include <fmt/format.h>

namespace errand::core {

std::string_view to_string(JobState s) noexcept {
  switch (s) {
    case JobState::scheduled:
      return "scheduled";
    case JobState::queued:
      return "queued";
    case JobState::running:
      return "running";
    case JobState::succeeded:
      return "succeeded";
    case JobState::failed:
      return "failed";
    case JobState::dead:
      return "dead";
    case JobState::cancelled:
      return "cancelled";
    case JobState::blocked:
      return "blocked";
    case JobState::waiting:
      return "waiting";
  }
  return "unknown";
}

std::optional<JobState> parse_job_state(std::string_view s) noexcept {
  for (auto state : kAllStates) {
    if (to_string(state) == s) return state;
  }
  return std::nullopt;
}

bool is_terminal(JobState s) noexcept {
  return s == JobState::succeeded || s == JobState::dead || s == JobState::cancelled;
}

bool is_waiting(JobState s) noexcept {
  return s == JobState::scheduled || s == JobState::failed || s == JobState::waiting;
}

JobState initial_state(TimePoint run_at, TimePoint now) noexcept {
  return run_at > now ? JobState::scheduled : JobState::queued;
}

FailDecision decide_fail(int attempt, int max_attempts, const FailInput& in, TimePoint now,
                         const BackoffPolicy& policy, double jitter) noexcept {
  if (in.cancel_requested) return {JobState::cancelled, now};
  if (!in.retry || attempt >= max_attempts) return {JobState::dead, now};
  const Millis wait = in.retry_in ? *in.retry_in : retry_backoff(policy, attempt, jitter);
  return {JobState::failed, now + wait};
}

Result<void> check_cancel(JobState s) {
  if (is_terminal(s)) {
    return make_error(errc::conflict, fmt::format("the job is already {}", to_string(s)), "state");
  }
  return {};
}

Result<void> check_retry(JobState s) {
  if (s == JobState::dead || s == JobState::failed || s == JobState::cancelled) return {};
  return make_error(errc::conflict,
                    fmt::format("only dead, failed or cancelled jobs can be retried; the job is {}",
                                to_string(s)),
                    "state");
}

}  // namespace errand::core
