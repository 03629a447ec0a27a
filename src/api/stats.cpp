// GET /v1/stats: what the dashboard's overview shows — throughput over time,
// jobs by state, queue depths and waiting ages, start latency, workers,
// event streams and nodes. Workers and event streams are summed over the
// nodes that are up (engine/nodes.hpp), each with this node's own beside.
#include "api/errors.hpp"
#include "api/router.hpp"
#include "core/duration.hpp"
#include "core/metrics.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <cmath>
#include <map>

namespace errand::api {
namespace json = boost::json;
using boost::asio::awaitable;

namespace {

core::Result<core::Millis> parse_window(const Request& req) {
  const auto it = req.query.find("window");
  for (const auto& [key, value] : req.query) {
    if (key != "window") {
      return core::invalid(key, fmt::format("unknown query parameter {} (expected window)", key));
    }
  }
  if (it == req.query.end() || it->second == "1h") return core::Millis{3'600'000};
  if (it->second == "15m") return core::Millis{900'000};
  if (it->second == "5m") return core::Millis{300'000};
  return core::invalid("window", "window must be 5m, 15m or 1h");
}

// Three decimals; whole numbers as integers (Boost.JSON writes 0.0 as 0E0).
json::value rounded(double v) {
  const double r = std::round(v * 1000.0) / 1000.0;
  if (r == std::floor(r) && std::abs(r) < 1e15) return static_cast<std::int64_t>(r);
  return r;
}

json::value optional_ms(const std::optional<double>& v) {
  if (!v) return nullptr;
  return rounded(*v);
}

json::object series_json(const engine::ThroughputSeries& s) {
  json::array at, processed, failed;
  for (std::size_t i = 0; i < s.at.size(); ++i) {
    at.emplace_back(core::to_unix_ms(s.at[i]) / 1000);
    processed.emplace_back(rounded(s.processed[i]));
    failed.emplace_back(rounded(s.failed[i]));
  }
  return {{"t", std::move(at)}, {"processed", std::move(processed)}, {"failed", std::move(failed)}};
}

json::object workers_json(const core::ClusterFigures& c) {
  return {
      {"connected", c.total.workers_connected},
      {"waiting", c.total.waiting_claims},
      {"this_node",
       {{"connected", c.this_node.workers_connected}, {"waiting", c.this_node.waiting_claims}}}};
}

// What /v1/stats and /metrics read of the store and the nodes.
struct Readings {
  std::vector<store::QueueInfo> queues;
  std::map<std::string, core::TimePoint> oldest;  // queue → its oldest ready job's run_at
  core::ClusterFigures cluster;
};

awaitable<core::Result<Readings>> read_now(engine::Engine& engine) {
  auto queues = co_await engine.queues();
  if (!queues) co_return queues.error();
  auto oldest = co_await engine.oldest_ready();
  if (!oldest) co_return oldest.error();
  auto cluster = co_await engine.nodes().cluster();
  if (!cluster) co_return cluster.error();
  Readings out{std::move(*queues), std::move(*oldest), std::move(*cluster)};
  co_return out;
}

awaitable<Response> get_stats(Context& c) {
  const auto window = parse_window(c.request);
  if (!window) co_return error_response(window.error());
  auto& engine = c.services.engine;
  auto read = co_await read_now(engine);
  if (!read) co_return error_response(read.error());
  const auto& queues = read->queues;
  const auto& oldest = read->oldest;
  const auto& cluster = read->cluster;
  const auto now = engine.clock().now();
  const auto& history = engine.history();
  const auto rates = history.queue_rates(now, *window);

  json::object states;
  for (const auto s : core::kAllStates) states[core::to_string(s)] = 0;
  json::array queue_list;
  for (const auto& q : queues) {
    for (const auto& [state, n] : q.counts) {
      states[core::to_string(state)] = states[core::to_string(state)].as_int64() + n;
    }
    const auto depth =
        q.counts.contains(core::JobState::queued) ? q.counts.at(core::JobState::queued) : 0;
    const auto since = oldest.find(q.name);
    const auto rate = rates.find(q.name);
    queue_list.emplace_back(json::object{
        {"name", q.name},
        {"paused", q.paused},
        {"depth", depth},
        {"oldest_waiting_ms",
         since == oldest.end()
             ? json::value(nullptr)
             : json::value(std::max<std::int64_t>(
                   0, std::chrono::duration_cast<core::Millis>(now - since->second).count()))},
        {"processed_per_s", rounded(rate == rates.end() ? 0.0 : rate->second.processed_per_s)},
        {"failed_per_s", rounded(rate == rates.end() ? 0.0 : rate->second.failed_per_s)}});
  }
  const auto latency = history.latency(now, *window);
  const auto step = history.options().step;
  json::object out{
      {"window", core::format_duration(*window)},
      {"step_seconds", std::chrono::duration_cast<std::chrono::seconds>(step).count()},
      {"at", core::format_rfc3339(now)},
      {"series", series_json(history.series(now, *window))},
      {"states", std::move(states)},
      {"queues", std::move(queue_list)},
      {"latency",
       {{"p50_ms", optional_ms(latency.p50_ms)},
        {"p95_ms", optional_ms(latency.p95_ms)},
        {"samples", latency.samples}}},
      {"workers", workers_json(cluster)},
      {"event_streams",
       {{"open", cluster.total.event_streams}, {"this_node", cluster.this_node.event_streams}}},
      {"nodes", {{"up", cluster.up}, {"gone", cluster.gone}, {"stopped", cluster.stopped}}},
      {"unreadable_jobs", engine.stats().unreadable_jobs}};
  co_return json_response(200, json::serialize(out));
}

// GET /metrics: the counters and histograms this server keeps
// (core/metrics.hpp), and gauges read now: jobs per queue and state and the
// oldest waiting job per queue (from the store: the same on every server),
// this server's open event streams and waiting claims, and its build.
awaitable<Response> get_metrics(Context& c) {
  auto& engine = c.services.engine;
  auto read = co_await read_now(engine);
  if (!read) co_return error_response(read.error());
  const auto& queues = read->queues;
  const auto& oldest = read->oldest;
  const auto& cluster = read->cluster;
  const auto now = engine.clock().now();
  const std::size_t max_queues = c.services.limits.max_metrics_queues;
  namespace metrics = core::metrics;
  metrics::Exposition out;
  const auto& self = engine.nodes().self();
  out.family("errand_build_info", "gauge", "This server's version and store; always 1.");
  out.sample("errand_build_info",
             {{"version", self.version}, {"commit", c.services.commit}, {"store", self.store}}, 1);
  // Queues past the cap (in name order) are summed under "_other".
  std::map<std::pair<std::string, core::JobState>, std::int64_t> jobs;
  std::map<std::string, double> waiting;
  std::size_t seen = 0;
  for (const auto& q : queues) {
    const std::string name = seen++ < max_queues ? q.name : std::string(metrics::kOtherLabel);
    for (const auto s : core::kAllStates) {
      const auto n = q.counts.find(s);
      jobs[{name, s}] += n == q.counts.end() ? 0 : n->second;
    }
    if (const auto since = oldest.find(q.name); since != oldest.end()) {
      const std::chrono::duration<double> age = now - since->second;
      waiting[name] = std::max(waiting[name], std::max(0.0, age.count()));
    }
  }
  out.family("errand_jobs", "gauge", "Jobs by queue and state, in the store.");
  for (const auto& [key, n] : jobs) {
    out.sample("errand_jobs", {{"queue", key.first}, {"state", core::to_string(key.second)}},
               static_cast<double>(n));
  }
  out.family("errand_queue_oldest_waiting_seconds", "gauge",
             "Age of the oldest job ready to run (queued) per queue; absent when none waits.");
  for (const auto& [name, age] : waiting) {
    out.sample("errand_queue_oldest_waiting_seconds", {{"queue", name}}, age);
  }
  out.family("errand_sse_watchers", "gauge", "Event streams (SSE) open on this server.");
  out.sample("errand_sse_watchers", {}, static_cast<double>(cluster.this_node.event_streams));
  out.family("errand_workers_waiting", "gauge", "Long-poll claims waiting on this server.");
  out.sample("errand_workers_waiting", {}, static_cast<double>(cluster.this_node.waiting_claims));
  out.family("errand_nodes", "gauge", "Servers sharing the store, by state.");
  out.sample("errand_nodes", {{"state", "up"}}, static_cast<double>(cluster.up));
  out.sample("errand_nodes", {{"state", "gone"}}, static_cast<double>(cluster.gone));
  out.sample("errand_nodes", {{"state", "stopped"}}, static_cast<double>(cluster.stopped));
  if (c.services.metrics) c.services.metrics->write(out);
  co_return Response{.status = 200,
                     .body = out.text(),
                     .content_type = "text/plain; version=0.0.4; charset=utf-8"};
}

}  // namespace

std::vector<Route> stats_routes() {
  return {{"GET", "/v1/stats", Access::producer, get_stats},
          {"GET", "/metrics", Access::metrics, get_metrics}};
}

}  // namespace errand::api
