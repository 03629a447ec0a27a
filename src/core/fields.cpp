#include "core/fields.hpp"

#include "core/duration.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>

namespace errand::core {
namespace json = boost::json;

namespace {

// Whether d is a whole number an int64 holds (casting one it does not hold,
// such as 5e90, is undefined).
bool whole_int64(double d) {
  return d >= -0x1p63 && d < 0x1p63 && d == static_cast<double>(static_cast<std::int64_t>(d));
}

}  // namespace

// The body holds client JSON (a payload) one or two levels down.
constexpr std::size_t kMaxBodyDepth = kMaxJsonDepth + 4;

core::Result<json::object> parse_object(std::string_view body, bool allow_empty) {
  if (body.empty() && allow_empty) return json::object{};
  if (auto ok = check_json(body, "body", kMaxBodyDepth); !ok) {
    auto e = ok.error();
    e.message = "the request " + e.message;
    return e;
  }
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = kMaxBodyDepth;
  json::value v = json::parse(body, ec, {}, options);
  if (ec) {
    return invalid("body", fmt::format("the request body is not valid JSON: {}", ec.message()));
  }
  if (!v.is_object()) return invalid("body", "the request body must be a JSON object");
  return std::move(v.get_object());
}

std::string Fields::name(std::string_view key) const {
  return prefix_.empty() ? std::string(key) : fmt::format("{}.{}", prefix_, key);
}

core::Error Fields::missing(std::string_view key) const {
  return invalid(name(key), fmt::format("{} is required", name(key)));
}

core::Error Fields::wrong_type(std::string_view key, std::string_view expected) const {
  return invalid(name(key), fmt::format("{} must be {}", name(key), expected));
}

core::Result<void> Fields::only(std::initializer_list<std::string_view> allowed) const {
  for (const auto& [key, value] : object_) {
    bool known = false;
    for (auto a : allowed) known = known || a == key;
    if (!known) {
      std::string list;
      for (auto a : allowed) list += fmt::format("{}{}", list.empty() ? "" : ", ", a);
      return invalid(name(key),
                     fmt::format("unknown field {} (expected one of: {})", name(key), list));
    }
  }
  return {};
}

const json::value* Fields::raw(std::string_view key) const {
  return object_.if_contains(key);
}

core::Result<std::optional<RawJson>> Fields::json(std::string_view key) const {
  const auto* v = raw(key);
  if (!v) return std::optional<RawJson>{};
  const auto text = source_.empty() ? std::nullopt : json_member(source_, key);
  if (!text) return std::optional<RawJson>(RawJson::from_value(*v));
  auto parsed = RawJson::parse(*text, name(key));
  if (!parsed) return parsed.error();
  return std::optional<RawJson>(std::move(*parsed));
}

core::Result<std::optional<std::string>> Fields::string(std::string_view key,
                                                        std::size_t max_len) const {
  const auto* v = raw(key);
  if (!v || v->is_null()) return std::optional<std::string>{};
  if (!v->is_string()) return wrong_type(key, "a string");
  const auto& s = v->get_string();
  if (s.size() > max_len) {
    return invalid(name(key), fmt::format("{} is longer than {} characters", name(key), max_len));
  }
  return std::optional<std::string>(std::string(s));
}

core::Result<std::optional<std::int64_t>> Fields::integer(std::string_view key, std::int64_t min,
                                                          std::int64_t max) const {
  const auto* v = raw(key);
  if (!v || v->is_null()) return std::optional<std::int64_t>{};
  std::int64_t n = 0;
  if (v->is_int64()) {
    n = v->get_int64();
  } else if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(max)) {
    n = static_cast<std::int64_t>(v->get_uint64());
  } else if (v->is_double() && whole_int64(v->get_double())) {
    n = static_cast<std::int64_t>(v->get_double());
  } else {
    return wrong_type(key, fmt::format("an integer from {} to {}", min, max));
  }
  if (n < min || n > max) {
    return invalid(name(key),
                   fmt::format("{} must be from {} to {}, got {}", name(key), min, max, n));
  }
  return std::optional<std::int64_t>(n);
}

core::Result<std::optional<bool>> Fields::boolean(std::string_view key) const {
  const auto* v = raw(key);
  if (!v || v->is_null()) return std::optional<bool>{};
  if (!v->is_bool()) return wrong_type(key, "true or false");
  return std::optional<bool>(v->get_bool());
}

core::Result<std::optional<core::Millis>> Fields::duration(std::string_view key, core::Millis min,
                                                           core::Millis max) const {
  const auto* v = raw(key);
  if (!v || v->is_null()) return std::optional<core::Millis>{};
  if (!v->is_string()) return wrong_type(key, "a duration string such as \"10s\" or \"5m\"");
  auto d = parse_duration(v->get_string(), name(key));
  if (!d) return d.error();
  if (*d < min || *d > max) {
    return invalid(name(key), fmt::format("{} must be from {} to {}, got \"{}\"", name(key),
                                          format_duration(min), format_duration(max),
                                          std::string_view(v->get_string())));
  }
  return std::optional<core::Millis>(*d);
}

core::Result<std::optional<core::TimePoint>> Fields::time(std::string_view key) const {
  const auto* v = raw(key);
  if (!v || v->is_null()) return std::optional<core::TimePoint>{};
  if (!v->is_string()) return wrong_type(key, "an RFC 3339 time string");
  auto t = parse_rfc3339(v->get_string(), name(key));
  if (!t) return t.error();
  return std::optional<core::TimePoint>(*t);
}

}  // namespace errand::core
