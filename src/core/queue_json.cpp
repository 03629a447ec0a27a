#include "core/queue_json.hpp"

#include "core/duration.hpp"
#include "core/fields.hpp"
#include "core/json_reader.hpp"

#include <fmt/format.h>

namespace errand::core {
namespace json = boost::json;
namespace {

template <class T>
json::value or_null(const std::optional<T>& v) {
  if (!v) return nullptr;
  return json::value(*v);
}

json::value duration_or_null(const std::optional<Millis>& d) {
  if (!d) return nullptr;
  return json::value(format_duration(*d));
}

json::value string_or_null(const std::string& s) {
  if (s.empty()) return nullptr;
  return json::value(s);
}

json::value webhook_or_null(const std::optional<std::string>& url) {
  if (!url) return nullptr;
  return json::object{{"url", *url}};
}

Result<std::optional<RateLimit>> read_rate_limit(JsonReader& r, std::string_view key) {
  const auto& rate = r.any(key);
  if (rate.is_null()) return std::optional<RateLimit>{};
  JsonReader rr(rate, r.path(key));
  RateLimit out{.limit = rr.integer("limit"), .per = rr.opt_duration("per").value_or(Millis{0})};
  out.burst = rr.opt_integer("burst");
  if (auto s = rr.status(); !s) return s.error();
  return std::optional(out);
}

// Reads the array `key` of `v` with `read_item`, one item at a time.
template <class T, class ReadItem>
Result<std::vector<T>> read_items(const json::value& v, std::string_view key, ReadItem read_item) {
  JsonReader r(v, "");
  const auto* items = r.array(key);
  if (!items) return r.status().error();
  std::vector<T> out;
  out.reserve(items->size());
  for (std::size_t i = 0; i < items->size(); ++i) {
    auto item = read_item((*items)[i], item_path(key, i));
    if (!item) return item.error();
    out.push_back(std::move(*item));
  }
  return out;
}

Result<std::string> read_next_cursor(const json::value& v) {
  JsonReader r(v, "");
  auto cursor = r.str("next_cursor", false);
  if (auto s = r.status(); !s) return s.error();
  return cursor;
}

}  // namespace

// ---- answers ----

json::value rate_limit_to_json(const std::optional<RateLimit>& rate) {
  if (!rate) return nullptr;
  json::object out{{"limit", rate->limit}, {"per", format_duration(rate->per)}};
  if (rate->burst) out["burst"] = *rate->burst;
  return out;
}

json::object queue_config_to_json(const QueueConfig& c) {
  return json::object{
      {"concurrency", or_null(c.concurrency)},
      {"rate_limit", rate_limit_to_json(c.rate_limit)},
      {"key_concurrency", or_null(c.key_concurrency)},
      {"key_rate_limit", rate_limit_to_json(c.key_rate_limit)},
      {"push", c.push ? json::value(push_config_to_json(*c.push)) : json::value(nullptr)},
      {"defaults", json::object{{"priority", or_null(c.defaults.priority)},
                                {"max_attempts", or_null(c.defaults.max_attempts)},
                                {"timeout", duration_or_null(c.defaults.timeout)},
                                {"on_done", webhook_or_null(c.defaults.on_done)}}}};
}

json::object queue_to_json(const QueueStatus& q) {
  json::object counts;
  for (auto s : kAllStates) counts[to_string(s)] = q.count(s);
  return json::object{{"name", q.name},
                      {"paused", q.paused},
                      {"counts", std::move(counts)},
                      {"processed", q.processed},
                      {"failed_total", q.failed_total},
                      {"config", queue_config_to_json(q.config)}};
}

json::object queue_page_to_json(const QueuePage& page) {
  json::array queues;
  queues.reserve(page.queues.size());
  for (const auto& q : page.queues) queues.emplace_back(queue_to_json(q));
  return json::object{{"queues", std::move(queues)},
                      {"next_cursor", string_or_null(page.next_cursor)}};
}

json::object key_to_json(const KeyStatus& k) {
  json::value throttled = nullptr;
  if (k.throttled_until) throttled = json::value(format_rfc3339(*k.throttled_until));
  return json::object{{"queue", k.queue},
                      {"key", k.key},
                      {"queued", k.queued},
                      {"running", k.running},
                      {"overridden", k.overridden},
                      {"concurrency", or_null(k.limits.concurrency)},
                      {"rate_limit", rate_limit_to_json(k.limits.rate_limit)},
                      {"paused", k.limits.paused},
                      {"weight", or_null(k.limits.weight)},
                      {"throttled_until", std::move(throttled)}};
}

json::object key_page_to_json(const KeyPage& page) {
  json::array keys;
  keys.reserve(page.keys.size());
  for (const auto& k : page.keys) keys.emplace_back(key_to_json(k));
  return json::object{{"keys", std::move(keys)}, {"next_cursor", string_or_null(page.next_cursor)}};
}

Result<QueueConfig> queue_config_from_json(const json::value& v, std::string path) {
  QueueConfig c;
  if (v.is_null()) return c;
  JsonReader r(v, std::move(path));
  c.concurrency = r.opt_integer("concurrency");
  ERRAND_TRY(rate, read_rate_limit(r, "rate_limit"));
  c.rate_limit = rate;
  c.key_concurrency = r.opt_integer("key_concurrency");
  ERRAND_TRY(key_rate, read_rate_limit(r, "key_rate_limit"));
  c.key_rate_limit = key_rate;
  if (const auto& defaults = r.any("defaults"); !defaults.is_null()) {
    JsonReader d(defaults, r.path("defaults"));
    c.defaults.priority = d.opt_integer("priority");
    if (auto n = d.opt_integer("max_attempts")) c.defaults.max_attempts = static_cast<int>(*n);
    c.defaults.timeout = d.opt_duration("timeout");
    if (const auto& on_done = d.any("on_done"); !on_done.is_null()) {
      JsonReader w(on_done, d.path("on_done"));
      c.defaults.on_done = w.str("url");
      if (auto s = w.status(); !s) return s.error();
    }
    if (auto s = d.status(); !s) return s.error();
  }
  if (const auto& push = r.any("push"); push.is_object()) {
    ERRAND_TRY(config, parse_push_config(push.get_object(), r.path("push")));
    c.push = std::move(config);
  }
  if (auto s = r.status(); !s) return s.error();
  return c;
}

Result<QueueStatus> queue_from_json(const json::value& v, std::string path) {
  JsonReader r(v, std::move(path));
  QueueStatus q;
  q.name = r.str("name");
  q.paused = r.boolean("paused");
  JsonReader counts(r.any("counts"), r.path("counts"));
  for (auto s : kAllStates) q.counts[static_cast<std::size_t>(s)] = counts.integer(to_string(s));
  q.processed = r.integer("processed");
  q.failed_total = r.integer("failed_total");
  if (auto s = r.status(); !s) return s.error();
  if (auto s = counts.status(); !s) return s.error();
  ERRAND_TRY(config, queue_config_from_json(r.any("config"), r.path("config")));
  q.config = std::move(config);
  return q;
}

Result<QueuePage> queue_page_from_json(const json::value& v) {
  ERRAND_TRY(queues, read_items<QueueStatus>(v, "queues", queue_from_json));
  ERRAND_TRY(cursor, read_next_cursor(v));
  return QueuePage{.queues = std::move(queues), .next_cursor = std::move(cursor)};
}

Result<KeyStatus> key_from_json(const json::value& v, std::string path) {
  JsonReader r(v, std::move(path));
  KeyStatus k{.queue = r.str("queue"), .key = r.str("key")};
  k.queued = r.integer("queued");
  k.running = r.integer("running");
  k.overridden = r.boolean("overridden");
  k.limits.concurrency = r.opt_integer("concurrency");
  k.limits.paused = r.boolean("paused");
  k.limits.weight = r.opt_integer("weight");
  k.throttled_until = r.opt_time("throttled_until");
  ERRAND_TRY(rate, read_rate_limit(r, "rate_limit"));
  k.limits.rate_limit = rate;
  if (auto s = r.status(); !s) return s.error();
  return k;
}

Result<KeyPage> key_page_from_json(const json::value& v) {
  ERRAND_TRY(keys, read_items<KeyStatus>(v, "keys", key_from_json));
  ERRAND_TRY(cursor, read_next_cursor(v));
  return KeyPage{.keys = std::move(keys), .next_cursor = std::move(cursor)};
}

// ---- requests ----

namespace {

// A nested object field: absent or null is nullptr; anything else not an
// object is an error naming it.
Result<const json::object*> nested(const Fields& f, std::string_view key) {
  const auto* v = f.raw(key);
  if (!v || v->is_null()) return static_cast<const json::object*>(nullptr);
  if (!v->is_object()) return f.wrong_type(key, "an object");
  return &v->get_object();
}

// {"limit", "per" (or "period"), "burst"?}: at most `limit` claims per
// `per`, up to `burst` (default `limit`) at once after a quiet spell.
Result<std::optional<RateLimit>> parse_rate_limit(const Fields& f, std::string_view field) {
  ERRAND_TRY(object, nested(f, field));
  if (!object) return std::optional<RateLimit>{};
  const Fields r(*object, f.name(field));
  if (auto ok = r.only({"limit", "per", "period", "burst"}); !ok) return ok.error();
  ERRAND_TRY(limit, r.integer("limit", 1, kMaxRateLimit));
  if (!limit) return r.missing("limit");
  if (r.raw("per") && r.raw("period")) {
    return invalid(r.name("period"),
                   fmt::format("give either {} or {}, not both", r.name("per"), r.name("period")));
  }
  const std::string_view per_field = r.raw("period") ? "period" : "per";
  ERRAND_TRY(per, r.duration(per_field, kMinRatePer, kMaxRatePer));
  if (!per) return r.missing("per");
  ERRAND_TRY(burst, r.integer("burst", 1, kMaxRateLimit));
  return std::optional(RateLimit{.limit = *limit, .per = *per, .burst = burst});
}

Result<JobDefaults> parse_defaults(const Fields& f) {
  ERRAND_TRY(object, nested(f, "defaults"));
  JobDefaults d;
  if (!object) return d;
  const Fields r(*object, f.name("defaults"));
  if (auto ok = r.only({"priority", "max_attempts", "timeout", "on_done"}); !ok) {
    return ok.error();
  }
  ERRAND_TRY(priority, r.integer("priority", -kMaxPriority, kMaxPriority));
  d.priority = priority;
  ERRAND_TRY(max_attempts, r.integer("max_attempts", 1, kMaxMaxAttempts));
  if (max_attempts) d.max_attempts = static_cast<int>(*max_attempts);
  ERRAND_TRY(timeout, r.duration("timeout", kMinTimeout, kMaxTimeout));
  d.timeout = timeout;
  ERRAND_TRY(on_done, webhook_from_body(r, "on_done"));
  d.on_done = std::move(on_done);
  return d;
}

}  // namespace

json::object queue_settings_body(const QueueSettings& s) {
  const auto& c = s.config;
  json::object b{{"paused", s.paused}};
  if (c.concurrency) b["concurrency"] = *c.concurrency;
  if (c.rate_limit) b["rate_limit"] = rate_limit_to_json(c.rate_limit);
  if (c.key_concurrency) b["key_concurrency"] = *c.key_concurrency;
  if (c.key_rate_limit) b["key_rate_limit"] = rate_limit_to_json(c.key_rate_limit);
  json::object d;
  if (c.defaults.priority) d["priority"] = *c.defaults.priority;
  if (c.defaults.max_attempts) d["max_attempts"] = *c.defaults.max_attempts;
  if (c.defaults.timeout) d["timeout"] = format_duration(*c.defaults.timeout);
  if (c.defaults.on_done) d["on_done"] = webhook_or_null(c.defaults.on_done);
  if (!d.empty()) b["defaults"] = std::move(d);
  if (c.push) b["push"] = push_config_to_json(*c.push, false);
  return b;
}

Result<QueueSettings> queue_settings_from_body(const json::object& body) {
  const Fields f(body);
  if (auto ok = f.only({"paused", "concurrency", "rate_limit", "key_concurrency", "key_rate_limit",
                        "defaults", "push"});
      !ok) {
    return ok.error();
  }
  QueueSettings s;
  ERRAND_TRY(paused, f.boolean("paused"));
  s.paused = paused.value_or(false);
  ERRAND_TRY(concurrency, f.integer("concurrency", 1, kMaxConcurrency));
  s.config.concurrency = concurrency;
  ERRAND_TRY(rate, parse_rate_limit(f, "rate_limit"));
  s.config.rate_limit = rate;
  ERRAND_TRY(key_concurrency, f.integer("key_concurrency", 1, kMaxConcurrency));
  s.config.key_concurrency = key_concurrency;
  ERRAND_TRY(key_rate, parse_rate_limit(f, "key_rate_limit"));
  s.config.key_rate_limit = key_rate;
  ERRAND_TRY(defaults, parse_defaults(f));
  s.config.defaults = defaults;
  ERRAND_TRY(push, nested(f, "push"));
  if (push) {
    ERRAND_TRY(config, parse_push_config(*push, f.name("push")));
    s.config.push = std::move(config);
  }
  return s;
}

Result<std::optional<std::string>> webhook_from_body(const Fields& f, std::string_view key) {
  const auto* v = f.raw(key);
  if (!v || v->is_null()) return std::optional<std::string>{};
  if (!v->is_object()) return f.wrong_type(key, "an object: {\"url\": \"https://…\"}");
  const Fields w(v->get_object(), f.name(key));
  if (auto ok = w.only({"url"}); !ok) return ok.error();
  ERRAND_TRY(url, w.string("url", kMaxPushUrl + 1));
  if (!url) return w.missing("url");
  if (auto ok = validate_push_url(*url, w.name("url")); !ok) return ok.error();
  return url;
}

json::object key_limits_body(const KeyLimits& l) {
  json::object b;
  if (l.concurrency) b["concurrency"] = *l.concurrency;
  if (l.rate_limit) b["rate_limit"] = rate_limit_to_json(l.rate_limit);
  if (l.paused) b["paused"] = true;
  if (l.weight) b["weight"] = *l.weight;
  return b;
}

Result<KeyLimits> key_limits_from_body(const json::object& body) {
  const Fields f(body);
  if (auto ok = f.only({"concurrency", "rate_limit", "paused", "weight"}); !ok) return ok.error();
  KeyLimits l;
  ERRAND_TRY(concurrency, f.integer("concurrency", 1, kMaxConcurrency));
  l.concurrency = concurrency;
  ERRAND_TRY(rate, parse_rate_limit(f, "rate_limit"));
  l.rate_limit = rate;
  ERRAND_TRY(paused, f.boolean("paused"));
  l.paused = paused.value_or(false);
  ERRAND_TRY(weight, f.integer("weight", 1, kMaxKeyWeight));
  l.weight = weight;
  return l;
}

}  // namespace errand::core
