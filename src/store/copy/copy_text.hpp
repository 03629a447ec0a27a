// PostgreSQL's COPY text format, for `errand copy`: one row is its fields
// separated by tabs and ended by a newline; NULL is `\N`; a backslash, tab,
// newline or carriage return inside a text field is escaped with a
// backslash. Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace errand::store::copy {

// Appends `text` to `row`, escaped for COPY's text format.
void append_copy_text(std::string& row, std::string_view text);
// Appends the decimal form of `value`.
void append_copy_integer(std::string& row, std::int64_t value);
// Appends COPY's NULL marker.
inline void append_copy_null(std::string& row) {
  row += "\\N";
}

}  // namespace errand::store::copy
