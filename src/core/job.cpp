#include "core/job.hpp"

#include <fmt/format.h>

namespace errand::core {

Result<void> validate_queue_name(std::string_view name, std::string_view field) {
  const bool ok_length = !name.empty() && name.size() <= kMaxQueueName;
  bool ok_chars = true;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-')) {
      ok_chars = false;
    }
  }
  if (ok_length && ok_chars) return {};
  return invalid(std::string(field),
                 fmt::format("{} must be 1-64 characters of a-z, 0-9, '_', '.' or '-'; got \"{}\"",
                             field, name.substr(0, 100)));
}

Result<void> validate_label(std::string_view value, std::size_t limit, std::string_view field) {
  bool ok = !value.empty() && value.size() <= limit;
  for (char c : value) {
    if (c <= ' ' || c == 0x7f) ok = false;
  }
  if (ok) return {};
  return invalid(std::string(field),
                 fmt::format("{} must be 1-{} printable characters without spaces", field, limit));
}

std::string utf8_clip(std::string_view text, std::size_t limit, bool keep_tail) {
  if (text.size() <= limit) return std::string(text);
  const auto continuation = [](char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; };
  if (keep_tail) {
    std::size_t from = text.size() - limit;
    while (from < text.size() && continuation(text[from])) ++from;
    return std::string(text.substr(from));
  }
  std::size_t end = limit;
  while (end > 0 && continuation(text[end])) --end;
  return std::string(text.substr(0, end));
}

}  // namespace errand::core
