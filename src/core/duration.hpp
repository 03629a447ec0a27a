// Durations as the API writes them: "250ms", "10s", "5m", "2h", "1d", and
// compounds such as "1h30m". Pure functions, thread-safe.
#pragma once

#include "core/time.hpp"

#include <string>
#include <string_view>

namespace errand::core {

// Parses a non-negative duration. Units: ms, s, m, h, d; at least one
// number-unit pair, integers only. `field` names the request field in errors,
// e.g. `delay must be a duration such as "10s" or "5m", got "-1s"`.
Result<Millis> parse_duration(std::string_view text, std::string_view field = "duration");

// The shortest exact form: 1500ms -> "1500ms", 90000ms -> "90s", 3600000 -> "1h".
std::string format_duration(Millis d);

}  // namespace errand::core
