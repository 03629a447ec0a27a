#include "api/router.hpp"

#include "api/errors.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace errand::api {
namespace {

// Matches "/v1/jobs/:id" against a path; fills captures on success.
bool match(std::string_view pattern, std::string_view path, std::vector<std::string>& captures) {
  captures.clear();
  while (!pattern.empty() || !path.empty()) {
    if (pattern.empty() || path.empty() || pattern[0] != '/' || path[0] != '/') return false;
    pattern.remove_prefix(1);
    path.remove_prefix(1);
    const auto pe = pattern.find('/');
    const auto se = path.find('/');
    const auto pseg = pattern.substr(0, pe);
    const auto sseg = path.substr(0, se);
    if (!pseg.empty() && pseg[0] == ':') {
      if (sseg.empty()) return false;
      captures.emplace_back(sseg);
    } else if (pseg != sseg) {
      return false;
    }
    pattern = pe == std::string_view::npos ? std::string_view{} : pattern.substr(pe);
    path = se == std::string_view::npos ? std::string_view{} : path.substr(se);
  }
  return true;
}

}  // namespace

Router::Router(std::vector<Route> routes) : routes_(std::move(routes)) {}

boost::asio::awaitable<Response> Router::dispatch(const Request& request,
                                                  Services& services) const {
  // Not a conditional expression: GCC 12 mis-destroys a co_await inside one.
  Response response;
  if (request.method == "OPTIONS") {
    response = preflight(services.cors, request, methods_for(request.path));
  } else {
    response = co_await route(request, services);
  }
  add_cors_headers(services.cors, request, response);
  co_return response;
}

std::vector<std::string_view> Router::methods_for(std::string_view path) const {
  std::vector<std::string_view> methods;
  std::vector<std::string> captures;
  for (const bool literal : {true, false}) {
    for (const auto& route : routes_) {
      if ((route.pattern.find(':') == std::string_view::npos) != literal) continue;
      if (!match(route.pattern, path, captures)) continue;
      if (std::find(methods.begin(), methods.end(), route.method) == methods.end()) {
        methods.push_back(route.method);
      }
    }
    if (!methods.empty()) break;
  }
  if (std::find(methods.begin(), methods.end(), "GET") != methods.end()) methods.push_back("HEAD");
  return methods;
}

boost::asio::awaitable<Response> Router::route(const Request& request, Services& services) const {
  std::vector<std::string> captures;
  const Route* found = nullptr;
  bool path_known = false;
  // Literal patterns win over ones with captures: "/v1/jobs/batch" is never job "batch".
  for (const bool literal : {true, false}) {
    for (const auto& route : routes_) {
      if ((route.pattern.find(':') == std::string_view::npos) != literal) continue;
      if (!match(route.pattern, request.path, captures)) continue;
      path_known = true;
      if (route.method == request.method || (request.method == "HEAD" && route.method == "GET")) {
        found = &route;
        break;
      }
    }
    if (path_known) break;
  }
  if (!found) {
    if (path_known) {
      co_return error_response(
          core::make_error(core::errc::method_not_allowed,
                           fmt::format("{} is not allowed on {}", request.method, request.path)));
    }
    co_return error_response(
        core::make_error(core::errc::not_found, fmt::format("no such endpoint: {}", request.path)));
  }
  const std::string_view job_id = captures.empty() ? std::string_view{} : captures[0];
  const auto now = services.engine.clock().now();
  auto grant = found->access == Access::open ? std::nullopt : session_grant(request, services, now);
  if (!grant) grant = services.auth.check(request, found->access, job_id, now);
  if (!*grant) co_return error_response(grant->error());
  if (auto same_site = check_origin(request, services); !same_site) {
    co_return error_response(same_site.error());
  }
  Context context{request, std::move(captures), services, **grant};
  try {
    co_return co_await found->handler(context);
  } catch (const std::exception& e) {
    spdlog::error("{} {} failed: {}", request.method, request.path, e.what());
  }
  co_return error_response(
      core::make_error(core::errc::internal, "internal error; the server log has details"));
}

std::vector<Route> all_routes() {
  std::vector<Route> routes;
  for (auto part : {job_routes(), worker_routes(), queue_routes(), schedule_routes(),
                    event_routes(), asset_routes(), dashboard_routes(), stats_routes()}) {
    routes.insert(routes.end(), part.begin(), part.end());
  }
  return routes;
}

}  // namespace errand::api
