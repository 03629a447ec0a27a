#include "store/common/job_transitions.hpp"

#include "core/id.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace errand::store {

using core::JobState;

namespace {
constexpr std::size_t kLeaseIdBytes = 16;
}  // namespace

void end_lease(core::Job& job) {
  job.lease_id.clear();
  job.lease_expires_at.reset();
}

void apply_requeue(core::Job& job, const JobRequeueParams& p) {
  if (p.continuation) {
    ++job.push_continuations;
    job.push_deferrals = 0;
    job.push_state = p.state;
    job.continued = true;
    if (p.progress) {
      job.progress = *p.progress;
      job.progress->updated_at = p.now;
    }
    // A new wait replaces the last one's signal (a signal the job already
    // read is not handed to it again).
    job.signal = core::RawJson();
    job.signal_nonce = p.signal_nonce;
    job.signal_status =
        p.signal_nonce.empty() ? core::SignalStatus::none : core::SignalStatus::waiting;
  } else {
    ++job.push_deferrals;
  }
  --job.attempt;  // not an attempt: the next claim counts this one again
  end_lease(job);
  job.run_at = p.run_at;
  if (p.continuation && !p.signal_nonce.empty()) {
    job.state = JobState::waiting;
  } else {
    job.state = p.run_at <= p.now ? JobState::queued : JobState::scheduled;
  }
}

core::Job requeue_summary(const core::Job& job) {
  core::Job out;
  out.id = job.id;
  out.queue = job.queue;
  out.state = job.state;
  out.attempt = job.attempt;
  out.run_at = job.run_at;
  out.push_continuations = job.push_continuations;
  out.push_deferrals = job.push_deferrals;
  return out;
}

core::Job completed_job(const JobCompleteParams& p, std::string queue, int attempt) {
  core::Job job;
  job.id = p.id;
  job.queue = std::move(queue);
  job.attempt = attempt;
  job.state = JobState::succeeded;
  job.result = p.result;
  job.finished_at = p.now;
  return job;
}

core::FailDecision apply_fail(core::Job& job, std::string message, core::FailInput in,
                              core::TimePoint now, const core::BackoffPolicy& backoff,
                              double jitter) {
  job.errors.push_back({.attempt = job.attempt, .at = now, .message = std::move(message)});
  in.cancel_requested = job.cancel_requested;
  const auto decision = core::decide_fail(job.attempt, job.max_attempts, in, now, backoff, jitter);
  job.state = decision.next;
  end_lease(job);
  if (decision.next == JobState::failed) {
    job.run_at = decision.run_at;
  } else {
    job.finished_at = now;
  }
  return decision;
}

std::string log_tail(std::string_view log) {
  return core::utf8_clip(log, core::kMaxLogBytes, true);
}

core::Result<std::optional<JobState>> apply_cancel(core::Job& job, core::TimePoint now) {
  if (auto allowed = core::check_cancel(job.state); !allowed) return allowed.error();
  if (job.state == JobState::running) {
    job.cancel_requested = true;  // the attempt ends cancelled when it fails or expires
    return std::optional<JobState>{};
  }
  const JobState from = job.state;
  job.state = JobState::cancelled;
  job.finished_at = now;
  return std::optional<JobState>{from};
}

core::Result<JobState> apply_retry(core::Job& job, core::TimePoint now) {
  if (auto allowed = core::check_retry(job.state); !allowed) return allowed.error();
  const JobState from = job.state;
  job.state = JobState::queued;
  job.run_at = now;
  job.max_attempts = std::max(job.max_attempts, job.attempt + 1);
  job.finished_at.reset();
  // An old cancel request must not cancel the fresh attempt the caller asked for.
  job.cancel_requested = false;
  return from;
}

void grant_lease(core::Job& job, const JobClaimParams& p) {
  job.state = JobState::running;
  ++job.attempt;
  job.lease_id = core::random_hex(kLeaseIdBytes);
  job.lease_expires_at = p.now + p.lease.value_or(job.timeout);
  if (!job.started_at) job.started_at = p.now;
  job.worker = p.worker;
}

core::Result<InsertOutcome> repeated_insert(const core::NewJob& job, std::string id,
                                            std::string_view type, std::string_view payload,
                                            core::JobState state) {
  const std::string_view asked = job.payload.empty() ? "null" : job.payload.text();
  if (type != job.type || payload != asked) {
    return core::make_error(
        core::errc::conflict,
        fmt::format("idempotency_key \"{}\" already names job {} of queue {}, with another type "
                    "or payload: a repeat must ask for the same job (or use a new key)",
                    job.idempotency_key, id, job.queue),
        "idempotency_key");
  }
  return InsertOutcome{.id = std::move(id), .state = state, .duplicate = true};
}

core::TimePoint debounce_run_at(const core::DebounceSpec& d, core::TimePoint now,
                                std::optional<core::TimePoint> until) {
  const core::TimePoint at = now + d.period;
  return until && *until < at ? *until : at;
}

core::TimePoint unique_since(const core::UniqueSpec& u, core::TimePoint now) {
  return u.within ? now - *u.within : core::TimePoint{};
}

bool replaceable(core::JobState state) {
  return state == core::JobState::scheduled || state == core::JobState::queued;
}

JobChange lease_expired_change(const core::Job& job) {
  return {.id = job.id,
          .state = job.state,
          .attempt = job.attempt,
          .error = std::string(kLeaseExpiredError)};
}

std::optional<core::TimePoint> earliest(std::optional<core::TimePoint> a,
                                        std::optional<core::TimePoint> b) {
  if (!a) return b;
  if (!b) return a;
  return std::min(*a, *b);
}

core::Error signal_expired() {
  return core::make_error(core::errc::not_found,
                          "this signal URL is not valid any more: the job's wait for it ended",
                          "signal");
}

core::Result<void> check_signal(std::string_view stored_nonce, core::SignalStatus status,
                                JobState state, std::string_view nonce) {
  if (stored_nonce.empty() || stored_nonce != nonce) return signal_expired();
  if (status == core::SignalStatus::received) {
    return core::make_error(core::errc::conflict, "the job already received this signal", "signal");
  }
  if (status != core::SignalStatus::waiting) return signal_expired();
  if (state != JobState::waiting) {
    return core::make_error(
        core::errc::conflict,
        fmt::format("the job is {}: it no longer waits for this signal", core::to_string(state)),
        "signal");
  }
  return {};
}

}  // namespace errand::store
