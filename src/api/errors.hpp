// Error -> HTTP: the one place where an errc becomes a status code and the
// body {"error":{"code","message","field"}} (core/error_json.hpp).
#pragma once

#include "api/http_types.hpp"
#include "core/error.hpp"

namespace errand::api {

int http_status(core::errc code) noexcept;
Response error_response(const core::Error& error);

// A JSON response with the given status.
Response json_response(int status, std::string body);

}  // namespace errand::api
