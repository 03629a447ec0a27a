#include "client/wire.hpp"

#include "core/duration.hpp"
#include "core/job_json.hpp"

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

// Reads fields of one response object, remembering the first problem so a
// parser can read everything and check once. Field names in errors carry
// the object's path, e.g. "jobs[2].lease_id".
class Reader {
 public:
  Reader(const json::value& v, std::string path) : path_(std::move(path)) {
    if (v.is_object()) {
      object_ = &v.get_object();
    } else {
      fail("", "is not a JSON object");
    }
  }

  const json::value& any(std::string_view key) const {
    static const json::value kNull;
    const json::value* v = object_ ? object_->if_contains(key) : nullptr;
    return v ? *v : kNull;
  }

  std::string str(std::string_view key, bool required = true) {
    const auto& v = any(key);
    if (v.is_string()) return std::string(v.get_string());
    if (required || !v.is_null())
      fail(key, required && v.is_null() ? "is missing" : "is not a string");
    return {};
  }

  std::int64_t integer(std::string_view key, std::int64_t fallback = 0) {
    const auto& v = any(key);
    if (v.is_int64()) return v.get_int64();
    if (v.is_uint64()) return static_cast<std::int64_t>(v.get_uint64());
    if (!v.is_null()) fail(key, "is not an integer");
    return fallback;
  }

  bool boolean(std::string_view key, bool fallback = false) {
    const auto& v = any(key);
    if (v.is_bool()) return v.get_bool();
    if (!v.is_null()) fail(key, "is not a boolean");
    return fallback;
  }

  JobState state(std::string_view key) {
    auto s = core::parse_job_state(str(key));
    if (!s) fail(key, "is not a job state");
    return s.value_or(JobState::queued);
  }

  std::optional<core::TimePoint> opt_time(std::string_view key) {
    const auto& v = any(key);
    if (v.is_null()) return std::nullopt;
    auto t = v.is_string() ? core::parse_rfc3339(v.get_string(), key)
                           : core::Result<core::TimePoint>(core::Error{});
    if (!t) {
      fail(key, "is not an RFC 3339 time");
      return std::nullopt;
    }
    return *t;
  }

  std::optional<core::Millis> opt_duration(std::string_view key) {
    const auto& v = any(key);
    if (v.is_null()) return std::nullopt;
    auto d = v.is_string() ? core::parse_duration(v.get_string(), key)
                           : core::Result<core::Millis>(core::Error{});
    if (!d) {
      fail(key, "is not a duration");
      return std::nullopt;
    }
    return *d;
  }

  core::TimePoint time(std::string_view key) {
    auto t = opt_time(key);
    if (!t && !error_) fail(key, "is missing");
    return t.value_or(core::TimePoint{});
  }

  std::vector<std::string> strings(std::string_view key) {
    std::vector<std::string> out;
    const auto& v = any(key);
    if (v.is_null()) return out;
    if (!v.is_array()) {
      fail(key, "is not an array");
      return out;
    }
    for (const auto& item : v.get_array()) {
      if (item.is_string()) out.emplace_back(item.get_string());
    }
    return out;
  }

  // The array at `key`, or nullptr (and an error) when it is not one.
  const json::array* array(std::string_view key) {
    const auto& v = any(key);
    if (v.is_array()) return &v.get_array();
    fail(key, v.is_null() ? "is missing" : "is not an array");
    return nullptr;
  }

  std::string path(std::string_view key) const {
    if (key.empty()) return path_;
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }

  core::Result<void> status() const {
    if (error_) return *error_;
    return {};
  }

 private:
  void fail(std::string_view key, std::string_view what) {
    if (error_) return;
    auto field = path(key);
    error_ = core::make_error(errc::internal,
                              fmt::format("unexpected answer from errand: {} {}",
                                          field.empty() ? "the body" : field, what),
                              field);
  }

  const json::object* object_ = nullptr;
  std::string path_;
  std::optional<core::Error> error_;
};

std::string item_path(std::string_view array, std::size_t i) {
  return fmt::format("{}[{}]", array, i);
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
  return j;
}

