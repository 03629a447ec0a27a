// Raw bytes as the server reads them from a connection (api/server.cpp's
// serve()), without sockets or an engine: Beast's request parser with the
// server's limits, request after request from one buffer (keep-alive,
// pipelined); each head read into a Request (api/request_head), routed
// (api/routing: the path as sent, ":name" captures, 404 and 405, OPTIONS'
// Allow), its Host and Origin checked as a server without keys checks them,
// its CORS headers and session cookie read, and GET /v1/jobs's query parsed
// (api/job_bodies). The route table is the OpenAPI document's, which
// api_openapi_test holds equal to the server's. A refused request ends the
// connection, as it does in the server. Nothing crashes, and nothing read
// from the request reaches an answer's header with a line break in it.
#include "api/cors.hpp"
#include "api/errors.hpp"
#include "api/job_bodies.hpp"
#include "api/openapi.hpp"
#include "api/request_head.hpp"
#include "api/router.hpp"
#include "api/server.hpp"
#include "api/session.hpp"

#include <boost/beast/http/parser.hpp>
#include <boost/json/parse.hpp>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <string>
#include <string_view>

namespace {

using namespace errand;
namespace http = boost::beast::http;
using Parser = http::request_parser<http::string_body>;

void expect(bool held) {
  if (!held) std::abort();
}

// The server's routes, as the OpenAPI document lists them ("/v1/jobs/{id}"
// is the route "/v1/jobs/:id"). Handlers are never called here.
std::vector<api::Route> routes_of_document() {
  static std::deque<std::string> text;  // what the routes' views point into
  std::vector<api::Route> routes;
  const auto doc = boost::json::parse(api::openapi_document());
  for (const auto& [path, item] : doc.at("paths").as_object()) {
    auto& pattern = text.emplace_back();
    for (char c : std::string_view(path)) {
      if (c == '{') {
        pattern += ':';
      } else if (c != '}') {
        pattern += c;
      }
    }
    for (const auto& [method, op] : item.as_object()) {
      if (method == "parameters" || method == "summary" || method == "description") continue;
      auto& verb = text.emplace_back(method);
      for (auto& c : verb) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      const auto* security = op.as_object().if_contains("security");
      const bool open = security && security->as_array().empty();
      routes.push_back({verb, pattern, open ? api::Access::open : api::Access::admin, nullptr});
    }
  }
  return routes;
}

// Feeds the connection's bytes to the parser until `done`, as Beast's reads
// do; the end of `in` is the client closing. Returns the bytes consumed.
template <class Done>
std::size_t feed(Parser& parser, std::string_view in, boost::beast::error_code& ec, Done done) {
  std::size_t used = 0;
  while (!done()) {
    const auto n = parser.put(boost::asio::buffer(in.data() + used, in.size() - used), ec);
    used += n;
    if (ec == http::error::need_more) ec = {};
    if (ec) return used;
    if (n == 0) {
      if (parser.got_some()) {
        parser.put_eof(ec);
      } else {
        ec = http::error::end_of_stream;
      }
      return used;
    }
  }
  return used;
}

void expect_plain_headers(const api::Response& r) {
  for (const auto& [name, value] : r.headers) {
    expect(value.find_first_of("\r\n") == std::string::npos);
  }
}

// What the router decides from the head alone; false: refused.
bool admit(const api::Request& request, std::span<const api::Route> routes) {
  static const api::HostPolicy hosts{.allowed = {"errand.internal"}};
  static const api::CorsPolicy cors({"https://app.example.com"});
  if (request.method == "OPTIONS") {
    if (!api::check_host(request, false, hosts)) return false;
    auto answer = api::preflight(cors, request, api::route_methods(routes, request));
    api::add_cors_headers(cors, request, answer);
    expect_plain_headers(answer);
    return true;  // answered after its body, 404 or not
  }
  auto match = api::find_route(routes, request);
  if (!match) {
    auto answer = api::error_response(match.error());
    api::add_cors_headers(cors, request, answer);
    expect_plain_headers(answer);
    return false;
  }
  const auto& route = *match->route;
  expect(route.method == request.method || (request.method == "HEAD" && route.method == "GET"));
  expect(match->captures.size() ==
         static_cast<std::size_t>(std::count(route.pattern.begin(), route.pattern.end(), ':')));
  for (const auto& c : match->captures) expect(!c.empty());
  if (!api::check_host(request, false, hosts)) return false;
  if (route.access != api::Access::open) {
    const auto id = api::cookie_value(request.cookie, api::kSessionCookie);
    expect(id.find(';') == std::string_view::npos);
    (void)api::is_session_id(id);
  }
  return bool(api::check_origin(request, false, cors));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto routes = routes_of_document();
  static const api::ServerOptions options;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  while (!rest.empty()) {
    Parser parser;
    parser.header_limit(static_cast<std::uint32_t>(options.max_header));
    parser.body_limit(boost::none);
    boost::beast::error_code ec;
    rest.remove_prefix(feed(parser, rest, ec, [&] { return parser.is_header_done(); }));
    if (ec) return 0;  // 431, 400, or the client left
    auto& req = parser.get();
    const auto id = api::request_id_of(req);
    expect(!id.empty() && id.size() <= 128);
    auto request = api::to_request(req, "127.0.0.1", true);
    if (!request) return 0;
    if (!admit(*request, routes)) return 0;
    if (parser.content_length() && *parser.content_length() > options.max_body) return 0;
    parser.body_limit(options.max_body);
    rest.remove_prefix(feed(parser, rest, ec, [&] { return parser.is_done(); }));
    if (ec) return 0;
    request->body = std::move(req.body());
    if (request->method == "GET" && request->path == "/v1/jobs") (void)api::parse_list(*request);
    if (!req.keep_alive()) return 0;
  }
  return 0;
}
