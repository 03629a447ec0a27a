#include "api/cors.hpp"

#include "api/errors.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace errand::api {

CorsPolicy::CorsPolicy(std::vector<std::string> origins) {
  set_origins(std::move(origins));
}

void CorsPolicy::set_origins(std::vector<std::string> origins) {
  origins_.store(std::make_shared<const std::vector<std::string>>(std::move(origins)));
}

bool CorsPolicy::allows(std::string_view origin) const {
  if (origin.empty()) return false;
  const auto origins = origins_.load();
  return std::any_of(origins->begin(), origins->end(),
                     [&](const std::string& o) { return o == "*" || o == origin; });
}

core::Result<void> validate_cors_origin(std::string_view origin, std::string_view field) {
  if (origin == "*") return {};
  const auto scheme_end = origin.find("://");
  const auto scheme = origin.substr(0, scheme_end == std::string_view::npos ? 0 : scheme_end);
  const auto rest =
      scheme_end == std::string_view::npos ? std::string_view{} : origin.substr(scheme_end + 3);
  const bool ok = (scheme == "http" || scheme == "https") && !rest.empty() &&
                  rest.find_first_of("/?#@ ") == std::string_view::npos;
  if (ok) return {};
  return core::invalid(std::string(field),
                       fmt::format("{} must be an origin like https://app.example.com "
                                   "(scheme, host, optional port; no path) or *; got \"{}\"",
                                   field, origin));
}

void add_cors_headers(const CorsPolicy& policy, const Request& request, Response& response) {
  if (policy.empty()) return;
  // The answer differs by Origin whenever CORS is on: caches must key on it.
  response.headers.emplace_back("Vary", "Origin");
  if (!policy.allows(request.origin)) return;
  response.headers.emplace_back("Access-Control-Allow-Origin", request.origin);
}

Response preflight(const CorsPolicy& policy, const Request& request,
                   const std::vector<std::string_view>& methods) {
  if (methods.empty()) {
    return error_response(
        core::make_error(core::errc::not_found, fmt::format("no such endpoint: {}", request.path)));
  }
  std::string allow = fmt::format("{}, OPTIONS", fmt::join(methods, ", "));
  Response r{.status = 204, .content_type = "text/plain"};
  r.headers.emplace_back("Allow", allow);
  if (policy.allows(request.origin)) {
    r.headers.emplace_back("Access-Control-Allow-Methods", allow);
    r.headers.emplace_back("Access-Control-Allow-Headers",
                           "Authorization, Content-Type, Last-Event-ID");
    r.headers.emplace_back("Access-Control-Max-Age", "600");
  }
  return r;
}

}  // namespace errand::api
