// CORS: which browser origins may read the API's answers (`errand server
// --cors-origin`), the headers that say so, and preflight answers. A page on
// an allowed origin can then read a job's status and events with its token.
// Origins not listed get no CORS headers at all. Thread-safe: the origins may
// be replaced (a configuration reload) while requests read them.
#pragma once

#include "api/http_types.hpp"
#include "core/error.hpp"
#include "core/shared_value.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace errand::api {

class CorsPolicy {
 public:
  // "https://app.example.com" (scheme, host, optional port), or "*" for any.
  explicit CorsPolicy(std::vector<std::string> origins = {});

  bool allows(std::string_view origin) const;
  bool empty() const { return origins_.load()->empty(); }
  std::size_t size() const { return origins_.load()->size(); }
  void set_origins(std::vector<std::string> origins);

 private:
  core::SharedValue<std::vector<std::string>> origins_;
};

// Checks an --cors-origin value. Errors: invalid_argument naming `field`.
core::Result<void> validate_cors_origin(std::string_view origin, std::string_view field);

// Adds Access-Control-Allow-Origin (echoing the request's Origin) and
// Vary: Origin when the origin is allowed; nothing otherwise.
void add_cors_headers(const CorsPolicy& policy, const Request& request, Response& response);

// The answer to an OPTIONS request on a path whose routes take `methods`
// (empty: no such path, 404): 204 with Allow, plus the CORS preflight headers
// when the origin is allowed.
Response preflight(const CorsPolicy& policy, const Request& request,
                   const std::vector<std::string_view>& methods);

}  // namespace errand::api
