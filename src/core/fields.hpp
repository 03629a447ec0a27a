// Reading JSON bodies (requests, and push handlers' answers): JSON objects with typed, named,
// validated fields. Every error names the field at fault, prefixed for nested items
// ("jobs[3].delay"). Unknown fields are rejected, so a typo such as "dealy"
// is reported instead of silently ignored. Pure functions.
#pragma once

#include "core/error.hpp"
#include "core/json_text.hpp"
#include "core/time.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

// Unwraps a Result into `var`, or returns its error from the enclosing
// function (which must return a Result or an Error-convertible type).
#define ERRAND_TRY(var, expr)                     \
  auto var##_result = (expr);                     \
  if (!var##_result) return var##_result.error(); \
  auto var = std::move(*var##_result)

namespace errand::core {

// The body must be a JSON object (an empty body counts as {} when `allow_empty`).
// A body that is not JSON is refused saying where it broke (line, column).
core::Result<boost::json::object> parse_object(std::string_view body, bool allow_empty = false);

class Fields {
 public:
  // `source` is the object's JSON text when there is one: json() then takes
  // members verbatim from it.
  Fields(const boost::json::object& object, std::string prefix = {}, std::string_view source = {})
      : object_(object), prefix_(std::move(prefix)), source_(source) {}

  // Fails on the first key not in `allowed`.
  core::Result<void> only(std::initializer_list<std::string_view> allowed) const;

  core::Result<std::optional<std::string>> string(std::string_view key, std::size_t max_len) const;
  core::Result<std::optional<std::int64_t>> integer(std::string_view key, std::int64_t min,
                                                    std::int64_t max) const;
  core::Result<std::optional<bool>> boolean(std::string_view key) const;
  core::Result<std::optional<core::Millis>> duration(std::string_view key, core::Millis min,
                                                     core::Millis max) const;
  core::Result<std::optional<core::TimePoint>> time(std::string_view key) const;
  const boost::json::value* raw(std::string_view key) const;  // null if absent
  // Any JSON value, kept as the client wrote it (core/json_text.hpp) when the
  // source text is known; nested at most kMaxJsonDepth deep. Absent: nullopt.
  core::Result<std::optional<RawJson>> json(std::string_view key) const;

  // The full name of `key` for error messages, e.g. "jobs[3].queue".
  std::string name(std::string_view key) const;
  core::Error missing(std::string_view key) const;
  core::Error wrong_type(std::string_view key, std::string_view expected) const;

 private:
  const boost::json::object& object_;
  std::string prefix_;
  std::string_view source_;
};

}  // namespace errand::core
