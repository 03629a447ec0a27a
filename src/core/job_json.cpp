#include "core/job_json.hpp"

#include "core/duration.hpp"

#include <boost/json.hpp>

namespace errand::core {
namespace json = boost::json;
namespace {

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

void write_progress(JsonWriter& w, const Progress& p, bool with_data) {
  w.begin_object().key("percent");
  if (p.percent) {
    w.integer(*p.percent);
  } else {
    w.null();
  }
  w.key("message").string(p.message);
  if (with_data) w.key("data").raw(p.data);
  w.key("updated_at").string(format_rfc3339(p.updated_at));
  w.end_object();
}

namespace {

void write_time_or_null(JsonWriter& w, std::string_view key, const std::optional<TimePoint>& t) {
  w.key(key);
  if (t) {
    w.string(format_rfc3339(*t));
  } else {
    w.null();
  }
}

// Workflow fields, present only on jobs that take part in one.
void write_links(JsonWriter& w, const Job& j, const JobView& view) {
  if (j.has_parents) {
    w.key("parents").begin_array();
    for (const auto& p : j.parents) {
      w.begin_object().key("id").string(p.id).key("state").string(to_string(p.state)).end_object();
    }
    w.end_array();
    w.key("after_failure").string(j.after_failure_run ? "run" : "cancel");
  }
  if (!j.batch.empty()) w.key("batch").string(j.batch);
  if (!j.on_done.empty() && view.private_fields) {
    w.key("on_done").begin_object().key("url").string(j.on_done);
    if (j.webhook) {
      const auto& h = *j.webhook;
      w.key("state").string(h.state).key("attempts").integer(h.attempts);
      w.key("last_status");
      if (h.last_status) {
        w.integer(h.last_status);
      } else {
        w.null();
      }
      w.key("last_error").string_or_null(h.last_error);
      write_time_or_null(w, "next_at", h.next_at);
      write_time_or_null(w, "delivered_at", h.delivered_at);
    }
    w.end_object();
  }
  if (!j.traceparent.empty() && view.private_fields) {
    w.key("trace").begin_object().key("traceparent").string(j.traceparent);
    if (!j.tracestate.empty()) w.key("tracestate").string(j.tracestate);
    w.end_object();
  }
  if (!j.children.empty()) {
    w.key("children").begin_array();
    for (const auto& c : j.children) w.string(c);
    w.end_array();
  }
  if (j.signal_status != SignalStatus::none) {
    w.key("signal").begin_object().key("status").string(to_string(j.signal_status));
    if (!view.signal_url.empty() && j.signal_status == SignalStatus::waiting) {
      w.key("url").string(view.signal_url);
    }
    if (view.client_json && view.private_fields && j.signal_status == SignalStatus::received) {
      w.key("body").raw(j.signal);
    }
    w.end_object();
  }
}

}  // namespace

void write_job(JsonWriter& w, const Job& j, const JobView& view) {
  const bool mine = view.private_fields;
  w.begin_object();
  w.key("id").string(j.id);
  w.key("queue").string(j.queue);
  w.key("type").string_or_null(j.type);
  w.key("state").string(to_string(j.state));
  if (view.client_json && (mine || view.token_payload)) w.key("payload").raw(j.payload);
  w.key("priority").integer(j.priority);
  w.key("run_at").string(format_rfc3339(j.run_at));
  w.key("attempt").integer(j.attempt);
  w.key("max_attempts").integer(j.max_attempts);
  w.key("timeout").string(format_duration(j.timeout));
  if (mine) {
    w.key("idempotency_key").string_or_null(j.idempotency_key);
    w.key("key").string_or_null(j.key);
    w.key("tags").begin_array();
    for (const auto& t : j.tags) w.string(t);
    w.end_array();
  }
  w.key("progress");
  if (j.progress) {
    write_progress(w, *j.progress, view.client_json);
  } else {
    w.null();
  }
  if (view.client_json) w.key("result").raw(j.result);
  w.key("errors").begin_array();
  for (const auto& e : j.errors) {
    w.begin_object().key("attempt").integer(e.attempt);
    w.key("at").string(format_rfc3339(e.at)).key("message").string(e.message).end_object();
  }
  w.end_array();
  if (mine && !j.logs.empty()) w.key("log").string(j.logs.back().text);
  w.key("cancel_requested").boolean(j.cancel_requested);
  if (mine) {
    w.key("worker").string_or_null(j.worker);
    write_time_or_null(w, "lease_expires_at", j.lease_expires_at);
  }
  w.key("created_at").string(format_rfc3339(j.created_at));
  write_time_or_null(w, "started_at", j.started_at);
  write_time_or_null(w, "finished_at", j.finished_at);
  if (j.push_continuations > 0) {
    w.key("push").begin_object().key("continuations").integer(j.push_continuations);
    w.key("state_bytes").integer(j.push_state_bytes).end_object();
  }
  write_links(w, j, view);
  w.end_object();
}

std::string job_json(const Job& job, const JobView& view) {
  JsonWriter w;
  write_job(w, job, view);
  return w.take();
}

std::string job_page_json(const std::vector<Job>& jobs, std::string_view next_cursor, bool partial,
                          const JobView& view) {
  JsonWriter w;
  w.begin_object().key("jobs").begin_array();
  for (const auto& j : jobs) write_job(w, j, view);
  w.end_array().key("next_cursor").string_or_null(next_cursor);
  w.key("partial").boolean(partial).end_object();
  return w.take();
}

namespace {

// The members of a JSON object text as a Boost.JSON object, except those
// named in `verbatim`, which are returned as text.
json::object parse_members(std::string_view text, std::initializer_list<std::string_view> verbatim,
                           std::vector<JsonMember>& kept) {
  json::object o;
  for (auto& m : json_members(text)) {
    bool keep = false;
    for (auto v : verbatim) keep = keep || m.key == v;
    if (keep) {
      kept.push_back(std::move(m));
      continue;
    }
    boost::system::error_code ec;
    auto v = json::parse(m.value, ec);
    o[m.key] = ec ? json::value(nullptr) : std::move(v);
  }
  return o;
}

RawJson raw_member(const std::vector<JsonMember>& kept, std::string_view key) {
  RawJson out;
  for (const auto& m : kept) {
    if (m.key == key && m.value != "null") out = RawJson::trusted(minify_json(m.value));
  }
  return out;
}

}  // namespace

Result<Job> job_from_json(std::string_view text) {
  if (auto ok = check_json(text, "job"); !ok) return ok.error();
  const auto start = text.find_first_not_of(" \t\r\n");
  if (text[start] != '{') return invalid("job", "a job must be a JSON object");
  std::vector<JsonMember> kept;
  const auto o = parse_members(text, {"payload", "result", "progress"}, kept);
  Job j;
  j.id = str(o, "id");
  j.queue = str(o, "queue");
  j.type = str(o, "type");
  j.payload = raw_member(kept, "payload");
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
  j.key = str(o, "key");
  if (const auto* tags = o.if_contains("tags"); tags && tags->is_array()) {
    for (const auto& t : tags->get_array()) {
      if (t.is_string()) j.tags.emplace_back(t.get_string());
    }
  }
  for (const auto& m : kept) {
    if (m.key != "progress" || m.value.empty() || m.value.front() != '{') continue;
    std::vector<JsonMember> data;
    const auto po = parse_members(m.value, {"data"}, data);
    Progress pr;
    if (const auto* pc = po.if_contains("percent"); pc && pc->is_int64()) {
      pr.percent = static_cast<int>(pc->get_int64());
    }
    pr.message = str(po, "message");
    pr.data = raw_member(data, "data");
    pr.updated_at = opt_time(po, "updated_at").value_or(TimePoint{});
    j.progress = std::move(pr);
  }
  j.result = raw_member(kept, "result");
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
    j.push_state_bytes = num(push->get_object(), "state_bytes");
  }
  if (const auto* parents = o.if_contains("parents"); parents && parents->is_array()) {
    j.has_parents = true;
    j.after_failure_run = str(o, "after_failure") == "run";
    for (const auto& p : parents->get_array()) {
      if (!p.is_object()) continue;
      j.parents.push_back(
          {.id = str(p.get_object(), "id"),
           .state = parse_job_state(str(p.get_object(), "state")).value_or(JobState::queued)});
    }
  }
  j.batch = str(o, "batch");
  if (const auto* children = o.if_contains("children"); children && children->is_array()) {
    j.has_children = true;
    for (const auto& c : children->get_array()) {
      if (c.is_string()) j.children.emplace_back(c.get_string());
    }
  }
  if (const auto* trace = o.if_contains("trace"); trace && trace->is_object()) {
    j.traceparent = str(trace->get_object(), "traceparent");
    j.tracestate = str(trace->get_object(), "tracestate");
  }
  if (const auto* signal = o.if_contains("signal"); signal && signal->is_object()) {
    const auto status = str(signal->get_object(), "status");
    for (auto s : {SignalStatus::waiting, SignalStatus::received, SignalStatus::timed_out}) {
      if (status == to_string(s)) j.signal_status = s;
    }
    if (const auto* body = signal->get_object().if_contains("body")) {
      j.signal = RawJson::trusted(json::serialize(*body));
    }
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
