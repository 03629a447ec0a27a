#include "store/sqlite/schedule_rows.hpp"

#include "store/sqlite/job_rows.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>

namespace errand::store::sqlite {
namespace json = boost::json;
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
  core::Schedule s;
  core::ScheduleSpec& spec = s.spec;
  spec.name = q.text_at(kName);
  spec.cron = q.text_at(kCron);
  spec.timezone = q.text_at(kTimezone);
  spec.queue = q.text_at(kQueue);
  spec.type = q.text_at(kType);
  if (const auto text = q.text_at(kPayload); text != "null") {
    if (auto ok = core::check_json(text, "payload"); !ok) {
      throw std::runtime_error(fmt::format("schedule {}: {}", spec.name, ok.error().message));
    }
    spec.payload = core::RawJson::trusted(std::string(text));
  }
  if (!q.is_null(kPriority)) spec.priority = q.int_at(kPriority);
  if (!q.is_null(kMaxAttempts)) spec.max_attempts = static_cast<int>(q.int_at(kMaxAttempts));
  spec.overlap = q.int_at(kOverlap) != 0 ? core::Overlap::skip : core::Overlap::allow;
  spec.paused = q.int_at(kPaused) != 0;
  spec.catch_up = core::Millis{q.int_at(kCatchUp)};
  spec.source = core::parse_schedule_source(q.text_at(kSource)).value_or(core::ScheduleSource::api);
  s.created_at = q.time_at(kCreatedAt);
  s.updated_at = q.time_at(kUpdatedAt);
  s.fired_through = q.time_at(kFiredThrough);
  s.last_fired_at = q.opt_time_at(kLastFiredAt);
  s.last_job_id = q.text_at(kLastJobId);
  return s;
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
  if (!*row) {
    return core::make_error(core::errc::not_found, fmt::format("no schedule named \"{}\"", name),
                            "name");
  }
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
