#include "engine/stats.hpp"

#include <algorithm>
#include <cmath>

namespace errand::engine {
namespace {

double per_second(std::int64_t delta, core::Millis elapsed) {
  if (elapsed.count() <= 0 || delta <= 0) return 0;  // a counter that went back: a reset
  return static_cast<double>(delta) * 1000.0 / static_cast<double>(elapsed.count());
}

// The nearest-rank percentile of sorted values.
double percentile(const std::vector<double>& sorted, double p) {
  const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

// About what one queue's entry in a sample's map takes: the node, the name
// and the counters.
std::size_t entry_bytes(const std::string& name) {
  return 96 + name.size();
}

}  // namespace

StatsHistory::StatsHistory(StatsOptions options) : options_(options) {}

void StatsHistory::forget_queues(Sample& sample) {
  queue_bytes_ -= sample.bytes;
  sample.queues.clear();
  sample.queues_kept = false;
  sample.bytes = 0;
}

void StatsHistory::trim(core::TimePoint now) {
  while (samples_.size() > 1 && samples_.front().at < now - options_.span) {
    queue_bytes_ -= samples_.front().bytes;
    samples_.pop_front();
  }
  // Oldest first; the newest sample always keeps its queues.
  for (std::size_t i = 0; queue_bytes_ > options_.max_queue_bytes && i + 1 < samples_.size(); ++i) {
    if (samples_[i].queues_kept) forget_queues(samples_[i]);
  }
  while (!waits_.empty() && waits_.front().first <= now - options_.span) waits_.pop_front();
  std::erase_if(workers_, [&](const auto& w) { return w.second <= now - options_.span; });
}

void StatsHistory::sample(core::TimePoint now, const std::vector<store::QueueInfo>& queues) {
  Sample s{.at = now, .all = {}, .queues = {}};
  for (const auto& q : queues) {
    s.all.processed += q.processed;
    s.all.failed += q.failed;
    if (q.processed == 0 && q.failed == 0) continue;  // a missing queue reads as zero
    s.queues[q.name] = {q.processed, q.failed};
    s.bytes += entry_bytes(q.name);
  }
  core::MutexLock lock(mutex_);
  queue_bytes_ += s.bytes;
  samples_.push_back(std::move(s));
  trim(now);
}

store::StatsSample StatsHistory::sample_of(core::TimePoint now,
                                           const std::vector<store::QueueInfo>& queues) {
  store::StatsSample s{.at = now, .queues = {}};
  for (const auto& q : queues) s.queues[q.name] = {q.processed, q.failed};
  return s;
}

StatsHistory::Sample StatsHistory::from_stored(const store::StatsSample& kept) {
  Sample s{.at = kept.at, .all = {}, .queues = {}};
  for (const auto& [name, t] : kept.queues) {
    s.all.processed += t.processed;
    s.all.failed += t.failed;
    if (t.processed == 0 && t.failed == 0) continue;  // a missing queue reads as zero
    s.queues[name] = {t.processed, t.failed};
    s.bytes += entry_bytes(name);
  }
  return s;
}

void StatsHistory::restore(const std::vector<store::StatsSample>& samples) {
  core::MutexLock lock(mutex_);
  std::deque<Sample> restored;
  for (const auto& kept : samples) {
    if (!restored.empty() && kept.at <= restored.back().at) continue;
    restored.push_back(from_stored(kept));
  }
  // Samples taken since start (none, as the engine calls it) come after.
  for (auto& s : samples_) {
    if (restored.empty() || s.at > restored.back().at) restored.push_back(std::move(s));
  }
  samples_ = std::move(restored);
  queue_bytes_ = 0;
  for (const auto& s : samples_) queue_bytes_ += s.bytes;
  if (!samples_.empty()) trim(samples_.back().at);
}

void StatsHistory::add(const std::vector<store::StatsSample>& samples) {
  core::MutexLock lock(mutex_);
  for (const auto& kept : samples) {
    if (!samples_.empty() && kept.at <= samples_.back().at) continue;
    auto s = from_stored(kept);
    queue_bytes_ += s.bytes;
    samples_.push_back(std::move(s));
  }
  if (!samples_.empty()) trim(samples_.back().at);
}

std::optional<core::TimePoint> StatsHistory::newest() const {
  core::MutexLock lock(mutex_);
  if (samples_.empty()) return std::nullopt;
  return samples_.back().at;
}

core::TimePoint StatsHistory::sample_instant(core::TimePoint now, core::Millis step) {
  const auto ms = core::to_unix_ms(now);
  const auto s = std::max<std::int64_t>(step.count(), 1);
  // Rounds down for times before the epoch too.
  const auto floored = ms >= 0 ? ms / s * s : -((-ms + s - 1) / s) * s;
  return core::from_unix_ms(floored);
}

ThroughputSeries StatsHistory::series(core::TimePoint now, core::Millis window) const {
  ThroughputSeries out{.step = options_.step, .at = {}, .processed = {}, .failed = {}};
  core::MutexLock lock(mutex_);
  for (std::size_t i = 1; i < samples_.size(); ++i) {
    const auto& before = samples_[i - 1];
    const auto& after = samples_[i];
    if (after.at <= now - window) continue;
    const auto elapsed = std::chrono::duration_cast<core::Millis>(after.at - before.at);
    out.at.push_back(before.at);
    out.processed.push_back(per_second(after.all.processed - before.all.processed, elapsed));
    out.failed.push_back(per_second(after.all.failed - before.all.failed, elapsed));
  }
  return out;
}

std::map<std::string, QueueRate> StatsHistory::queue_rates(core::TimePoint now,
                                                           core::Millis window) const {
  std::map<std::string, QueueRate> out;
  core::MutexLock lock(mutex_);
  if (samples_.size() < 2) return out;
  const auto& last = samples_.back();
  // The newest sample with its queues at or before the window's start (else
  // the oldest with its queues).
  const Sample* base = nullptr;
  for (const auto& s : samples_) {
    if (!s.queues_kept) continue;
    if (base && s.at > now - window) break;
    base = &s;
  }
  if (base == &last) return out;
  const auto elapsed = std::chrono::duration_cast<core::Millis>(last.at - base->at);
  for (const auto& [name, totals] : last.queues) {
    const auto before = base->queues.find(name);
    const Totals from = before == base->queues.end() ? Totals{} : before->second;
    out[name] = {per_second(totals.processed - from.processed, elapsed),
                 per_second(totals.failed - from.failed, elapsed)};
  }
  return out;
}

void StatsHistory::record_claim(std::string_view worker, core::TimePoint now,
                                const std::vector<core::TimePoint>& ready) {
  core::MutexLock lock(mutex_);
  if (auto it = workers_.find(worker); it != workers_.end()) {
    it->second = now;
  } else {
    workers_.emplace(std::string(worker), now);
  }
  for (const auto at : ready) {
    const auto waited = std::chrono::duration<double, std::milli>(now - at).count();
    waits_.emplace_back(now, std::max(waited, 0.0));
  }
  while (waits_.size() > options_.latency_samples) waits_.pop_front();
}

LatencySummary StatsHistory::latency(core::TimePoint now, core::Millis window) const {
  std::vector<double> values;
  {
    core::MutexLock lock(mutex_);
    for (const auto& [at, ms] : waits_) {
      if (at > now - window) values.push_back(ms);
    }
  }
  LatencySummary out{.p50_ms = std::nullopt, .p95_ms = std::nullopt, .samples = values.size()};
  if (values.empty()) return out;
  std::sort(values.begin(), values.end());
  out.p50_ms = percentile(values, 0.50);
  out.p95_ms = percentile(values, 0.95);
  return out;
}

std::size_t StatsHistory::queue_bytes() const {
  core::MutexLock lock(mutex_);
  return queue_bytes_;
}

std::size_t StatsHistory::workers_seen(core::TimePoint now) const {
  core::MutexLock lock(mutex_);
  return static_cast<std::size_t>(
      std::count_if(workers_.begin(), workers_.end(),
                    [&](const auto& w) { return w.second > now - options_.worker_seen_within; }));
}

}  // namespace errand::engine
