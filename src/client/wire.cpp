#include "client/wire.hpp"

#include "core/duration.hpp"
#include "core/error_json.hpp"
#include "core/fields.hpp"
#include "core/job_json.hpp"
#include "core/json_reader.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <boost/url/url.hpp>

#include <fmt/format.h>

namespace errand::client::wire {
namespace json = boost::json;
using core::errc;
using core::JobState;

namespace {

using Reader = core::JsonReader;
using core::item_path;

// What a parser's error is to the caller: the server answered something
// other than what the API documents.
core::Error unexpected(const core::Error& e) {
  return core::make_error(errc::internal, "unexpected answer from errand: " + e.message, e.field);
}

template <class T>
core::Result<T> answer(core::Result<T> r) {
  if (!r) return unexpected(r.error());
  return r;
}

std::string encode_segment(std::string_view s) {
  return boost::urls::encode(s, boost::urls::unreserved_chars);
}

// Parses every element of the array `key` of `v` with `parse_item`.
template <class T, class ParseItem>
core::Result<std::vector<T>> parse_items(const json::value& v, std::string_view key,
                                         ParseItem parse_item) {
  Reader r(v, "");
  const auto* items = r.array(key);
  if (!items) return r.status().error();
  std::vector<T> out;
  out.reserve(items->size());
  for (std::size_t i = 0; i < items->size(); ++i) {
    auto item = parse_item((*items)[i], item_path(key, i));
    if (!item) return item.error();
    out.push_back(std::move(*item));
  }
  return out;
}

core::Result<Enqueued> parse_enqueued_at(const json::value& v, std::string path) {
  Reader r(v, std::move(path));
  Enqueued e{r.str("id"),           r.state("state"),
             r.str("token", false), r.boolean("duplicate"),
             r.boolean("replaced"), r.boolean("debounced")};
  if (auto s = r.status(); !s) return s.error();
  return e;
}

core::Result<ClaimedJob> parse_claimed_at(const json::value& v, std::string path) {
  Reader r(v, std::move(path));
  ClaimedJob j;
  j.id = r.str("id");
  j.queue = r.str("queue");
  j.type = r.str("type", false);
  j.payload = r.any("payload");
  j.attempt = static_cast<int>(r.integer("attempt"));
  j.max_attempts = static_cast<int>(r.integer("max_attempts"));
  j.priority = r.integer("priority");
  j.lease_id = r.str("lease_id");
  j.lease_expires_at = r.time("lease_expires_at");
  j.tags = r.strings("tags");
  j.created_at = r.opt_time("created_at").value_or(core::TimePoint{});
  if (auto s = r.status(); !s) return s.error();
  const auto* o = v.if_object();
  const auto* trace = o ? o->if_contains("trace") : nullptr;
  if (trace && trace->is_object()) {
    const auto& t = trace->get_object();
    if (const auto* p = t.if_contains("traceparent"); p && p->is_string()) {
      j.traceparent = std::string(p->get_string());
    }
    if (const auto* st = t.if_contains("tracestate"); st && st->is_string()) {
      j.tracestate = std::string(st->get_string());
    }
  }
  return j;
}

core::Result<core::Job> parse_job_at(std::string_view v, const std::string& path) {
  auto job = core::job_from_json(v);
  if (!job) {
    auto field = path.empty() ? job.error().field : path + "." + job.error().field;
    return core::invalid(field, field + ": " + job.error().message);
  }
  return job;
}

core::Result<AckResult> parse_ack_result_at(const json::value& v, std::string path) {
  Reader r(v, path);
  AckResult a;
  a.id = r.str("id");
  a.ok = r.boolean("ok");
  if (a.ok) {
    a.state = r.state("state");
  } else {
    ERRAND_TRY(error, core::error_from_json(r.any("error"), errc::internal, r.path("error")));
    a.error = std::move(error);
  }
  if (auto s = r.status(); !s) return s.error();
  return a;
}

}  // namespace

// ---- requests ----

json::object enqueue_body(const EnqueueOptions& o) {
  json::object b;
  b["queue"] = o.queue;
  if (!o.type.empty()) b["type"] = o.type;
  if (!o.payload.is_null()) b["payload"] = o.payload;
  if (o.delay) b["delay"] = core::format_duration(*o.delay);
  if (o.run_at) b["run_at"] = core::format_rfc3339(*o.run_at);
  if (o.priority) b["priority"] = *o.priority;
  if (o.max_attempts) b["max_attempts"] = *o.max_attempts;
  if (o.timeout) b["timeout"] = core::format_duration(*o.timeout);
  if (!o.idempotency_key.empty()) b["idempotency_key"] = o.idempotency_key;
  if (!o.key.empty()) b["key"] = o.key;
  if (o.unique) {
    json::object u{{"key", o.unique->key}, {"mode", o.unique->replace ? "replace" : "skip"}};
    if (o.unique->within) u["for"] = core::format_duration(*o.unique->within);
    json::array states;
    for (auto s : core::kAllStates) {
      if (o.unique->states & (1u << static_cast<unsigned>(s)))
        states.emplace_back(core::to_string(s));
    }
    u["states"] = std::move(states);
    b["unique"] = std::move(u);
  }
  if (o.debounce) {
    json::object d{{"key", o.debounce->key}, {"period", core::format_duration(o.debounce->period)}};
    if (o.debounce->max_wait) d["max_wait"] = core::format_duration(*o.debounce->max_wait);
    b["debounce"] = std::move(d);
  }
  if (!o.tags.empty()) {
    json::array tags;
    for (const auto& t : o.tags) tags.emplace_back(t);
    b["tags"] = std::move(tags);
  }
  if (!o.token_scope.empty()) {
    json::array scope;
    for (const auto& field : o.token_scope) scope.emplace_back(field);
    b["token_scope"] = std::move(scope);
  }
  if (!o.after.empty()) {
    json::array after;
    for (const auto& id : o.after) after.emplace_back(id);
    b["after"] = std::move(after);
    if (o.after_failure_run) b["after_failure"] = "run";
  }
  return b;
}

json::object continue_body(std::string_view lease_id, const ContinueOptions& o) {
  json::object b{{"lease_id", lease_id}, {"state", o.state}};
  if (o.delay) b["delay"] = core::format_duration(*o.delay);
  if (o.until) b["until"] = core::format_rfc3339(*o.until);
  if (o.signal_timeout) {
    b["signal"] = json::object{{"timeout", core::format_duration(*o.signal_timeout)}};
  }
  return b;
}

core::Result<Continued> parse_continued(const json::value& v) {
  const auto* o = v.if_object();
  const auto* id = o ? o->if_contains("id") : nullptr;
  const auto* state = o ? o->if_contains("state") : nullptr;
  const auto* run_at = o ? o->if_contains("run_at") : nullptr;
  if (!id || !id->is_string() || !state || !state->is_string() || !run_at || !run_at->is_string()) {
    return core::make_error(errc::internal, "unexpected answer from errand to a continue");
  }
  Continued c;
  c.id = std::string(id->get_string());
  c.state = core::parse_job_state(state->get_string()).value_or(core::JobState::scheduled);
  auto at = core::parse_rfc3339(run_at->get_string(), "run_at");
  if (!at) return at.error();
  c.run_at = *at;
  if (const auto* url = o->if_contains("signal_url"); url && url->is_string()) {
    c.signal_url = std::string(url->get_string());
  }
  return c;
}

json::object enqueue_batch_body(const std::vector<EnqueueOptions>& jobs) {
  json::array items;
  items.reserve(jobs.size());
  for (const auto& j : jobs) items.emplace_back(enqueue_body(j));
  return json::object{{"jobs", std::move(items)}};
}

std::string enqueue_text(const EnqueueOptions& o) {
  if (o.payload_json.empty()) return json::serialize(enqueue_body(o));
  return core::serialize_with_raw(enqueue_body(o), "payload", o.payload_json);
}

std::string enqueue_batch_text(const std::vector<EnqueueOptions>& jobs) {
  core::JsonWriter w;
  w.begin_object().key("jobs").begin_array();
  for (const auto& j : jobs) w.raw_text(enqueue_text(j));
  return w.end_array().end_object().take();
}

std::string complete_text(std::string_view lease_id, const json::value& result,
                          const core::RawJson& result_json, std::string_view log) {
  if (result_json.empty()) return json::serialize(complete_body(lease_id, result, log));
  return core::serialize_with_raw(complete_body(lease_id, nullptr, log), "result", result_json);
}

std::string acks_text(const std::vector<Ack>& acks) {
  core::JsonWriter w;
  w.begin_object().key("acks").begin_array();
  for (const auto& a : acks) {
    if (a.error || a.result_json.empty()) {
      w.value(acks_body({a}).at("acks").as_array().front());
    } else {
      json::object item = complete_body(a.lease_id, nullptr, a.log);
      item["id"] = a.id;
      w.raw_text(core::serialize_with_raw(item, "result", a.result_json));
    }
  }
  return w.end_array().end_object().take();
}

json::object claim_body(const ClaimOptions& o) {
  json::array queues;
  for (const auto& q : o.queues) queues.emplace_back(q);
  json::object b{{"queues", std::move(queues)}, {"max", o.max}};
  if (!o.worker.empty()) b["worker"] = o.worker;
  if (o.wait.count() > 0) b["wait"] = core::format_duration(o.wait);
  if (o.lease) b["lease"] = core::format_duration(*o.lease);
  return b;
}

json::object heartbeat_body(std::string_view lease_id, std::optional<core::Millis> extend) {
  json::object b{{"lease_id", lease_id}};
  if (extend) b["extend"] = core::format_duration(*extend);
  return b;
}

json::object progress_body(std::string_view lease_id, const ProgressUpdate& p) {
  json::object b{{"lease_id", lease_id}};
  if (p.percent) b["percent"] = *p.percent;
  if (p.message) b["message"] = *p.message;
  if (!p.data.is_null()) b["data"] = p.data;
  return b;
}

json::object complete_body(std::string_view lease_id, const json::value& result,
                           std::string_view log) {
  json::object b{{"lease_id", lease_id}};
  if (!result.is_null()) b["result"] = result;
  if (!log.empty()) b["log"] = log;
  return b;
}

json::object fail_body(std::string_view lease_id, const FailOptions& o) {
  json::object b{{"lease_id", lease_id}, {"error", o.error}};
  if (!o.retry) b["retry"] = false;
  if (o.retry_in) b["retry_in"] = core::format_duration(*o.retry_in);
  if (!o.log.empty()) b["log"] = o.log;
  return b;
}

json::object acks_body(const std::vector<Ack>& acks) {
  json::array items;
  items.reserve(acks.size());
  for (const auto& a : acks) {
    json::object item;
    if (a.error) {
      FailOptions f{*a.error, a.retry, a.retry_in, a.log};
      item = fail_body(a.lease_id, f);
    } else {
      item = complete_body(a.lease_id, a.result, a.log);
    }
    item["id"] = a.id;
    items.emplace_back(std::move(item));
  }
  return json::object{{"acks", std::move(items)}};
}

std::string list_target(const ListOptions& o) {
  boost::urls::url u("/v1/jobs");
  auto params = u.params();
  if (!o.queue.empty()) params.append({"queue", o.queue});
  if (o.state) params.append({"state", core::to_string(*o.state)});
  if (!o.type.empty()) params.append({"type", o.type});
  if (!o.tag.empty()) params.append({"tag", o.tag});
  if (!o.text.empty()) params.append({"q", o.text});
  if (o.since) params.append({"since", core::format_rfc3339(*o.since)});
  if (o.include_payload) params.append({"include", "payload"});
  if (o.until) params.append({"until", core::format_rfc3339(*o.until)});
  if (o.limit) params.append({"limit", std::to_string(*o.limit)});
  if (!o.cursor.empty()) params.append({"cursor", o.cursor});
  return std::string(u.buffer());
}

std::string job_target(std::string_view id, std::string_view suffix) {
  return "/v1/jobs/" + encode_segment(id) + std::string(suffix);
}

std::string queue_list_target(std::string_view cursor, std::optional<int> limit) {
  boost::urls::url u("/v1/queues");
  auto params = u.params();
  if (!cursor.empty()) params.append({"cursor", cursor});
  if (limit) params.append({"limit", std::to_string(*limit)});
  return std::string(u.buffer());
}

std::string queue_target(std::string_view name, std::string_view suffix) {
  return "/v1/queues/" + encode_segment(name) + std::string(suffix);
}

std::string key_target(std::string_view queue, std::string_view key) {
  return queue_target(queue, "/keys/" + encode_segment(key));
}

std::string key_list_target(std::string_view queue, std::string_view cursor,
                            std::optional<int> limit, bool busiest) {
  boost::urls::url u(queue_target(queue, "/keys"));
  auto params = u.params();
  if (!cursor.empty()) params.append({"cursor", cursor});
  if (limit) params.append({"limit", std::to_string(*limit)});
  if (busiest) params.append({"sort", "busiest"});
  return std::string(u.buffer());
}

// ---- responses ----

core::Result<Enqueued> parse_enqueued(const json::value& v) {
  return answer(parse_enqueued_at(v, ""));
}

core::Result<std::vector<Enqueued>> parse_enqueued_batch(const json::value& v) {
  return answer(parse_items<Enqueued>(v, "jobs", parse_enqueued_at));
}

core::Result<core::Job> parse_job(std::string_view text) {
  return answer(parse_job_at(text, ""));
}

core::Result<KeyInfo> parse_key(const json::value& v) {
  return answer(core::key_from_json(v));
}

core::Result<KeyPage> parse_key_page(const json::value& v) {
  return answer(core::key_page_from_json(v));
}

namespace {

// The texts of the elements of the array `key` of the object `text`.
core::Result<std::vector<std::string_view>> item_texts(std::string_view text,
                                                       std::string_view key) {
  if (auto ok = core::check_json(text, "the body", core::kMaxJsonDepth + 4); !ok) {
    return core::invalid("", ok.error().message);
  }
  const auto items = core::json_member(text, key);
  if (!items || items->empty() || items->front() != '[') {
    return core::invalid(std::string(key), fmt::format("{} must be an array", key));
  }
  return core::json_elements(*items);
}

core::Result<JobPage> parse_job_page_text(std::string_view text) {
  ERRAND_TRY(items, item_texts(text, "jobs"));
  JobPage page;
  for (std::size_t i = 0; i < items.size(); ++i) {
    ERRAND_TRY(job, parse_job_at(items[i], item_path("jobs", i)));
    page.jobs.push_back(std::move(job));
  }
  json::object rest;
  for (const auto key : {"next_cursor", "partial"}) {
    if (auto v = core::json_member(text, key)) {
      boost::system::error_code ec;
      auto value = json::parse(*v, ec);
      if (ec) return core::invalid(key, fmt::format("{} is not valid JSON: {}", key, ec.message()));
      rest[key] = std::move(value);
    }
  }
  const json::value rest_value(std::move(rest));
  Reader r(rest_value, "");
  page.next_cursor = r.str("next_cursor", false);
  page.partial = r.boolean("partial");
  if (auto s = r.status(); !s) return s.error();
  return page;
}

// A claimed job's parents, continuation, state and signal (present only
// for jobs that take part in a workflow).
void read_workflow_fields(std::string_view item, ClaimedJob& job) {
  if (item.find("\"parents\"") == std::string_view::npos &&
      item.find("\"continuation\"") == std::string_view::npos) {
    return;
  }
  json::parse_options deep;
  deep.max_depth = core::kMaxJsonDepth + 2;
  boost::system::error_code ec;
  const auto v = json::parse(item, ec, {}, deep);
  if (ec || !v.is_object()) return;  // parse_claimed_at has said what is wrong with it
  const auto& o = v.get_object();
  if (const auto* parents = o.if_contains("parents"); parents && parents->is_array()) {
    for (const auto& p : parents->get_array()) {
      const auto* po = p.if_object();
      if (!po) continue;
      ClaimedJob::Parent parent;
      if (const auto* id = po->if_contains("id"); id && id->is_string()) {
        parent.id = std::string(id->get_string());
      }
      if (const auto* s = po->if_contains("state"); s && s->is_string()) {
        parent.state = core::parse_job_state(s->get_string()).value_or(core::JobState::succeeded);
      }
      if (const auto* r = po->if_contains("result")) parent.result = *r;
      job.parents.push_back(std::move(parent));
    }
  }
  if (const auto* n = o.if_contains("continuation"); n && n->is_int64()) {
    job.continuation = n->get_int64();
  }
  if (const auto* s = o.if_contains("state")) job.state = *s;
  if (const auto* s = o.if_contains("signal")) job.signal = *s;
}

core::Result<std::vector<ClaimedJob>> parse_claimed_text(std::string_view text) {
  ERRAND_TRY(items, item_texts(text, "jobs"));
  std::vector<ClaimedJob> out;
  out.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto item = items[i];
    json::parse_options deep;
    deep.max_depth = core::kMaxJsonDepth + 2;
    boost::system::error_code ec;
    const auto value = json::parse(item, ec, {}, deep);
    if (ec) {
      return core::invalid(item_path("jobs", i), fmt::format("{} is not valid JSON: {}",
                                                             item_path("jobs", i), ec.message()));
    }
    ERRAND_TRY(job, parse_claimed_at(value, item_path("jobs", i)));
    if (auto payload = core::json_member(item, "payload")) {
      job.payload_json = core::RawJson::trusted(std::string(*payload));
    }
    read_workflow_fields(item, job);
    out.push_back(std::move(job));
  }
  return out;
}

}  // namespace

