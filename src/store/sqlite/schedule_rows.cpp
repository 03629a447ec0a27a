#include "store/sqlite/schedule_rows.hpp"

#include "store/common/schedule_rows.hpp"
#include "store/sqlite/job_rows.hpp"

namespace errand::store::sqlite {
namespace {

enum Col {
  kName,
  kCron,
  kTimezone,
  kQueue,
  kType,
  kPayload,
  kPriority,
  kMaxAttempts,
  kOverlap,
  kPaused,
  kCatchUp,
  kSource,
  kCreatedAt,
  kUpdatedAt,
  kFiredThrough,
  kLastFiredAt,
  kLastJobId,
};

core::Schedule read_schedule(const Query& q) {
  ScheduleColumns c;
  c.name = q.text_at(kName);
  c.cron = q.text_at(kCron);
  c.timezone = q.text_at(kTimezone);
  c.queue = q.text_at(kQueue);
  c.type = q.text_at(kType);
  c.payload = q.text_at(kPayload);
  if (!q.is_null(kPriority)) c.priority = q.int_at(kPriority);
  if (!q.is_null(kMaxAttempts)) c.max_attempts = q.int_at(kMaxAttempts);
  c.overlap_skip = q.int_at(kOverlap) != 0;
  c.paused = q.int_at(kPaused) != 0;
  c.catch_up_ms = q.int_at(kCatchUp);
  c.source = q.text_at(kSource);
  c.created_at = q.time_at(kCreatedAt);
  c.updated_at = q.time_at(kUpdatedAt);
  c.fired_through = q.time_at(kFiredThrough);
  c.last_fired_at = q.opt_time_at(kLastFiredAt);
  c.last_job_id = q.text_at(kLastJobId);
  return decode_schedule(c);
}

// The state of the schedule's last job, if that job still exists.
core::Result<void> read_last_job_state(Statements& sql, core::Schedule& s) {
  if (s.last_job_id.empty()) return {};
  auto rowid = find_rowid(sql, s.last_job_id);
  if (!rowid) return rowid.error();
  Query q(sql[Sql::job_lease_by_id]);  // selects id, state, ...
  q.bind_int(1, *rowid);
  auto row = q.step();
  if (!row) return row.error();
  if (*row) s.last_job_state = static_cast<core::JobState>(q.int_at(1));
  return {};
}

}  // namespace

core::Result<core::Schedule> load_schedule(Statements& sql, std::string_view name) {
  Query q(sql[Sql::schedule_by_name]);
  q.bind_text(1, name);
  auto row = q.step();
  if (!row) return row.error();
  if (!*row) return schedule_not_found(name);
  core::Schedule s = read_schedule(q);
  if (auto read = read_last_job_state(sql, s); !read) return read.error();
  return s;
}

core::Result<std::vector<core::Schedule>> load_schedules(Statements& sql) {
  Query q(sql[Sql::schedule_all]);
  std::vector<core::Schedule> out;
  for (;;) {
    auto row = q.step();
    if (!row) return row.error();
    if (!*row) break;
    out.push_back(read_schedule(q));
  }
  for (auto& s : out) {
    if (auto read = read_last_job_state(sql, s); !read) return read.error();
  }
  return out;
}

core::Result<void> save_schedule(Statements& sql, const core::Schedule& s) {
  const core::ScheduleSpec& spec = s.spec;
  const std::string payload(spec.payload.text());
  Query q(sql[Sql::schedule_save]);
  q.bind_text(1, spec.name).bind_text(2, spec.cron).bind_text(3, spec.timezone);
  q.bind_text(4, spec.queue).bind_text(5, spec.type).bind_text(6, payload);
  if (spec.priority) {
    q.bind_int(7, *spec.priority);
  } else {
    q.bind_null(7);
  }
  if (spec.max_attempts) {
    q.bind_int(8, *spec.max_attempts);
  } else {
    q.bind_null(8);
  }
  q.bind_int(9, spec.overlap == core::Overlap::skip ? 1 : 0).bind_int(10, spec.paused ? 1 : 0);
  q.bind_int(11, spec.catch_up.count()).bind_text(12, core::to_string(spec.source));
  q.bind_time(13, s.created_at).bind_time(14, s.updated_at).bind_time(15, s.fired_through);
  q.bind_opt_time(16, s.last_fired_at).bind_text_or_null(17, s.last_job_id);
  return q.run();
}

}  // namespace errand::store::sqlite
