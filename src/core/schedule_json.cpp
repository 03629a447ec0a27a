#include "core/schedule_json.hpp"

#include "core/duration.hpp"
#include "core/json_reader.hpp"
#include "core/json_text.hpp"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>

namespace errand::core {
namespace json = boost::json;
namespace {

// A payload nested kMaxJsonDepth deep, in a schedule, in a list or a
// trigger's answer.
constexpr std::size_t kMaxScheduleDepth = kMaxJsonDepth + 4;

template <class T>
json::value or_null(const std::optional<T>& v) {
  if (!v) return nullptr;
  return json::value(*v);
}

json::value last_job_json(const Schedule& s) {
  if (s.last_job_id.empty()) return nullptr;
  json::value state = nullptr;  // the job was deleted or pruned
  if (s.last_job_state) state = to_string(*s.last_job_state);
  return json::object{{"id", s.last_job_id}, {"state", std::move(state)}};
}

// Every member but the payload, which is spliced in verbatim.
json::object members(const ScheduleStatus& st) {
  const auto& s = st.schedule;
  const auto& spec = s.spec;
  json::value last_fired = nullptr;
  if (s.last_fired_at) last_fired = format_rfc3339(*s.last_fired_at);
  json::array next;
  for (const auto& f : st.next) {
    next.emplace_back(json::object{{"at", format_rfc3339(f.at)}, {"local", f.local}});
  }
  return json::object{
      {"name", spec.name},
      {"cron", spec.cron},
      {"timezone", spec.timezone},
      {"queue", spec.queue},
      {"type", spec.type.empty() ? json::value(nullptr) : json::value(spec.type)},
      {"payload", nullptr},
      {"priority", or_null(spec.priority)},
      {"max_attempts", or_null(spec.max_attempts)},
      {"overlap", to_string(spec.overlap)},
      {"paused", spec.paused},
      {"catch_up", format_duration(spec.catch_up)},
      {"source", to_string(spec.source)},
      {"created_at", format_rfc3339(s.created_at)},
      {"updated_at", format_rfc3339(s.updated_at)},
      {"last_fired_at", std::move(last_fired)},
      {"last_job", last_job_json(s)},
      {"next", std::move(next)},
  };
}

// The members of the object text `valid` (checked) as a Boost.JSON object,
// but the payload, returned as text. Null when the text is not an object.
json::value members_but_payload(std::string_view valid, RawJson& payload) {
  const auto start = valid.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos || valid[start] != '{') return nullptr;
  json::object o;
  for (auto& m : json_members(valid)) {
    if (m.key == "payload") {
      payload = m.value == "null" ? RawJson() : RawJson::trusted(minify_json(m.value));
      continue;
    }
    boost::system::error_code ec;
    auto v = json::parse(m.value, ec);
    o[m.key] = ec ? json::value(nullptr) : std::move(v);
  }
  return o;
}

void read_spec(JsonReader& r, ScheduleSpec& spec) {
  spec.name = r.str("name");
  spec.cron = r.str("cron");
  spec.timezone = r.str("timezone");
  spec.queue = r.str("queue");
  spec.type = r.str("type", false);
  spec.priority = r.opt_integer("priority");
  if (auto n = r.opt_integer("max_attempts")) spec.max_attempts = static_cast<int>(*n);
  if (auto o = parse_overlap(r.str("overlap"))) {
    spec.overlap = *o;
  } else {
    r.fail("overlap", "is not \"allow\" or \"skip\"");
  }
  spec.paused = r.boolean("paused");
  if (auto d = r.opt_duration("catch_up")) spec.catch_up = *d;
  if (const auto& source = r.any("source"); !source.is_null()) {
    if (auto s = parse_schedule_source(r.str("source"))) {
      spec.source = *s;
    } else {
      r.fail("source", "is not \"api\" or \"config\"");
    }
  }
}

Result<void> read_last_job(JsonReader& r, Schedule& s) {
  const auto& last = r.any("last_job");
  if (last.is_null()) return {};
  JsonReader lr(last, r.path("last_job"));
  s.last_job_id = lr.str("id");
  if (!lr.any("state").is_null()) s.last_job_state = lr.state("state");
  return lr.status();
}

Result<std::vector<ScheduleFire>> read_fires(JsonReader& r) {
  std::vector<ScheduleFire> out;
  if (r.any("next").is_null()) return out;
  const auto* items = r.array("next");
  if (!items) return r.status().error();
  for (std::size_t i = 0; i < items->size(); ++i) {
    JsonReader fr((*items)[i], item_path(r.path("next"), i));
    ScheduleFire f{.at = fr.time("at"), .local = fr.str("local")};
    if (auto ok = fr.status(); !ok) return ok.error();
    out.push_back(std::move(f));
  }
  return out;
}

// Reads a schedule from text that passed check_json.
Result<ScheduleStatus> read_schedule(std::string_view valid, std::string path) {
  ScheduleStatus out;
  auto& s = out.schedule;
  const auto v = members_but_payload(valid, s.spec.payload);
  JsonReader r(v, std::move(path));
  read_spec(r, s.spec);
  s.created_at = r.time("created_at");
  s.updated_at = r.time("updated_at");
  s.last_fired_at = r.opt_time("last_fired_at");
  if (auto ok = read_last_job(r, s); !ok) return ok.error();
  if (auto ok = r.status(); !ok) return ok.error();
  auto next = read_fires(r);
  if (!next) return next.error();
  out.next = std::move(*next);
  return out;
}

}  // namespace

std::string schedule_json(const ScheduleStatus& schedule) {
  return serialize_with_raw(members(schedule), "payload", schedule.schedule.spec.payload);
}

std::string schedule_list_json(const std::vector<ScheduleStatus>& schedules) {
  JsonWriter w;
  w.begin_object().key("schedules").begin_array();
  for (const auto& s : schedules) w.raw_text(schedule_json(s));
  return w.end_array().end_object().take();
}

Result<ScheduleStatus> schedule_from_json(std::string_view text, std::string path) {
  if (auto ok = check_json(text, path.empty() ? "the body" : path, kMaxScheduleDepth); !ok) {
    return ok.error();
  }
  return read_schedule(text, std::move(path));
}

Result<std::vector<ScheduleStatus>> schedule_list_from_json(std::string_view text) {
  if (auto ok = check_json(text, "the body", kMaxScheduleDepth); !ok) return ok.error();
  const auto items = json_member(text, "schedules");
  if (!items || items->empty() || items->front() != '[') {
    return invalid("schedules", items ? "schedules is not an array" : "schedules is missing");
  }
  std::vector<ScheduleStatus> out;
  const auto elements = json_elements(*items);
  out.reserve(elements.size());
  for (std::size_t i = 0; i < elements.size(); ++i) {
    auto s = read_schedule(elements[i], item_path("schedules", i));
    if (!s) return s.error();
    out.push_back(std::move(*s));
  }
  return out;
}

}  // namespace errand::core
