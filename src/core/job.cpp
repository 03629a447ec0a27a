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

Result<void> validate_job_key(std::string_view key, std::string_view field) {
  std::size_t characters = 0;
  bool ok = !key.empty();
  for (std::size_t i = 0; ok && i < key.size(); ++characters) {
    const auto lead = static_cast<unsigned char>(key[i]);
    const std::size_t len = lead < 0x80           ? 1
                            : (lead >> 5) == 0x6  ? 2
                            : (lead >> 4) == 0xE  ? 3
                            : (lead >> 3) == 0x1E ? 4
                                                  : 0;
    if (len == 0 || i + len > key.size()) ok = false;
    for (std::size_t k = 1; ok && k < len; ++k) {
      if ((static_cast<unsigned char>(key[i + k]) & 0xC0) != 0x80) ok = false;
    }
    // C0 controls, DEL, and C1 controls (U+0080..U+009F: 0xC2 0x80..0x9F)
    if (ok && (lead < 0x20 || lead == 0x7f)) ok = false;
    if (ok && lead == 0xC2 && static_cast<unsigned char>(key[i + 1]) < 0xA0) ok = false;
    i += len;
  }
  if (ok && characters <= kMaxJobKey) return {};
  return invalid(std::string(field),
                 fmt::format("{} must be 1-{} characters of UTF-8 without control characters",
                             field, kMaxJobKey));
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

namespace errand::core {

std::string_view to_string(SignalStatus s) noexcept {
  switch (s) {
    case SignalStatus::none:
      return "none";
    case SignalStatus::waiting:
      return "waiting";
    case SignalStatus::received:
      return "received";
    case SignalStatus::timed_out:
      return "timed_out";
  }
  return "none";
}

}  // namespace errand::core
