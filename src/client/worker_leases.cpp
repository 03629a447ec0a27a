// The heartbeat thread of the worker runtime: keeps every claimed job's lease
// alive until its outcome reached the server, and carries `cancel_requested`
// from the answers to the job's handler. One thread for all jobs, sleeping
// until the earliest heartbeat is due (or a new claim arrives).
#include "client/worker_runtime.hpp"

#include <fmt/format.h>

namespace errand::client {
using Clock = std::chrono::steady_clock;

namespace {

// Short enough that one slow answer cannot starve the other jobs' heartbeats
// past their leases; long enough for a busy server.
core::Millis heartbeat_read_timeout(core::Millis interval) {
  return std::clamp(interval, core::Millis{1'000}, core::Millis{10'000});
}

}  // namespace

void WorkerRuntime::heartbeat_thread() {
  core::MutexLock lock(mu_);
  while (!heartbeats_quit_) {
    auto due = due_heartbeats();
    if (due.empty()) continue;
    lock.unlock();
    for (const auto& slot : due) heartbeat(*slot);
    lock.lock();
  }
}

std::vector<std::shared_ptr<JobSlot>> WorkerRuntime::due_heartbeats() {
  std::vector<std::shared_ptr<JobSlot>> due;
  auto next = SteadyTime::max();
  const auto now = Clock::now();
  for (const auto& [lease_id, slot] : active_) {
    if (slot->stop.load() == StopReason::lease_lost) continue;
    const auto at = locked(*slot).next_heartbeat;
    if (at <= now) {
      due.push_back(slot);
    } else {
      next = std::min(next, at);
    }
  }
  if (!due.empty()) return due;
  heartbeat_wake_ = next;
  if (next == SteadyTime::max()) {
    heartbeat_cv_.wait(mu_);
  } else {
    heartbeat_cv_.wait_until(mu_, next);
  }
  heartbeat_wake_ = SteadyTime{};  // awake: admit need not wake it
  return due;
}

void WorkerRuntime::heartbeat(JobSlot& slot) {
  const auto interval = detail::heartbeat_interval(slot.lease);
  const auto& job = slot.job;
  // Extend by the lease this worker asked for; unset, the server extends by
  // the job's timeout.
  auto beat =
      client_.heartbeat(job.id, job.lease_id, options_.lease, heartbeat_read_timeout(interval));
  const auto now = Clock::now();
  if (!beat &&
      (beat.error().code == core::errc::conflict || beat.error().code == core::errc::not_found)) {
    return lose_lease(slot, beat.error());
  }
  bool recovered = false, first_failure = false;
  {
    core::MutexLock lock(mu_);
    auto& state = locked(slot);
    // A failed heartbeat is tried again sooner: the lease is running out.
    state.next_heartbeat = now + (beat ? interval : std::min(interval, core::Millis{1'000}));
    recovered = beat && state.heartbeat_failing;
    first_failure = !beat && !state.heartbeat_failing;
    state.heartbeat_failing = !beat;
  }
  if (first_failure) {
    log(LogLevel::warn,
        fmt::format("job {}: heartbeat failed: {}; retrying", job.id, beat.error().message));
  }
  if (recovered) log(LogLevel::info, fmt::format("job {}: heartbeats get through again", job.id));
  if (beat && beat->cancel_requested && !slot.cancel_requested.exchange(true)) {
    auto none = StopReason::none;
    slot.stop.compare_exchange_strong(none, StopReason::cancelled);
    log(LogLevel::info, fmt::format("job {} was cancelled: asking its handler to stop", job.id));
  }
}

void WorkerRuntime::lose_lease(JobSlot& slot, const core::Error& why) {
  if (slot.stop.exchange(StopReason::lease_lost) == StopReason::lease_lost) return;
  {
    // Once the handler has returned, its ack reports what happened (and a
    // heartbeat racing a delivered ack gets 409 harmlessly).
    core::MutexLock lock(mu_);
    if (locked(slot).finished) return;
  }
  log(LogLevel::warn,
      fmt::format("job {}: lease lost ({}); asking its handler to stop", slot.job.id, why.message));
}

}  // namespace errand::client
