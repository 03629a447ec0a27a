// Workload F: per-key flow control (docs/API.md, "Flow control").
//   F1  B with keys: `jobs` jobs over `f_keys` keys and key_concurrency 1,
//       drained by the same C++ workers as plain B, which runs first on a
//       fresh server of the same run; the ratio is the cost of the per-key
//       bookkeeping and the fair turns.
//   F2  late keys: `jobs` jobs of one key queued and draining; then
//       `f_late` other keys enqueue one job each at 200 jobs/s;
//       enqueue→handler-start p50/p99 of those.
//   F3  key_rate_limit accuracy: `f_rate_keys` keys, each limited to
//       `f_rate` claims a second, each with more jobs than it may start, for
//       `f_secs`; starts per key per second against the limit.
#include "worker_group.hpp"
#include "workloads.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace errand::bench {
namespace {

// Enqueues `n` jobs in batches, job i with key key_of(i) and a payload that
// carries the key ("k") and whether the job is late ("late").
void fill_keyed(const Settings& s, const std::string& url, const std::string& queue, std::int64_t n,
                const std::function<std::string(std::int64_t)>& key_of) {
  auto c = make_client(s, url);
  std::vector<client::EnqueueOptions> jobs;
  for (std::int64_t first = 0; first < n; first += s.batch) {
    const auto count = std::min<std::int64_t>(s.batch, n - first);
    jobs.assign(static_cast<std::size_t>(count), {});
    for (std::int64_t k = 0; k < count; ++k) {
      auto& job = jobs[static_cast<std::size_t>(k)];
      job.queue = queue;
      job.key = key_of(first + k);
      auto p = payload(first + k, epoch_seconds());
      p.as_object()["k"] = job.key;
      job.payload = std::move(p);
    }
    if (auto r = c.enqueue_batch(jobs); !r) throw std::runtime_error("fill: " + r.error().message);
  }
}

void configure(const Settings& s, const std::string& url, const std::string& queue,
               const core::QueueConfig& config) {
  auto c = make_client(s, url);
  if (auto r = c.configure_queue(queue, config, false); !r) {
    throw std::runtime_error("PUT /v1/queues/" + queue + ": " + r.error().message);
  }
}

void wait_until(const std::function<bool()>& done, std::chrono::seconds stall,
                const std::string& what) {
  const auto deadline = Clock::now() + stall;
  while (!done()) {
    if (Clock::now() > deadline) throw std::runtime_error("timed out waiting for " + what);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

// B on a fresh server: `keys` keys (0: none), key_concurrency 1 when keyed.
double drain_rate(const Settings& s, int keys) {
  Target target(s);
  const auto queue = fresh_queue(keys > 0 ? "bench-f1" : "bench-f1-plain");
  if (keys > 0) configure(s, target.url(), queue, {.key_concurrency = 1});
  fill_keyed(s, target.url(), queue, s.jobs, [keys](std::int64_t i) {
    return keys > 0 ? fmt::format("tenant-{}", i % keys) : std::string();
  });
  WorkerGroup group({.url = target.url(),
                     .key = s.key,
                     .queue = queue,
                     .runtimes = worker_runtimes(s, target),
                     .concurrency = s.claim_max});
  const auto t0 = Clock::now();
  group.start();
  wait_until([&] { return group.completed() >= s.jobs; }, std::chrono::seconds(600), "F1's drain");
  const double secs = seconds(group.last_completed() - t0);
  group.stop();
  return static_cast<double>(s.jobs) / secs;
}

Measurement keyed_drain(const Settings& s) {
  note(fmt::format("F1: plain B, then {} keys with key_concurrency 1 ({} jobs each run)", s.f_keys,
                   s.jobs));
  const double plain = drain_rate(s, 0);
  const double keyed = drain_rate(s, s.f_keys);
  const double ratio = keyed / plain;
  const double extra_us = (1e6 / keyed - 1e6 / plain);
  Measurement m{.workload = "F",
                .name = fmt::format("B with {} keys, key_concurrency 1", thousands(s.f_keys)),
                .fields = {{"jobs", s.jobs},
                           {"keys", std::int64_t{s.f_keys}},
                           {"plain_jobs_per_s", plain},
                           {"keyed_jobs_per_s", keyed},
                           {"ratio", ratio},
                           {"extra_us_per_job", extra_us}},
                .result = fmt::format("{} jobs/s ({:.0f} % of plain B's {})", thousands(keyed),
                                      ratio * 100, thousands(plain)),
                .detail = fmt::format(
                    "the keys' bookkeeping and turns cost {:.1f} µs of wall time a job", extra_us)};
  m.set_target("≥ 50 % of plain B in the same run", "ratio", 0.5, true);
  return m;
}

Measurement late_keys(const Settings& s) {
  Target target(s);
  const auto queue = fresh_queue("bench-f2");
  note(fmt::format("F2: {} jobs of one key, then {} late keys at 200 jobs/s", s.jobs, s.f_late));
  fill_keyed(s, target.url(), queue, s.jobs, [](std::int64_t) { return std::string("big"); });
  std::mutex mutex;
  std::vector<double> ms;
  std::atomic<std::int64_t> late_started{0}, big_started{0};
  WorkerGroup group({.url = target.url(),
                     .key = s.key,
                     .queue = queue,
                     .runtimes = worker_runtimes(s, target),
                     .concurrency = s.claim_max,
                     .on_start = [&](const client::RunningJob& job) {
                       const auto& o = job.payload().as_object();
                       if (o.at("k").as_string() == "big") {
                         ++big_started;
                         return;
                       }
                       const double lag = (epoch_seconds() - o.at("ts").to_number<double>()) * 1000;
                       std::lock_guard lock(mutex);
                       ms.push_back(lag);
                       ++late_started;
                     }});
  group.start();
  wait_until([&] { return big_started.load() > 1000; }, std::chrono::seconds(60), "the drain");
  const std::int64_t big_before = big_started.load();
  auto c = make_client(s, target.url());
  const auto t0 = Clock::now();
  for (int i = 0; i < s.f_late; ++i) {
    std::this_thread::sleep_until(t0 + std::chrono::milliseconds(5 * i));  // 200 a second
    auto p = payload(i, epoch_seconds());
    const auto key = fmt::format("late-{}", i);
    p.as_object()["k"] = key;
    if (auto r = c.enqueue({.queue = queue, .payload = std::move(p), .key = key}); !r) {
      throw std::runtime_error("enqueue: " + r.error().message);
    }
  }
  wait_until([&] { return late_started.load() >= s.f_late; }, std::chrono::seconds(60),
             "the late keys' jobs");
  const std::int64_t big_during = big_started.load() - big_before;
  group.stop();
  std::lock_guard lock(mutex);
  const double p50 = percentile(ms, 50), p99 = percentile(ms, 99);
  Measurement m{
      .workload = "F",
      .name = fmt::format("late keys behind {} jobs of one key", thousands(s.jobs)),
      .fields = {{"big_jobs", s.jobs},
                 {"late_keys", std::int64_t{s.f_late}},
                 {"p50_ms", p50},
                 {"p99_ms", p99},
                 {"big_started_meanwhile", big_during}},
      .result = fmt::format("p50 {:.2f} ms, p99 {:.2f} ms", p50, p99),
      .detail = fmt::format("{} late jobs enqueue→start while {} of the big key's started",
                            s.f_late, thousands(static_cast<double>(big_during)))};
  m.set_target("p99 ≤ 25 ms", "p99_ms", 25, false);
  return m;
}

Measurement rate_accuracy(const Settings& s) {
  Target target(s);
  const auto queue = fresh_queue("bench-f3");
  const int keys = s.f_rate_keys;
  const int rate = s.f_rate;
  note(fmt::format("F3: {} keys at {} claims/s each for {} s", keys, rate, s.f_secs));
  configure(s, target.url(), queue,
            {.key_rate_limit = core::RateLimit{.limit = rate, .per = core::Millis{1'000}}});
  const std::int64_t per_key = std::int64_t{rate} * (s.f_secs + 10);
  fill_keyed(s, target.url(), queue, per_key * keys,
             [keys](std::int64_t i) { return fmt::format("rate-{}", i % keys); });
  std::mutex mutex;
  std::map<std::string, std::int64_t> started;
  std::atomic<bool> counting{false};
  WorkerGroup group({.url = target.url(),
                     .key = s.key,
                     .queue = queue,
                     .runtimes = worker_runtimes(s, target),
                     .concurrency = s.claim_max,
                     .on_start = [&](const client::RunningJob& job) {
                       if (!counting.load()) return;
                       std::lock_guard lock(mutex);
                       ++started[std::string(job.payload().as_object().at("k").as_string())];
                     }});
  group.start();
  // Counting starts once each key's first burst (a full bucket: `rate`
  // claims) is spent; from then on a key may start `rate` a second.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  counting = true;
  const auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(s.f_secs));
  counting = false;
  const double secs = seconds(Clock::now() - t0);
  group.stop();
  std::lock_guard lock(mutex);
  double worst = 0, sum = 0;
  for (const auto& [key, n] : started) {
    const double per_s = static_cast<double>(n) / secs;
    worst = std::max(worst, std::abs(per_s - rate) / rate);
    sum += per_s;
  }
  if (static_cast<int>(started.size()) < keys) worst = 1;  // a key never started
  Measurement m{
      .workload = "F",
      .name = fmt::format("key_rate_limit {}/s on {} keys for {} s", rate, keys, s.f_secs),
      .fields = {{"keys", std::int64_t{keys}},
                 {"rate", std::int64_t{rate}},
                 {"secs", secs},
                 {"mean_per_key_per_s", sum / std::max<std::size_t>(started.size(), 1)},
                 {"worst_error", worst}},
      .result = fmt::format("worst key {:.2f} % off", worst * 100),
      .detail = fmt::format("mean {:.2f} starts/s per key against {}",
                            sum / std::max<std::size_t>(started.size(), 1), rate)};
  m.set_target("within 1 % of the rate per key", "worst_error", 0.01, false);
  return m;
}

}  // namespace

void run_flow(const Settings& s, const Emit& emit) {
  emit(keyed_drain(s));
  emit(late_keys(s));
  emit(rate_accuracy(s));
}

}  // namespace errand::bench
