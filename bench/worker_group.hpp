// A group of C++ worker runtimes (client::Worker), each with its own Client
// (so its own connections) and its own thread, all handling one queue with a
// no-op handler that calls `on_start` first — where a benchmark notes the
// handler's start. Counts the outcomes the server took. Given several nodes'
// URLs, the runtimes are spread over them round-robin (node_urls.hpp).
//
// Thread-safety: start() and stop() from the owning thread; the counters
// from any thread; `on_start` runs on the handler threads of every runtime
// at once, so it must be thread-safe.
#pragma once

#include "client/worker.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace errand::bench {

struct WorkerGroupOptions {
  std::string url;  // one server's, or every node's, comma-separated
  std::string key;
  std::string queue;
  int runtimes = 2;       // worker runtimes, one connection pool and claim loop each
  int concurrency = 256;  // handler slots per runtime: it claims up to this many at once
  std::function<void(const client::RunningJob&)> on_start;
};

class WorkerGroup {
 public:
  explicit WorkerGroup(WorkerGroupOptions options);
  ~WorkerGroup();  // stop()
  WorkerGroup(const WorkerGroup&) = delete;
  WorkerGroup& operator=(const WorkerGroup&) = delete;

  // Starts every runtime on its own thread; returns at once.
  void start();
  // Stops claiming, lets handlers finish, waits for the threads. Idempotent.
  void stop();

  // Outcomes the server acknowledged as completed.
  std::int64_t completed() const noexcept { return completed_.load(); }
  // Outcomes the server refused or never got.
  std::int64_t refused() const noexcept { return refused_.load(); }
  // When the last acknowledged completion arrived.
  std::chrono::steady_clock::time_point last_completed() const noexcept;

 private:
  struct Runtime {
    std::unique_ptr<client::Client> client;
    std::unique_ptr<client::Worker> worker;
  };

  WorkerGroupOptions options_;
  std::vector<Runtime> runtimes_;
  std::vector<std::thread> threads_;
  std::atomic<std::int64_t> completed_{0};
  std::atomic<std::int64_t> refused_{0};
  std::atomic<std::chrono::steady_clock::rep> last_completed_{0};
};

}  // namespace errand::bench
