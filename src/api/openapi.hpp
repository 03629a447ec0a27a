// The OpenAPI 3.1 document of API v1 (docs/openapi.yaml), converted to JSON
// at build time by cmake/openapi_json.py and compiled into the binary; served
// as GET /v1/openapi.json. Immutable: thread-safe.
#pragma once

#include <string_view>

namespace errand::api {

// The document's JSON text.
std::string_view openapi_document();

}  // namespace errand::api
