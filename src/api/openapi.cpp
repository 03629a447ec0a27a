// GET /v1/openapi.json: the API's OpenAPI document, for code generators,
// API explorers and assistants. Open like /v1/errand.js: it describes the
// API, and holds no data.
#include "api/openapi.hpp"

#include "api/router.hpp"

namespace errand::api {
namespace {

boost::asio::awaitable<Response> openapi_json(Context&) {
  Response r{.status = 200, .body = std::string(openapi_document())};
  r.headers.emplace_back("Cache-Control", "public, max-age=3600");
  co_return r;
}

}  // namespace

std::vector<Route> openapi_routes() {
  return {{"GET", "/v1/openapi.json", Access::open, openapi_json}};
}

}  // namespace errand::api
