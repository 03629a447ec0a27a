#include "core/json_reader.hpp"

#include "core/duration.hpp"

#include <fmt/format.h>
#include <boost/json/object.hpp>

namespace errand::core {
namespace json = boost::json;

JsonReader::JsonReader(const json::value& v, std::string path) : path_(std::move(path)) {
  if (v.is_object()) {
    object_ = &v.get_object();
  } else {
    fail("", "is not a JSON object");
  }
}

const json::value& JsonReader::any(std::string_view key) const {
  static const json::value kNull;
  const json::value* v = object_ ? object_->if_contains(key) : nullptr;
  return v ? *v : kNull;
}

std::string JsonReader::str(std::string_view key, bool required) {
  const auto& v = any(key);
  if (v.is_string()) return std::string(v.get_string());
  if (required || !v.is_null()) {
    fail(key, required && v.is_null() ? "is missing" : "is not a string");
  }
  return {};
}

std::int64_t JsonReader::integer(std::string_view key, std::int64_t fallback) {
  const auto& v = any(key);
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64()) return static_cast<std::int64_t>(v.get_uint64());
  if (!v.is_null()) fail(key, "is not an integer");
  return fallback;
}

std::optional<std::int64_t> JsonReader::opt_integer(std::string_view key) {
  if (any(key).is_null()) return std::nullopt;
  return integer(key);
}

bool JsonReader::boolean(std::string_view key, bool fallback) {
  const auto& v = any(key);
  if (v.is_bool()) return v.get_bool();
  if (!v.is_null()) fail(key, "is not a boolean");
  return fallback;
}

JobState JsonReader::state(std::string_view key) {
  auto s = parse_job_state(str(key));
  if (!s) fail(key, "is not a job state");
  return s.value_or(JobState::queued);
}

std::optional<TimePoint> JsonReader::opt_time(std::string_view key) {
  const auto& v = any(key);
  if (v.is_null()) return std::nullopt;
  auto t = v.is_string() ? parse_rfc3339(v.get_string(), key) : Result<TimePoint>(Error{});
  if (!t) {
    fail(key, "is not an RFC 3339 time");
    return std::nullopt;
  }
  return *t;
}

TimePoint JsonReader::time(std::string_view key) {
  auto t = opt_time(key);
  if (!t && !error_) fail(key, "is missing");
  return t.value_or(TimePoint{});
}

std::optional<Millis> JsonReader::opt_duration(std::string_view key) {
  const auto& v = any(key);
  if (v.is_null()) return std::nullopt;
  auto d = v.is_string() ? parse_duration(v.get_string(), key) : Result<Millis>(Error{});
  if (!d) {
    fail(key, "is not a duration");
    return std::nullopt;
  }
  return *d;
}

std::vector<std::string> JsonReader::strings(std::string_view key) {
  std::vector<std::string> out;
  const auto& v = any(key);
  if (v.is_null()) return out;
  if (!v.is_array()) {
    fail(key, "is not an array");
    return out;
  }
  for (const auto& item : v.get_array()) {
    if (item.is_string()) out.emplace_back(item.get_string());
  }
  return out;
}

const json::array* JsonReader::array(std::string_view key) {
  const auto& v = any(key);
  if (v.is_array()) return &v.get_array();
  fail(key, v.is_null() ? "is missing" : "is not an array");
  return nullptr;
}

std::string JsonReader::path(std::string_view key) const {
  if (key.empty()) return path_;
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

void JsonReader::fail(std::string_view key, std::string_view what) {
  if (error_) return;
  auto field = path(key);
  auto message = fmt::format("{} {}", field.empty() ? "the body" : field, what);
  error_ = invalid(std::move(field), std::move(message));
}

Result<void> JsonReader::status() const {
  if (error_) return *error_;
  return {};
}

std::string item_path(std::string_view array, std::size_t i) {
  return fmt::format("{}[{}]", array, i);
}

}  // namespace errand::core
