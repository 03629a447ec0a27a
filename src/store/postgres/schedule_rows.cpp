#include "store/postgres/schedule_rows.hpp"

#include "core/id.hpp"
#include "store/common/schedule_rows.hpp"

namespace errand::store::postgres {
namespace {

constexpr std::string_view kScheduleColumns =
    "name, cron, timezone, queue, type, payload, priority, max_attempts, overlap, paused,"
    " catch_up_ms, source, created_at, updated_at, fired_through, last_fired_at, last_job_id"
    " FROM schedules";

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

const Statement kByName{"schedule_by_name",
                        "SELECT " + std::string(kScheduleColumns) + " WHERE name = $1"};
const Statement kByNameLocked{"schedule_by_name_locked", "SELECT " + std::string(kScheduleColumns) +
                                                             " WHERE name = $1 FOR UPDATE"};
const Statement kAll{"schedule_all", "SELECT " + std::string(kScheduleColumns) + " ORDER BY name"};
const Statement kJobState{"job_state", "SELECT state FROM jobs WHERE id = $1"};
const Statement kSave{
    "schedule_save",
    "INSERT INTO schedules(name, cron, timezone, queue, type, payload, priority, max_attempts,"
    " overlap, paused, catch_up_ms, source, created_at, updated_at, fired_through, last_fired_at,"
    " last_job_id)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
    " ON CONFLICT (name) DO UPDATE SET cron = excluded.cron, timezone = excluded.timezone,"
    " queue = excluded.queue, type = excluded.type, payload = excluded.payload,"
    " priority = excluded.priority, max_attempts = excluded.max_attempts,"
    " overlap = excluded.overlap, paused = excluded.paused, catch_up_ms = excluded.catch_up_ms,"
    " source = excluded.source, created_at = excluded.created_at,"
    " updated_at = excluded.updated_at, fired_through = excluded.fired_through,"
    " last_fired_at = excluded.last_fired_at, last_job_id = excluded.last_job_id"};

core::Schedule read_schedule(const Rows& r, int i) {
  ScheduleColumns c;
  c.name = r.text(i, kName);
  c.cron = r.text(i, kCron);
  c.timezone = r.text(i, kTimezone);
  c.queue = r.text(i, kQueue);
  c.type = r.text(i, kType);
  c.payload = r.text(i, kPayload);
  c.priority = r.opt_integer(i, kPriority);
  c.max_attempts = r.opt_integer(i, kMaxAttempts);
  c.overlap_skip = r.boolean(i, kOverlap);
  c.paused = r.boolean(i, kPaused);
  c.catch_up_ms = r.integer(i, kCatchUp);
  c.source = r.text(i, kSource);
  c.created_at = r.time(i, kCreatedAt);
  c.updated_at = r.time(i, kUpdatedAt);
  c.fired_through = r.time(i, kFiredThrough);
  c.last_fired_at = r.opt_time(i, kLastFiredAt);
  c.last_job_id = r.text(i, kLastJobId);
  return decode_schedule(c);
}

// The state of the schedule's last job, if that job still exists.
core::Result<void> read_last_job_state(Conn& db, core::Schedule& s) {
  if (s.last_job_id.empty()) return {};
  const auto rowid = core::parse_job_id(s.last_job_id);
  if (!rowid) return {};
  auto r = db.run(kJobState, Params().integer(*rowid));
  if (!r) return r.error();
  if (!r->empty()) s.last_job_state = static_cast<core::JobState>(r->integer(0, 0));
  return {};
}

}  // namespace

core::Result<core::Schedule> load_schedule(Conn& db, std::string_view name, bool lock) {
  auto r = db.run(lock ? kByNameLocked : kByName, Params().text(name));
  if (!r) return r.error();
  if (r->empty()) return schedule_not_found(name);
  core::Schedule s = read_schedule(*r, 0);
  if (auto read = read_last_job_state(db, s); !read) return read.error();
  return s;
}

core::Result<std::vector<core::Schedule>> load_schedules(Conn& db) {
  auto r = db.run(kAll);
  if (!r) return r.error();
  std::vector<core::Schedule> out;
  for (int i = 0; i < r->size(); ++i) out.push_back(read_schedule(*r, i));
  for (auto& s : out) {
    if (auto read = read_last_job_state(db, s); !read) return read.error();
  }
  return out;
}

core::Result<void> save_schedule(Conn& db, const core::Schedule& s) {
  const core::ScheduleSpec& spec = s.spec;
  Params p;
  p.text(spec.name).text(spec.cron).text(spec.timezone).text(spec.queue).text(spec.type);
  p.text(spec.payload.text()).opt_integer(spec.priority);
  p.opt_integer(spec.max_attempts ? std::optional<std::int64_t>(*spec.max_attempts) : std::nullopt);
  p.boolean(spec.overlap == core::Overlap::skip).boolean(spec.paused);
  p.integer(spec.catch_up.count()).text(core::to_string(spec.source));
  p.time(s.created_at).time(s.updated_at).time(s.fired_through).opt_time(s.last_fired_at);
  p.text_or_null(s.last_job_id);
  auto r = db.run(kSave, p);
  if (!r) return r.error();
  return {};
}

}  // namespace errand::store::postgres
