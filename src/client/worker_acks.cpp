// The ack thread of the worker runtime: sends handler outcomes to the server,
// as many as are ready together in one POST /v1/acks (one transaction and one
// fsync on the server, like a group commit), retries them while the server
// cannot be reached, and reports each outcome to `on_outcome`.
#include "client/worker_runtime.hpp"

#include <fmt/format.h>

namespace errand::client {
using Clock = std::chrono::steady_clock;

namespace {

// After stop, how long undelivered outcomes are retried before giving up
// (their jobs then come back when their leases run out: nothing is lost).
constexpr core::Millis kFlushTimeout{10'000};

}  // namespace

void WorkerRuntime::ack_thread() {
  detail::ReconnectBackoff backoff(options_.max_backoff);
  std::optional<SteadyTime> give_up_at;
  std::vector<PendingAck> batch;
  core::MutexLock lock(mu_);
  for (;;) {
    if (batch.empty()) {
      ack_cv_.wait(mu_, [this]() REQUIRES(mu_) { return acks_quit_ || !acks_.empty(); });
      if (acks_.empty()) return;
      while (!acks_.empty() && batch.size() < options_.max_ack_batch) {
        batch.push_back(std::move(acks_.front()));
        acks_.pop_front();
      }
    }
    lock.unlock();
    const bool delivered = send_acks(batch);
    lock.lock();
    if (delivered) {
      batch.clear();
      backoff.reset();
      continue;
    }
    if (acks_quit_ && !give_up_at) give_up_at = Clock::now() + kFlushTimeout;
    if (give_up_at && Clock::now() >= *give_up_at) {
      for (auto& a : acks_) batch.push_back(std::move(a));
      acks_.clear();
      lock.unlock();
      log(LogLevel::error, fmt::format("giving up reporting {} outcome(s); those jobs run again "
                                       "when their leases run out",
                                       batch.size()));
      for (const auto& item : batch) report(item, nullptr, "the server could not be reached");
      forget(batch);
      batch.clear();
      lock.lock();
      continue;
    }
    const auto wait = backoff.next(jitter());
    log(LogLevel::warn, fmt::format("reporting {} outcome(s) failed; retrying in {}", batch.size(),
                                    detail::short_duration(wait)));
    ack_cv_.wait_for(mu_, wait);
  }
}

// True when the batch is done with (delivered, or refused as a whole for a
// reason that retrying cannot fix); false to retry it.
bool WorkerRuntime::send_acks(std::vector<PendingAck>& batch) {
  std::vector<Ack> acks;
  acks.reserve(batch.size());
  for (const auto& item : batch) acks.push_back(item.ack);
  auto got = client_.ack_many(acks);
  if (!got && got.error().code == core::errc::unavailable) {
    log(LogLevel::warn, got.error().message);
    return false;
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const AckResult* result = got && i < got->size() ? &(*got)[i] : nullptr;
    report(batch[i], result, got ? "the server did not answer for it" : got.error().message);
  }
  forget(batch);
  return true;
}

void WorkerRuntime::report(const PendingAck& item, const AckResult* result,
                           const std::string& error) {
  JobOutcome outcome{.job = item.slot->job,
                     .ok = !item.ack.error.has_value(),
                     .state = core::JobState::running,
                     .error = item.ack.error.value_or(""),
                     .elapsed = item.elapsed};
  if (result && result->ok) {
    outcome.state = result->state;
  } else {
    outcome.report_error = result ? result->error.message : error;
    log(LogLevel::warn, fmt::format("job {}: the server did not take its outcome: {}",
                                    item.slot->job.id, outcome.report_error));
  }
  if (options_.on_outcome) options_.on_outcome(outcome);
}

void WorkerRuntime::forget(const std::vector<PendingAck>& batch) {
  core::MutexLock lock(mu_);  // one lock for the whole batch
  for (const auto& item : batch) active_.erase(item.ack.lease_id);
}

}  // namespace errand::client
