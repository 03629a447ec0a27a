// The worker runtime without a server: it must never crash or hang when the
// server cannot be reached, and stop() must end run() promptly. The runtime
// against a real server is covered by tests/integration/test_work.py.
#include "client/worker.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace errand::client {
namespace {
using namespace std::chrono_literals;

struct LogSink {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> lines;

  void add(std::string_view line) {
    std::lock_guard lock(mu);
    lines.emplace_back(line);
    cv.notify_all();
  }
  bool wait_for(std::string_view needle, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, timeout, [&] {
      for (const auto& l : lines)
        if (l.find(needle) != std::string::npos) return true;
      return false;
    });
  }
};

// Port 1 on loopback: nothing listens there, so every connect is refused.
ClientOptions unreachable() {
  ClientOptions o;
  o.url = "http://127.0.0.1:1";
  o.connect_timeout = core::Millis{500};
  return o;
}

TEST(Worker, RetriesAnUnreachableServerWithALogLineAndStopsPromptly) {
  Client client(unreachable());
  LogSink sink;
  WorkerOptions options;
  options.max_backoff = core::Millis{200};
  options.log = [&](LogLevel, std::string_view line) { sink.add(line); };
  Worker worker(client, options);
  worker.handle("emails", [](RunningJob&) -> boost::json::value { return nullptr; });
  std::thread runner([&] { worker.run(); });
  EXPECT_TRUE(sink.wait_for("claim failed: cannot reach errand at http://127.0.0.1:1", 10s));
  EXPECT_TRUE(sink.wait_for("retrying in", 1s));
  const auto stop_at = std::chrono::steady_clock::now();
  worker.stop();
  runner.join();
  EXPECT_LT(std::chrono::steady_clock::now() - stop_at, 3s);
  EXPECT_TRUE(sink.wait_for("stopping: no new claims", 0s));
}

TEST(Worker, StopBeforeRunMakesRunReturnAtOnce) {
  Client client(unreachable());
  WorkerOptions options;
  options.log = [](LogLevel, std::string_view) {};
  Worker worker(client, options);
  worker.handle("emails", [](RunningJob&) -> boost::json::value { return nullptr; });
  worker.stop();
  worker.stop();  // twice is fine
  worker.run();
}

TEST(Worker, RunWithoutHandlersReturnsWithAWarning) {
  Client client(unreachable());
  LogSink sink;
  WorkerOptions options;
  options.log = [&](LogLevel, std::string_view line) { sink.add(line); };
  Worker worker(client, options);
  worker.run();
  EXPECT_TRUE(sink.wait_for("no handlers registered", 0s));
}

TEST(StopReason, Names) {
  EXPECT_EQ(to_string(StopReason::cancelled), "cancelled");
  EXPECT_EQ(to_string(StopReason::lease_lost), "lease lost");
  EXPECT_EQ(to_string(StopReason::shutdown), "worker shutting down");
}

}  // namespace
}  // namespace errand::client
