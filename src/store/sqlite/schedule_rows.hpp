// Mapping between core::Schedule and a row of the `schedules` table (with the
// state of its last job, read through a join), and the statements that read
// or write a whole schedule. Times are unix milliseconds, the payload JSON
// text, overlap 0 allow / 1 skip. Used only on the writer thread.
#pragma once

#include "core/schedule.hpp"
#include "store/sqlite/statements.hpp"

#include <string_view>
#include <vector>

namespace errand::store::sqlite {

// Selected by every statement that returns whole schedules, in this order;
// ends with the FROM clause (statements add WHERE / ORDER BY).
inline constexpr std::string_view kScheduleColumns =
    "s.name, s.cron, s.timezone, s.queue, s.type, s.payload, s.priority, s.max_attempts,"
    " s.overlap, s.paused, s.catch_up_ms, s.source, s.created_at, s.updated_at,"
    " s.fired_through, s.last_fired_at, s.last_job_id FROM schedules s";

// The schedule named `name`, or not_found (field "name").
core::Result<core::Schedule> load_schedule(Statements& sql, std::string_view name);
// Every schedule, by name.
core::Result<std::vector<core::Schedule>> load_schedules(Statements& sql);
// Inserts or replaces the whole row (last_job_state is not stored).
core::Result<void> save_schedule(Statements& sql, const core::Schedule& s);

}  // namespace errand::store::sqlite
