// Cron expressions (core/cron.hpp): parse, and when they parse, the next
// fire times in UTC and in a zone with daylight-saving changes — never a
// crash, a hang or a time that does not move forward.
#include "core/cron.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto cron = errand::core::parse_cron(text);
  if (!cron) return 0;
  static const auto berlin = errand::core::find_time_zone("Europe/Berlin");
  const auto start = errand::core::TimePoint{std::chrono::milliseconds{1'774'746'000'000}};
  for (const auto& zone : {errand::core::TimeZone{}, berlin ? *berlin : errand::core::TimeZone{}}) {
    auto at = start;
    for (const auto next : errand::core::cron_next_n(*cron, zone, at, 3)) {
      if (next <= at) std::abort();  // fire times move forward
      at = next;
    }
  }
  return 0;
}
