// Cron schedules: what a schedule is, its validation rules, and the pure
// decision of which fire time is due at `now` (missed times, catch-up).
//
// A `ScheduleSpec` is what a user declares (PUT /v1/schedules/{name} or a
// `[[schedule]]` table of the config file); a `Schedule` is a spec as stored,
// with the store's bookkeeping: `fired_through` (every scheduled fire time up
// to and including it is done: fired, skipped for overlap, or let go because
// the schedule was paused or redefined) and the last fired job.
//
// Missed fire times. `due_fire` fires at most ONE time per call, the most
// recent due one, never a backlog: a time that fell due while this server was
// running (at or after `online_since`) always fires, even if the tick comes
// late; a time that fell due while the server was down fires only when it is
// at most `catch_up` old. Plain value types and pure functions:
// thread-compatible.
#pragma once

#include "core/cron.hpp"
#include "core/job.hpp"
#include "core/time.hpp"

#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace errand::core {

inline constexpr std::size_t kMaxScheduleName = 64;
inline constexpr Millis kDefaultCatchUp{3'600'000};
inline constexpr Millis kMaxCatchUp{7 * 86'400'000};

// What happens when a fire time comes while the previous run of the same
// schedule is still waiting or running (scheduled, queued, running, or
// failed and waiting for its retry).
enum class Overlap { allow, skip };
std::string_view to_string(Overlap o) noexcept;
std::optional<Overlap> parse_overlap(std::string_view text) noexcept;

// Who created a schedule: the API, or the server's --config file (which
// removes the schedules it created once they leave the file).
enum class ScheduleSource { api, config };
std::string_view to_string(ScheduleSource s) noexcept;
std::optional<ScheduleSource> parse_schedule_source(std::string_view text) noexcept;

struct ScheduleSpec {
  std::string name;
  std::string cron;              // as written; validated by parse_cron
  std::string timezone = "UTC";  // IANA name
  std::string queue;
  std::string type;                      // empty: none
  RawJson payload;                       // empty: none; verbatim
  std::optional<std::int64_t> priority;  // unset: the queue's default
  std::optional<int> max_attempts;       // unset: the queue's default
  Overlap overlap = Overlap::allow;
  bool paused = false;
  Millis catch_up = kDefaultCatchUp;
  ScheduleSource source = ScheduleSource::api;
};

struct Schedule {
  ScheduleSpec spec;
  TimePoint created_at{};
  TimePoint updated_at{};
  TimePoint fired_through{};
  std::optional<TimePoint> last_fired_at;  // the fire time of the last fire (or trigger)
  std::string last_job_id;                 // empty: never fired
  std::optional<JobState> last_job_state;  // unset: never fired, or the job was pruned
};

// Schedule names: 1-64 characters of A-Z, a-z, 0-9, '_', '.', '-'.
Result<void> validate_schedule_name(std::string_view name, std::string_view field = "name");

// A spec with its cron expression and zone parsed.
struct CompiledSchedule {
  CronExpr cron;
  TimeZone zone;
};

// Checks every field of `spec` (name, cron, timezone, queue, type,
// priority, max_attempts, catch_up); errors name the field ("cron",
// "timezone", ...) with the messages of parse_cron and find_time_zone.
Result<CompiledSchedule> compile_schedule(const ScheduleSpec& spec);

// Whether an update from `old` to `next` starts the schedule afresh: fire
// times before the update are then not fired (a changed cron or zone, or a
// resume after a pause).
bool schedule_rearms(const ScheduleSpec& old, const ScheduleSpec& next);

// The latest fire time in (after, until], or nullopt. ~45 cron_next calls
// whatever the distance (a bisection), so a long downtime costs nothing.
std::optional<TimePoint> latest_fire(const CronExpr& cron, const TimeZone& zone, TimePoint after,
                                     TimePoint until);

struct FireDecision {
  std::optional<TimePoint> fire;  // fire this time now (at most one)
  std::optional<TimePoint> next;  // the next fire time after now; nullopt: never again
};

// What a schedule should do at `now`. The earliest fire time in
// (fired_through, now] at or after `online_since` (it came while this server
// ran) fires if it is at most `catch_up` old, and `next` is the time after it
// (due at once when that came too: missed times fire one after another).
// Otherwise the most recent fire time in (fired_through, now] fires if it is
// at or after `online_since` or at most `catch_up` old; `next` is the first
// fire time after `now`.
FireDecision due_fire(const CompiledSchedule& schedule, TimePoint fired_through,
                      TimePoint online_since, TimePoint now, Millis catch_up);

// The idempotency key of the job a scheduled fire enqueues:
// "schedule:<name>:<fire time, unix ms>".
std::string schedule_fire_key(std::string_view name, TimePoint fire_at);

}  // namespace errand::core
