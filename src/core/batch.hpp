// Batches (docs/API.md "Batches"): a set of jobs with callbacks that run once
// when the set ends — on_success after every job succeeded, on_complete after
// every job ended whatever its end, on_death when the first job ends dead.
// The model, the stored form of a callback job, and the payload a callback
// job gets. Plain value types and pure functions: thread-compatible.
#pragma once

#include "core/error.hpp"
#include "core/job.hpp"
#include "core/json_text.hpp"
#include "core/time.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace errand::core {

enum class BatchState : std::uint8_t {
  open,    // jobs may still be added (POST /v1/batches/{id}/jobs)
  sealed,  // no more jobs: the callbacks fire when its jobs end
  done,    // every job ended (or the batch was sealed with none)
};
std::string_view to_string(BatchState s) noexcept;

enum class BatchCallbackKind : std::uint8_t { success, complete, death };
inline constexpr BatchCallbackKind kBatchCallbacks[] = {
    BatchCallbackKind::success, BatchCallbackKind::complete, BatchCallbackKind::death};
// "on_success", "on_complete", "on_death"
std::string_view callback_field(BatchCallbackKind k) noexcept;

struct BatchCounts {
  std::int64_t total = 0;  // jobs added
  std::int64_t succeeded = 0;
  std::int64_t dead = 0;
  std::int64_t cancelled = 0;
  std::int64_t ended() const { return succeeded + dead + cancelled; }
  // What one job that ends `end` adds (`by` 1), or takes back (`by` -1, a
  // retried job); nothing for a state that is not an end.
  static BatchCounts ended_as(JobState end, std::int64_t by);
  BatchCounts& operator+=(const BatchCounts& d);
  bool operator==(const BatchCounts&) const = default;
};

struct Batch {
  std::string id;
  BatchState state = BatchState::open;
  BatchCounts counts;
  TimePoint created_at{};
  std::optional<TimePoint> finished_at;
  // The callback jobs asked for (absent: none), and the jobs they became
  // once fired (empty: not fired).
  std::optional<NewJob> on_success, on_complete, on_death;
  std::string success_job, complete_job, death_job;

  std::optional<NewJob>& callback(BatchCallbackKind k);
  const std::optional<NewJob>& callback(BatchCallbackKind k) const;
  std::string& callback_job(BatchCallbackKind k);
  const std::string& callback_job(BatchCallbackKind k) const;
  // The callbacks as stored (callback_to_json; nullopt: none), in
  // kBatchCallbacks order. Errors: internal naming the batch when one is
  // not what callback_to_json wrote.
  Result<void> read_callbacks(const std::optional<std::string_view> (&stored)[3]);
};

// A callback job as stored: {"queue","type"?,"payload"?,"priority"?,
// "max_attempts"?,"timeout_ms"?,"key"?,"tags"?}. Only these fields of the
// job are kept (the API refuses the others on a callback).
std::string callback_to_json(const NewJob& job);
// Throws (boost::json) when `text` is not what callback_to_json wrote.
NewJob callback_from_json(std::string_view text);

// Which callbacks fire now, given the batch after a change (counts updated,
// state sealed or open), and that none fired before: death when a job ended
// dead; success and complete once a sealed batch's jobs all ended.
struct BatchFiring {
  bool success = false;
  bool complete = false;
  bool death = false;
  bool done = false;  // the batch is done now
  bool due(BatchCallbackKind k) const;
};
BatchFiring batch_firing(const Batch& b);

// The payload a callback job gets: its own payload (an object) with
// "batch": {"id", "state", "total", "succeeded", "dead", "cancelled"} added;
// a payload that is not an object is kept under "payload".
RawJson callback_payload(const RawJson& own, const Batch& b);

// The batch's JSON (GET /v1/batches/{id}).
std::string batch_json(const Batch& b);

}  // namespace errand::core
