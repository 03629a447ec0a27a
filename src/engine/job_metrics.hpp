// What the engine adds to the server's metrics (core/metrics.hpp) as jobs
// pass through this server: enqueues per queue, how long claimed jobs
// waited (ready → claimed), how long attempts ran (claimed here → ended
// here) and how they ended (succeeded; failed, to retry; dead; cancelled).
//
// An attempt's run time is known when the same server saw its claim: the
// claim's lease ids are remembered (at most kMaxLeases; past that the
// oldest claims' are forgotten, as are leases older than a day) and looked
// up when a complete, fail or ack names them. An end reported for a lease
// this server did not hand out counts under the job's queue when the answer
// names it, else under queue "_unknown". Thread-safe.
#pragma once

#include "core/job.hpp"
#include "core/metrics.hpp"
#include "core/time.hpp"

#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace errand::engine {

class JobMetrics {
 public:
  static constexpr std::size_t kMaxLeases = 200'000;

  explicit JobMetrics(core::metrics::Metrics* metrics) : metrics_(metrics) {}

  void enqueued(std::string_view queue) const;
  // Jobs a worker's claim got at `now`.
  void claimed(const std::vector<core::Job>& jobs, core::TimePoint now);
  // The attempt of `lease_id` ended in `state` at `now` (`queue`: the job's,
  // when the answer says it; empty: unknown).
  void ended(std::string_view lease_id, std::string_view queue, core::JobState state,
             core::TimePoint now);

 private:
  struct Lease {
    std::string queue;
    core::TimePoint claimed_at;
  };

  core::metrics::Metrics* const metrics_;  // null: nothing is counted
  std::mutex mutex_;
  std::unordered_map<std::string, Lease> leases_;  // GUARDED_BY(mutex_)
  std::deque<std::string> order_;                  // GUARDED_BY(mutex_): claim order
};

}  // namespace errand::engine
