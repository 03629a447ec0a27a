#include "core/trace.hpp"

#include "core/id.hpp"

#include <fmt/format.h>

namespace errand::core {
namespace {

bool lower_hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool all_zero(std::string_view s) {
  return s.find_first_not_of('0') == std::string_view::npos;
}

std::string nonzero_hex(std::size_t bytes) {
  for (;;) {
    std::string id = random_hex(bytes);
    if (!all_zero(id)) return id;
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<std::string> parse_traceparent(std::string_view text) {
  text = trim(text);
  if (text.size() < kTraceparentLength) return std::nullopt;
  const std::string_view version = text.substr(0, 2);
  if (!lower_hex(version) || version == "ff") return std::nullopt;
  // Version 00 is exactly 55 characters; a later one may go on after a '-'.
  if (version == "00" ? text.size() != kTraceparentLength
                      : text.size() > kTraceparentLength && text[kTraceparentLength] != '-') {
    return std::nullopt;
  }
  text = text.substr(0, kTraceparentLength);
  if (text[2] != '-' || text[35] != '-' || text[52] != '-') return std::nullopt;
  const std::string_view trace_id = text.substr(3, 32);
  const std::string_view parent_id = text.substr(36, 16);
  const std::string_view flags = text.substr(53, 2);
  if (!lower_hex(trace_id) || !lower_hex(parent_id) || !lower_hex(flags)) return std::nullopt;
  if (all_zero(trace_id) || all_zero(parent_id)) return std::nullopt;
  return std::string(text);
}

std::optional<std::string> parse_tracestate(std::string_view text) {
  for (char c : text) {
    if (c < 0x20 || c > 0x7e) return std::nullopt;
  }
  text = trim(text);
  if (text.size() <= kMaxTracestate) return std::string(text);
  // Keep whole list-members: cut at the last comma that leaves at most
  // kMaxTracestate characters.
  const std::size_t cut = text.substr(0, kMaxTracestate + 1).rfind(',');
  if (cut == std::string_view::npos) return std::string();
  return std::string(trim(text.substr(0, cut)));
}

std::string_view trace_id_of(std::string_view traceparent) {
  return traceparent.size() >= kTraceparentLength ? traceparent.substr(3, 32) : std::string_view();
}

std::string_view parent_id_of(std::string_view traceparent) {
  return traceparent.size() >= kTraceparentLength ? traceparent.substr(36, 16) : std::string_view();
}

TraceContext trace_from_headers(std::string_view traceparent, std::string_view tracestate) {
  TraceContext t;
  auto parent = parse_traceparent(traceparent);
  if (!parent) return t;
  t.traceparent = std::move(*parent);
  if (auto state = parse_tracestate(tracestate)) t.tracestate = std::move(*state);
  return t;
}

Result<TraceContext> trace_from_fields(std::optional<std::string_view> traceparent,
                                       std::optional<std::string_view> tracestate,
                                       std::string_view traceparent_field,
                                       std::string_view tracestate_field) {
  TraceContext t;
  if (traceparent) {
    auto parent = parse_traceparent(*traceparent);
    if (!parent) {
      return invalid(std::string(traceparent_field),
                     fmt::format("{} must be a W3C trace context traceparent: 00-<32 lowercase "
                                 "hex trace-id>-<16 lowercase hex parent-id>-<2 hex flags>, "
                                 "neither id all zeros",
                                 traceparent_field));
    }
    t.traceparent = std::move(*parent);
  }
  if (tracestate) {
    if (!traceparent) {
      return invalid(std::string(tracestate_field),
                     fmt::format("{} needs a traceparent beside it", tracestate_field));
    }
    auto state = parse_tracestate(*tracestate);
    if (!state) {
      return invalid(std::string(tracestate_field),
                     fmt::format("{} must be printable ASCII", tracestate_field));
    }
    t.tracestate = std::move(*state);
  }
  return t;
}

std::string new_trace_id() {
  return nonzero_hex(16);
}
std::string new_span_id() {
  return nonzero_hex(8);
}

}  // namespace errand::core