core::Result<JobPage> parse_job_page(std::string_view text) {
  return answer(parse_job_page_text(text));
}

core::Result<std::vector<ClaimedJob>> parse_claimed(std::string_view text) {
  return answer(parse_claimed_text(text));
}

core::Result<HeartbeatResult> parse_heartbeat(const json::value& v) {
  Reader r(v, "");
  HeartbeatResult h{r.time("lease_expires_at"), r.boolean("cancel_requested")};
  if (auto s = r.status(); !s) return unexpected(s.error());
  return h;
}

core::Result<Finished> parse_finished(const json::value& v) {
  Reader r(v, "");
  Finished f{r.str("id"), r.state("state"), r.opt_time("run_at")};
  if (auto s = r.status(); !s) return unexpected(s.error());
  return f;
}

core::Result<std::vector<AckResult>> parse_ack_results(const json::value& v) {
  return answer(parse_items<AckResult>(v, "results", parse_ack_result_at));
}

core::Result<QueueInfo> parse_queue(const json::value& v) {
  return answer(core::queue_from_json(v));
}

core::Result<std::vector<QueueInfo>> parse_queues(const json::value& v) {
  auto page = core::queue_page_from_json(v);
  if (!page) return unexpected(page.error());
  return std::move(page->queues);
}

core::Result<QueuePage> parse_queue_page(const json::value& v) {
  return answer(core::queue_page_from_json(v));
}

