// The schedule's JSON form, shared by the server (api/schedules) and the C++
// client (client/wire): GET /v1/schedules/{name}, PUT, pause, resume, the
// `schedule` of a trigger's answer, and each item of GET /v1/schedules.
//
//   {"name", "cron", "timezone", "queue", "type", "payload", "priority",
//    "max_attempts", "overlap", "paused", "catch_up", "source", "created_at",
//    "updated_at", "last_fired_at", "last_job": {"id", "state"} or null,
//    "next": [{"at", "local"}, …]}
//
// The payload is client JSON: written and read verbatim (core/json_text.hpp),
// so the reader takes the answer's text. The reader is lenient as
// core/json_reader.hpp says; its errors are invalid_argument naming the field
// ("schedules[2].next[0].at"). Pure functions and value types:
// thread-compatible.
#pragma once

#include "core/schedule.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace errand::core {

// One upcoming fire time: the instant, and the same as local time in the
// schedule's zone ("2026-03-29T03:00:00+02:00").
struct ScheduleFire {
  TimePoint at{};
  std::string local;
  bool operator==(const ScheduleFire&) const = default;
};

// A schedule as the API shows it: as stored (`fired_through` is not shown)
// and its next fire times.
struct ScheduleStatus {
  Schedule schedule;
  std::vector<ScheduleFire> next;  // the next 5 fire times; empty when paused
};

std::string schedule_json(const ScheduleStatus& schedule);
// {"schedules": [...]}.
std::string schedule_list_json(const std::vector<ScheduleStatus>& schedules);

// Reads a schedule from its JSON text (`path` names it in errors).
Result<ScheduleStatus> schedule_from_json(std::string_view text, std::string path = {});
Result<std::vector<ScheduleStatus>> schedule_list_from_json(std::string_view text);

}  // namespace errand::core
