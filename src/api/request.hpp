// Reading request bodies: core::Fields (core/fields.hpp), used by every handler.
#pragma once

#include "core/fields.hpp"

namespace errand::api {

using core::Fields;
using core::parse_object;

}  // namespace errand::api
