// Workload B: drain. The queue is filled first (not timed); the clock starts
// when the worker runtimes are launched and stops when the server has
// acknowledged the last completion (fsync'd), so every job counted is done.
// The harness's figure — up to the last handler start — is reported beside it.
#include "worker_group.hpp"
#include "workloads.hpp"

#include <fmt/format.h>

#include <atomic>
#include <stdexcept>
#include <thread>

namespace errand::bench {
namespace {

void raise_max(std::atomic<Clock::rep>& slot, Clock::rep value) {
  auto prev = slot.load();
  while (prev < value && !slot.compare_exchange_weak(prev, value)) {
  }
}

// Waits until `group` has `n` acknowledged completions; throws when nothing
// completes for `stall`.
void wait_for_completions(const WorkerGroup& group, std::int64_t n, std::chrono::seconds stall) {
  auto last = group.completed();
  auto last_change = Clock::now();
  while (group.completed() < n) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (auto c = group.completed(); c != last) {
      last = c;
      last_change = Clock::now();
    } else if (Clock::now() - last_change > stall) {
      throw std::runtime_error(
          fmt::format("only {} of {} jobs completed, none for {}s ({} refused)", c, n,
                      stall.count(), group.refused()));
    }
  }
}

}  // namespace

void run_drain(const Settings& s, const Emit& emit) {
  Target target(s);
  const auto queue = fresh_queue("bench-b");
  note(fmt::format("B drain: filling {} jobs", s.jobs));
  const double fill_s = fill(s, target.url(), queue, s.jobs, std::max(2, target.nodes()));
  const int runtimes = worker_runtimes(s, target);
  note(fmt::format("B drain: {} worker runtime(s) x concurrency {}{}", runtimes, s.claim_max,
                   on_nodes(target)));
  CostMeter costs(target);
  costs.start();

  std::atomic<Clock::rep> first_start{Clock::time_point::max().time_since_epoch().count()};
  std::atomic<Clock::rep> last_start{0};
  WorkerGroup group({.url = target.url(),
                     .key = s.key,
                     .queue = queue,
                     .runtimes = runtimes,
                     .concurrency = s.claim_max,
                     .on_start = [&](const client::RunningJob&) {
                       const auto now = Clock::now().time_since_epoch().count();
                       raise_max(last_start, now);
                       auto prev = first_start.load();
                       while (now < prev && !first_start.compare_exchange_weak(prev, now)) {
                       }
                     }});
  const auto t0 = Clock::now();
  group.start();
  wait_for_completions(group, s.jobs, std::chrono::seconds(60));
  const auto end = group.last_completed();
  costs.stop();
  group.stop();
  costs.read_statistics();

  auto at = [](const std::atomic<Clock::rep>& r) { return Clock::time_point(Clock::duration(r)); };
  const double secs = seconds(end - t0);
  const double rate = static_cast<double>(s.jobs) / secs;
  const double started_rate = static_cast<double>(s.jobs) / seconds(at(last_start) - t0);
  const double startup_s = seconds(at(first_start) - t0);

  auto c = make_client(s, target.url());
  auto info = c.get_queue(queue);
  if (!info) throw std::runtime_error("GET /v1/queues/" + queue + ": " + info.error().message);
  const auto left = info->count(core::JobState::queued) + info->count(core::JobState::running);

  Measurement m{
      .workload = "B",
      .name =
          fmt::format("drain, C++ workers ({} x {}){}", runtimes, s.claim_max, on_nodes(target)),
      .fields = {{"jobs", s.jobs},
                 {"nodes", std::int64_t{target.nodes()}},
                 {"workers", std::int64_t{runtimes}},
                 {"concurrency", std::int64_t{s.claim_max}},
                 {"fill_s", fill_s},
                 {"secs", secs},
                 {"jobs_per_s", rate},
                 {"jobs_per_s_to_last_start", started_rate},
                 {"startup_s", startup_s},
                 {"left", left},
                 {"succeeded", info->count(core::JobState::succeeded)}},
      .result = thousands(rate) + " jobs/s",
      .detail = fmt::format("{} jobs acknowledged in {:.2f} s from worker start (to last handler "
                            "start: {} jobs/s; first start after {:.0f} ms); left in queue: {}",
                            thousands(static_cast<double>(s.jobs)), secs, thousands(started_rate),
                            startup_s * 1000, left)};
  costs.add_to(m, s.jobs);
  if (target.nodes() > 1) {
    m.target = "≥ 80 % of 1 node's (compare with --nodes 1)";
  } else {
    m.set_target("≥ 3× best fsyncing peer (peer run); ≥ 60,000 jobs/s", "jobs_per_s", 60'000, true);
  }
  emit(std::move(m));
}

}  // namespace errand::bench
