// A request's head as Beast parsed it, read into the API's Request
// (api/http_types.hpp): the pure half of the server's request handling,
// apart from server.cpp so that it is tested and fuzzed without sockets
// (fuzz/fuzz_http_request.cpp). Functions of their arguments: thread-safe.
#pragma once

#include "api/http_types.hpp"
#include "core/error.hpp"

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <string>

namespace errand::api {

using BeastRequest = boost::beast::http::request<boost::beast::http::string_body>;

// The request's method, path (decoded, and as sent), query parameters (the
// last of a name wins) and the headers handlers read; the body is left to
// the caller (it is read once the head is admitted). Errors:
// invalid_argument (field target) when the target is not a URL path with an
// optional query (origin-form).
core::Result<Request> to_request(const BeastRequest& req, const std::string& remote, bool loopback);

// The request's X-Request-Id when it is a sane one (1-128 characters of
// letters, digits and -_.:), else a new one (16 hex digits): echoed in the
// answer and written in the request line, so a proxy's or an app's id
// follows the request.
std::string request_id_of(const BeastRequest& req);

}  // namespace errand::api
