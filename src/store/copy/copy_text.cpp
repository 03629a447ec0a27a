#include "store/copy/copy_text.hpp"

#include <charconv>

namespace errand::store::copy {

void append_copy_text(std::string& row, std::string_view text) {
  // Most values (ids, names, JSON without escapes) have nothing to escape:
  // append them in one piece.
  std::size_t from = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const char* escaped = c == '\\'   ? "\\\\"
                          : c == '\t' ? "\\t"
                          : c == '\n' ? "\\n"
                          : c == '\r' ? "\\r"
                                      : nullptr;
    if (!escaped) continue;
    row.append(text.substr(from, i - from));
    row += escaped;
    from = i + 1;
  }
  row.append(text.substr(from));
}

void append_copy_integer(std::string& row, std::int64_t value) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  row.append(digits, end);
}

}  // namespace errand::store::copy
