#include "api/errors.hpp"

#include "core/error_json.hpp"

namespace errand::api {

int http_status(core::errc code) noexcept {
  switch (code) {
    case core::errc::ok:
      return 200;
    case core::errc::invalid_argument:
      return 400;
    case core::errc::unauthorized:
      return 401;
    case core::errc::forbidden:
      return 403;
    case core::errc::not_found:
      return 404;
    case core::errc::method_not_allowed:
      return 405;
    case core::errc::conflict:
      return 409;
    case core::errc::payload_too_large:
      return 413;
    case core::errc::too_many_requests:
      return 429;
    case core::errc::unavailable:
      return 503;
    case core::errc::internal:
      return 500;
  }
  return 500;
}

Response error_response(const core::Error& error) {
  Response r = json_response(http_status(error.code), core::error_body_json(error));
  if (error.code == core::errc::unauthorized) r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

Response json_response(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace errand::api
