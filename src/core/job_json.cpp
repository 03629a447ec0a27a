#include "core/job_json.hpp"

#include "core/duration.hpp"

#include <boost/json.hpp>

namespace errand::core {
namespace json = boost::json;
namespace {

json::value time_or_null(const std::optional<TimePoint>& t) {
  return t ? json::value(format_rfc3339(*t)) : json::value(nullptr);
}

std::optional<TimePoint> opt_time(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (!v || !v->is_string()) return std::nullopt;
  auto t = parse_rfc3339(v->get_string(), key);
  return t ? std::optional<TimePoint>(*t) : std::nullopt;
}

std::string str(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::int64_t num(const json::object& o, std::string_view key, std::int64_t fallback = 0) {
  const auto* v = o.if_contains(key);
  return v && v->is_int64() ? v->get_int64() : fallback;
}

}  // namespace

json::object progress_to_json(const Progress& p) {
  json::object o;
  o["percent"] = p.percent ? json::value(*p.percent) : json::value(nullptr);
  o["message"] = p.message;
  o["data"] = p.data;
  o["updated_at"] = format_rfc3339(p.updated_at);
  return o;
}

json::object job_to_json(const Job& j) {
  json::object o;
  o.reserve(24);
  o["id"] = j.id;
  o["queue"] = j.queue;
  o["type"] = j.type.empty() ? json::value(nullptr) : json::value(j.type);
  o["state"] = to_string(j.state);
  o["payload"] = j.payload;
  o["priority"] = j.priority;
  o["run_at"] = format_rfc3339(j.run_at);
  o["attempt"] = j.attempt;
  o["max_attempts"] = j.max_attempts;
  o["timeout"] = format_duration(j.timeout);
  o["idempotency_key"] =
      j.idempotency_key.empty() ? json::value(nullptr) : json::value(j.idempotency_key);
  json::array tags;
  for (const auto& t : j.tags) tags.emplace_back(t);
  o["tags"] = std::move(tags);
  o["progress"] = j.progress ? json::value(progress_to_json(*j.progress)) : json::value(nullptr);
  o["result"] = j.result;
  json::array errors;
  for (const auto& e : j.errors) {
    errors.emplace_back(
        json::object{{"attempt", e.attempt}, {"at", format_rfc3339(e.at)}, {"message", e.message}});
  }
  o["errors"] = std::move(errors);
  if (!j.logs.empty()) o["log"] = j.logs.back().text;
  o["cancel_requested"] = j.cancel_requested;
  o["worker"] = j.worker.empty() ? json::value(nullptr) : json::value(j.worker);
  o["lease_expires_at"] = time_or_null(j.lease_expires_at);
  o["created_at"] = format_rfc3339(j.created_at);
  o["started_at"] = time_or_null(j.started_at);
  o["finished_at"] = time_or_null(j.finished_at);
  if (j.push_continuations > 0) o["push"] = json::object{{"continuations", j.push_continuations}};
  return o;
}

Result<Job> job_from_json(const json::value& v) {
  if (!v.is_object()) return invalid("job", "a job must be a JSON object");
  const auto& o = v.get_object();
  Job j;
  j.id = str(o, "id");
  j.queue = str(o, "queue");
  j.type = str(o, "type");
  if (const auto* p = o.if_contains("payload")) j.payload = *p;
  auto state = parse_job_state(str(o, "state"));
  if (!state) return invalid("state", "unknown job state");
  j.state = *state;
  j.priority = num(o, "priority");
  j.run_at = opt_time(o, "run_at").value_or(TimePoint{});
  j.created_at = opt_time(o, "created_at").value_or(TimePoint{});
  j.started_at = opt_time(o, "started_at");
  j.finished_at = opt_time(o, "finished_at");
  j.attempt = static_cast<int>(num(o, "attempt"));
  j.max_attempts = static_cast<int>(num(o, "max_attempts", kDefaultMaxAttempts));
  if (auto t = parse_duration(str(o, "timeout"))) j.timeout = *t;
  j.idempotency_key = str(o, "idempotency_key");
  if (const auto* tags = o.if_contains("tags"); tags && tags->is_array()) {
    for (const auto& t : tags->get_array()) {
      if (t.is_string()) j.tags.emplace_back(t.get_string());
    }
  }
  if (const auto* p = o.if_contains("progress"); p && p->is_object()) {
    const auto& po = p->get_object();
    Progress pr;
    if (const auto* pc = po.if_contains("percent"); pc && pc->is_int64()) {
      pr.percent = static_cast<int>(pc->get_int64());
    }
    pr.message = str(po, "message");
    if (const auto* d = po.if_contains("data")) pr.data = *d;
    pr.updated_at = opt_time(po, "updated_at").value_or(TimePoint{});
    j.progress = std::move(pr);
  }
  if (const auto* r = o.if_contains("result")) j.result = *r;
  if (const auto* errs = o.if_contains("errors"); errs && errs->is_array()) {
    for (const auto& e : errs->get_array()) {
      if (!e.is_object()) continue;
      const auto& eo = e.get_object();
      j.errors.push_back({static_cast<int>(num(eo, "attempt")),
                          opt_time(eo, "at").value_or(TimePoint{}), str(eo, "message")});
    }
  }
  if (const auto* log = o.if_contains("log"); log && log->is_string()) {
    j.logs.push_back({.attempt = j.attempt, .text = std::string(log->get_string())});
  }
  if (const auto* c = o.if_contains("cancel_requested"); c && c->is_bool()) {
    j.cancel_requested = c->get_bool();
  }
  j.worker = str(o, "worker");
  j.lease_expires_at = opt_time(o, "lease_expires_at");
  if (const auto* push = o.if_contains("push"); push && push->is_object()) {
    j.push_continuations = num(push->get_object(), "continuations");
  }
  return j;
}

json::object logs_to_json(const Job& job) {
  json::array logs;
  for (const auto& l : job.logs) {
    logs.emplace_back(
        json::object{{"attempt", l.attempt}, {"at", format_rfc3339(l.at)}, {"log", l.text}});
  }
  return json::object{{"id", job.id}, {"logs", std::move(logs)}};
}

}  // namespace errand::core
