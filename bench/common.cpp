#include "bench.hpp"

#include <fmt/format.h>
#include <boost/json/object.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace errand::bench {

Target::Target(const Settings& s, std::vector<std::string> server_args, int nodes)
    : store_url_(s.store) {
  if (!s.server.empty()) {
    url_ = s.server;
    nodes_ = static_cast<int>(split_urls(url_).size());
    return;
  }
  nodes_ = std::max(1, nodes > 0 ? nodes : s.nodes);
  if (nodes_ > 1 && s.store.empty())
    throw std::runtime_error("several nodes need a PostgreSQL store (--store)");
  auto schema = s.store.empty() ? nullptr : std::make_shared<PgSchema>(s.store);
  std::vector<std::string> urls;
  for (int i = 0; i < nodes_; ++i) {
    own_.push_back(
        std::make_unique<ServerProcess>(s.errand, std::chrono::seconds(30), server_args, schema));
    urls.push_back(own_.back()->url());
  }
  url_ = join_urls(urls);
}

std::vector<pid_t> Target::server_pids() const {
  std::vector<pid_t> pids;
  for (const auto& server : own_) pids.push_back(server->pid());
  return pids;
}

int worker_runtimes(const Settings& s, const Target& target) {
  return std::max(s.workers, target.nodes());
}

std::string on_nodes(const Target& target) {
  return target.nodes() > 1 ? fmt::format(" on {} nodes", target.nodes()) : std::string();
}

client::Client make_client(const Settings& s, const std::string& url) {
  client::ClientOptions o;
  o.url = url;
  o.key = s.key;
  o.max_idle_connections = 1;  // one thread, one connection
  return client::Client(std::move(o));
}

boost::json::value payload(std::int64_t i, double ts) {
  static const std::string pad(60, 'x');
  return boost::json::object{{"ts", ts}, {"i", i}, {"pad", pad}};
}

double epoch_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

double percentile(std::vector<double> xs, double p) {
  if (xs.empty()) return 0;
  std::sort(xs.begin(), xs.end());
  const double k = static_cast<double>(xs.size() - 1) * p / 100.0;
  const auto f = static_cast<std::size_t>(k);
  const auto c = std::min(f + 1, xs.size() - 1);
  return xs[f] + (xs[c] - xs[f]) * (k - static_cast<double>(f));
}

std::string fresh_queue(const std::string& prefix) {
  static std::atomic<int> n{0};
  return fmt::format("{}-{}-{}", prefix,
                     std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count(),
                     n++);
}

double fill(const Settings& s, const std::string& url, const std::string& queue, std::int64_t n,
            int connections) {
  std::atomic<std::int64_t> next{0};
  std::string error;
  std::mutex error_mutex;
  auto producer = [&](int p) {
    auto c = make_client(s, urls_from(url, p));
    std::vector<client::EnqueueOptions> jobs;
    for (;;) {
      const auto first = next.fetch_add(s.batch);
      if (first >= n) return;
      const auto count = std::min<std::int64_t>(s.batch, n - first);
      jobs.assign(static_cast<std::size_t>(count), {});
      const double ts = epoch_seconds();
      for (std::int64_t k = 0; k < count; ++k) {
        auto& job = jobs[static_cast<std::size_t>(k)];
        job.queue = queue;
        job.payload = payload(first + k, ts);
      }
      if (auto r = c.enqueue_batch(jobs); !r) {
        std::lock_guard lock(error_mutex);
        error = r.error().message;
        next = n;
        return;
      }
    }
  };
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < std::max(1, connections); ++i) threads.emplace_back(producer, i);
  for (auto& t : threads) t.join();
  if (!error.empty()) throw std::runtime_error("fill: " + error);
  return seconds(Clock::now() - t0);
}

// Producer p takes every producers-th slot of one schedule, so together they
// hold the rate even when one enqueue is slow.
double produce_at_rate(const Settings& s, const std::string& url, const std::string& queue,
                       std::int64_t n, int rate, int producers) {
  std::string error;
  std::mutex mutex;
  const auto t0 = Clock::now() + std::chrono::milliseconds(50);  // connections open by then
  auto producer = [&](int p) {
    auto c = make_client(s, urls_from(url, p));
    (void)c.health();
    for (std::int64_t i = p; i < n; i += producers) {
      std::this_thread::sleep_until(
          t0 + std::chrono::duration_cast<Clock::duration>(
                   std::chrono::duration<double>(static_cast<double>(i) / rate)));
      auto r = c.enqueue({.queue = queue, .payload = payload(i, epoch_seconds())});
      if (!r) {
        std::lock_guard lock(mutex);
        error = r.error().message;
        return;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) threads.emplace_back(producer, p);
  for (auto& t : threads) t.join();
  if (!error.empty()) throw std::runtime_error("enqueue: " + error);
  return seconds(Clock::now() - t0);
}

std::string thousands(double v) {
  const auto digits = fmt::format("{:.0f}", v);
  const std::size_t sign = digits.starts_with('-') ? 1 : 0;
  std::string out = digits.substr(0, sign);
  for (std::size_t i = sign; i < digits.size(); ++i) {
    if (i > sign && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

void note(const std::string& line) {
  std::fprintf(stderr, "errand-bench: %s\n", line.c_str());
}

}  // namespace errand::bench
