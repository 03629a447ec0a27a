#include "core/duration.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cstdint>
#include <limits>

namespace errand::core {

Result<Millis> parse_duration(std::string_view s, std::string_view field) {
  auto bad = [&](std::string_view why) {
    return invalid(
        std::string(field),
        fmt::format("{} must be a duration such as \"250ms\", \"10s\", \"5m\", \"2h\" or "
                    "\"1d\", got \"{}\"{}",
                    field, s, why));
  };
  if (s.empty()) return bad("");
  if (s.front() == '-') return bad(" (durations cannot be negative)");
  constexpr std::int64_t kMax = std::int64_t{100} * 365 * 86'400'000;  // a century
  std::int64_t total = 0;
  std::size_t pos = 0;
  while (pos < s.size()) {
    std::int64_t n = 0;
    std::size_t digits = 0;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      if (n > kMax) return bad(" (too large)");
      n = n * 10 + (s[pos++] - '0');
      ++digits;
    }
    if (digits == 0) return bad("");
    std::int64_t unit = 0;
    if (s.substr(pos, 2) == "ms") {
      unit = 1, pos += 2;
    } else if (pos < s.size()) {
      switch (s[pos]) {
        case 's':
          unit = 1000;
          break;
        case 'm':
          unit = 60'000;
          break;
        case 'h':
          unit = 3'600'000;
          break;
        case 'd':
          unit = 86'400'000;
          break;
        default:
          return bad(" (unknown unit)");
      }
      ++pos;
    } else {
      return bad(" (missing unit)");
    }
    if (n > kMax / unit) return bad(" (too large)");
    total += n * unit;
    if (total > kMax) return bad(" (too large)");
  }
  return Millis{total};
}

std::string format_duration(Millis d) {
  const auto ms = d.count();
  if (ms == 0) return "0s";
  if (ms % 86'400'000 == 0) return fmt::format("{}d", ms / 86'400'000);
  if (ms % 3'600'000 == 0) return fmt::format("{}h", ms / 3'600'000);
  if (ms % 60'000 == 0) return fmt::format("{}m", ms / 60'000);
  if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  return fmt::format("{}ms", ms);
}

}  // namespace errand::core
