// Workload W: workflows (docs/API.md, "Workflows").
//   W1  a `w_batch`-job batch with an on_complete callback, drained by the C++
//       workers while one more worker long-polls the callback's queue: the
//       time from the last job's acknowledged completion to the callback
//       job's claim, `w_rounds` times (p50, max).
//   W2  B where every job waits for one parent (`after`), released when the
//       parent completes, against plain B on a fresh server of the same run:
//       jobs/s from the parent's completion to the last job's.
#include "worker_group.hpp"
#include "workloads.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <thread>

namespace errand::bench {
namespace {

namespace json = boost::json;

void wait_until(const std::function<bool()>& done, std::chrono::seconds stall,
                const std::string& what) {
  const auto deadline = Clock::now() + stall;
  while (!done()) {
    if (Clock::now() > deadline) throw std::runtime_error("timed out waiting for " + what);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

json::value must(core::Result<json::value> r, const std::string& what) {
  if (!r) throw std::runtime_error(what + ": " + r.error().message);
  return std::move(*r);
}

// One round of W1 on `target`: milliseconds from the last completion to the callback's claim.
double callback_lag(const Settings& s, const Target& target, int round) {
  const auto work = fresh_queue(fmt::format("bench-w1-{}", round));
  const auto done_queue = work + "-done";
  auto c = make_client(s, target.url());
  const std::int64_t n = s.w_batch;
  json::value created =
      must(c.call("POST", "/v1/batches",
                  json::object{{"open", true}, {"on_complete", {{"queue", done_queue}}}}),
           "POST /v1/batches");
  const std::string id(created.at("id").as_string());
  for (std::int64_t first = 0; first < n; first += s.batch) {
    json::array jobs;
    for (std::int64_t i = first; i < std::min<std::int64_t>(n, first + s.batch); ++i) {
      jobs.emplace_back(json::object{{"queue", work}, {"payload", payload(i, epoch_seconds())}});
    }
    must(c.call("POST", "/v1/batches/" + id + "/jobs", json::object{{"jobs", std::move(jobs)}}),
         "POST /v1/batches/{id}/jobs");
  }
  must(c.call("POST", "/v1/batches/" + id + "/seal"), "seal");
  // The callback's worker waits first, so its claim answers the moment the callback is queued.
  std::atomic<bool> got{false};
  Clock::time_point got_at{};
  std::thread waiter([&] {
    auto w = make_client(s, target.url());
    while (!got) {
      auto jobs = w.claim({.queues = {done_queue},
                           .worker = "w1-callback",
                           .max = 1,
                           .wait = core::Millis{30'000}});
      if (!jobs) throw std::runtime_error("claim: " + jobs.error().message);
      if (!jobs->empty()) {
        got_at = Clock::now();
        got = true;
      }
    }
  });
  WorkerGroup group({.url = target.url(),
                     .key = s.key,
                     .queue = work,
                     .runtimes = worker_runtimes(s, target),
                     .concurrency = s.claim_max});
  group.start();
  wait_until([&] { return group.completed() >= n; }, std::chrono::seconds(600), "W1's drain");
  const auto last = group.last_completed();
  group.stop();
  waiter.join();
  return std::chrono::duration<double, std::milli>(got_at - last).count();
}

Measurement callback_latency(const Settings& s) {
  Target target(s);
  note(fmt::format("W1: {} rounds of a {}-job batch with on_complete", s.w_rounds, s.w_batch));
  std::vector<double> lags;
  for (int r = 0; r < s.w_rounds; ++r) {
    lags.push_back(callback_lag(s, target, r));
    note(fmt::format("W1 round {}: {:.2f} ms", r + 1, lags.back()));
  }
  const double p50 = percentile(lags, 50);
  const double worst = *std::max_element(lags.begin(), lags.end());
  Measurement m{.workload = "W",
                .name = fmt::format("last job → on_complete start, {}-job batch{}",
                                    thousands(static_cast<double>(s.w_batch)), on_nodes(target)),
                .fields = {{"rounds", std::int64_t{s.w_rounds}},
                           {"batch_jobs", s.w_batch},
                           {"p50_ms", p50},
                           {"max_ms", worst}},
                .result = fmt::format("p50 {:.2f} ms, max {:.2f} ms", p50, worst),
                .detail = "from the last completion's answer to the callback's claim answer"};
  m.set_target("p50 ≤ 5 ms", "p50_ms", 5.0, false);
  return m;
}

// B on a fresh server; with `parent`, every job waits for one parent job
// that completes just before the workers start.
double drain_rate(const Settings& s, bool parent) {
  Target target(s);
  const auto queue = fresh_queue(parent ? "bench-w2" : "bench-w2-plain");
  auto c = make_client(s, target.url());
  std::string parent_id;
  if (parent) {
    json::value p = must(c.call("POST", "/v1/jobs", json::object{{"queue", queue + "-parent"}}),
                         "enqueue the parent");
    parent_id = std::string(p.at("id").as_string());
  }
  for (std::int64_t first = 0; first < s.jobs; first += s.batch) {
    json::array jobs;
    for (std::int64_t i = first; i < std::min<std::int64_t>(s.jobs, first + s.batch); ++i) {
      json::object j{{"queue", queue}, {"payload", payload(i, epoch_seconds())}};
      if (parent) j["after"] = json::array{json::value(parent_id)};
      jobs.emplace_back(std::move(j));
    }
    must(c.call("POST", "/v1/jobs/batch", json::object{{"jobs", std::move(jobs)}}), "fill");
  }
  WorkerGroup group({.url = target.url(),
                     .key = s.key,
                     .queue = queue,
                     .runtimes = worker_runtimes(s, target),
                     .concurrency = s.claim_max});
  group.start();
  const auto t0 = Clock::now();
  if (parent) {
    auto jobs = c.claim({.queues = {queue + "-parent"}, .worker = "w2", .max = 1});
    if (!jobs || jobs->empty()) throw std::runtime_error("W2: the parent was not claimed");
    if (auto done = c.complete(jobs->front().id, jobs->front().lease_id); !done) {
      throw std::runtime_error("W2: complete the parent: " + done.error().message);
    }
  }
  wait_until([&] { return group.completed() >= s.jobs; }, std::chrono::seconds(600), "W2's drain");
  const double secs = seconds(group.last_completed() - t0);
  group.stop();
  return static_cast<double>(s.jobs) / secs;
}

Measurement dependent_drain(const Settings& s) {
  note(fmt::format("W2: plain B, then B with every job after one parent ({} jobs each run)",
                   s.jobs));
  const double plain = drain_rate(s, false);
  const double linked = drain_rate(s, true);
  const double ratio = linked / plain;
  Measurement m{.workload = "W",
                .name = "B with every job after one parent",
                .fields = {{"jobs", s.jobs},
                           {"plain_jobs_per_s", plain},
                           {"linked_jobs_per_s", linked},
                           {"ratio", ratio}},
                .result = fmt::format("{} jobs/s ({:.0f} % of plain B's {})", thousands(linked),
                                      ratio * 100, thousands(plain)),
                .detail = "from the parent's completion (which releases every child) to the last"};
  m.set_target("≥ 70 % of plain B in the same run", "ratio", 0.7, true);
  return m;
}

}  // namespace

void run_workflows(const Settings& s, const Emit& emit) {
  emit(callback_latency(s));
  emit(dependent_drain(s));
}

}  // namespace errand::bench
