// Durations (core/duration.hpp) and RFC 3339 times (core/time.hpp): what
// parses formats back to text that parses to the same value.
#include "core/duration.hpp"
#include "core/time.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto d = errand::core::parse_duration(text, "duration")) {
    auto again = errand::core::parse_duration(errand::core::format_duration(*d), "duration");
    if (!again || *again != *d) std::abort();
  }
  if (auto t = errand::core::parse_rfc3339(text, "time")) {
    auto again = errand::core::parse_rfc3339(errand::core::format_rfc3339(*t), "time");
    if (!again || *again != *t) std::abort();
  }
  return 0;
}
