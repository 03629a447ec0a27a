// How `errand server` writes its log: text for a person at a terminal, or
// one JSON object per line for a log collector (--log-format json). A JSON
// line is {"ts": RFC 3339 with milliseconds, "level", "msg", …}; a message
// that is itself a JSON object (a request line, api/server.cpp) has its
// members merged in after "ts" and "level". Messages carry no secrets,
// tokens, payloads or results: the callers see to that.
#pragma once

#include "core/error.hpp"

#include <string_view>

namespace errand::cli {

enum class LogFormat { text, json };

// "text", "json" or "auto" (text when the log goes to a terminal, else JSON).
core::Result<LogFormat> parse_log_format(std::string_view text, bool terminal);

// Makes the default logger write `format` to stdout.
void use_log_format(LogFormat format);

}  // namespace errand::cli
