// The job state machine. Every decision about where a job goes next is made
// here, as pure functions of the job's counters and `now`, so the engine and
// every Store backend decide identically.
//
//   scheduled ─(run_at reached)─► queued ─(claim)─► running ─► succeeded
//                                   ▲                 │
//   failed ◄──(attempt failed,      │                 ├─► dead       (no attempts left / not
//   retryable)
//     retries left; waits like ─────┘ (run_at reached)├─► cancelled  (cancel was requested)
//     scheduled)                                      └─► failed
//
// `cancel` moves any waiting state (scheduled, queued, failed, blocked,
// waiting) to cancelled at once; a running job gets `cancel_requested` and
// ends cancelled when its attempt ends. `retry` moves dead, failed or
// cancelled back to queued.
//
// Workflows add two states. `blocked`: the job waits for its parents (its
// `after` jobs) to succeed; when the last does it becomes queued (or
// scheduled, before its run_at); when one ends dead or cancelled it is
// cancelled too (unless it runs after failures). `waiting`: a running
// attempt continued waiting for a signal; the signal, or its timeout (the
// job's run_at), makes it queued again.
#pragma once

#include "core/backoff.hpp"
#include "core/time.hpp"

#include <cstdint>
#include <optional>
#include <string_view>

namespace errand::core {

enum class JobState : std::uint8_t {
  scheduled,
  queued,
  running,
  succeeded,
  failed,
  dead,
  cancelled,
  blocked,
  waiting
};

inline constexpr JobState kAllStates[] = {
    JobState::scheduled, JobState::queued,  JobState::running,
    JobState::succeeded, JobState::failed,  JobState::dead,
    JobState::cancelled, JobState::blocked, JobState::waiting};

std::string_view to_string(JobState s) noexcept;
std::optional<JobState> parse_job_state(std::string_view s) noexcept;

// succeeded, dead, cancelled: the job will not run again unless retried.
bool is_terminal(JobState s) noexcept;
// scheduled, failed, waiting: the job waits for its run_at (waiting: at the
// latest; a signal may come first).
bool is_waiting(JobState s) noexcept;

// The state of a new or re-queued job.
JobState initial_state(TimePoint run_at, TimePoint now) noexcept;

struct FailInput {
  bool retry = true;               // false: the worker says retrying is pointless
  std::optional<Millis> retry_in;  // worker's override of the backoff
  bool cancel_requested = false;
};

struct FailDecision {
  JobState next;     // failed (will retry), dead or cancelled
  TimePoint run_at;  // when the next attempt may start (meaningful for failed)
};

// What happens after attempt `attempt` (1-based) of `max_attempts` failed.
FailDecision decide_fail(int attempt, int max_attempts, const FailInput& in, TimePoint now,
                         const BackoffPolicy& policy, double jitter) noexcept;

// Whether a job in `s` may be cancelled / retried. Errors are `conflict`.
Result<void> check_cancel(JobState s);
Result<void> check_retry(JobState s);

}  // namespace errand::core
