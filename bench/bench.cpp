// errand-bench: end-to-end throughput of one Errand server.
//
// Producers enqueue N no-op jobs while workers claim and acknowledge them,
// each on its own keep-alive connection, all at once; the figure is jobs
// completed per second from the first enqueue to the last acknowledgement,
// plus the latency of claim calls that returned work. The server keeps its
// default durability: every enqueue and acknowledgement is fsync'd before it
// answers. A benchmark prints figures; it asserts nothing about them.
#include "server_process.hpp"

#include "client/client.hpp"
#include "core/duration.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#ifndef ERRAND_BENCH_DEFAULT_ERRAND
#define ERRAND_BENCH_DEFAULT_ERRAND "errand"
#endif

namespace errand::bench {
namespace {
using Clock = std::chrono::steady_clock;
using core::Millis;

struct Settings {
  std::string server;  // empty: start our own
  std::string errand = ERRAND_BENCH_DEFAULT_ERRAND;
  std::string key;
  std::int64_t jobs = 100'000;
  int connections = 8;
  int batch = 100;
  int claim_max = 50;
  std::string wait = "1s";
  bool one_by_one = false;
};

double micros(Clock::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}
double seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// Nearest-rank percentile of sorted samples, in milliseconds.
double percentile_ms(const std::vector<double>& sorted_us, double q) {
  if (sorted_us.empty()) return 0;
  auto rank = static_cast<std::size_t>(q * static_cast<double>(sorted_us.size()) + 0.999999);
  return sorted_us[std::min(sorted_us.size(), std::max<std::size_t>(rank, 1)) - 1] / 1000.0;
}

// State shared by the producer and worker threads of one run.
struct Run {
  const Settings& settings;
  std::string queue;
  Millis wait{};
  Clock::time_point start{};
  std::atomic<std::int64_t> enqueued{0};
  std::atomic<std::int64_t> completed{0};
  std::atomic<std::int64_t> claims{0};
  std::atomic<std::int64_t> empty_claims{0};
  std::atomic<std::int64_t> ack_errors{0};
  std::atomic<Clock::rep> enqueue_end{0};
  std::atomic<Clock::rep> complete_end{0};
  std::atomic<bool> stop{false};
  std::mutex mutex;
  std::string first_error;  // guarded by mutex

  void fail(const std::string& what) {
    std::lock_guard lock(mutex);
    if (first_error.empty()) first_error = what;
    stop = true;
  }

  bool done() const { return stop || completed.load() >= settings.jobs; }

