// W3C Trace Context (level 1) as Errand keeps it with a job: the
// `traceparent` and `tracestate` given at enqueue, checked here, stored with
// the job, and handed on unchanged to workers, push calls, webhooks, log
// lines and exported spans. Pure functions: thread-safe.
#pragma once

#include "core/error.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace errand::core {

inline constexpr std::size_t kTraceparentLength = 55;  // "00-" 32 "-" 16 "-" 2
inline constexpr std::size_t kMaxTracestate = 512;     // characters kept

// The traceparent as kept: `vv-<trace-id>-<parent-id>-<flags>`, lowercase
// hex, neither id all zeros, version ff refused. A later version (above
// 00) is accepted when its first four fields are sane: what follows them
// is dropped. nullopt: not a valid traceparent.
std::optional<std::string> parse_traceparent(std::string_view text);

// The tracestate as kept: nullopt when it holds a character outside
// printable ASCII; else whole list-members from the start up to
// kMaxTracestate characters (W3C allows cutting members off the end).
std::optional<std::string> parse_tracestate(std::string_view text);

// The parts of a kept traceparent (empty when `traceparent` is empty).
std::string_view trace_id_of(std::string_view traceparent);
std::string_view parent_id_of(std::string_view traceparent);

// The pair from HTTP headers (W3C: a bad traceparent is ignored, and the
// tracestate with it; a bad tracestate alone is dropped).
struct TraceContext {
  std::string traceparent;
  std::string tracestate;
  bool empty() const noexcept { return traceparent.empty(); }
};
TraceContext trace_from_headers(std::string_view traceparent, std::string_view tracestate);

// The pair from explicit input (a JSON body's fields): a bad value is an
// invalid_argument error naming its field (`traceparent_field`,
// `tracestate_field`). A tracestate without a traceparent is an error too.
Result<TraceContext> trace_from_fields(std::optional<std::string_view> traceparent,
                                       std::optional<std::string_view> tracestate,
                                       std::string_view traceparent_field = "traceparent",
                                       std::string_view tracestate_field = "tracestate");

// Fresh random ids: 32 and 16 lowercase hex characters, never all zeros.
std::string new_trace_id();
std::string new_span_id();

}  // namespace errand::core
