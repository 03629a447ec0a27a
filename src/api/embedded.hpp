// Files compiled into the binary: the dashboard's HTML, scripts, styles and
// chart library, generated at build time from web/ by
// cmake/embed_assets.cmake. Immutable: thread-safe.
#pragma once

#include <span>
#include <string_view>

namespace errand::api {

struct EmbeddedAsset {
  std::string_view name;   // "index.html", "app.js", "uPlot.iife.min.js", ...
  std::string_view bytes;  // the file's contents
  std::string_view etag;   // a quoted digest of the contents
};

std::span<const EmbeddedAsset> dashboard_assets();

}  // namespace errand::api
