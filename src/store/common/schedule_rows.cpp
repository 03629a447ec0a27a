#include "store/common/schedule_rows.hpp"

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace errand::store {

core::Schedule decode_schedule(const ScheduleColumns& c) {
  core::Schedule s;
  core::ScheduleSpec& spec = s.spec;
  spec.name = c.name;
  spec.cron = c.cron;
  spec.timezone = c.timezone;
  spec.queue = c.queue;
  spec.type = c.type;
  if (c.payload != "null") {
    if (auto ok = core::check_json(c.payload, "payload"); !ok) {
      throw std::runtime_error(fmt::format("schedule {}: {}", spec.name, ok.error().message));
    }
    spec.payload = core::RawJson::trusted(std::string(c.payload));
  }
  spec.priority = c.priority;
  if (c.max_attempts) spec.max_attempts = static_cast<int>(*c.max_attempts);
  spec.overlap = c.overlap_skip ? core::Overlap::skip : core::Overlap::allow;
  spec.paused = c.paused;
  spec.catch_up = core::Millis{c.catch_up_ms};
  spec.source = core::parse_schedule_source(c.source).value_or(core::ScheduleSource::api);
  s.created_at = c.created_at;
  s.updated_at = c.updated_at;
  s.fired_through = c.fired_through;
  s.last_fired_at = c.last_fired_at;
  s.last_job_id = c.last_job_id;
  return s;
}

core::Error schedule_not_found(std::string_view name) {
  return core::make_error(core::errc::not_found, fmt::format("no schedule named \"{}\"", name),
                          "name");
}

}  // namespace errand::store
