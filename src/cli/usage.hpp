// What the `errand` CLI tells a person who typed something it cannot use:
// the closest command to a misspelt one, and where a JSON argument stops
// being JSON. Pure functions of their arguments; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace errand::cli {

// The choice closest to `word` (at most two edits away, or one it starts or
// ends), or empty when none is close. "enqueu" -> "enqueue".
std::string closest_word(std::string_view word, const std::vector<std::string>& choices);

// Empty when `text` is one JSON value; else where and why it is not, e.g.
// "not valid JSON at line 1, column 8 (syntax error)".
std::string json_syntax_error(std::string_view text);

}  // namespace errand::cli
