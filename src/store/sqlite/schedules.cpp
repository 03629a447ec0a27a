// The schedule verbs of the SQLite store (see store/store.hpp). A fire is
// exactly-once per (schedule, fire time) because three guards share its
// transaction: fire times at or before fired_through are refused, the
// schedule_fires primary key refuses a second record of one time, and the
// job's idempotency key refuses a second job.
#include "store/sqlite/ops.hpp"
#include "store/sqlite/schedule_rows.hpp"

#include "core/id.hpp"
#include "store/common/schedule_rows.hpp"
#include "store/common/schedule_transitions.hpp"

namespace errand::store::sqlite::ops {
namespace {

using core::JobState;

// Records `fire_at` as done; false if it already was.
core::Result<bool> record_fire(Statements& sql, const std::string& name, core::TimePoint fire_at,
                               std::string_view job_id) {
  Query q(sql[Sql::schedule_fire_insert]);
  q.bind_text(1, name).bind_time(2, fire_at).bind_text_or_null(3, job_id);
  auto inserted = q.step();
  if (!inserted) return inserted.error();
  const bool fresh = *inserted;
  if (fresh) {
    if (auto done = q.run(); !done) return done.error();
  }
  Query trim(sql[Sql::schedule_fires_trim]);
  trim.bind_text(1, name);
  if (auto done = trim.run(); !done) return done.error();
  return fresh;
}

// Whether a job of `queue` already holds `key` (e.g. from a schedule deleted
// and re-created under the same name).
core::Result<bool> key_taken(Statements& sql, std::string_view queue, std::string_view key) {
  Query q(sql[Sql::job_by_idempotency_key]);
  q.bind_text(1, queue).bind_text(2, key);
  auto row = q.step();
  if (!row) return row.error();
  return *row;
}

// Enqueues the schedule's job as job `id` (take_job_id).
core::Result<JobState> enqueue_job(OpContext& c, const core::ScheduleSpec& spec,
                                   const ScheduleFireParams& p, std::string key, std::int64_t id) {
  core::NewJob job = schedule_job(spec, p.now, std::move(key));
  const QueueRow* queue = c.queues.find(job.queue);
  const auto settings =
      core::resolve_settings(job, queue ? queue->config.defaults : core::JobDefaults{});
  if (auto inserted = insert_job(c.sql, id, job, settings, JobState::queued, p.now); !inserted) {
    return inserted.error();
  }
  c.queues.move(job.queue, std::nullopt, JobState::queued);
  c.notice.runnable(job.queue);
  return JobState::queued;
}

core::Result<ScheduleFireOutcome> fire_scheduled(OpContext& c, core::Schedule s,
                                                 const ScheduleFireParams& p) {
  const core::TimePoint at = *p.fire_at;
  ScheduleFireOutcome out{.result = FireResult::already_fired};
  if (s.spec.paused) {
    out.result = FireResult::paused;
  } else if (at > s.fired_through) {
    const std::string key = core::schedule_fire_key(s.spec.name, at);
    const bool skip = overlap_skips(s);
    auto taken = key_taken(c.sql, s.spec.queue, key);
    if (!taken) return taken.error();
    const bool enqueue = !skip && !*taken;
    const std::int64_t id = enqueue ? take_job_id(c, p.now) : 0;
    const std::string job_id = enqueue ? core::format_job_id(id) : std::string();
    auto fresh = record_fire(c.sql, s.spec.name, at, job_id);
    if (!fresh) return fresh.error();
    s.fired_through = at;
    if (*fresh && !*taken && skip) out.result = FireResult::skipped_overlap;
    if (*fresh && enqueue) {
      auto state = enqueue_job(c, s.spec, p, key, id);
      if (!state) return state.error();
      out = {.result = FireResult::enqueued, .job_id = job_id, .state = *state};
      note_fired(s, at, job_id, *state);
    }
    if (auto saved = save_schedule(c.sql, s); !saved) return saved.error();
  }
  out.schedule = std::move(s);
  return out;
}

}  // namespace

core::Result<SchedulePutOutcome> schedule_put(OpContext& c, const SchedulePutParams& p) {
  auto existing = load_schedule(c.sql, p.spec.name);
  const bool created = !existing && existing.error().code == core::errc::not_found;
  if (!existing && !created) return existing.error();
  core::Schedule s =
      apply_schedule_put(created ? std::optional<core::Schedule>() : std::move(*existing), p);
  if (auto saved = save_schedule(c.sql, s); !saved) return saved.error();
  return SchedulePutOutcome{.schedule = std::move(s), .created = created};
}

core::Result<core::Schedule> schedule_get(OpContext& c, const ScheduleGetParams& p) {
  return load_schedule(c.sql, p.name);
}

core::Result<std::vector<core::Schedule>> schedule_list(OpContext& c) {
  return load_schedules(c.sql);
}

core::Result<Unit> schedule_delete(OpContext& c, const ScheduleDeleteParams& p) {
  Query q(c.sql[Sql::schedule_delete]);
  q.bind_text(1, p.name);
  auto deleted = q.step();
  if (!deleted) return deleted.error();
  if (!*deleted) return schedule_not_found(p.name);
  if (auto done = q.run(); !done) return done.error();
  Query fires(c.sql[Sql::schedule_fires_delete]);
  fires.bind_text(1, p.name);
  if (auto done = fires.run(); !done) return done.error();
  return Unit{};
}

core::Result<core::Schedule> schedule_pause(OpContext& c, const SchedulePauseParams& p) {
  auto s = load_schedule(c.sql, p.name);
  if (!s) return s.error();
  apply_schedule_pause(*s, p);
  if (auto saved = save_schedule(c.sql, *s); !saved) return saved.error();
  return std::move(*s);
}

core::Result<ScheduleFireOutcome> schedule_fire(OpContext& c, const ScheduleFireParams& p) {
  auto s = load_schedule(c.sql, p.name);
  if (!s) return s.error();
  if (p.fire_at) return fire_scheduled(c, std::move(*s), p);
  const std::int64_t id = take_job_id(c, p.now);
  auto state = enqueue_job(c, s->spec, p, "", id);
  if (!state) return state.error();
  note_fired(*s, p.now, core::format_job_id(id), *state);
  if (auto saved = save_schedule(c.sql, *s); !saved) return saved.error();
  return ScheduleFireOutcome{
      .result = FireResult::enqueued, .job_id = s->last_job_id, .state = *state, .schedule = *s};
}

}  // namespace errand::store::sqlite::ops
