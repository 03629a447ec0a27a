// Reading the JSON objects Errand writes: typed getters over the members of
// one object that remember the first problem, so a codec reads every member
// and checks once. Used by the codecs (core/*_json) and the client's wire
// format to read the server's answers; request bodies are read by
// core/fields.hpp instead, which refuses unknown members and checks ranges.
//
// Lenient where servers of other versions may differ: an absent or null
// member reads as the getter's fallback, unknown members are ignored. Strict
// on types: a member of the wrong type is the error, which names it with the
// object's path ("queues[2].config.rate_limit.per") and says what is wrong
// ("... is not a duration"). Errors are invalid_argument; the client reports
// them as an unexpected answer. A reader points into the value it reads,
// which must outlive it. Thread-compatible.
#pragma once

#include "core/error.hpp"
#include "core/state.hpp"
#include "core/time.hpp"

#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace errand::core {

class JsonReader {
 public:
  // `path` is the object's name in errors ("" for the whole body).
  JsonReader(const boost::json::value& v, std::string path);

  // The member `key`, or null when absent.
  const boost::json::value& any(std::string_view key) const;

  // A string; `required`: absent or null is an error (else it reads as "").
  std::string str(std::string_view key, bool required = true);
  std::int64_t integer(std::string_view key, std::int64_t fallback = 0);
  std::optional<std::int64_t> opt_integer(std::string_view key);
  bool boolean(std::string_view key, bool fallback = false);
  JobState state(std::string_view key);  // required
  std::optional<TimePoint> opt_time(std::string_view key);
  TimePoint time(std::string_view key);  // required
  std::optional<Millis> opt_duration(std::string_view key);
  // An array of strings (absent: empty; items of other types skipped).
  std::vector<std::string> strings(std::string_view key);
  // The array at `key`, or nullptr (and an error) when it is not one.
  const boost::json::array* array(std::string_view key);

  // The full name of `key` ("config.defaults"), for a nested reader.
  std::string path(std::string_view key) const;
  // Records `what` is wrong with `key` unless a problem is already known:
  // "<path> <what>".
  void fail(std::string_view key, std::string_view what);
  // The first problem met, if any.
  Result<void> status() const;

 private:
  const boost::json::object* object_ = nullptr;
  std::string path_;
  std::optional<Error> error_;
};

// "jobs[2]": the name of an array's item in errors.
std::string item_path(std::string_view array, std::size_t i);

}  // namespace errand::core
