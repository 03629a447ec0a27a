// /v1/schedules: create or replace, list (with the next fire times and the
// last fired job), read, delete, trigger, pause, resume.
#include "api/errors.hpp"
#include "api/request.hpp"
#include "api/router.hpp"
#include "core/duration.hpp"
#include "core/schedule_json.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>

namespace errand::api {
namespace json = boost::json;
using boost::asio::awaitable;

namespace {

constexpr std::size_t kNextFires = 5;
constexpr std::size_t kMaxCronText = 1024;
constexpr std::size_t kMaxZoneName = 128;

// The next fire times the answer shows (none while paused).
std::vector<core::ScheduleFire> next_fires(const core::Schedule& s, core::TimePoint now) {
  std::vector<core::ScheduleFire> out;
  auto compiled = core::compile_schedule(s.spec);
  if (!compiled || s.spec.paused) return out;
  for (auto t : core::cron_next_n(compiled->cron, compiled->zone, std::max(now, s.fired_through),
                                  kNextFires)) {
    out.push_back({.at = t, .local = core::format_in_zone(t, compiled->zone)});
  }
  return out;
}

core::ScheduleStatus schedule_status(core::Schedule s, core::TimePoint now) {
  auto next = next_fires(s, now);
  return core::ScheduleStatus{.schedule = std::move(s), .next = std::move(next)};
}

std::string schedule_text(const core::Schedule& s, core::TimePoint now) {
  return core::schedule_json(schedule_status(s, now));
}

Response render(int status, const core::Schedule& s, const Services& services) {
  return json_response(status, schedule_text(s, services.engine.clock().now()));
}

core::Result<void> check_name(const std::string& name) {
  return core::validate_schedule_name(name, "name");
}

// ---- PUT body ----

core::Result<void> read_strings(const Fields& f, core::ScheduleSpec& spec) {
  ERRAND_TRY(cron, f.string("cron", kMaxCronText));
  if (!cron) return f.missing("cron");
  spec.cron = std::move(*cron);
  ERRAND_TRY(zone, f.string("timezone", kMaxZoneName));
  if (zone) spec.timezone = std::move(*zone);
  ERRAND_TRY(queue, f.string("queue", 1024));
  if (!queue) return f.missing("queue");
  spec.queue = std::move(*queue);
  ERRAND_TRY(type, f.string("type", 1024));
  if (type) spec.type = std::move(*type);
  ERRAND_TRY(overlap, f.string("overlap", 16));
  if (overlap) {
    auto parsed = core::parse_overlap(*overlap);
    if (!parsed) {
      return core::invalid(
          "overlap", fmt::format("overlap must be \"allow\" or \"skip\", got \"{}\"", *overlap));
    }
    spec.overlap = *parsed;
  }
  return {};
}

core::Result<core::ScheduleSpec> parse_put(const json::object& body, std::string_view source,
                                           std::string name, const ApiLimits& limits) {
  const Fields f(body, {}, source);
  if (auto ok = f.only({"cron", "timezone", "queue", "type", "payload", "priority", "max_attempts",
                        "overlap", "paused", "catch_up"});
      !ok) {
    return ok.error();
  }
  core::ScheduleSpec spec{.name = std::move(name)};
  if (auto ok = read_strings(f, spec); !ok) return ok.error();
  ERRAND_TRY(payload, f.json("payload"));
  if (payload && !payload->is_null()) {
    if (payload->stored().size() > limits.max_payload) {
      return core::make_error(core::errc::payload_too_large,
                              fmt::format("payload is larger than {} bytes", limits.max_payload),
                              "payload");
    }
    spec.payload = std::move(*payload);
  }
  ERRAND_TRY(priority, f.integer("priority", -core::kMaxPriority, core::kMaxPriority));
  spec.priority = priority;
  ERRAND_TRY(max_attempts, f.integer("max_attempts", 1, core::kMaxMaxAttempts));
  if (max_attempts) spec.max_attempts = static_cast<int>(*max_attempts);
  ERRAND_TRY(paused, f.boolean("paused"));
  spec.paused = paused.value_or(false);
  ERRAND_TRY(catch_up, f.duration("catch_up", core::Millis{0}, core::kMaxCatchUp));
  if (catch_up) spec.catch_up = *catch_up;
  if (auto compiled = core::compile_schedule(spec); !compiled) return compiled.error();
  return spec;
}

// ---- handlers ----

awaitable<Response> put_schedule(Context& c) {
  if (auto ok = check_name(c.params[0]); !ok) co_return error_response(ok.error());
  auto body = parse_object(c.request.body);
  if (!body) co_return error_response(body.error());
  auto spec = parse_put(*body, c.request.body, c.params[0], c.services.limits);
  if (!spec) co_return error_response(spec.error());
  auto out = co_await c.services.engine.put_schedule(std::move(*spec));
  if (!out) co_return error_response(out.error());
  co_return render(out->created ? 201 : 200, out->schedule, c.services);
}

awaitable<Response> list_schedules(Context& c) {
  auto all = co_await c.services.engine.schedules().list();
  if (!all) co_return error_response(all.error());
  const auto now = c.services.engine.clock().now();
  std::vector<core::ScheduleStatus> out;
  out.reserve(all->size());
  for (auto& s : *all) out.push_back(schedule_status(std::move(s), now));
  co_return json_response(200, core::schedule_list_json(out));
}

awaitable<Response> get_schedule(Context& c) {
  if (auto ok = check_name(c.params[0]); !ok) co_return error_response(ok.error());
  auto s = co_await c.services.engine.schedules().get(c.params[0]);
  if (!s) co_return error_response(s.error());
  co_return render(200, *s, c.services);
}

awaitable<Response> delete_schedule(Context& c) {
  if (auto ok = check_name(c.params[0]); !ok) co_return error_response(ok.error());
  auto done = co_await c.services.engine.schedules().remove(c.params[0]);
  if (!done) co_return error_response(done.error());
  co_return json_response(200,
                          json::serialize(json::object{{"name", c.params[0]}, {"deleted", true}}));
}

awaitable<Response> trigger_schedule(Context& c) {
  if (auto ok = check_name(c.params[0]); !ok) co_return error_response(ok.error());
  if (auto body = parse_object(c.request.body, true); !body) {
    co_return error_response(body.error());
  } else if (auto ok = Fields(*body).only({}); !ok) {
    co_return error_response(ok.error());
  }
  auto out = co_await c.services.engine.schedules().trigger(c.params[0]);
  if (!out) co_return error_response(out.error());
  const auto& s = c.services;
  json::object answer{
      {"id", out->job_id},
      {"state", core::to_string(out->state)},
      {"token", s.auth.make_token(out->job_id, s.engine.clock().now() + s.limits.token_ttl)},
      {"schedule", nullptr}};
  const auto schedule =
      core::RawJson::trusted(schedule_text(out->schedule, s.engine.clock().now()));
  co_return json_response(202, core::serialize_with_raw(answer, "schedule", schedule));
}

awaitable<Response> set_paused(Context& c, bool paused) {
  if (auto ok = check_name(c.params[0]); !ok) co_return error_response(ok.error());
  auto s = co_await c.services.engine.schedules().pause(c.params[0], paused);
  if (!s) co_return error_response(s.error());
  co_return render(200, *s, c.services);
}

awaitable<Response> pause(Context& c) {
  co_return co_await set_paused(c, true);
}
awaitable<Response> resume(Context& c) {
  co_return co_await set_paused(c, false);
}

}  // namespace

std::vector<Route> schedule_routes() {
  return {
      {"GET", "/v1/schedules", Access::producer, list_schedules},
      {"GET", "/v1/schedules/:name", Access::producer, get_schedule},
      {"PUT", "/v1/schedules/:name", Access::admin, put_schedule},
      {"DELETE", "/v1/schedules/:name", Access::admin, delete_schedule},
      {"POST", "/v1/schedules/:name/trigger", Access::admin, trigger_schedule},
      {"POST", "/v1/schedules/:name/pause", Access::admin, pause},
      {"POST", "/v1/schedules/:name/resume", Access::admin, resume},
  };
}

}  // namespace errand::api
