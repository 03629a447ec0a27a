#include "engine/job_metrics.hpp"

#include "core/state.hpp"
#include "core/trace.hpp"

#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include <chrono>

namespace errand::engine {
namespace {

constexpr std::string_view kUnknownQueue = "_unknown";
constexpr core::Millis kForgetAfter{86'400'000};

double seconds(core::TimePoint from, core::TimePoint to) {
  const std::chrono::duration<double> d = to - from;
  return std::max(0.0, d.count());
}

}  // namespace

void JobMetrics::enqueued(std::string_view queue) const {
  if (metrics_) metrics_->jobs_enqueued.at({queue}).add();
}

bool job_log_enabled() {
  return spdlog::should_log(spdlog::level::debug);
}

void log_job(bool json, std::string_view event, std::string_view id, std::string_view queue,
             std::string_view type, int attempt, std::string_view traceparent) {
  if (!job_log_enabled()) return;
  const auto trace_id = core::trace_id_of(traceparent);
  if (json) {
    boost::json::object o{
        {"msg", "job"}, {"event", event}, {"job_id", id}, {"queue", queue}, {"attempt", attempt}};
    if (!type.empty()) o["type"] = type;
    if (!trace_id.empty()) o["trace_id"] = trace_id;
    spdlog::debug("{}", boost::json::serialize(o));
    return;
  }
  spdlog::debug("job {} {} queue={}{}{} attempt={}{}{}", id, event, queue,
                type.empty() ? "" : " type=", type, attempt,
                trace_id.empty() ? "" : " trace_id=", trace_id);
}

std::string_view end_event(core::JobState state) {
  switch (state) {
    case core::JobState::succeeded:
      return "completed";
    case core::JobState::failed:
      return "retry_scheduled";
    case core::JobState::dead:
      return "dead";
    case core::JobState::cancelled:
      return "cancelled";
    default:
      return "continued";
  }
}

void JobMetrics::claimed(const std::vector<core::Job>& jobs, core::TimePoint now) {
  // The transition lines of the attempt's end name its type and trace too:
  // what a complete or fail answers may not carry them.
  const bool keep = keep_attempts_ || job_log_enabled();
  if ((!metrics_ && !keep) || jobs.empty()) return;
  if (metrics_) {
    for (const auto& job : jobs) {
      metrics_->job_wait_seconds.at({job.queue}).observe(seconds(job.run_at, now));
    }
  }
  core::MutexLock lock(mutex_);
  for (const auto& job : jobs) {
    Lease lease{.queue = job.queue, .claimed_at = now};
    if (keep) {
      lease.job_id = job.id;
      lease.type = job.type;
      lease.traceparent = job.traceparent;
      lease.attempt = job.attempt;
      lease.ready_at = job.run_at;
    }
    if (leases_.try_emplace(job.lease_id, std::move(lease)).second) {
      order_.push_back(job.lease_id);
    }
  }
  // Forget the oldest: past the cap, and those held longer than a day (the
  // order keeps ended leases until they reach its front: at most twice the
  // cap, so one long attempt cannot make it grow without bound).
  while (!order_.empty()) {
    const auto it = leases_.find(order_.front());
    const bool stale = it == leases_.end() || leases_.size() > kMaxLeases ||
                       order_.size() > 2 * kMaxLeases || now - it->second.claimed_at > kForgetAfter;
    if (!stale) break;
    if (it != leases_.end()) leases_.erase(it);
    order_.pop_front();
  }
}

std::optional<ClaimedAttempt> JobMetrics::ended(std::string_view lease_id, std::string_view queue,
                                                core::JobState state, core::TimePoint now) {
  if (!metrics_ && !keep_attempts_ && !job_log_enabled()) return std::nullopt;
  std::optional<Lease> lease;
  {
    core::MutexLock lock(mutex_);
    if (auto it = leases_.find(std::string(lease_id)); it != leases_.end()) {
      lease = std::move(it->second);
      leases_.erase(it);  // its entry in order_ goes when it reaches the front
    }
  }
  if (metrics_) {
    std::string_view q = lease ? std::string_view(lease->queue) : queue;
    if (q.empty()) q = kUnknownQueue;
    metrics_->jobs_finished.at({q, core::to_string(state)}).add();
    if (lease) metrics_->job_run_seconds.at({q}).observe(seconds(lease->claimed_at, now));
  }
  return lease;
}

}  // namespace errand::engine
