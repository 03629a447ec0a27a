// The OpenAPI document against the server's own route table: every route has
// an operation with the same method and path, every operation a route, and
// the routes that need no key are the operations that ask for no security.
#include "api/openapi.hpp"
#include "api/router.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <cctype>
#include <map>
#include <set>
#include <string>

namespace errand::api {
namespace {

namespace json = boost::json;

// "/v1/jobs/:id/cancel" -> "/v1/jobs/{id}/cancel", as OpenAPI writes paths.
std::string openapi_path(std::string_view pattern) {
  std::string out;
  bool in_capture = false;
  for (char ch : pattern) {
    if (ch == ':') {
      out += '{';
      in_capture = true;
    } else if (ch == '/' && in_capture) {
      out += "}/";
      in_capture = false;
    } else {
      out += ch;
    }
  }
  if (in_capture) out += '}';
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& ch : out) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return out;
}

const json::object& document() {
  static const json::value doc = json::parse(openapi_document());
  return doc.as_object();
}

// "GET /v1/jobs/{id}" for every operation of the document, with whether it
// asks for no security at all (`security: []`).
std::map<std::string, bool> documented_operations() {
  std::map<std::string, bool> out;
  for (const auto& [path, item] : document().at("paths").as_object()) {
    for (const auto& [method, op] : item.as_object()) {
      if (method == "parameters" || method == "summary" || method == "description") continue;
      const auto* security = op.as_object().if_contains("security");
      const bool open = security && security->as_array().empty();
      out[upper(method) + " " + std::string(path)] = open;
    }
  }
  return out;
}

TEST(OpenApi, IsOpenApi31) {
  EXPECT_EQ(document().at("openapi").as_string().subview().substr(0, 4), "3.1.");
}

TEST(OpenApi, PathParameterSpellingFollowsTheRouter) {
  EXPECT_EQ(openapi_path("/v1/jobs/:id/cancel"), "/v1/jobs/{id}/cancel");
  EXPECT_EQ(openapi_path("/v1/queues/:queue"), "/v1/queues/{queue}");
  EXPECT_EQ(openapi_path("/healthz"), "/healthz");
}

TEST(OpenApi, EveryRouteIsDocumentedAndEveryOperationIsARoute) {
  const auto documented = documented_operations();
  std::set<std::string> routed;
  for (const auto& route : all_routes()) {
    routed.insert(std::string(route.method) + " " + openapi_path(route.pattern));
  }
  for (const auto& op : routed) {
    EXPECT_TRUE(documented.contains(op)) << op << " is a route that docs/openapi.yaml lacks";
  }
  for (const auto& [op, open] : documented) {
    EXPECT_TRUE(routed.contains(op))
        << op << " is in docs/openapi.yaml but the server has no such route";
  }
}

TEST(OpenApi, OpenRoutesAreTheOperationsWithoutSecurity) {
  const auto documented = documented_operations();
  for (const auto& route : all_routes()) {
    const auto op = std::string(route.method) + " " + openapi_path(route.pattern);
    const auto it = documented.find(op);
    if (it == documented.end()) continue;  // reported above
    EXPECT_EQ(it->second, route.access == Access::open)
        << op << ": the route " << (route.access == Access::open ? "needs no key" : "needs a key")
        << " but the document's security says otherwise";
  }
}

}  // namespace
}  // namespace errand::api
