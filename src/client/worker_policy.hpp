// The worker runtime's decisions that need no server: which handler takes a
// job, how long a granted lease is, when to heartbeat, and how long to wait
// before trying an unreachable server again.
//
// Pure functions and small value types (time is passed in), unit-tested in
// worker_policy_test.cpp. Thread-compatible.
#pragma once

#include "client/worker.hpp"
#include "core/time.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace errand::client::detail {

// Handlers by queue, and by queue and job type. A typed handler wins over the
// queue's catch-all one.
class HandlerTable {
 public:
  void add(std::string queue, std::string type, Handler handler);
  // Null when no handler takes this job.
  const Handler* find(std::string_view queue, std::string_view type) const;
  // Every queue with a handler, in the order first registered (claim order).
  const std::vector<std::string>& queues() const noexcept { return queues_; }
  bool empty() const noexcept { return entries_.empty(); }

 private:
  struct Entry {
    std::string queue, type;  // type empty: any type
    Handler handler;
  };
  std::vector<Entry> entries_;
  std::vector<std::string> queues_;
};

// The lease a claim granted: `requested` when the claim asked for one, else
// the job's timeout, measured as `expires_at - now` rounded to whole seconds
// (the server's leases are whole seconds; rounding absorbs the round trip).
core::Millis granted_lease(core::TimePoint expires_at, core::TimePoint now,
                           std::optional<core::Millis> requested);

// A heartbeat every third of the lease, so two may be lost before it runs
// out; at least every 10s all the same, because heartbeat answers are how a
// running job learns it was cancelled (a 5m lease would otherwise take 100s).
core::Millis heartbeat_interval(core::Millis lease);

// Reconnect waits: doubling from `base` up to `cap`, the upper half jittered
// so that many workers of a restarted server do not return in step.
class ReconnectBackoff {
 public:
  explicit ReconnectBackoff(core::Millis cap, core::Millis base = core::Millis{250})
      : cap_(cap), base_(base) {}
  // The wait after one more failure; `jitter` in [0, 1).
  core::Millis next(double jitter);
  void reset() noexcept { failures_ = 0; }
  int failures() const noexcept { return failures_; }

 private:
  core::Millis cap_, base_;
  int failures_ = 0;
};

// "1.2s", "250ms", "3m4s": a short human duration for log lines.
std::string short_duration(core::Millis d);

}  // namespace errand::client::detail
