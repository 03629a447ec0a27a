// /v1/queues (list, read one, configure, pause, resume).
#include "api/errors.hpp"
#include "api/request.hpp"
#include "api/router.hpp"
#include "core/duration.hpp"
#include "core/queue_json.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <algorithm>
#include <charconv>

namespace errand::api {
namespace json = boost::json;
using boost::asio::awaitable;

namespace {

// The store's queue as the codec shows it (core/queue_json.hpp).
core::QueueStatus queue_status(const store::QueueInfo& q) {
  core::QueueStatus out{.name = q.name,
                        .paused = q.paused,
                        .config = q.config,
                        .processed = q.processed,
                        .failed_total = q.failed};
  for (const auto& [state, n] : q.counts) {
    if (static_cast<std::size_t>(state) < out.counts.size()) {
      out.counts[static_cast<std::size_t>(state)] = n;
    }
  }
  return out;
}

std::string queue_text(const store::QueueInfo& q) {
  return json::serialize(core::queue_to_json(queue_status(q)));
}

core::KeyStatus key_status(const store::KeyInfo& k) {
  return core::KeyStatus{.queue = k.queue,
                         .key = k.key,
                         .queued = k.queued,
                         .running = k.running,
                         .overridden = k.overridden,
                         .limits = k.limits,
                         .throttled_until = k.throttled_until};
}

std::string key_text(const store::KeyInfo& k) {
  return json::serialize(core::key_to_json(key_status(k)));
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
  core::QueuePage page;
  for (; it != queues->end() && page.queues.size() < params->limit; ++it) {
    page.queues.push_back(queue_status(*it));
  }
  if (it != queues->end() && !page.queues.empty()) page.next_cursor = page.queues.back().name;
  co_return json_response(200, json::serialize(core::queue_page_to_json(page)));
}

awaitable<Response> get_queue(Context& c) {
  if (auto ok = core::validate_queue_name(c.params[0], "queue"); !ok) {
    co_return error_response(ok.error());
  }
  auto q = co_await c.services.engine.queue(c.params[0]);
  if (!q) co_return error_response(q.error());
  co_return json_response(200, queue_text(*q));
}

awaitable<Response> configure_queue(Context& c) {
  if (auto ok = core::validate_queue_name(c.params[0], "queue"); !ok) {
    co_return error_response(ok.error());
  }
  auto body = parse_object(c.request.body, true);
  if (!body) co_return error_response(body.error());
  auto settings = core::queue_settings_from_body(*body);
  if (!settings) co_return error_response(settings.error());
  store::QueueConfigureParams params{
      .queue = c.params[0], .paused = settings->paused, .config = std::move(settings->config)};
  auto q = co_await c.services.engine.configure(std::move(params));
  if (!q) co_return error_response(q.error());
  co_return json_response(200, queue_text(*q));
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
  co_return json_response(200, queue_text(*q));
}

awaitable<Response> pause(Context& c) {
  co_return co_await set_paused(c, true);
}
awaitable<Response> resume(Context& c) {
  co_return co_await set_paused(c, false);
}

// ---- keys ----

// The queue and key of a /v1/queues/:queue/keys/:key path (the router
// decodes the key's segment: "team%2Fa" is the key "team/a").
core::Result<store::KeyRef> key_ref(const Context& c) {
  if (auto ok = core::validate_queue_name(c.params[0], "queue"); !ok) return ok.error();
  if (auto ok = core::validate_job_key(c.params[1], "key"); !ok) return ok.error();
  return store::KeyRef{.queue = c.params[0], .key = c.params[1]};
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
  core::KeyPage out{.next_cursor = page->next_cursor};
  for (const auto& k : page->keys) out.keys.push_back(key_status(k));
  co_return json_response(200, json::serialize(core::key_page_to_json(out)));
}

awaitable<Response> get_key(Context& c) {
  auto ref = key_ref(c);
  if (!ref) co_return error_response(ref.error());
  auto key = co_await c.services.engine.key(std::move(*ref));
  if (!key) co_return error_response(key.error());
  co_return json_response(200, key_text(*key));
}

awaitable<Response> put_key(Context& c) {
  auto ref = key_ref(c);
  if (!ref) co_return error_response(ref.error());
  auto body = parse_object(c.request.body, true);
  if (!body) co_return error_response(body.error());
  auto limits = core::key_limits_from_body(*body);
  if (!limits) co_return error_response(limits.error());
  // A named value: GCC 12 destroys a braced temporary in a co_await twice.
  store::KeyPutParams params{
      .queue = std::move(ref->queue), .key = std::move(ref->key), .limits = *limits};
  auto key = co_await c.services.engine.put_key(std::move(params));
  if (!key) co_return error_response(key.error());
  co_return json_response(200, key_text(*key));
}

awaitable<Response> delete_key(Context& c) {
  auto ref = key_ref(c);
  if (!ref) co_return error_response(ref.error());
  auto key = co_await c.services.engine.delete_key(std::move(*ref));
  if (!key) co_return error_response(key.error());
  co_return json_response(200, key_text(*key));
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
