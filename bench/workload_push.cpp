// Workload P: push delivery. The server POSTs each job to a no-op endpoint
// inside this process (Beast, keep-alive, on 127.0.0.1, so the server runs
// with --push-allow-private) that answers 200 {} at once and notes, per
// call, when it arrived and the `ts` of the job's payload. Two figures:
// throughput — a filled queue switched to push, until the server has
// recorded every success — and the delivery latency at 200 jobs/s, enqueue
// to the endpoint's receipt, to set beside workload C's pull workers.
#include "workloads.hpp"

#include <fmt/format.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace errand::bench {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;

constexpr int kEndpointThreads = 2;
constexpr int kLatencyRate = 200;  // jobs/s, as workload C's first rate

// One call the endpoint received.
struct PushCall {
  Clock::time_point at;
  double latency_ms;  // receipt − the payload's `ts`; NaN without one
};

// The no-op push endpoint: listens on 127.0.0.1, port 0, from construction
// and serves on `kEndpointThreads` threads until destroyed. calls() may be
// read from any thread.
class NoopEndpoint {
 public:
  NoopEndpoint() : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    asio::co_spawn(io_, accept_loop(), asio::detached);
    for (int i = 0; i < kEndpointThreads; ++i) threads_.emplace_back([this] { io_.run(); });
  }
  ~NoopEndpoint() {
    io_.stop();
    for (auto& t : threads_) t.join();
  }
  NoopEndpoint(const NoopEndpoint&) = delete;
  NoopEndpoint& operator=(const NoopEndpoint&) = delete;

  std::string url() const {
    return fmt::format("http://127.0.0.1:{}/push", acceptor_.local_endpoint().port());
  }
  std::int64_t count() const {
    std::lock_guard lock(mutex_);
    return static_cast<std::int64_t>(calls_.size());
  }
  std::vector<PushCall> calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      boost::system::error_code ec;
      auto socket = co_await acceptor_.async_accept(asio::make_strand(io_),
                                                    asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      socket.set_option(tcp::no_delay(true), ec);
      auto executor = socket.get_executor();
      asio::co_spawn(executor, session(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> session(tcp::socket socket) {
    boost::beast::tcp_stream stream(std::move(socket));
    boost::beast::flat_buffer buffer;
    for (;;) {
      boost::system::error_code ec;
      http::request<http::string_body> req;
      co_await http::async_read(stream, buffer, req, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      record(req.body());
      http::response<http::string_body> res{http::status::ok, req.version()};
      res.set(http::field::content_type, "application/json");
      res.body() = "{}";
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
      if (ec || !res.keep_alive()) co_return;
    }
  }

  // The clocks are read before the body is parsed, so parsing is not counted.
  void record(const std::string& body) {
    const auto at = Clock::now();
    const double received = epoch_seconds();
    double latency_ms = std::numeric_limits<double>::quiet_NaN();
    boost::system::error_code ec;
    const auto call = boost::json::parse(body, ec);
    if (!ec) {
      const auto* ts = call.find_pointer("/job/payload/ts", ec);
      if (ts && ts->is_number()) latency_ms = (received - ts->to_number<double>()) * 1000;
    }
    std::lock_guard lock(mutex_);
    calls_.push_back({at, latency_ms});
  }

  asio::io_context io_{kEndpointThreads};
  tcp::acceptor acceptor_;
  mutable std::mutex mutex_;
  std::vector<PushCall> calls_;
  std::vector<std::thread> threads_;
};

void configure_push(const Settings& s, const std::string& url, const std::string& queue,
                    const NoopEndpoint& endpoint) {
  core::QueueConfig config;
  config.push = core::PushConfig{
      .url = endpoint.url(), .timeout = core::Millis{30'000}, .concurrency = s.push_concurrency};
  auto r = make_client(s, url).configure_queue(queue, config);
  if (!r) throw std::runtime_error("PUT /v1/queues/" + queue + ": " + r.error().message);
}

// Polls the queue until `n` of its jobs have succeeded; throws when the
// count stands still for `stall`. Returns the queue as last read.
client::QueueInfo wait_succeeded(const Settings& s, const std::string& url,
                                 const std::string& queue, std::int64_t n,
                                 const NoopEndpoint& endpoint, std::chrono::seconds stall) {
  auto c = make_client(s, url);
  std::int64_t last = -1;
  auto last_change = Clock::now();
  for (;;) {
    auto info = c.get_queue(queue);
    if (!info) throw std::runtime_error("GET /v1/queues/" + queue + ": " + info.error().message);
    const auto done = info->count(core::JobState::succeeded);
    if (done >= n) return *info;
    if (done != last) {
      last = done;
      last_change = Clock::now();
    } else if (Clock::now() - last_change > stall) {
      throw std::runtime_error(fmt::format(
          "only {} of {} jobs succeeded, none for {}s ({} endpoint calls; {} failed, {} dead)",
          done, n, stall.count(), endpoint.count(), info->count(core::JobState::failed),
          info->count(core::JobState::dead)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void wait_calls(const NoopEndpoint& endpoint, std::int64_t n, std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (endpoint.count() < n) {
    if (Clock::now() > deadline)
      throw std::runtime_error(fmt::format("only {} of {} push calls came", endpoint.count(), n));
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

Measurement push_throughput(const Settings& s) {
  Target target(s, {"--push-allow-private"}, 1);
  NoopEndpoint endpoint;
  const auto queue = fresh_queue("bench-p");
  note(fmt::format("P push: filling {} jobs", s.jobs));
  const double fill_s = fill(s, target.url(), queue, s.jobs, 2);
  note(fmt::format("P push: switching the queue to push, concurrency {}", s.push_concurrency));
  const auto t0 = Clock::now();
  configure_push(s, target.url(), queue, endpoint);
  const auto info =
      wait_succeeded(s, target.url(), queue, s.jobs, endpoint, std::chrono::seconds(60));
  const double secs = seconds(Clock::now() - t0);

  const auto calls = endpoint.calls();
  const auto n_calls = static_cast<std::int64_t>(calls.size());
  Clock::time_point first = Clock::time_point::max(), last{};
  for (const auto& call : calls) {
    first = std::min(first, call.at);
    last = std::max(last, call.at);
  }
  const double rate = static_cast<double>(s.jobs) / secs;
  const double call_rate = static_cast<double>(n_calls) / seconds(last - t0);
  const double first_call_ms = seconds(first - t0) * 1000;
  Measurement m{.workload = "P",
                .name = fmt::format("push throughput, concurrency {}", s.push_concurrency),
                .fields = {{"jobs", s.jobs},
                           {"concurrency", std::int64_t{s.push_concurrency}},
                           {"fill_s", fill_s},
                           {"secs", secs},
                           {"jobs_per_s", rate},
                           {"calls", n_calls},
                           {"calls_per_s", call_rate},
                           {"first_call_ms", first_call_ms},
                           {"succeeded", info.count(core::JobState::succeeded)}},
                .result = thousands(rate) + " jobs/s",
                .detail = fmt::format(
                    "{} jobs succeeded in {:.2f} s from the push config; endpoint: {} "
                    "calls, {} calls/s to the last, the first after {:.0f} ms",
                    thousands(static_cast<double>(s.jobs)), secs,
                    thousands(static_cast<double>(n_calls)), thousands(call_rate), first_call_ms),
                .target = "informational"};
  return m;
}

Measurement push_latency(const Settings& s) {
  Target target(s, {"--push-allow-private"}, 1);
  NoopEndpoint endpoint;
  const auto queue = fresh_queue("bench-p");
  configure_push(s, target.url(), queue, endpoint);
  const std::int64_t n = std::int64_t{kLatencyRate} * s.rate_secs;
  note(fmt::format("P push latency: {} jobs/s for {} s (1 producer, push concurrency {})",
                   kLatencyRate, s.rate_secs, s.push_concurrency));
  produce_at_rate(s, target.url(), queue, 2, 2, 1);  // warm-up: the server's connection opens
  wait_calls(endpoint, 2, std::chrono::seconds(30));
  const auto warm = endpoint.count();
  const double producer_s = produce_at_rate(s, target.url(), queue, n, kLatencyRate, 1);
  wait_calls(endpoint, warm + n, std::chrono::seconds(60));

  std::vector<double> ms;
  const auto calls = endpoint.calls();
  for (auto it = calls.begin() + warm; it != calls.end(); ++it) {
    if (!std::isnan(it->latency_ms)) ms.push_back(it->latency_ms);
  }
  const double p50 = percentile(ms, 50), p99 = percentile(ms, 99), max = percentile(ms, 100);
  const double achieved = static_cast<double>(n) / producer_s;
  return Measurement{
      .workload = "P",
      .name = fmt::format("push added latency at {} jobs/s", kLatencyRate),
      .fields = {{"rate", std::int64_t{kLatencyRate}},
                 {"secs", std::int64_t{s.rate_secs}},
                 {"jobs", n},
                 {"concurrency", std::int64_t{s.push_concurrency}},
                 {"achieved_rate", achieved},
                 {"p50_ms", p50},
                 {"p99_ms", p99},
                 {"max_ms", max}},
      .result = fmt::format("p50 {:.2f} ms, p99 {:.2f} ms", p50, p99),
      .detail = fmt::format(
          "{} jobs enqueue→endpoint receipt; max {:.2f} ms; enqueued at {} "
          "jobs/s{}",
          thousands(static_cast<double>(ms.size())), max, thousands(achieved),
          achieved < 0.95 * kLatencyRate ? " (the producer fell behind the rate)" : "")};
}

}  // namespace

void run_push(const Settings& s, const Emit& emit) {
  emit(push_throughput(s));
  emit(push_latency(s));
}

}  // namespace errand::bench