errc errc_from_status(int status) noexcept {
  switch (status) {
    case 400:
      return errc::invalid_argument;
    case 401:
      return errc::unauthorized;
    case 403:
      return errc::forbidden;
    case 404:
      return errc::not_found;
    case 405:
      return errc::method_not_allowed;
    case 409:
      return errc::conflict;
    case 413:
      return errc::payload_too_large;
    case 429:
      return errc::too_many_requests;
    case 503:
      return errc::unavailable;
    default:
      return errc::internal;
  }
}

core::Error error_from_response(int status, std::string_view body) {
  if (auto e = core::error_from_body(body, errc_from_status(status))) {
    if (e->message.empty()) e->message = fmt::format("HTTP {} from errand", status);
    return std::move(*e);
  }
  constexpr std::size_t kMaxQuoted = 200;
  auto quoted = body.substr(0, kMaxQuoted);
  return core::make_error(errc_from_status(status),
                          quoted.empty() ? fmt::format("HTTP {} from errand", status)
                                         : fmt::format("HTTP {} from errand: {}", status, quoted));
}

// ---- rendering ----

json::object to_json(const Enqueued& e) {
  json::object o{{"id", e.id}, {"state", core::to_string(e.state)}, {"token", e.token}};
  if (e.duplicate) o["duplicate"] = true;
  return o;
}

