#include "store/common/schedule_transitions.hpp"

#include <algorithm>

namespace errand::store {

using core::JobState;

core::Schedule apply_schedule_put(std::optional<core::Schedule> existing,
                                  const SchedulePutParams& p) {
  core::Schedule s;
  if (!existing) {
    s.created_at = p.now;
    s.fired_through = p.now;
  } else {
    s = std::move(*existing);
    if (core::schedule_rearms(s.spec, p.spec)) s.fired_through = std::max(s.fired_through, p.now);
  }
  s.spec = p.spec;
  s.updated_at = p.now;
  return s;
}

void apply_schedule_pause(core::Schedule& s, const SchedulePauseParams& p) {
  if (s.spec.paused && !p.paused) s.fired_through = std::max(s.fired_through, p.now);
  s.spec.paused = p.paused;
  s.updated_at = p.now;
}

bool overlap_skips(const core::Schedule& s) {
  if (s.spec.overlap != core::Overlap::skip || !s.last_job_state) return false;
  const JobState state = *s.last_job_state;
  return state == JobState::scheduled || state == JobState::queued || state == JobState::running ||
         state == JobState::failed;
}

core::NewJob schedule_job(const core::ScheduleSpec& spec, core::TimePoint now, std::string key) {
  core::NewJob job;
  job.queue = spec.queue;
  job.type = spec.type;
  job.payload = spec.payload;
  job.priority = spec.priority;
  job.max_attempts = spec.max_attempts;
  job.run_at = now;
  job.idempotency_key = std::move(key);
  return job;
}

void note_fired(core::Schedule& s, core::TimePoint at, const std::string& job_id,
                core::JobState state) {
  s.last_fired_at = at;
  s.last_job_id = job_id;
  s.last_job_state = state;
}

}  // namespace errand::store
