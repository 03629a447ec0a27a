// What the dashboard's overview shows of the recent past: processed and
// failed attempts per second, per queue and in all, over the last hour; how
// long jobs waited from ready to started (p50/p95); and the workers seen.
//
// Throughput comes from samples of the queues' lifetime counters
// (store::QueueInfo::processed and ::failed) taken every `step` by the
// engine: the counters live in the store, so the rates include every server
// sharing it, and a sample costs one read of the queue table. Latency and
// workers are what this server's claims saw. The engine keeps every sample
// in the store (store::Store::stats_sample_put) and restores the last span's
// at start, so the throughput history outlives a restart; latency and
// workers start afresh.
//
// Several servers on one store: each samples at the start of every step
// (sample_instant), the store keeps the first sample of each instant, and
// each server adds the store's samples to its history (add) rather than its
// own. So every server charts the same samples, one per step, whichever
// server took them — where each charting its own readings of the shared
// counters would keep as many samples per step as there are servers, and
// a server started later would read all of them back.
//
// Memory is bounded: a sample keeps per-queue counters only for queues that
// have processed or failed anything, and all samples' per-queue counters
// together stay under `max_queue_bytes` — past it the oldest samples keep
// only their totals (the overview's series stays whole; per-queue rates
// then reach back as far as the kept samples). Thread-safe.
#pragma once

#include "core/mutex.hpp"
#include "core/time.hpp"
#include "store/store.hpp"

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace errand::engine {

struct StatsOptions {
  core::Millis step{10'000};                // one sample per step
  core::Millis span{3'600'000};             // how far back the history reaches
  std::size_t latency_samples = 4096;       // the most recent claims' waits kept
  core::Millis worker_seen_within{60'000};  // "connected": claimed within this
  std::size_t max_queue_bytes = 16 << 20;   // per-queue counters of all samples (about)
};

struct ThroughputSeries {
  core::Millis step{};
  std::vector<core::TimePoint> at;  // each bucket's start, oldest first
  std::vector<double> processed;    // attempts succeeded per second in the bucket
  std::vector<double> failed;       // attempts failed per second in the bucket
};

struct QueueRate {
  double processed_per_s = 0;
  double failed_per_s = 0;
};

struct LatencySummary {
  std::optional<double> p50_ms;
  std::optional<double> p95_ms;
  std::size_t samples = 0;
};

class StatsHistory {
 public:
  explicit StatsHistory(StatsOptions options = {});

  // Records the queues' lifetime counters as they are at `now`.
  void sample(core::TimePoint now, const std::vector<store::QueueInfo>& queues) EXCLUDES(mutex_);
  // The same counters as the store keeps them.
  static store::StatsSample sample_of(core::TimePoint now,
                                      const std::vector<store::QueueInfo>& queues);
  // Puts back samples kept by an earlier run (oldest first), before any new
  // sample; those older than the span are dropped.
  void restore(const std::vector<store::StatsSample>& samples) EXCLUDES(mutex_);
  // Appends the store's samples (oldest first) taken after the newest one
  // held; the others are skipped.
  void add(const std::vector<store::StatsSample>& samples) EXCLUDES(mutex_);
  // When the newest sample held was taken.
  std::optional<core::TimePoint> newest() const EXCLUDES(mutex_);
  // The instant a sample taken at `now` stands for: the start of its step
  // (a whole multiple of `step` since the epoch), the same on every server.
  static core::TimePoint sample_instant(core::TimePoint now, core::Millis step);
  // The whole server's rates over the `window` before `now`, one bucket per step.
  ThroughputSeries series(core::TimePoint now, core::Millis window) const EXCLUDES(mutex_);
  // Each queue's average rates over the `window` before `now`.
  std::map<std::string, QueueRate> queue_rates(core::TimePoint now, core::Millis window) const
      EXCLUDES(mutex_);

  // A claim at `now` by `worker` that started jobs which became ready at `ready`.
  void record_claim(std::string_view worker, core::TimePoint now,
                    const std::vector<core::TimePoint>& ready) EXCLUDES(mutex_);
  LatencySummary latency(core::TimePoint now, core::Millis window) const EXCLUDES(mutex_);
  // Workers whose last claim was within worker_seen_within of `now`.
  std::size_t workers_seen(core::TimePoint now) const EXCLUDES(mutex_);

  const StatsOptions& options() const { return options_; }
  // About how many bytes the samples' per-queue counters take.
  std::size_t queue_bytes() const EXCLUDES(mutex_);

 private:
  struct Totals {
    std::int64_t processed = 0;
    std::int64_t failed = 0;
  };
  struct Sample {
    core::TimePoint at;
    Totals all;
    std::map<std::string, Totals> queues;  // queues with non-zero counters
    bool queues_kept = true;               // false: dropped to bound memory
    std::size_t bytes = 0;                 // about what `queues` takes
  };
  void trim(core::TimePoint now) REQUIRES(mutex_);
  void forget_queues(Sample& sample) REQUIRES(mutex_);
  static Sample from_stored(const store::StatsSample& kept);

  const StatsOptions options_;
  mutable core::Mutex mutex_;
  std::deque<Sample> samples_ GUARDED_BY(mutex_);   // oldest first
  std::size_t queue_bytes_ GUARDED_BY(mutex_) = 0;  // sum of samples_' bytes
  // (claimed at, waited ms)
  std::deque<std::pair<core::TimePoint, double>> waits_ GUARDED_BY(mutex_);
  std::map<std::string, core::TimePoint, std::less<>> workers_ GUARDED_BY(mutex_);
};

}  // namespace errand::engine
