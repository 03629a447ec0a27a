// The schedule verbs of the PostgreSQL store (see store/store.hpp). A fire is
// exactly-once per (schedule, fire time), whatever other servers do, because
// four guards share its transaction: the schedule row is locked, fire times
// at or before fired_through are refused, the schedule_fires primary key
// refuses a second record of one time, and the job's idempotency key refuses
// a second job.
#include "store/postgres/ops.hpp"
#include "store/postgres/schedule_rows.hpp"

#include "core/id.hpp"
#include "store/common/schedule_rows.hpp"
#include "store/common/schedule_transitions.hpp"

#include <fmt/format.h>

namespace errand::store::postgres::ops {
namespace {

using core::JobState;

const Statement kFireInsert{"schedule_fire_insert",
                            "INSERT INTO schedule_fires(schedule, fire_at, job_id)"
                            " VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING fire_at"};
// Keeps the latest 1000 fire records of a schedule: fired_through, not this
// table, is what stops older times from firing again.
const Statement kFiresTrim{"schedule_fires_trim",
                           "DELETE FROM schedule_fires WHERE schedule = $1 AND fire_at < (SELECT"
                           " fire_at FROM schedule_fires WHERE schedule = $1 ORDER BY fire_at DESC"
                           " LIMIT 1 OFFSET 999)"};
const Statement kFiresDelete{"schedule_fires_delete",
                             "DELETE FROM schedule_fires WHERE schedule = $1"};
const Statement kDelete{"schedule_delete", "DELETE FROM schedules WHERE name = $1 RETURNING name"};
const Statement kKeyTaken{"job_key_taken",
                          "SELECT 1 FROM jobs WHERE queue = $1 AND idempotency_key = $2"};

core::Result<bool> record_fire(Conn& db, const std::string& name, core::TimePoint fire_at,
                               std::string_view job_id) {
  auto inserted = db.run(kFireInsert, Params().text(name).time(fire_at).text_or_null(job_id));
  if (!inserted) return inserted.error();
  if (auto trimmed = db.run(kFiresTrim, Params().text(name)); !trimmed) return trimmed.error();
  return !inserted->empty();
}

core::Result<bool> key_taken(Conn& db, std::string_view queue, std::string_view key) {
  auto r = db.run(kKeyTaken, Params().text(queue).text(key));
  if (!r) return r.error();
  return !r->empty();
}

// Enqueues the schedule's job as job `id` (take_job_id).
core::Result<JobState> enqueue_job(OpContext& c, const core::ScheduleSpec& spec,
                                   const ScheduleFireParams& p, std::string key, std::int64_t id) {
  core::NewJob job = schedule_job(spec, p.now, std::move(key));
  auto defaults = queue_defaults(c, job.queue);
  if (!defaults) return defaults.error();
  const auto settings = core::resolve_settings(job, *defaults);
  auto inserted = insert_job(c.db, job, settings, JobState::queued, p.now, id);
  if (!inserted) return inserted.error();
  if (!*inserted) {  // the schedule row's lock makes this a job of an earlier schedule
    return core::make_error(
        core::errc::conflict,
        fmt::format("idempotency_key \"{}\" of queue {} is taken", job.idempotency_key, job.queue),
        "idempotency_key");
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
    auto taken = key_taken(c.db, s.spec.queue, key);
    if (!taken) return taken.error();
    const bool enqueue = !skip && !*taken;
    std::int64_t id = 0;
    if (enqueue) {
      auto fresh_id = take_job_id(c.db, p.now);
      if (!fresh_id) return fresh_id.error();
      id = *fresh_id;
    }
    const std::string job_id = enqueue ? core::format_job_id(id) : std::string();
    auto fresh = record_fire(c.db, s.spec.name, at, job_id);
    if (!fresh) return fresh.error();
    s.fired_through = at;
    if (*fresh && !*taken && skip) out.result = FireResult::skipped_overlap;
    if (*fresh && enqueue) {
      auto state = enqueue_job(c, s.spec, p, key, id);
      if (!state) return state.error();
      out = {.result = FireResult::enqueued, .job_id = job_id, .state = *state};
      note_fired(s, at, job_id, *state);
    }
    if (auto saved = save_schedule(c.db, s); !saved) return saved.error();
  }
  out.schedule = std::move(s);
  return out;
}

}  // namespace

core::Result<SchedulePutOutcome> schedule_put(OpContext& c, const SchedulePutParams& p) {
  auto existing = load_schedule(c.db, p.spec.name, /*lock=*/true);
  const bool created = !existing && existing.error().code == core::errc::not_found;
  if (!existing && !created) return existing.error();
  core::Schedule s =
      apply_schedule_put(created ? std::optional<core::Schedule>() : std::move(*existing), p);
  if (auto saved = save_schedule(c.db, s); !saved) return saved.error();
  return SchedulePutOutcome{.schedule = std::move(s), .created = created};
}

core::Result<core::Schedule> schedule_get(OpContext& c, const ScheduleGetParams& p) {
  return load_schedule(c.db, p.name);
}

core::Result<std::vector<core::Schedule>> schedule_list(OpContext& c) {
  return load_schedules(c.db);
}

core::Result<Unit> schedule_delete(OpContext& c, const ScheduleDeleteParams& p) {
  auto deleted = c.db.run(kDelete, Params().text(p.name));
  if (!deleted) return deleted.error();
  if (deleted->empty()) return schedule_not_found(p.name);
  if (auto fires = c.db.run(kFiresDelete, Params().text(p.name)); !fires) return fires.error();
  return Unit{};
}

core::Result<core::Schedule> schedule_pause(OpContext& c, const SchedulePauseParams& p) {
  auto s = load_schedule(c.db, p.name, /*lock=*/true);
  if (!s) return s.error();
  apply_schedule_pause(*s, p);
  if (auto saved = save_schedule(c.db, *s); !saved) return saved.error();
  return std::move(*s);
}

core::Result<ScheduleFireOutcome> schedule_fire(OpContext& c, const ScheduleFireParams& p) {
  auto s = load_schedule(c.db, p.name, /*lock=*/true);
  if (!s) return s.error();
  if (p.fire_at) return fire_scheduled(c, std::move(*s), p);
  auto id = take_job_id(c.db, p.now);
  if (!id) return id.error();
  auto state = enqueue_job(c, s->spec, p, "", *id);
  if (!state) return state.error();
  note_fired(*s, p.now, core::format_job_id(*id), *state);
  if (auto saved = save_schedule(c.db, *s); !saved) return saved.error();
  return ScheduleFireOutcome{
      .result = FireResult::enqueued, .job_id = s->last_job_id, .state = *state, .schedule = *s};
}

}  // namespace errand::store::postgres::ops
