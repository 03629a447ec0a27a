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
// names it, else under queue "_unknown". The same map keeps what a span
// of the attempt needs (engine/otlp.hpp) when spans are wanted, and the
// job transition lines at debug level (log_job) are written here too.
// Thread-safe.
#pragma once

#include "core/job.hpp"
#include "core/metrics.hpp"
#include "core/mutex.hpp"
#include "core/time.hpp"

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace errand::engine {

// An attempt claimed on this server, as the lease map keeps it. The job's
// id, type, attempt, trace and ready time are kept only while spans are
// wanted (JobMetrics::keep_attempts) or debug lines written.
struct ClaimedAttempt {
  std::string queue;
  core::TimePoint claimed_at;
  std::string job_id;
  std::string type;
  std::string traceparent;
  int attempt = 0;
  core::TimePoint ready_at;  // the job's run_at: when it became ready
};

// One attempt that ended on this server, for its span (engine/otlp.hpp).
struct AttemptSpan {
  ClaimedAttempt attempt;
  core::TimePoint ended_at;
  std::string outcome;  // succeeded, retry, dead, cancelled, continued
  std::string error;    // the failure's message (failed attempts); empty: none
};

// A job transition line at debug level: `job <id> <event> queue=… type=…
// attempt=… trace_id=…`, or with `json` the same as a JSON object message
// (cli/log_format.hpp merges it). Never a payload, result, lease or token.
// Cheap when debug is off: callers may check job_log_enabled() first.
bool job_log_enabled();
void log_job(bool json, std::string_view event, std::string_view id, std::string_view queue,
             std::string_view type, int attempt, std::string_view traceparent);
inline void log_job(bool json, std::string_view event, const core::Job& job) {
  log_job(json, event, job.id, job.queue, job.type, job.attempt, job.traceparent);
}
// The event a job's state names after a complete, fail or cancel:
// completed, retry_scheduled, dead, cancelled, continued.
std::string_view end_event(core::JobState state);

class JobMetrics {
 public:
  static constexpr std::size_t kMaxLeases = 200'000;

  explicit JobMetrics(core::metrics::Metrics* metrics) : metrics_(metrics) {}

  // Keeps each claimed attempt's details for its span (set before the
  // server serves).
  void keep_attempts(bool keep) { keep_attempts_ = keep; }

  void enqueued(std::string_view queue) const;
  // Jobs a worker's claim got at `now`.
  void claimed(const std::vector<core::Job>& jobs, core::TimePoint now) EXCLUDES(mutex_);
  // The attempt of `lease_id` ended in `state` at `now` (`queue`: the job's,
  // when the answer says it; empty: unknown). Returns the attempt as
  // claimed here; nullopt when this server did not hand out that lease
  // (or forgot it).
  std::optional<ClaimedAttempt> ended(std::string_view lease_id, std::string_view queue,
                                      core::JobState state, core::TimePoint now) EXCLUDES(mutex_);

 private:
  using Lease = ClaimedAttempt;

  core::metrics::Metrics* const metrics_;  // null: nothing is counted
  bool keep_attempts_ = false;
  core::Mutex mutex_;
  std::unordered_map<std::string, Lease> leases_ GUARDED_BY(mutex_);
  std::deque<std::string> order_ GUARDED_BY(mutex_);  // claim order
};

}  // namespace errand::engine
