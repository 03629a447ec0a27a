// What `errand --version` says: the version of this binary and the git
// commit it was built from, captured at build time (cmake/version.cmake).
// Constants: thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace errand::cli {

std::string_view version();  // "0.1.0"
// "1a2b3c4d5e6f" (12 hex digits), with "-dirty" when tracked files had
// changes; "unknown" for a build outside git.
std::string_view commit();

// "errand 0.1.0 (commit 1a2b3c4d5e6f)".
inline std::string version_text() {
  return "errand " + std::string(version()) + " (commit " + std::string(commit()) + ")";
}

}  // namespace errand::cli