std::string page_json(const JobPage& page) {
  return core::job_page_json(page.jobs, page.next_cursor, page.partial,
                             {.client_json = page.client_json});
}

core::Result<PushSecret> parse_push_secret(const json::value& v) {
  Reader r(v, "");
  PushSecret s{.queue = r.str("queue"),
               .secret = r.str("secret"),
               .previous = r.str("previous", false),
               .previous_expires_at = r.opt_time("previous_expires_at")};
  if (auto ok = r.status(); !ok) return unexpected(ok.error());
  return s;
}

// ---- schedules ----

json::object schedule_body(const ScheduleOptions& o) {
  json::object b{{"cron", o.cron}, {"queue", o.queue}};
  if (!o.timezone.empty()) b["timezone"] = o.timezone;
  if (!o.type.empty()) b["type"] = o.type;
  if (!o.payload.is_null()) b["payload"] = o.payload;
  if (o.priority) b["priority"] = *o.priority;
  if (o.max_attempts) b["max_attempts"] = *o.max_attempts;
  if (!o.overlap.empty()) b["overlap"] = o.overlap;
  if (o.paused) b["paused"] = true;
  if (o.catch_up) b["catch_up"] = core::format_duration(*o.catch_up);
  return b;
}

std::string schedule_target(std::string_view name, std::string_view suffix) {
  return "/v1/schedules/" + encode_segment(name) + std::string(suffix);
}

core::Result<ScheduleInfo> parse_schedule(std::string_view text) {
  return answer(core::schedule_from_json(text));
}

core::Result<std::vector<ScheduleInfo>> parse_schedules(std::string_view text) {
  return answer(core::schedule_list_from_json(text));
}

}  // namespace errand::client::wire
