// Static assets compiled into the binary: GET /v1/errand.js.
#include "api/router.hpp"

namespace errand::api {

std::string_view errand_js_source();  // generated from web/errand.js

namespace {

boost::asio::awaitable<Response> errand_js(Context&) {
  Response r{.status = 200,
             .body = std::string(errand_js_source()),
             .content_type = "application/javascript; charset=utf-8"};
  r.headers.emplace_back("Cache-Control", "public, max-age=3600");
  co_return r;
}

}  // namespace

std::vector<Route> asset_routes() {
  return {{"GET", "/v1/errand.js", Access::open, errand_js}};
}

}  // namespace errand::api
