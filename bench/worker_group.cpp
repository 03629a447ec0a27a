#include "worker_group.hpp"

#include "node_urls.hpp"

#include <fmt/format.h>

#include <unistd.h>
#include <cstdio>

namespace errand::bench {
using Clock = std::chrono::steady_clock;

WorkerGroup::WorkerGroup(WorkerGroupOptions options) : options_(std::move(options)) {}

WorkerGroup::~WorkerGroup() {
  stop();
}

void WorkerGroup::start() {
  for (int i = 0; i < options_.runtimes; ++i) {
    client::ClientOptions c{.url = urls_from(options_.url, i), .key = options_.key};
    auto client = std::make_unique<client::Client>(std::move(c));
    client::WorkerOptions w;
    w.name = fmt::format("bench-{}-{}", ::getpid(), i);
    w.concurrency = options_.concurrency;
    // A short long-poll: an idle runtime notices stop() within it.
    w.claim_wait = core::Millis{1'000};
    w.max_ack_batch = static_cast<std::size_t>(options_.concurrency);
    w.log = [](client::LogLevel level, std::string_view line) {
      if (level != client::LogLevel::info)
        std::fprintf(stderr, "errand worker: %.*s\n", static_cast<int>(line.size()), line.data());
    };
    w.on_outcome = [this](const client::JobOutcome& o) {
      if (!o.ok || !o.report_error.empty()) {
        ++refused_;
        return;
      }
      const auto now = Clock::now().time_since_epoch().count();
      auto prev = last_completed_.load();
      while (prev < now && !last_completed_.compare_exchange_weak(prev, now)) {
      }
      ++completed_;
    };
    auto worker = std::make_unique<client::Worker>(*client, std::move(w));
    worker->handle(options_.queue, [this](client::RunningJob& job) -> boost::json::value {
      if (options_.on_start) options_.on_start(job);
      return nullptr;
    });
    runtimes_.push_back({std::move(client), std::move(worker)});
  }
  for (auto& r : runtimes_) threads_.emplace_back([w = r.worker.get()] { w->run(); });
}

void WorkerGroup::stop() {
  for (auto& r : runtimes_) r.worker->stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
  runtimes_.clear();
}

Clock::time_point WorkerGroup::last_completed() const noexcept {
  return Clock::time_point(Clock::duration(last_completed_.load()));
}

}  // namespace errand::bench
