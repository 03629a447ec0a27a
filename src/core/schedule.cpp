#include "core/schedule.hpp"

#include "core/duration.hpp"
#include "core/queue_config.hpp"

#include <fmt/format.h>

namespace errand::core {

std::string_view to_string(Overlap o) noexcept {
  return o == Overlap::skip ? "skip" : "allow";
}

std::optional<Overlap> parse_overlap(std::string_view text) noexcept {
  if (text == "allow") return Overlap::allow;
  if (text == "skip") return Overlap::skip;
  return std::nullopt;
}

std::string_view to_string(ScheduleSource s) noexcept {
  return s == ScheduleSource::config ? "config" : "api";
}

std::optional<ScheduleSource> parse_schedule_source(std::string_view text) noexcept {
  if (text == "api") return ScheduleSource::api;
  if (text == "config") return ScheduleSource::config;
  return std::nullopt;
}

Result<void> validate_schedule_name(std::string_view name, std::string_view field) {
  bool ok = !name.empty() && name.size() <= kMaxScheduleName;
  for (char c : name) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && c != '_' && c != '.' && c != '-') ok = false;
  }
  if (ok) return {};
  return invalid(std::string(field),
                 fmt::format("{} must be 1-64 characters of A-Z, a-z, 0-9, '_', '.' or '-'; got "
                             "\"{}\"",
                             field, name.substr(0, 100)));
}

namespace {

Result<void> check_settings(const ScheduleSpec& spec) {
  if (auto ok = validate_queue_name(spec.queue, "queue"); !ok) return ok;
  if (!spec.type.empty()) {
    if (auto ok = validate_label(spec.type, kMaxTypeName, "type"); !ok) return ok;
  }
  if (spec.priority && (*spec.priority < -kMaxPriority || *spec.priority > kMaxPriority)) {
    return invalid("priority",
                   fmt::format("priority must be between {} and {}", -kMaxPriority, kMaxPriority));
  }
  if (spec.max_attempts && (*spec.max_attempts < 1 || *spec.max_attempts > kMaxMaxAttempts)) {
    return invalid("max_attempts",
                   fmt::format("max_attempts must be between 1 and {}", kMaxMaxAttempts));
  }
  if (spec.catch_up < Millis{0} || spec.catch_up > kMaxCatchUp) {
    return invalid("catch_up",
                   fmt::format("catch_up must be between 0s and {}", format_duration(kMaxCatchUp)));
  }
  return {};
}

}  // namespace

Result<CompiledSchedule> compile_schedule(const ScheduleSpec& spec) {
  if (auto ok = validate_schedule_name(spec.name); !ok) return ok.error();
  auto cron = parse_cron(spec.cron);
  if (!cron) return cron.error();
  auto zone = find_time_zone(spec.timezone);
  if (!zone) return zone.error();
  if (auto ok = check_settings(spec); !ok) return ok.error();
  return CompiledSchedule{std::move(*cron), *zone};
}

bool schedule_rearms(const ScheduleSpec& old, const ScheduleSpec& next) {
  return old.cron != next.cron || old.timezone != next.timezone || (old.paused && !next.paused);
}

std::optional<TimePoint> latest_fire(const CronExpr& cron, const TimeZone& zone, TimePoint after,
                                     TimePoint until) {
  auto first = cron_next(cron, zone, after);
  if (!first || *first > until) return std::nullopt;
  // Invariant: a fire time lies in (lo, until]; none lies in (hi, until].
  TimePoint lo = after;
  TimePoint hi = until;
  while (hi - lo > Millis{1}) {
    const TimePoint mid = lo + (hi - lo) / 2;
    auto t = cron_next(cron, zone, mid);
    if (t && *t <= until) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return cron_next(cron, zone, lo);
}

FireDecision due_fire(const CompiledSchedule& schedule, TimePoint fired_through,
                      TimePoint online_since, TimePoint now, Millis catch_up) {
  FireDecision d;
  // Times that came while this server ran fire in order, each once, while
  // at most `catch_up` old: a slow tick (a busy machine, or the server that
  // would have fired them died) delays them but skips none. `next` is then
  // the following time, due at once if it came too.
  const auto from = std::max(fired_through, online_since - Millis{1});
  if (auto first = cron_next(schedule.cron, schedule.zone, from);
      first && *first <= now && now - *first <= catch_up) {
    d.fire = first;
    d.next = cron_next(schedule.cron, schedule.zone, *first);
    return d;
  }
  if (auto missed = latest_fire(schedule.cron, schedule.zone, fired_through, now)) {
    if (*missed >= online_since || now - *missed <= catch_up) d.fire = missed;
  }
  d.next = cron_next(schedule.cron, schedule.zone, std::max(now, fired_through));
  return d;
}

std::string schedule_fire_key(std::string_view name, TimePoint fire_at) {
  return fmt::format("schedule:{}:{}", name, to_unix_ms(fire_at));
}

}  // namespace errand::core
