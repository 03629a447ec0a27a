// /v1/queues (list, read one, configure, pause, resume).
#include "api/errors.hpp"
#include "api/request.hpp"
#include "api/router.hpp"
#include "core/duration.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <algorithm>
#include <charconv>

namespace errand::api {
namespace json = boost::json;
using boost::asio::awaitable;

namespace {

template <class T>
json::value or_null(const std::optional<T>& v) {
  if (!v) return nullptr;
  return json::value(*v);
}

json::value duration_or_null(const std::optional<core::Millis>& d) {
  if (!d) return nullptr;
  return json::value(core::format_duration(*d));
}

json::value rate_json(const std::optional<core::RateLimit>& r) {
  if (!r) return nullptr;
  json::object out{{"limit", r->limit}, {"per", core::format_duration(r->per)}};
  if (r->burst) out["burst"] = *r->burst;
  return out;
}

json::object config_json(const core::QueueConfig& c) {
  return json::object{
      {"concurrency", or_null(c.concurrency)},
      {"rate_limit", rate_json(c.rate_limit)},
      {"key_concurrency", or_null(c.key_concurrency)},
      {"key_rate_limit", rate_json(c.key_rate_limit)},
      {"push", c.push ? json::value(core::push_config_to_json(*c.push)) : json::value(nullptr)},
      {"defaults", json::object{{"priority", or_null(c.defaults.priority)},
                                {"max_attempts", or_null(c.defaults.max_attempts)},
                                {"timeout", duration_or_null(c.defaults.timeout)}}}};
}

json::object queue_json(const store::QueueInfo& q) {
  json::object counts;
  for (auto state : core::kAllStates) {
    auto it = q.counts.find(state);
    counts[core::to_string(state)] = it == q.counts.end() ? 0 : it->second;
  }
  return json::object{
      {"name", q.name},           {"paused", q.paused},       {"counts", std::move(counts)},
      {"processed", q.processed}, {"failed_total", q.failed}, {"config", config_json(q.config)}};
}

// ---- PUT body ----

// A nested object field: absent or null is nullptr; anything else not an
// object is an error naming it.
core::Result<const json::object*> nested(const Fields& f, std::string_view key) {
  const auto* v = f.raw(key);
  if (!v || v->is_null()) return static_cast<const json::object*>(nullptr);
  if (!v->is_object()) return f.wrong_type(key, "an object");
  return &v->get_object();
}

// {"limit", "per" (or "period"), "burst"?}: at most `limit` claims per
// `per`, up to `burst` (default `limit`) at once after a quiet spell.
core::Result<std::optional<core::RateLimit>> parse_rate_limit(const Fields& f,
                                                              std::string_view field) {
  ERRAND_TRY(object, nested(f, field));
  if (!object) return std::optional<core::RateLimit>{};
  const Fields r(*object, f.name(field));
  if (auto ok = r.only({"limit", "per", "period", "burst"}); !ok) return ok.error();
  ERRAND_TRY(limit, r.integer("limit", 1, core::kMaxRateLimit));
  if (!limit) return r.missing("limit");
  if (r.raw("per") && r.raw("period")) {
    return core::invalid(r.name("period"), fmt::format("give either {} or {}, not both",
                                                       r.name("per"), r.name("period")));
  }
  const std::string_view per_field = r.raw("period") ? "period" : "per";
  ERRAND_TRY(per, r.duration(per_field, core::kMinRatePer, core::kMaxRatePer));
  if (!per) return r.missing("per");
  ERRAND_TRY(burst, r.integer("burst", 1, core::kMaxRateLimit));
  return std::optional(core::RateLimit{.limit = *limit, .per = *per, .burst = burst});
}

core::Result<core::JobDefaults> parse_defaults(const Fields& f) {
  ERRAND_TRY(object, nested(f, "defaults"));
  core::JobDefaults d;
  if (!object) return d;
  const Fields r(*object, f.name("defaults"));
  if (auto ok = r.only({"priority", "max_attempts", "timeout"}); !ok) return ok.error();
  ERRAND_TRY(priority, r.integer("priority", -core::kMaxPriority, core::kMaxPriority));
  d.priority = priority;
  ERRAND_TRY(max_attempts, r.integer("max_attempts", 1, core::kMaxMaxAttempts));
  if (max_attempts) d.max_attempts = static_cast<int>(*max_attempts);
  ERRAND_TRY(timeout, r.duration("timeout", core::kMinTimeout, core::kMaxTimeout));
  d.timeout = timeout;
  return d;
}

core::Result<store::QueueConfigureParams> parse_configure(const json::object& body,
                                                          std::string queue) {
  const Fields f(body);
  if (auto ok = f.only({"paused", "concurrency", "rate_limit", "key_concurrency", "key_rate_limit",
                        "defaults", "push"});
      !ok) {
    return ok.error();
  }
  store::QueueConfigureParams p{.queue = std::move(queue)};
  ERRAND_TRY(paused, f.boolean("paused"));
  p.paused = paused.value_or(false);
  ERRAND_TRY(concurrency, f.integer("concurrency", 1, core::kMaxConcurrency));
  p.config.concurrency = concurrency;
  ERRAND_TRY(rate, parse_rate_limit(f, "rate_limit"));
  p.config.rate_limit = rate;
  ERRAND_TRY(key_concurrency, f.integer("key_concurrency", 1, core::kMaxConcurrency));
  p.config.key_concurrency = key_concurrency;
  ERRAND_TRY(key_rate, parse_rate_limit(f, "key_rate_limit"));
  p.config.key_rate_limit = key_rate;
  ERRAND_TRY(defaults, parse_defaults(f));
  p.config.defaults = defaults;
  ERRAND_TRY(push, nested(f, "push"));
  if (push) {
    ERRAND_TRY(config, core::parse_push_config(*push, f.name("push")));
    p.config.push = std::move(config);
  }
  return p;
}

// ---- handlers ----

constexpr std::size_t kDefaultQueuePage = 100;
constexpr std::size_t kMaxQueuePage = 1000;

// A page's `limit` query parameter: 1 … kMaxQueuePage.
core::Result<std::size_t> parse_page_limit(std::string_view value) {
  std::size_t n = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc{} || ptr != value.data() + value.size() || n < 1 || n > kMaxQueuePage) {
    return core::invalid("limit", fmt::format("limit must be an integer from 1 to {}, got \"{}\"",
                                              kMaxQueuePage, value.substr(0, 32)));
  }
  return n;
}

struct QueuePageParams {
  std::size_t limit = kDefaultQueuePage;
  std::string cursor;  // the last name of the previous page; empty: from the start
};

core::Result<QueuePageParams> parse_queue_page(const Request& req) {
  QueuePageParams p;
  for (const auto& [key, value] : req.query) {
    if (key == "limit") {
      ERRAND_TRY(n, parse_page_limit(value));
      p.limit = n;
    } else if (key == "cursor") {
      if (!core::validate_queue_name(value, "cursor")) {
        return core::invalid("cursor",
                             "cursor must be a queue name (the next_cursor of the "
                             "previous page)");
      }
      p.cursor = value;
    } else {
      return core::invalid(key,
                           fmt::format("unknown query parameter {} (expected limit, cursor)", key));
    }
  }
  return p;
}

// The store lists every queue; a page is cut from that list here (the
// answer stays small; the read does not, until the store pages).
awaitable<Response> list_queues(Context& c) {
  auto params = parse_queue_page(c.request);
  if (!params) co_return error_response(params.error());
  auto queues = co_await c.services.engine.queues();
  if (!queues) co_return error_response(queues.error());
  // Byte order, whatever the store's collation: cursors compare the same way.
  std::sort(queues->begin(), queues->end(),
            [](const store::QueueInfo& a, const store::QueueInfo& b) { return a.name < b.name; });
  auto it = std::upper_bound(
      queues->begin(), queues->end(), params->cursor,
      [](const std::string& cursor, const store::QueueInfo& q) { return cursor < q.name; });
  json::array out;
  for (; it != queues->end() && out.size() < params->limit; ++it) out.emplace_back(queue_json(*it));
  json::value next = nullptr;
  if (it != queues->end() && !out.empty()) next = json::value(out.back().at("name"));
  co_return json_response(200, json::serialize(json::object{{"queues", std::move(out)},
                                                            {"next_cursor", std::move(next)}}));
}

awaitable<Response> get_queue(Context& c) {
  if (auto ok = core::validate_queue_name(c.params[0], "queue"); !ok) {
    co_return error_response(ok.error());
  }
  auto q = co_await c.services.engine.queue(c.params[0]);
  if (!q) co_return error_response(q.error());
  co_return json_response(200, json::serialize(queue_json(*q)));
}

awaitable<Response> configure_queue(Context& c) {
  if (auto ok = core::validate_queue_name(c.params[0], "queue"); !ok) {
    co_return error_response(ok.error());
  }
  auto body = parse_object(c.request.body, true);
  if (!body) co_return error_response(body.error());
  auto params = parse_configure(*body, c.params[0]);
  if (!params) co_return error_response(params.error());
  auto q = co_await c.services.engine.configure(std::move(*params));
  if (!q) co_return error_response(q.error());
  co_return json_response(200, json::serialize(queue_json(*q)));
}

json::object secret_json(const store::QueueInfo& q) {
  const auto& s = q.push_secrets;
  json::value previous = nullptr;
  json::value until = nullptr;
  if (!s.previous.empty() && s.previous_until) {
    previous = json::value(s.previous);
    until = json::value(core::format_rfc3339(*s.previous_until));
  }
  return json::object{{"queue", q.name},
                      {"secret", s.current},
                      {"previous", std::move(previous)},
                      {"previous_expires_at", std::move(until)}};
}

awaitable<Response> get_push_secret(Context& c) {
  if (auto ok = core::validate_queue_name(c.params[0], "queue"); !ok) {
    co_return error_response(ok.error());
  }
  auto q = co_await c.services.engine.queue(c.params[0]);
  if (!q) co_return error_response(q.error());
  if (q->push_secrets.current.empty()) {
    co_return error_response(core::make_error(
        core::errc::not_found,
        fmt::format("queue \"{}\" has no push signing secret (it has never had a push endpoint)",
                    c.params[0]),
        "queue"));
  }
  co_return json_response(200, json::serialize(secret_json(*q)));
}

awaitable<Response> rotate_push_secret(Context& c) {
  if (auto ok = core::validate_queue_name(c.params[0], "queue"); !ok) {
    co_return error_response(ok.error());
  }
  auto body = parse_object(c.request.body, true);
  if (!body) co_return error_response(body.error());
  const Fields f(*body);
  if (auto ok = f.only({"keep_previous"}); !ok) co_return error_response(ok.error());
  auto keep = f.duration("keep_previous", core::Millis{0}, core::kMaxKeepPrevious);
  if (!keep) co_return error_response(keep.error());
  auto q = co_await c.services.engine.rotate_push_secret(
      c.params[0], keep->value_or(core::kDefaultKeepPrevious));
  if (!q) co_return error_response(q.error());
  co_return json_response(200, json::serialize(secret_json(*q)));
}

awaitable<Response> set_paused(Context& c, bool paused) {
  if (auto ok = core::validate_queue_name(c.params[0], "queue"); !ok) {
    co_return error_response(ok.error());
  }
  auto q = co_await c.services.engine.pause(c.params[0], paused);
  if (!q) co_return error_response(q.error());
  co_return json_response(200, json::serialize(queue_json(*q)));
}

awaitable<Response> pause(Context& c) {
  co_return co_await set_paused(c, true);
}
awaitable<Response> resume(Context& c) {
  co_return co_await set_paused(c, false);
}

// ---- keys ----

json::object key_json(const store::KeyInfo& k) {
  json::value throttled = nullptr;
  if (k.throttled_until) throttled = json::value(core::format_rfc3339(*k.throttled_until));
  return json::object{{"queue", k.queue},
                      {"key", k.key},
                      {"queued", k.queued},
                      {"running", k.running},
                      {"overridden", k.overridden},
                      {"concurrency", or_null(k.limits.concurrency)},
                      {"rate_limit", rate_json(k.limits.rate_limit)},
                      {"paused", k.limits.paused},
                      {"weight", or_null(k.limits.weight)},
                      {"throttled_until", std::move(throttled)}};
}

// The queue and key of a /v1/queues/:queue/keys/:key path (the router
// decodes the key's segment: "team%2Fa" is the key "team/a").
core::Result<store::KeyRef> key_ref(const Context& c) {
  if (auto ok = core::validate_queue_name(c.params[0], "queue"); !ok) return ok.error();
  if (auto ok = core::validate_job_key(c.params[1], "key"); !ok) return ok.error();
  return store::KeyRef{.queue = c.params[0], .key = c.params[1]};
}

core::Result<core::KeyLimits> parse_key_limits(const json::object& body) {
  const Fields f(body);
  if (auto ok = f.only({"concurrency", "rate_limit", "paused", "weight"}); !ok) return ok.error();
  core::KeyLimits l;
  ERRAND_TRY(concurrency, f.integer("concurrency", 1, core::kMaxConcurrency));
  l.concurrency = concurrency;
  ERRAND_TRY(rate, parse_rate_limit(f, "rate_limit"));
  l.rate_limit = rate;
  ERRAND_TRY(paused, f.boolean("paused"));
  l.paused = paused.value_or(false);
  ERRAND_TRY(weight, f.integer("weight", 1, core::kMaxKeyWeight));
  l.weight = weight;
  return l;
}

core::Result<store::KeyListParams> parse_key_page(const Request& req, std::string queue) {
  store::KeyListParams p{.queue = std::move(queue)};
  for (const auto& [name, value] : req.query) {
    if (name == "limit") {
      ERRAND_TRY(n, parse_page_limit(value));
      p.limit = n;
    } else if (name == "cursor") {
      if (auto ok = core::validate_job_key(value, "cursor"); !ok) return ok.error();
      p.cursor = value;
    } else if (name == "sort") {
      if (value != "key" && value != "busiest") {
        return core::invalid("sort", fmt::format("sort must be \"key\" or \"busiest\", got \"{}\"",
                                                 value.substr(0, 32)));
      }
      p.busiest = value == "busiest";
    } else {
      return core::invalid(
          name, fmt::format("unknown query parameter {} (expected limit, cursor, sort)", name));
    }
  }
  if (p.busiest && !p.cursor.empty()) {
    return core::invalid("cursor", "sort=busiest answers one page: it takes no cursor");
  }
  return p;
}

awaitable<Response> list_keys(Context& c) {
  if (auto ok = core::validate_queue_name(c.params[0], "queue"); !ok) {
    co_return error_response(ok.error());
  }
  auto params = parse_key_page(c.request, c.params[0]);
  if (!params) co_return error_response(params.error());
  auto page = co_await c.services.engine.keys(std::move(*params));
  if (!page) co_return error_response(page.error());
  json::array keys;
  for (const auto& k : page->keys) keys.emplace_back(key_json(k));
  json::value next = nullptr;
  if (!page->next_cursor.empty()) next = json::value(page->next_cursor);
  co_return json_response(200, json::serialize(json::object{{"keys", std::move(keys)},
                                                            {"next_cursor", std::move(next)}}));
}

awaitable<Response> get_key(Context& c) {
  auto ref = key_ref(c);
  if (!ref) co_return error_response(ref.error());
  auto key = co_await c.services.engine.key(std::move(*ref));
  if (!key) co_return error_response(key.error());
  co_return json_response(200, json::serialize(key_json(*key)));
}

awaitable<Response> put_key(Context& c) {
  auto ref = key_ref(c);
  if (!ref) co_return error_response(ref.error());
  auto body = parse_object(c.request.body, true);
  if (!body) co_return error_response(body.error());
  auto limits = parse_key_limits(*body);
  if (!limits) co_return error_response(limits.error());
  // A named value: GCC 12 destroys a braced temporary in a co_await twice.
  store::KeyPutParams params{
      .queue = std::move(ref->queue), .key = std::move(ref->key), .limits = *limits};
  auto key = co_await c.services.engine.put_key(std::move(params));
  if (!key) co_return error_response(key.error());
  co_return json_response(200, json::serialize(key_json(*key)));
}

awaitable<Response> delete_key(Context& c) {
  auto ref = key_ref(c);
  if (!ref) co_return error_response(ref.error());
  auto key = co_await c.services.engine.delete_key(std::move(*ref));
  if (!key) co_return error_response(key.error());
  co_return json_response(200, json::serialize(key_json(*key)));
}

}  // namespace

std::vector<Route> queue_routes() {
  return {
      {"GET", "/v1/queues", Access::producer, list_queues},
      {"GET", "/v1/queues/:queue", Access::producer, get_queue},
      {"PUT", "/v1/queues/:queue", Access::admin, configure_queue},
      {"POST", "/v1/queues/:queue/pause", Access::admin, pause},
      {"POST", "/v1/queues/:queue/resume", Access::admin, resume},
      {"GET", "/v1/queues/:queue/push-secret", Access::admin, get_push_secret},
      {"POST", "/v1/queues/:queue/push-secret/rotate", Access::admin, rotate_push_secret},
      {"GET", "/v1/queues/:queue/keys", Access::producer, list_keys},
      {"GET", "/v1/queues/:queue/keys/:key", Access::producer, get_key},
      {"PUT", "/v1/queues/:queue/keys/:key", Access::admin, put_key},
      {"DELETE", "/v1/queues/:queue/keys/:key", Access::admin, delete_key},
  };
}

}  // namespace errand::api
