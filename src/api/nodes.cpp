// GET /v1/nodes (the servers sharing this store, engine/nodes.hpp) and
// /healthz (whether this server can reach its store now).
#include "api/errors.hpp"
#include "api/router.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>

namespace errand::api {
namespace json = boost::json;
using boost::asio::awaitable;

namespace {

json::object node_json(const engine::NodeView& v) {
  const auto& n = v.node;
  return {{"id", n.id},
          {"name", n.name},
          {"address", n.address},
          {"version", n.version},
          {"store", n.store},
          {"state", core::to_string(v.state)},
          {"self", v.self},
          {"started_at", core::format_rfc3339(n.started_at)},
          {"last_seen", core::format_rfc3339(n.last_seen)},
          {"stopped_at",
           n.stopped_at ? json::value(core::format_rfc3339(*n.stopped_at)) : json::value(nullptr)},
          {"workers",
           {{"waiting", n.figures.waiting_claims}, {"connected", n.figures.workers_connected}}},
          {"event_streams", n.figures.event_streams}};
}

awaitable<Response> list_nodes(Context& c) {
  if (!c.request.query.empty()) {
    const auto& key = c.request.query.begin()->first;
    co_return error_response(core::invalid(
        key, fmt::format("unknown query parameter {} (GET /v1/nodes takes none)", key)));
  }
  auto& engine = c.services.engine;
  auto nodes = co_await engine.nodes().list();
  if (!nodes) co_return error_response(nodes.error());
  json::array out;
  for (const auto& v : *nodes) out.emplace_back(node_json(v));
  co_return json_response(
      200, json::serialize(json::object{{"at", core::format_rfc3339(engine.clock().now())},
                                        {"nodes", std::move(out)}}));
}

awaitable<Response> health(Context& c) {
  auto& engine = c.services.engine;
  if (!engine.store_writable()) {
    co_return error_response(core::make_error(
        core::errc::unavailable,
        "the store cannot take writes now (a failed write, or the database is unreachable); "
        "see the log"));
  }
  if (auto failure = engine.nodes().heartbeat_failure()) {
    co_return error_response(core::make_error(
        core::errc::unavailable,
        fmt::format("this node's last heartbeat did not reach the store: {}", *failure)));
  }
  json::object ok{{"status", "ok"}};
  if (!engine.nodes().self().id.empty()) ok["node"] = engine.nodes().self().id;
  co_return json_response(200, json::serialize(ok));
}

}  // namespace

std::vector<Route> node_routes() {
  return {
      {"GET", "/v1/nodes", Access::producer, list_nodes},
      {"GET", "/healthz", Access::open, health},
  };
}

}  // namespace errand::api