core::Result<core::Job> parse_job_at(std::string_view v, const std::string& path) {
  auto job = core::job_from_json(v);
  if (!job) {
    auto field = path.empty() ? job.error().field : path + "." + job.error().field;
    return core::make_error(errc::internal,
                            "unexpected answer from errand: " + field + ": " + job.error().message,
                            field);
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
    Reader e(r.any("error"), r.path("error"));
    auto code = errc_from_name(e.str("code"));
    a.error = core::make_error(code.value_or(errc::internal), e.str("message", false),
                               e.str("field", false));
    if (auto s = e.status(); !s) return s.error();
  }
  if (auto s = r.status(); !s) return s.error();
  return a;
}

std::optional<std::int64_t> opt_integer(Reader& r, std::string_view key) {
  if (r.any(key).is_null()) return std::nullopt;
  return r.integer(key);
}

core::Result<std::optional<core::RateLimit>> parse_rate(Reader& r, std::string_view key) {
  const auto& rate = r.any(key);
  if (rate.is_null()) return std::optional<core::RateLimit>{};
  Reader rr(rate, r.path(key));
  core::RateLimit out{.limit = rr.integer("limit"),
                      .per = rr.opt_duration("per").value_or(core::Millis{0})};
  out.burst = opt_integer(rr, "burst");
  if (auto s = rr.status(); !s) return s.error();
  return std::optional(out);
}

json::value rate_json(const std::optional<core::RateLimit>& r) {
  if (!r) return nullptr;
  json::object out{{"limit", r->limit}, {"per", core::format_duration(r->per)}};
  if (r->burst) out["burst"] = *r->burst;
  return out;
}

// A queue's `config`; absent (an older server) reads as no config.
core::Result<core::QueueConfig> parse_config(const json::value& v, std::string path) {
  core::QueueConfig c;
  if (v.is_null()) return c;
  Reader r(v, std::move(path));
  c.concurrency = opt_integer(r, "concurrency");
  ERRAND_TRY(rate, parse_rate(r, "rate_limit"));
  c.rate_limit = rate;
  c.key_concurrency = opt_integer(r, "key_concurrency");
  ERRAND_TRY(key_rate, parse_rate(r, "key_rate_limit"));
  c.key_rate_limit = key_rate;
  Reader d(r.any("defaults"), r.path("defaults"));
  if (!r.any("defaults").is_null()) {
    c.defaults.priority = opt_integer(d, "priority");
    if (auto n = opt_integer(d, "max_attempts")) c.defaults.max_attempts = static_cast<int>(*n);
    c.defaults.timeout = d.opt_duration("timeout");
    if (auto s = d.status(); !s) return s.error();
  }
  if (const auto& push = r.any("push"); push.is_object()) {
    auto config = core::parse_push_config(push.get_object(), r.path("push"));
    if (!config) return config.error();
    c.push = std::move(*config);
  }
  if (auto s = r.status(); !s) return s.error();
  return c;
}

core::Result<KeyInfo> parse_key_at(const json::value& v, std::string path) {
  Reader r(v, std::move(path));
  KeyInfo k{.queue = r.str("queue"), .key = r.str("key")};
  k.queued = r.integer("queued");
  k.running = r.integer("running");
  k.overridden = r.boolean("overridden");
  k.limits.concurrency = opt_integer(r, "concurrency");
  k.limits.paused = r.boolean("paused");
  k.limits.weight = opt_integer(r, "weight");
  k.throttled_until = r.opt_time("throttled_until");
  ERRAND_TRY(rate, parse_rate(r, "rate_limit"));
  k.limits.rate_limit = rate;
  if (auto s = r.status(); !s) return s.error();
  return k;
}

