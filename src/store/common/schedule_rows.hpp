// Decoding of a stored schedule, shared by every backend: the backend copies
// one row's columns into a ScheduleColumns view (no parsing), and
// decode_schedule turns it into a core::Schedule. Pure functions.
#pragma once

#include "core/schedule.hpp"

#include <cstdint>
#include <optional>
#include <string_view>

namespace errand::store {

// One schedule row as the backend read it; the views point into the
// backend's statement or result. Absent optionals are SQL NULL.
struct ScheduleColumns {
  std::string_view name;
  std::string_view cron;
  std::string_view timezone;
  std::string_view queue;
  std::string_view type;
  std::string_view payload;  // JSON text; "null" for none
  std::optional<std::int64_t> priority;
  std::optional<std::int64_t> max_attempts;
  bool overlap_skip = false;
  bool paused = false;
  std::int64_t catch_up_ms = 0;
  std::string_view source;
  core::TimePoint created_at;
  core::TimePoint updated_at;
  core::TimePoint fired_through;
  std::optional<core::TimePoint> last_fired_at;
  std::string_view last_job_id;
};

// The schedule of one row (last_job_state is not stored: left unset).
// Throws std::runtime_error when its payload does not scan.
core::Schedule decode_schedule(const ScheduleColumns& c);

// not_found (field "name") for a name that names no schedule.
core::Error schedule_not_found(std::string_view name);

}  // namespace errand::store
