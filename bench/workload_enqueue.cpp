// Workload A: enqueue throughput. Connections are opened before the clock
// starts (the harness excludes client start-up too); every call is awaited.
#include "workloads.hpp"

#include <fmt/format.h>

#include <latch>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace errand::bench {
namespace {

struct EnqueueRun {
  int nodes = 1;
  double secs = 0;
  std::vector<double> call_ms;  // latency of every call
};

// `connections` threads, each with its own connection, enqueue their share
// of `jobs` in calls of `per_call` jobs (1: POST /v1/jobs).
EnqueueRun enqueue(const Settings& s, std::int64_t jobs, int connections, int per_call) {
  Target target(s);
  const auto queue = fresh_queue("bench-a");
  std::latch ready(connections + 1);
  std::latch go(1);
  std::mutex mutex;
  EnqueueRun run{.nodes = target.nodes()};
  std::string error;
  auto producer = [&](int p, std::int64_t first, std::int64_t count) {
    auto c = make_client(s, urls_from(target.url(), p));
    auto warm = c.health();  // opens the connection
    std::vector<double> ms;
    ms.reserve(static_cast<std::size_t>(count / per_call + 1));
    ready.count_down();
    go.wait();
    std::string failed = warm ? "" : warm.error().message;
    std::vector<client::EnqueueOptions> batch;
    for (auto i = first; failed.empty() && i < first + count; i += per_call) {
      const auto n = std::min<std::int64_t>(per_call, first + count - i);
      const auto t0 = Clock::now();
      const double ts = epoch_seconds();
      if (per_call == 1) {
        auto r = c.enqueue({.queue = queue, .payload = payload(i, ts)});
        if (!r) failed = r.error().message;
      } else {
        batch.assign(static_cast<std::size_t>(n), {});
        for (std::int64_t k = 0; k < n; ++k)
          batch[static_cast<std::size_t>(k)] = {.queue = queue, .payload = payload(i + k, ts)};
        auto r = c.enqueue_batch(batch);
        if (!r) failed = r.error().message;
      }
      ms.push_back(seconds(Clock::now() - t0) * 1000);
    }
    std::lock_guard lock(mutex);
    run.call_ms.insert(run.call_ms.end(), ms.begin(), ms.end());
    if (!failed.empty()) error = failed;
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < connections; ++i) {
    const auto share = jobs / connections + (i < jobs % connections ? 1 : 0);
    const auto first = i * (jobs / connections) + std::min<std::int64_t>(i, jobs % connections);
    threads.emplace_back(producer, i, first, share);
  }
  ready.arrive_and_wait();
  const auto t0 = Clock::now();
  go.count_down();
  for (auto& t : threads) t.join();
  run.secs = seconds(Clock::now() - t0);
  if (!error.empty()) throw std::runtime_error("enqueue: " + error);
  return run;
}

Measurement measure(const Settings& s, const std::string& mode, std::int64_t jobs, int connections,
                    int per_call) {
  note(fmt::format("A {}: {} jobs, {} connection(s), {} per call", mode, jobs, connections,
                   per_call));
  auto run = enqueue(s, jobs, connections, per_call);
  const double rate = static_cast<double>(jobs) / run.secs;
  const double p50 = percentile(run.call_ms, 50), p99 = percentile(run.call_ms, 99);
  Measurement m{
      .workload = "A",
      .fields = {{"measure", mode},
                 {"nodes", std::int64_t{run.nodes}},
                 {"connections", std::int64_t{connections}},
                 {"per_call", std::int64_t{per_call}},
                 {"jobs", jobs},
                 {"secs", run.secs},
                 {"jobs_per_s", rate},
                 {"call_p50_ms", p50},
                 {"call_p99_ms", p99}},
      .result = thousands(rate) + " jobs/s",
      .detail = fmt::format("{} jobs in {:.2f} s; per call p50 {:.2f} ms, p99 {:.2f} ms{}",
                            thousands(static_cast<double>(jobs)), run.secs, p50, p99,
                            run.nodes > 1 && connections > 1
                                ? fmt::format("; connections spread over {} nodes", run.nodes)
                                : std::string())};
  return m;
}

}  // namespace

void run_enqueue(const Settings& s, const Emit& emit) {
  auto one = measure(s, "one_by_one", std::min(s.one_jobs, s.jobs), 1, 1);
  one.name = "enqueue one-by-one, 1 connection";
  one.target = "≥ beanstalkd -f 0 (peer run)";
  emit(std::move(one));

  auto many = measure(s, "one_by_one", s.jobs, s.connections, 1);
  many.name = fmt::format("enqueue one-by-one, {} connections", s.connections);
  if (s.connections == 16) many.set_target("≥ 30,000 jobs/s", "jobs_per_s", 30'000, true);
  emit(std::move(many));

  auto batched = measure(s, "batch", s.jobs, 1, s.batch);
  batched.name = fmt::format("enqueue batched, {} per call", thousands(s.batch));
  if (s.batch == 1'000) batched.set_target("≥ 200,000 jobs/s", "jobs_per_s", 200'000, true);
  emit(std::move(batched));
}

}  // namespace errand::bench
