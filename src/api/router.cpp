#include "api/router.hpp"

#include "api/errors.hpp"

#include <spdlog/spdlog.h>

namespace errand::api {
Router::Router(std::vector<Route> routes) : routes_(std::move(routes)) {}

boost::asio::awaitable<Response> Router::dispatch(const Request& request, Services& services,
                                                  std::optional<Grant> admitted) const {
  // Not a conditional expression: GCC 12 mis-destroys a co_await inside one.
  Response response;
  if (request.method == "OPTIONS") {
    auto named = check_host(request, services.auth.has_keys(), services.hosts);
    response = named ? preflight(services.cors, request, route_methods(routes_, request))
                     : error_response(named.error());
  } else {
    response = co_await route(request, services, admitted);
  }
  add_cors_headers(services.cors, request, response);
  co_return response;
}

boost::asio::awaitable<core::Result<Grant>> Router::check(
    const Request& request, const RouteMatch& m, const Services& services,
    std::optional<core::Millis>& retry_after) const {
  if (auto named = check_host(request, services.auth.has_keys(), services.hosts); !named) {
    co_return named.error();
  }
  const std::string_view job_id = m.captures.empty() ? std::string_view{} : m.captures[0];
  const auto now = services.engine.clock().now();
  const auto access = m.route->access;
  if (access != Access::open) {
    if (auto wait = services.key_failures.refused_for(request.remote_address, now)) {
      retry_after = wait;
      co_return core::make_error(
          core::errc::too_many_requests,
          fmt::format("too many wrong API keys or tokens from {}: try again in {} s",
                      request.remote_address,
                      std::chrono::ceil<std::chrono::seconds>(*wait).count()),
          "authorization");
    }
  }
  // Only a request that carries a session cookie waits for the store.
  std::string session_id(access == Access::open ? std::string_view{}
                                                : session_id_of(request, services));
  core::Result<Grant> grant = Grant::full;
  if (!session_id.empty()) {
    grant = co_await session_grant(request, services, std::move(session_id), now);
  } else {
    grant = services.auth.check(request, access, job_id, now);
    // A key or token that was sent and is wrong counts against the address
    // (a missing one does not, nor a token where the route takes none: those
    // are no guesses).
    if (!grant && grant.error().code == core::errc::unauthorized &&
        (!request.authorization.empty() || grant.error().field == "token")) {
      if (auto line = services.key_failures.failed(request.remote_address, now)) {
        spdlog::warn("{}", *line);
      }
    }
  }
  if (!grant) co_return grant.error();
  if (auto same_site = check_origin(request, services.auth.has_keys(), services.cors); !same_site) {
    co_return same_site.error();
  }
  co_return *grant;
}

namespace {

// A refusal's answer; a lock-out's says when to come back.
Response refusal_of(const core::Error& error, std::optional<core::Millis> retry_after) {
  auto r = error_response(error);
  if (retry_after) {
    r.headers.emplace_back(
        "Retry-After",
        std::to_string(std::chrono::ceil<std::chrono::seconds>(*retry_after).count()));
  }
  return r;
}

}  // namespace

boost::asio::awaitable<Admission> Router::admit(const Request& head, Services& services) const {
  Admission out;
  if (head.method == "OPTIONS") {
    if (auto named = check_host(head, services.auth.has_keys(), services.hosts); !named)
      out.refusal = error_response(named.error());
  } else if (auto m = find_route(routes_, head); !m) {
    out.refusal = error_response(m.error());
  } else {
    out.route = m->route->pattern;
    std::optional<core::Millis> retry_after;
    auto grant = co_await check(head, *m, services, retry_after);
    if (grant) {
      out.max_body = m->route->max_body;
      out.grant = *grant;
    } else {
      out.refusal = refusal_of(grant.error(), retry_after);
    }
  }
  if (out.refusal) add_cors_headers(services.cors, head, *out.refusal);
  co_return out;
}

boost::asio::awaitable<Response> Router::route(const Request& request, Services& services,
                                               std::optional<Grant> admitted) const {
  auto m = find_route(routes_, request);
  if (!m) co_return error_response(m.error());
  core::Result<Grant> grant = Grant::full;
  std::optional<core::Millis> retry_after;
  if (admitted) {
    grant = *admitted;
  } else {
    grant = co_await check(request, *m, services, retry_after);
  }
  if (!grant) co_return refusal_of(grant.error(), retry_after);
  Context context{request, std::move(m->captures), services, *grant};
  Response out;
  try {
    out = co_await m->route->handler(context);
  } catch (const std::exception& e) {
    spdlog::error("{} {} failed: {}", request.method, request.path, e.what());
    out = error_response(
        core::make_error(core::errc::internal, "internal error; the server log has details"));
  }
  out.route = m->route->pattern;
  co_return out;
}

core::JobView job_view(Grant grant) {
  return {.private_fields = !is_job_token(grant),
          .token_payload = grant == Grant::job_token_payload};
}

std::vector<Route> all_routes() {
  std::vector<Route> routes;
  for (auto part : {job_routes(), worker_routes(), queue_routes(), schedule_routes(),
                    event_routes(), asset_routes(), dashboard_routes(), stats_routes(),
                    node_routes(), openapi_routes(), workflow_routes(), admin_routes()}) {
    routes.insert(routes.end(), part.begin(), part.end());
  }
  return routes;
}

}  // namespace errand::api
