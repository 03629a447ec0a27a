// What the schedule verbs do to a schedule, whatever the backend: each takes
// the schedule as read from its row and the verb's params, and leaves it as
// it is to be written. The backends lock or read the row, record fires,
// insert the job and write the row; the exactly-once guards (fired_through,
// the fire record, the job's idempotency key) stay with their SQL. The
// decisions (when a changed spec re-arms, the fire key) are core's.
// Pure functions; thread-safe.
#pragma once

#include "core/job.hpp"
#include "core/schedule.hpp"
#include "store/store.hpp"

#include <optional>
#include <string>

namespace errand::store {

// schedule_put: the schedule as it is to be stored, from the existing one
// (nullopt: it is created, armed from p.now). A changed spec that re-arms
// (core::schedule_rearms) fires nothing before p.now.
core::Schedule apply_schedule_put(std::optional<core::Schedule> existing,
                                  const SchedulePutParams& p);

// schedule_pause: a resumed schedule fires nothing it missed while paused.
void apply_schedule_pause(core::Schedule& s, const SchedulePauseParams& p);

// Overlap "skip": the previous run still waits or runs, so this fire makes
// no job.
bool overlap_skips(const core::Schedule& s);

// The job a fire of `spec` inserts at `now` (idempotency key `key`, empty
// for a manual trigger).
core::NewJob schedule_job(const core::ScheduleSpec& spec, core::TimePoint now, std::string key);

// The schedule fired at `at`, enqueueing job `job_id` in `state`.
void note_fired(core::Schedule& s, core::TimePoint at, const std::string& job_id,
                core::JobState state);

}  // namespace errand::store
