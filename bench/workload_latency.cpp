// Workload C: latency at a steady rate. Warm worker runtimes wait in long
// polls; producers enqueue one-by-one on an open-loop schedule, stamping each
// payload with the time just before its enqueue is sent; each handler's first
// act compares that stamp with its own start (the same clock, one process).
#include "worker_group.hpp"
#include "workloads.hpp"

#include <fmt/format.h>

#include <atomic>
#include <cmath>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace errand::bench {
namespace {

// Handler-start latencies, noted from every handler thread.
class LatencyLog {
 public:
  void on_start(const client::RunningJob& job) {
    const double start = epoch_seconds();
    const double ts = job.payload().as_object().at("ts").to_number<double>();
    if (recording_.load()) {
      std::lock_guard lock(mutex_);
      ms_.push_back((start - ts) * 1000);
    }
    ++handled_;
  }
  void start_recording() {
    handled_ = 0;
    recording_ = true;
  }
  std::int64_t handled() const { return handled_.load(); }
  std::vector<double> latencies_ms() {
    std::lock_guard lock(mutex_);
    return ms_;
  }

 private:
  std::atomic<bool> recording_{false};
  std::atomic<std::int64_t> handled_{0};
  std::mutex mutex_;
  std::vector<double> ms_;
};

void wait_handled(const LatencyLog& log, std::int64_t n, std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (log.handled() < n) {
    if (Clock::now() > deadline)
      throw std::runtime_error(fmt::format("only {} of {} jobs handled", log.handled(), n));
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

Measurement latency_at(const Settings& s, int rate) {
  Target target(s);
  const auto queue = fresh_queue("bench-c");
  // One connection keeps up with ~1,000 awaited enqueues a second at best
  // (an fsync each); more share fsyncs through the server's group commit.
  // At least one per node, so every node takes enqueues.
  const int producers = std::clamp(
      std::max(static_cast<int>(std::ceil(rate / 625.0)), target.nodes()), 1, s.connections);
  const std::int64_t n = std::int64_t{rate} * s.rate_secs;
  const int runtimes = worker_runtimes(s, target);
  note(fmt::format("C latency: {} jobs/s for {} s ({} producer(s), {} worker runtime(s) x {}{})",
                   rate, s.rate_secs, producers, runtimes, s.claim_max, on_nodes(target)));
  LatencyLog log;
  WorkerGroup group({.url = target.url(),
                     .key = s.key,
                     .queue = queue,
                     .runtimes = runtimes,
                     .concurrency = s.claim_max,
                     .on_start = [&log](const client::RunningJob& job) { log.on_start(job); }});
  group.start();
  produce_at_rate(s, target.url(), queue, 2, 2, 1);  // warm-up
  wait_handled(log, 2, std::chrono::seconds(30));
  CostMeter costs(target);
  costs.start();
  log.start_recording();
  const double producer_s = produce_at_rate(s, target.url(), queue, n, rate, producers);
  wait_handled(log, n, std::chrono::seconds(60));
  costs.stop();
  group.stop();
  costs.read_statistics();

  const auto ms = log.latencies_ms();
  const double p50 = percentile(ms, 50), p99 = percentile(ms, 99), max = percentile(ms, 100);
  const double achieved = static_cast<double>(n) / producer_s;
  Measurement m{
      .workload = "C",
      .name = fmt::format("latency at {} jobs/s, C++ workers{}", thousands(rate), on_nodes(target)),
      .fields = {{"rate", std::int64_t{rate}},
                 {"nodes", std::int64_t{target.nodes()}},
                 {"secs", std::int64_t{s.rate_secs}},
                 {"jobs", n},
                 {"producers", std::int64_t{producers}},
                 {"achieved_rate", achieved},
                 {"p50_ms", p50},
                 {"p99_ms", p99},
                 {"max_ms", max}},
      .result = fmt::format("p50 {:.2f} ms, p99 {:.2f} ms", p50, p99),
      .detail = fmt::format("{} jobs enqueue→handler start; max {:.2f} ms; enqueued at {} jobs/s{}",
                            thousands(static_cast<double>(n)), max, thousands(achieved),
                            achieved < 0.95 * rate ? " (the producers fell behind the rate)" : "")};
  costs.add_to(m, n);
  if (rate == 200 && target.nodes() > 1) {
    m.set_target("p99 ≤ 15 ms", "p99_ms", 15, false);
  } else if (rate == 200) {
    m.target = "p50 ≤ 0.6 ms, p99 ≤ 1.5 ms";
    m.met = p50 <= 0.6 && p99 <= 1.5;
  } else if (rate == 10'000) {
    m.set_target("p99 ≤ 10 ms", "p99_ms", 10, false);
  }
  return m;
}

}  // namespace

void run_latency(const Settings& s, const Emit& emit) {
  for (int rate : s.rates) emit(latency_at(s, rate));
}

}  // namespace errand::bench