core::Result<QueueInfo> parse_queue_at(const json::value& v, std::string path) {
  Reader r(v, std::move(path));
  QueueInfo q;
  q.name = r.str("name");
  q.paused = r.boolean("paused");
  Reader counts(r.any("counts"), r.path("counts"));
  for (auto s : core::kAllStates)
    q.counts[static_cast<std::size_t>(s)] = counts.integer(core::to_string(s));
  q.processed = r.integer("processed");
  q.failed_total = r.integer("failed_total");
  if (auto s = r.status(); !s) return s.error();
  if (auto s = counts.status(); !s) return s.error();
  auto config = parse_config(r.any("config"), r.path("config"));
  if (!config) return config.error();
  q.config = *config;
  return q;
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

json::object key_limits_body(const core::KeyLimits& l) {
  json::object b;
  if (l.concurrency) b["concurrency"] = *l.concurrency;
  if (l.rate_limit) b["rate_limit"] = rate_json(l.rate_limit);
  if (l.paused) b["paused"] = true;
  if (l.weight) b["weight"] = *l.weight;
  return b;
}

json::object to_json(const KeyInfo& k) {
  auto opt = [](const auto& v) { return v ? json::value(*v) : json::value(nullptr); };
  return json::object{
      {"queue", k.queue},
      {"key", k.key},
      {"queued", k.queued},
      {"running", k.running},
      {"overridden", k.overridden},
      {"concurrency", opt(k.limits.concurrency)},
      {"rate_limit", rate_json(k.limits.rate_limit)},
      {"paused", k.limits.paused},
      {"weight", opt(k.limits.weight)},
      {"throttled_until", k.throttled_until ? json::value(core::format_rfc3339(*k.throttled_until))
                                            : json::value(nullptr)}};
}

// ---- responses ----

core::Result<Enqueued> parse_enqueued(const json::value& v) {
  return parse_enqueued_at(v, "");
}

core::Result<std::vector<Enqueued>> parse_enqueued_batch(const json::value& v) {
  return parse_items<Enqueued>(v, "jobs", parse_enqueued_at);
}

core::Result<core::Job> parse_job(std::string_view text) {
  return parse_job_at(text, "");
}

core::Result<KeyInfo> parse_key(const json::value& v) {
  return parse_key_at(v, "");
}

core::Result<KeyPage> parse_key_page(const json::value& v) {
  auto keys = parse_items<KeyInfo>(v, "keys", parse_key_at);
  if (!keys) return keys.error();
  KeyPage page{.keys = std::move(*keys)};
  Reader r(v, "");
  page.next_cursor = r.str("next_cursor", false);
  if (auto s = r.status(); !s) return s.error();
  return page;
}

namespace {

core::Error not_json(const core::Error& e) {
  return core::make_error(errc::internal, "unexpected answer from errand: " + e.message);
}

// The texts of the elements of the array `key` of the object `text`.
core::Result<std::vector<std::string_view>> item_texts(std::string_view text,
                                                       std::string_view key) {
  if (auto ok = core::check_json(text, "the body", core::kMaxJsonDepth + 4); !ok) {
    return not_json(ok.error());
  }
  const auto items = core::json_member(text, key);
  if (!items || items->empty() || items->front() != '[') {
    return core::make_error(errc::internal,
                            fmt::format("unexpected answer from errand: {} must be an array", key),
                            std::string(key));
  }
  return core::json_elements(*items);
}

}  // namespace

core::Result<JobPage> parse_job_page(std::string_view text) {
  auto items = item_texts(text, "jobs");
  if (!items) return items.error();
  JobPage page;
  for (std::size_t i = 0; i < items->size(); ++i) {
    auto job = parse_job_at((*items)[i], item_path("jobs", i));
    if (!job) return job.error();
    page.jobs.push_back(std::move(*job));
  }
  json::object rest;
  for (const auto key : {"next_cursor", "partial"}) {
    if (auto v = core::json_member(text, key)) rest[key] = json::parse(*v);
  }
  const json::value rest_value(std::move(rest));
  Reader r(rest_value, "");
  page.next_cursor = r.str("next_cursor", false);
  page.partial = r.boolean("partial");
  if (auto s = r.status(); !s) return s.error();
  return page;
}

namespace {

// A claimed job's parents, continuation, state and signal (present only
// for jobs that take part in a workflow).
void read_workflow_fields(std::string_view item, ClaimedJob& job) {
  if (item.find("\"parents\"") == std::string_view::npos &&
      item.find("\"continuation\"") == std::string_view::npos) {
    return;
  }
  json::parse_options deep;
  deep.max_depth = core::kMaxJsonDepth + 2;
  const auto v = json::parse(item, {}, deep);
  const auto& o = v.as_object();
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

}  // namespace

core::Result<std::vector<ClaimedJob>> parse_claimed(std::string_view text) {
  auto items = item_texts(text, "jobs");
  if (!items) return items.error();
  std::vector<ClaimedJob> out;
  out.reserve(items->size());
  for (std::size_t i = 0; i < items->size(); ++i) {
    const auto item = (*items)[i];
    json::parse_options deep;
    deep.max_depth = core::kMaxJsonDepth + 2;
    auto job = parse_claimed_at(json::parse(item, {}, deep), item_path("jobs", i));
    if (!job) return job.error();
    if (auto payload = core::json_member(item, "payload")) {
      job->payload_json = core::RawJson::trusted(std::string(*payload));
    }
    read_workflow_fields(item, *job);
    out.push_back(std::move(*job));
  }
  return out;
}

core::Result<HeartbeatResult> parse_heartbeat(const json::value& v) {
  Reader r(v, "");
  HeartbeatResult h{r.time("lease_expires_at"), r.boolean("cancel_requested")};
  if (auto s = r.status(); !s) return s.error();
  return h;
}

core::Result<Finished> parse_finished(const json::value& v) {
  Reader r(v, "");
  Finished f{r.str("id"), r.state("state"), r.opt_time("run_at")};
  if (auto s = r.status(); !s) return s.error();
  return f;
}

core::Result<std::vector<AckResult>> parse_ack_results(const json::value& v) {
  return parse_items<AckResult>(v, "results", parse_ack_result_at);
}

core::Result<QueueInfo> parse_queue(const json::value& v) {
  return parse_queue_at(v, "");
}

core::Result<std::vector<QueueInfo>> parse_queues(const json::value& v) {
  return parse_items<QueueInfo>(v, "queues", parse_queue_at);
}

core::Result<QueuePage> parse_queue_page(const json::value& v) {
  auto queues = parse_queues(v);
  if (!queues) return queues.error();
  Reader r(v, "");
  QueuePage page{.queues = std::move(*queues), .next_cursor = r.str("next_cursor", false)};
  if (auto s = r.status(); !s) return s.error();
  return page;
}

std::optional<errc> errc_from_name(std::string_view name) noexcept {
  for (int i = 1; i <= static_cast<int>(errc::too_many_requests); ++i) {
    auto code = static_cast<errc>(i);
    if (core::errc_name(code) == name) return code;
  }
  return std::nullopt;
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
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (!ec && v.is_object()) {
    const auto* err = v.get_object().if_contains("error");
    if (err && err->is_object()) {
      Reader r(*err, "error");
      auto code = errc_from_name(r.str("code", false));
      auto message = r.str("message", false);
      if (message.empty()) message = fmt::format("HTTP {} from errand", status);
      return core::make_error(code.value_or(errc_from_status(status)), std::move(message),
                              r.str("field", false));
    }
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

json::object to_json(const QueueInfo& q) {
  json::object counts;
  for (auto s : core::kAllStates) counts[core::to_string(s)] = q.count(s);
  return json::object{{"name", q.name},
                      {"paused", q.paused},
                      {"counts", std::move(counts)},
                      {"processed", q.processed},
                      {"failed_total", q.failed_total},
                      {"config", to_json(q.config)}};
}

json::object to_json(const core::QueueConfig& c) {
  auto opt = [](const auto& v) { return v ? json::value(*v) : json::value(nullptr); };
  auto dur = [](const auto& d) {
    return d ? json::value(core::format_duration(*d)) : json::value(nullptr);
  };
  return json::object{
      {"concurrency", opt(c.concurrency)},
      {"rate_limit", rate_json(c.rate_limit)},
      {"key_concurrency", opt(c.key_concurrency)},
      {"key_rate_limit", rate_json(c.key_rate_limit)},
      {"push", c.push ? json::value(core::push_config_to_json(*c.push)) : json::value(nullptr)},
      {"defaults", json::object{{"priority", opt(c.defaults.priority)},
                                {"max_attempts", opt(c.defaults.max_attempts)},
                                {"timeout", dur(c.defaults.timeout)}}}};
}

core::Result<PushSecret> parse_push_secret(const json::value& v) {
  Reader r(v, "");
  PushSecret s{.queue = r.str("queue"),
               .secret = r.str("secret"),
               .previous = r.str("previous", false),
               .previous_expires_at = r.opt_time("previous_expires_at")};
  if (auto ok = r.status(); !ok) return ok.error();
  return s;
}

json::object queue_config_body(const core::QueueConfig& c, bool paused) {
  json::object b{{"paused", paused}};
  if (c.concurrency) b["concurrency"] = *c.concurrency;
  if (c.rate_limit) b["rate_limit"] = rate_json(c.rate_limit);
  if (c.key_concurrency) b["key_concurrency"] = *c.key_concurrency;
  if (c.key_rate_limit) b["key_rate_limit"] = rate_json(c.key_rate_limit);
  json::object d;
  if (c.defaults.priority) d["priority"] = *c.defaults.priority;
  if (c.defaults.max_attempts) d["max_attempts"] = *c.defaults.max_attempts;
  if (c.defaults.timeout) d["timeout"] = core::format_duration(*c.defaults.timeout);
  if (!d.empty()) b["defaults"] = std::move(d);
  if (c.push) b["push"] = core::push_config_to_json(*c.push, false);
  return b;
}

// ---- schedules ----

namespace {

core::Result<std::vector<ScheduleFire>> parse_fires(const json::value& v, std::string path) {
  std::vector<ScheduleFire> out;
  if (v.is_null()) return out;
  if (!v.is_array()) {
    return core::make_error(errc::internal,
                            fmt::format("unexpected answer from errand: {} is not an array", path),
                            path);
  }
  for (std::size_t i = 0; i < v.get_array().size(); ++i) {
    Reader r(v.get_array()[i], item_path(path, i));
    ScheduleFire f{.at = r.time("at"), .local = r.str("local")};
    if (auto s = r.status(); !s) return s.error();
    out.push_back(std::move(f));
  }
  return out;
}

core::Result<ScheduleInfo> parse_schedule_at(const json::value& v, std::string path) {
  Reader r(v, std::move(path));
  ScheduleInfo s;
  s.name = r.str("name");
  s.cron = r.str("cron");
  s.timezone = r.str("timezone");
  s.queue = r.str("queue");
  s.type = r.str("type", false);
  s.payload = r.any("payload");
  s.priority = opt_integer(r, "priority");
  if (auto n = opt_integer(r, "max_attempts")) s.max_attempts = static_cast<int>(*n);
  s.overlap = r.str("overlap");
  s.paused = r.boolean("paused");
  s.catch_up = r.opt_duration("catch_up").value_or(core::Millis{0});
  s.source = r.str("source", false);
  s.created_at = r.time("created_at");
  s.updated_at = r.time("updated_at");
  s.last_fired_at = r.opt_time("last_fired_at");
  if (const auto& last = r.any("last_job"); !last.is_null()) {
    Reader lr(last, r.path("last_job"));
    s.last_job_id = lr.str("id");
    if (const auto& state = lr.any("state"); !state.is_null()) s.last_job_state = lr.state("state");
    if (auto st = lr.status(); !st) return st.error();
  }
  if (auto st = r.status(); !st) return st.error();
  auto next = parse_fires(r.any("next"), r.path("next"));
  if (!next) return next.error();
  s.next = std::move(*next);
  return s;
}

}  // namespace

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

core::Result<ScheduleInfo> parse_schedule(const json::value& v) {
  return parse_schedule_at(v, "");
}

core::Result<std::vector<ScheduleInfo>> parse_schedules(const json::value& v) {
  return parse_items<ScheduleInfo>(v, "schedules", parse_schedule_at);
}

json::object to_json(const ScheduleInfo& s) {
  auto opt = [](const auto& v) { return v ? json::value(*v) : json::value(nullptr); };
  json::array next;
  for (const auto& f : s.next) {
    next.emplace_back(json::object{{"at", core::format_rfc3339(f.at)}, {"local", f.local}});
  }
  json::value last_job = nullptr;
  if (!s.last_job_id.empty()) {
    last_job =
        json::object{{"id", s.last_job_id},
                     {"state", s.last_job_state ? json::value(core::to_string(*s.last_job_state))
                                                : json::value(nullptr)}};
  }
  return json::object{
      {"name", s.name},
      {"cron", s.cron},
      {"timezone", s.timezone},
      {"queue", s.queue},
      {"type", s.type.empty() ? json::value(nullptr) : json::value(s.type)},
      {"payload", s.payload},
      {"priority", opt(s.priority)},
      {"max_attempts", opt(s.max_attempts)},
      {"overlap", s.overlap},
      {"paused", s.paused},
      {"catch_up", core::format_duration(s.catch_up)},
      {"source", s.source},
      {"created_at", core::format_rfc3339(s.created_at)},
      {"updated_at", core::format_rfc3339(s.updated_at)},
      {"last_fired_at", s.last_fired_at ? json::value(core::format_rfc3339(*s.last_fired_at))
                                        : json::value(nullptr)},
      {"last_job", std::move(last_job)},
      {"next", std::move(next)},
  };
}

}  // namespace errand::client::wire
