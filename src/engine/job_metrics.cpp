#include "engine/job_metrics.hpp"

#include "core/state.hpp"

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

void JobMetrics::claimed(const std::vector<core::Job>& jobs, core::TimePoint now) {
  if (!metrics_ || jobs.empty()) return;
  for (const auto& job : jobs) {
    metrics_->job_wait_seconds.at({job.queue}).observe(seconds(job.run_at, now));
  }
  std::lock_guard lock(mutex_);
  for (const auto& job : jobs) {
    if (leases_.try_emplace(job.lease_id, Lease{job.queue, now}).second) {
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

void JobMetrics::ended(std::string_view lease_id, std::string_view queue, core::JobState state,
                       core::TimePoint now) {
  if (!metrics_) return;
  std::optional<Lease> lease;
  {
    std::lock_guard lock(mutex_);
    if (auto it = leases_.find(std::string(lease_id)); it != leases_.end()) {
      lease = std::move(it->second);
      leases_.erase(it);  // its entry in order_ goes when it reaches the front
    }
  }
  std::string_view q = lease ? std::string_view(lease->queue) : queue;
  if (q.empty()) q = kUnknownQueue;
  metrics_->jobs_finished.at({q, core::to_string(state)}).add();
  if (lease) metrics_->job_run_seconds.at({q}).observe(seconds(lease->claimed_at, now));
}

}  // namespace errand::engine
