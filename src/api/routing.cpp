// The router's pure half (declared in api/router.hpp): which route a request
// takes, and the Host and Origin checks of its head. Apart from router.cpp,
// which runs handlers and reads sessions, so that it is fuzzed without an
// engine (fuzz/fuzz_http_request.cpp).
#include "api/router.hpp"

#include <fmt/format.h>
#include <boost/url/decode_view.hpp>
#include <boost/url/pct_string_view.hpp>

#include <algorithm>

namespace errand::api {
namespace {

// A path segment, percent-decoded.
std::string decoded(std::string_view segment) {
  if (segment.find('%') == std::string_view::npos) return std::string(segment);
  auto encoded = boost::urls::make_pct_string_view(segment);
  if (!encoded) return std::string(segment);  // the target parsed: not reached
  const auto view = **encoded;
  return std::string(view.begin(), view.end());
}

// The path routes match: as sent, segment by segment.
std::string_view routed_path(const Request& request) {
  return request.raw_path.empty() ? std::string_view(request.path)
                                  : std::string_view(request.raw_path);
}

// Matches "/v1/jobs/:id" against a path (as sent); fills captures, decoded,
// on success.
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
      captures.push_back(decoded(sseg));
    } else if (pseg != sseg) {
      return false;
    }
    pattern = pe == std::string_view::npos ? std::string_view{} : pattern.substr(pe);
    path = se == std::string_view::npos ? std::string_view{} : path.substr(se);
  }
  return true;
}

}  // namespace

std::vector<std::string_view> route_methods(std::span<const Route> routes, const Request& request) {
  const auto path = routed_path(request);
  std::vector<std::string_view> methods;
  std::vector<std::string> captures;
  for (const bool literal : {true, false}) {
    for (const auto& route : routes) {
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

core::Result<RouteMatch> find_route(std::span<const Route> routes, const Request& request) {
  RouteMatch m;
  bool path_known = false;
  // Literal patterns win over ones with captures: "/v1/jobs/batch" is never job "batch".
  for (const bool literal : {true, false}) {
    for (const auto& route : routes) {
      if ((route.pattern.find(':') == std::string_view::npos) != literal) continue;
      if (!match(route.pattern, routed_path(request), m.captures)) continue;
      path_known = true;
      if (route.method == request.method || (request.method == "HEAD" && route.method == "GET")) {
        m.route = &route;
        return m;
      }
    }
    if (path_known) break;
  }
  if (path_known) {
    return core::make_error(core::errc::method_not_allowed,
                            fmt::format("{} is not allowed on {}", request.method, request.path));
  }
  return core::make_error(core::errc::not_found, fmt::format("no such endpoint: {}", request.path));
}

bool is_safe_method(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS";
}

core::Result<void> check_host(const Request& request, bool has_keys, const HostPolicy& hosts) {
  if (has_keys || hosts.allows(request.host)) return {};
  return core::make_error(
      core::errc::forbidden,
      fmt::format("this server has no API keys and answers only requests addressed to it by IP "
                  "address, localhost or an --allowed-host name, not to \"{}\" (a page on "
                  "another site may be reaching it through DNS rebinding); start it with "
                  "--allowed-host NAME to use that name",
                  request.host.substr(0, 100)),
      "host");
}

core::Result<void> check_origin(const Request& request, bool has_keys, const CorsPolicy& cors) {
  if (has_keys || is_safe_method(request.method) || request.origin.empty()) return {};
  if (request.origin == "http://" + request.host || request.origin == "https://" + request.host ||
      cors.allows(request.origin)) {
    return {};
  }
  return core::make_error(
      core::errc::forbidden,
      fmt::format("a change from a page on {} is refused: this server has no API keys and takes "
                  "changes only from its own pages and --cors-origin origins",
                  request.origin.substr(0, 100)),
      "origin");
}

}  // namespace errand::api