  void add_completed(std::int64_t n) {
    auto before = completed.fetch_add(n);
    if (before < settings.jobs && before + n >= settings.jobs) {
      complete_end = (Clock::now() - start).count();
    }
  }
};

client::Client make_client(const Run& run, const std::string& url) {
  client::ClientOptions o;
  o.url = url;
  o.key = run.settings.key;
  o.max_idle_connections = 1;  // one thread, one connection
  return client::Client(std::move(o));
}

void produce(Run& run, client::Client& c, std::int64_t count, std::vector<double>& latency_us) {
  const auto batch = run.settings.one_by_one ? 1 : run.settings.batch;
  client::EnqueueOptions job;
  job.queue = run.queue;
  job.type = "noop";
  while (count > 0 && !run.stop) {
    const auto n = std::min<std::int64_t>(count, batch);
    auto t0 = Clock::now();
    core::Result<void> ok;
    if (run.settings.one_by_one) {
      auto e = c.enqueue(job);
      if (!e) ok = e.error();
    } else {
      auto e =
          c.enqueue_batch(std::vector<client::EnqueueOptions>(static_cast<std::size_t>(n), job));
      if (!e) ok = e.error();
    }
    if (!ok) return run.fail("enqueue: " + ok.error().message);
    latency_us.push_back(micros(Clock::now() - t0));
    run.enqueued += n;
    count -= n;
  }
  auto end = (Clock::now() - run.start).count();
  auto prev = run.enqueue_end.load();
  while (prev < end && !run.enqueue_end.compare_exchange_weak(prev, end)) {
  }
}

// Acknowledges claimed jobs; returns how many succeeded, or nullopt on a call error.
std::optional<std::int64_t> acknowledge(Run& run, client::Client& c,
                                        const std::vector<client::ClaimedJob>& jobs) {
  if (run.settings.one_by_one) {
    std::int64_t ok = 0;
    for (const auto& j : jobs) {
      auto done = c.complete(j.id, j.lease_id);
      if (!done) return run.fail("complete: " + done.error().message), std::nullopt;
      ++ok;
    }
    return ok;
  }
  std::vector<client::Ack> acks;
  acks.reserve(jobs.size());
  for (const auto& j : jobs) acks.push_back({.id = j.id, .lease_id = j.lease_id});
  auto results = c.ack_many(acks);
  if (!results) return run.fail("acks: " + results.error().message), std::nullopt;
  auto ok = std::count_if(results->begin(), results->end(), [](const auto& r) { return r.ok; });
  run.ack_errors += static_cast<std::int64_t>(results->size()) - ok;
  return ok;
}

void work(Run& run, client::Client& c, int index, std::vector<double>& claim_us) {
  client::ClaimOptions claim{.queues = {run.queue},
                             .worker = fmt::format("bench-{}", index),
                             .max = run.settings.one_by_one ? 1 : run.settings.claim_max,
                             .wait = run.wait};
  while (!run.done()) {
    auto t0 = Clock::now();
    auto jobs = c.claim(claim);
    auto took = Clock::now() - t0;
    if (!jobs) return run.fail("claim: " + jobs.error().message);
    ++run.claims;
    if (jobs->empty()) {
      ++run.empty_claims;
      continue;
    }
    claim_us.push_back(micros(took));
    auto ok = acknowledge(run, c, *jobs);
    if (!ok) return;
    run.add_completed(*ok);
  }
}

// Waits for the run to finish, printing progress now and then; gives up
// when nothing completes for a minute (a broken server must not hang us).
void supervise(Run& run) {
  auto last_change = Clock::now();
  auto last_report = Clock::now();
  std::int64_t last_completed = -1;
  while (!run.done()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto now = Clock::now();
    if (auto c = run.completed.load(); c != last_completed) {
      last_completed = c;
      last_change = now;
    }
    if (now - last_report >= std::chrono::seconds(5)) {
      last_report = now;
      std::fprintf(stderr, "  ... %lld enqueued, %lld completed\n",
                   static_cast<long long>(run.enqueued.load()),
                   static_cast<long long>(run.completed.load()));
    }
    if (now - last_change >= std::chrono::seconds(60)) run.fail("no job completed for 60s");
  }
}

void report(const Run& run, std::vector<double>& claim_us, std::vector<double>& enqueue_us,
            int producers, int workers) {
  const auto& s = run.settings;
  std::sort(claim_us.begin(), claim_us.end());
  std::sort(enqueue_us.begin(), enqueue_us.end());
  auto enq_s = seconds(Clock::duration(run.enqueue_end.load()));
  auto all_s = seconds(Clock::duration(run.complete_end.load()));
  fmt::print(
      "enqueued   {:>9} jobs in {:7.3f}s  {:>9.0f} jobs/s   ({} calls: p50 {:.2f}ms, p99 "
      "{:.2f}ms)\n",
      run.enqueued.load(), enq_s, static_cast<double>(run.enqueued.load()) / enq_s,
      enqueue_us.size(), percentile_ms(enqueue_us, 0.5), percentile_ms(enqueue_us, 0.99));
  fmt::print("completed  {:>9} jobs in {:7.3f}s  {:>9.0f} jobs/s end to end\n",
             run.completed.load(), all_s, static_cast<double>(run.completed.load()) / all_s);
  fmt::print(
      "claim latency (calls that returned jobs: {} of {}): p50 {:.2f}ms, p99 {:.2f}ms, {:.1f} jobs "
      "per claim\n",
      claim_us.size(), run.claims.load(), percentile_ms(claim_us, 0.5),
      percentile_ms(claim_us, 0.99),
      claim_us.empty()
          ? 0.0
          : static_cast<double>(run.completed.load()) / static_cast<double>(claim_us.size()));
  if (run.ack_errors.load() > 0)
    fmt::print("acknowledgements refused: {}\n", run.ack_errors.load());
  (void)s, (void)producers, (void)workers;
}

int run_bench(Settings s) {
  auto wait = core::parse_duration(s.wait, "--wait");
  if (!wait) return fmt::print(stderr, "errand-bench: {}\n", wait.error().message), 2;
  if (s.connections < 2)
    return fmt::print(stderr, "errand-bench: --connections must be at least 2\n"), 2;
  std::unique_ptr<ServerProcess> own;
  if (s.server.empty()) own = std::make_unique<ServerProcess>(s.errand, std::chrono::seconds(30));
  const std::string url = own ? own->url() : s.server;

  const int producers = s.connections / 2;
  const int workers = s.connections - producers;
  Run run{.settings = s, .wait = *wait};
  run.queue = fmt::format("bench-{}", core::to_unix_ms(core::SystemClock{}.now()));
  fmt::print("errand-bench: {} no-op jobs, {} connections ({} producers, {} workers), {}\n", s.jobs,
             s.connections, producers, workers,
             s.one_by_one
                 ? std::string("one by one (single enqueue, claim max 1, single complete)")
                 : fmt::format("enqueue batches of {}, claim max {}, acks in one call per claim",
                               s.batch, s.claim_max));
  fmt::print(
      "server {} ({}), queue {}, claim wait {}; the server fsyncs every enqueue and "
      "acknowledgement\n",
      url, own ? "started by the bench, data in " + own->data_dir() : "given with --server",
      run.queue, s.wait);
  std::fflush(stdout);

  std::vector<std::vector<double>> claim_us(static_cast<std::size_t>(workers));
  std::vector<std::vector<double>> enqueue_us(static_cast<std::size_t>(producers));
  std::vector<std::thread> threads;
  run.start = Clock::now();
  for (int i = 0; i < workers; ++i) {
    threads.emplace_back([&, i] {
      auto c = make_client(run, url);
      work(run, c, i, claim_us[static_cast<std::size_t>(i)]);
    });
  }
  for (int i = 0; i < producers; ++i) {
    auto share = s.jobs / producers + (i < s.jobs % producers ? 1 : 0);
    threads.emplace_back([&, i, share] {
      auto c = make_client(run, url);
      produce(run, c, share, enqueue_us[static_cast<std::size_t>(i)]);
    });
  }
  supervise(run);
  for (auto& t : threads) t.join();
  if (!run.first_error.empty()) return fmt::print(stderr, "errand-bench: {}\n", run.first_error), 1;

  std::vector<double> all_claims, all_enqueues;
  for (auto& v : claim_us) all_claims.insert(all_claims.end(), v.begin(), v.end());
  for (auto& v : enqueue_us) all_enqueues.insert(all_enqueues.end(), v.begin(), v.end());
  report(run, all_claims, all_enqueues, producers, workers);
  return 0;
}

}  // namespace
}  // namespace errand::bench

int main(int argc, char** argv) {
  errand::bench::Settings s;
  CLI::App app{
      "errand-bench: enqueue, claim and complete no-op jobs; print jobs/s and claim latency"};
  app.add_option("--server", s.server, "Errand server URL (default: start one with --errand)");
  app.add_option("--errand", s.errand, "errand binary to start a server with")
      ->capture_default_str();
  app.add_option("--key", s.key, "API key for --server")->envname("ERRAND_KEY");
  app.add_option("-n,--jobs", s.jobs, "Jobs to run")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("-c,--connections", s.connections,
                 "Concurrent connections: half enqueue, half work")
      ->capture_default_str();
  app.add_option("--batch", s.batch, "Jobs per batch enqueue")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  app.add_option("--claim-max", s.claim_max, "Jobs per claim")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--wait", s.wait, "Long-poll wait of each claim")->capture_default_str();
  app.add_flag("--one-by-one", s.one_by_one, "Single enqueue, claim max 1, single complete");
  try {
    app.parse(argc, argv);
    return errand::bench::run_bench(s);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "errand-bench: {}\n", e.what());
    return 1;
  }
}
