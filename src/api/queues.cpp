// /v1/queues and /healthz.
#include "api/errors.hpp"
#include "api/router.hpp"

#include <boost/json.hpp>

namespace errand::api {
namespace json = boost::json;
using boost::asio::awaitable;

namespace {

json::object queue_json(const store::QueueInfo& q) {
  json::object counts;
  for (auto state : core::kAllStates) {
    auto it = q.counts.find(state);
    counts[core::to_string(state)] = it == q.counts.end() ? 0 : it->second;
  }
  return json::object{{"name", q.name},
                      {"paused", q.paused},
                      {"counts", std::move(counts)},
                      {"processed", q.processed},
                      {"failed_total", q.failed}};
}

awaitable<Response> list_queues(Context& c) {
  auto queues = co_await c.services.engine.queues();
  if (!queues) co_return error_response(queues.error());
  json::array out;
  for (const auto& q : *queues) out.emplace_back(queue_json(q));
  co_return json_response(200, json::serialize(json::object{{"queues", std::move(out)}}));
}

awaitable<Response> set_paused(Context& c, bool paused) {
  if (auto ok = core::validate_queue_name(c.params[0], "queue"); !ok) {
    co_return error_response(ok.error());
  }
  auto q = co_await c.services.engine.pause(c.params[0], paused);
  if (!q) co_return error_response(q.error());
  co_return json_response(200, json::serialize(queue_json(*q)));
}

awaitable<Response> pause(Context& c) { co_return co_await set_paused(c, true); }
awaitable<Response> resume(Context& c) { co_return co_await set_paused(c, false); }

awaitable<Response> health(Context& c) {
  if (!c.services.store.writable()) {
    co_return error_response(core::make_error(
        core::errc::unavailable, "the store refuses writes after a failed write; see the log"));
  }
  co_return json_response(200, R"({"status":"ok"})");
}

}  // namespace

std::vector<Route> queue_routes() {
  return {
      {"GET", "/v1/queues", Access::producer, list_queues},
      {"POST", "/v1/queues/:queue/pause", Access::admin, pause},
      {"POST", "/v1/queues/:queue/resume", Access::admin, resume},
      {"GET", "/healthz", Access::open, health},
  };
}

}  // namespace errand::api
