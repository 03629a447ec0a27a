// Workload D: a million queued jobs. Memory is the server's resident set
// from /proc, disk is every file in its data directory. The dashboard's job
// list is timed on them: pages of 50 as the dashboard asks for them (the
// newest, 200 pages deep by cursor, filtered by queue, state, time range),
// and searches by text and tag that read their whole budget. Then the server is
// killed with SIGKILL and started again on the same data; "ready" is the
// first moment, counted from the new process's spawn, at which
// GET /v1/queues/{q} counts every job (queued + running: the probes of
// earlier restarts hold one job each) and a claim gets a job.
#include "workloads.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <thread>

namespace errand::bench {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;

std::int64_t unfinished(const client::QueueInfo& q) {
  return q.count(core::JobState::queued) + q.count(core::JobState::running) +
         q.count(core::JobState::scheduled) + q.count(core::JobState::failed);
}

// Polls until every job is counted and a claim succeeds; returns the seconds
// since the server process was spawned. Throws after `timeout`.
double wait_until_claimable(const Settings& s, ServerProcess& server, const std::string& queue,
                            std::int64_t jobs, std::chrono::seconds timeout) {
  client::ClientOptions o{.url = server.url(), .key = s.key};
  o.connect_timeout = core::Millis{1'000};
  o.request_timeout = core::Millis{timeout.count() * 1'000};
  client::Client c(std::move(o));
  const auto deadline = Clock::now() + timeout;
  std::string last = "no answer";
  while (Clock::now() < deadline) {
    if (auto q = c.get_queue(queue); !q) {
      last = q.error().message;
    } else if (unfinished(*q) != jobs) {
      last = fmt::format("{} of {} jobs counted", unfinished(*q), jobs);
    } else if (auto got = c.claim({.queues = {queue}, .worker = "bench-probe", .max = 1}); !got) {
      last = "claim: " + got.error().message;
    } else if (got->empty()) {
      last = "claim returned no job";
    } else {
      return seconds(Clock::now() - server.spawned_at());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  throw std::runtime_error("after restart, not ready within " + std::to_string(timeout.count()) +
                           "s: " + last);
}

Measurement measure_fill(const Settings& s, ServerProcess& server, const std::string& queue) {
  note(fmt::format("D: filling {} jobs ({} per call, 4 connections)", s.d_jobs, s.batch));
  const double fill_s = fill(s, server.url(), queue, s.d_jobs, 4);
  const auto mem = server.memory();
  const auto bytes = server.data_bytes();
  auto c = make_client(s, server.url());
  auto q = c.get_queue(queue);
  if (!q) throw std::runtime_error("GET /v1/queues/" + queue + ": " + q.error().message);
  Measurement m{
      .workload = "D",
      .name = fmt::format("{} queued: server RSS, data on disk", thousands(s.d_jobs)),
      .fields = {{"measure", "fill"},
                 {"jobs", s.d_jobs},
                 {"fill_s", fill_s},
                 {"queued", q->count(core::JobState::queued)},
                 {"rss_bytes", mem.rss_bytes},
                 {"peak_rss_bytes", mem.peak_rss_bytes},
                 {"data_bytes", bytes}},
      .result = fmt::format("RSS {:.0f} MiB, data {:.0f} MB", mem.rss_bytes / kMiB,
                            static_cast<double>(bytes) / 1e6),
      .detail = fmt::format("peak RSS {:.0f} MiB; filled in {:.1f} s ({} jobs/s); {} queued",
                            mem.peak_rss_bytes / kMiB, fill_s,
                            thousands(static_cast<double>(s.d_jobs) / fill_s),
                            thousands(static_cast<double>(q->count(core::JobState::queued))))};
  if (s.d_jobs == 1'000'000) {  // the targets are for a million jobs
    m.target = "RSS ≤ 150 MiB, data ≤ 250 MB";
    m.met = mem.rss_bytes <= 150 * kMiB && bytes <= 250'000'000;
  }
  return m;
}

// Times one page; returns its milliseconds and the cursor of the next.
std::pair<double, std::string> timed_page(client::Client& c, const client::ListOptions& o) {
  const auto t0 = Clock::now();
  auto page = c.list(o);
  const double ms = seconds(Clock::now() - t0) * 1000.0;
  if (!page) throw std::runtime_error("GET /v1/jobs: " + page.error().message);
  if (page->jobs.empty()) throw std::runtime_error("GET /v1/jobs: an empty page");
  return {ms, page->next_cursor};
}

Measurement measure_list(const Settings& s, ServerProcess& server, const std::string& queue) {
  note("D: timing the job list's pages");
  auto c = make_client(s, server.url());
  std::vector<double> ms;
  client::ListOptions o{.limit = 50};
  // The newest page, the state and queue filters, and a time range ending a
  // second before the newest job (tens of thousands of jobs back).
  auto newest = c.list({.limit = 1});
  if (!newest || newest->jobs.empty()) throw std::runtime_error("GET /v1/jobs: no jobs");
  const auto mid = newest->jobs[0].created_at - std::chrono::seconds(1);
  for (int i = 0; i < 20; ++i) {
    ms.push_back(timed_page(c, {.limit = 50}).first);
    ms.push_back(timed_page(c, {.state = core::JobState::queued, .limit = 50}).first);
    ms.push_back(timed_page(c, {.queue = queue, .limit = 50}).first);
    ms.push_back(timed_page(c, {.queue = queue, .until = mid, .limit = 50}).first);
  }
  // 200 pages deep by cursor, as a user paging back would.
  std::string cursor;
  for (int i = 0; i < 200; ++i) {
    auto [t, next] =
        timed_page(c, {.state = core::JobState::queued, .limit = 50, .cursor = cursor});
    ms.push_back(t);
    cursor = std::move(next);
  }
  const double p50 = percentile(ms, 50), p99 = percentile(ms, 99);
  const double max = *std::max_element(ms.begin(), ms.end());
  Measurement m{.workload = "D",
                .name = fmt::format("job list pages of 50 at {} jobs", thousands(s.d_jobs)),
                .fields = {{"measure", "list"},
                           {"jobs", s.d_jobs},
                           {"pages", static_cast<std::int64_t>(ms.size())},
                           {"p50_ms", p50},
                           {"p99_ms", p99},
                           {"max_ms", max}},
                .result = fmt::format("p50 {:.1f} ms, max {:.1f} ms", p50, max),
                .detail = fmt::format("{} pages (newest, by state, queue, time range, 200 deep); "
                                      "p99 {:.1f} ms, client included",
                                      ms.size(), p99)};
  if (s.d_jobs == 1'000'000) m.set_target("each page < 50 ms", "max_ms", 50, false);
  return m;
}

// A search by payload text or tag that matches nothing: the worst case, each
// page reads its whole budget of jobs (10,000) and comes back partial.
Measurement measure_search(const Settings& s, ServerProcess& server, const std::string& queue) {
  note("D: timing searches that match nothing");
  auto c = make_client(s, server.url());
  std::vector<double> ms;
  for (int i = 0; i < 20; ++i) {
    for (const auto& o :
         {client::ListOptions{.text = "no-such-text", .limit = 50},
          client::ListOptions{.tag = "no-such-tag", .limit = 50},
          client::ListOptions{.queue = queue, .text = "no-such-text", .limit = 50}}) {
      const auto start = Clock::now();
      auto page = c.list(o);
      ms.push_back(seconds(Clock::now() - start) * 1000);
      if (!page) throw std::runtime_error("GET /v1/jobs: " + page.error().message);
      if (!page->partial)
        throw std::runtime_error("GET /v1/jobs: a search of 10,000 was not partial");
    }
  }
  const double p50 = percentile(ms, 50), max = *std::max_element(ms.begin(), ms.end());
  return {
      .workload = "D",
      .name = fmt::format("job searches at {} jobs (10,000 read a page)", thousands(s.d_jobs)),
      .fields = {{"measure", "search"},
                 {"jobs", s.d_jobs},
                 {"pages", static_cast<std::int64_t>(ms.size())},
                 {"p50_ms", p50},
                 {"max_ms", max}},
      .result = fmt::format("p50 {:.1f} ms, max {:.1f} ms", p50, max),
      .detail = fmt::format("{} pages by q and tag matching nothing; client included", ms.size())};
}

Measurement measure_restart(const Settings& s, ServerProcess& server, const std::string& queue,
                            int rep) {
  note(fmt::format("D: kill -9 and restart #{}", rep));
  server.kill9();
  server.restart(std::chrono::seconds(600));
  const double listening_s = seconds(Clock::now() - server.spawned_at());
  const double ready_s =
      wait_until_claimable(s, server, queue, s.d_jobs, std::chrono::seconds(600));
  const auto mem = server.memory();
  Measurement m{.workload = "D",
                .name = fmt::format("kill -9 → all {} claimable, #{}", thousands(s.d_jobs), rep),
                .fields = {{"measure", "restart"},
                           {"jobs", s.d_jobs},
                           {"rep", std::int64_t{rep}},
                           {"listening_s", listening_s},
                           {"ready_s", ready_s},
                           {"rss_bytes", mem.rss_bytes}},
                .result = fmt::format("{:.3f} s", ready_s),
                .detail = fmt::format("listening after {:.3f} s; RSS {:.0f} MiB once ready",
                                      listening_s, mem.rss_bytes / kMiB)};
  if (s.d_jobs == 1'000'000) m.set_target("≤ 2 s", "ready_s", 2, false);
  return m;
}

}  // namespace

void run_restart(const Settings& s, const Emit& emit) {
  if (!s.server.empty()) {
    note("D skipped: it kills and restarts the server, so it needs one of its own (no --server)");
    return;
  }
  Target target(s, {}, 1);  // one node: it is the one killed
  const auto queue = fresh_queue("bench-d");
  emit(measure_fill(s, *target.own(), queue));
  emit(measure_list(s, *target.own(), queue));
  emit(measure_search(s, *target.own(), queue));
  for (int rep = 1; rep <= s.d_restarts; ++rep) emit(measure_restart(s, *target.own(), queue, rep));
}

}  // namespace errand::bench
