#include "api/request_head.hpp"

#include "core/id.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <cctype>

namespace errand::api {
namespace http = boost::beast::http;

std::string request_id_of(const BeastRequest& req) {
  const auto given = req["X-Request-Id"];
  const bool sane =
      !given.empty() && given.size() <= 128 && std::all_of(given.begin(), given.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
               c == ':';
      });
  return sane ? std::string(given) : core::random_hex(8);
}

core::Result<Request> to_request(const BeastRequest& req, const std::string& remote,
                                 bool loopback) {
  Request out;
  out.method = std::string(req.method_string());
  auto url = boost::urls::parse_origin_form(req.target());
  if (!url) return core::invalid("target", "the request target is not a valid URL path");
  out.path = std::string(url->path());
  out.raw_path = std::string(url->encoded_path());
  for (auto param : url->params()) out.query[std::string(param.key)] = std::string(param.value);
  out.authorization = std::string(req[http::field::authorization]);
  out.origin = std::string(req[http::field::origin]);
  out.last_event_id = std::string(req["Last-Event-ID"]);
  out.host = std::string(req[http::field::host]);
  out.cookie = std::string(req[http::field::cookie]);
  out.csrf_token = std::string(req["X-CSRF-Token"]);
  out.if_none_match = std::string(req[http::field::if_none_match]);
  out.traceparent = std::string(req["traceparent"]);
  out.tracestate = std::string(req["tracestate"]);
  out.remote_address = remote;
  out.loopback = loopback;
  return out;
}

}  // namespace errand::api
