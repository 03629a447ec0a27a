// Client JSON kept as the client sent it, and JSON written around it.
//
// Payloads, results, progress data, continuation state and schedule payloads
// are opaque to Errand: they are checked once at the door (well-formed
// RFC 8259 JSON in UTF-8, nested at most kMaxJsonDepth deep), stored as text
// and returned byte for byte. Only the whitespace between tokens is dropped;
// every number, string (escapes included), key order and duplicate key is
// kept. Nothing on the read, claim, list or event path parses them again, so
// a value Boost.JSON cannot represent (1e400, 123456789012345678901234567890)
// never turns into something else.
//
// `check_json` is a strict scanner written for this: Boost.JSON 1.81 parses
// numbers into doubles (there is no way to keep their text) and reports no
// positions. `JsonWriter` writes JSON with such values spliced in verbatim.
// Pure functions and value types: thread-compatible.
#pragma once

#include "core/error.hpp"

#include <boost/json/fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace errand::core {

inline constexpr std::size_t kMaxJsonDepth = 64;  // arrays and objects inside one another

// One JSON value as text. Empty stands for "absent" and reads as null.
class RawJson {
 public:
  RawJson() = default;

  // Checks `text` (see check_json) and keeps it without the whitespace
  // between tokens. Errors: invalid_argument naming `field`, with where the
  // text broke.
  static Result<RawJson> parse(std::string_view text, std::string_view field,
                               std::size_t max_depth = kMaxJsonDepth);
  // Text known to be one well-formed JSON value (checked before, or written
  // by Errand itself). Not checked again.
  static RawJson trusted(std::string text) {
    RawJson r;
    r.text_ = std::move(text);
    return r;
  }
  // Errand's own value, serialized by Boost.JSON.
  static RawJson from_value(const boost::json::value& v);

  bool empty() const noexcept { return text_.empty(); }
  bool is_null() const noexcept { return text_.empty() || text_ == "null"; }
  // The JSON text; "null" when empty.
  std::string_view text() const noexcept {
    return text_.empty() ? std::string_view("null") : std::string_view(text_);
  }
  // The stored text; empty when absent.
  const std::string& stored() const noexcept { return text_; }
  // Parsed by Boost.JSON, for code that must look inside (lossy: numbers
  // become int64, uint64 or double; 1e400 becomes infinity).
  boost::json::value value() const;

  bool operator==(const RawJson&) const = default;

 private:
  std::string text_;
};

// Checks that `text` is exactly one JSON value (whitespace around it
// allowed): RFC 8259 grammar, strings in valid UTF-8 without raw control
// characters, at most `max_depth` arrays/objects deep. The error names
// `field` and says what was wrong and where: "the request body is not valid
// JSON: expected ',' or '}' at line 1, column 17".
Result<void> check_json(std::string_view text, std::string_view field,
                        std::size_t max_depth = kMaxJsonDepth);

// The same value with the whitespace between tokens removed. `valid` must
// have passed check_json.
std::string minify_json(std::string_view valid);

struct JsonMember {
  std::string key;         // unescaped
  std::string_view value;  // the value's text, a view into the object's text
};
// The members of a JSON object text that passed check_json, in order,
// duplicates kept. Empty when the text is not an object.
std::vector<JsonMember> json_members(std::string_view valid);
// The elements of a JSON array text that passed check_json. Empty when the
// text is not an array.
std::vector<std::string_view> json_elements(std::string_view valid);
// The text of the last member named `key` (Boost.JSON keeps the last of
// duplicates too), or nullopt.
std::optional<std::string_view> json_member(std::string_view valid, std::string_view key);

// Writes JSON text, with raw values spliced in. Commas and colons are
// placed by the writer: call key() before each value inside an object.
class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);

  JsonWriter& string(std::string_view s);
  JsonWriter& string_or_null(std::string_view s);  // empty: null
  JsonWriter& integer(std::int64_t n);
  JsonWriter& boolean(bool b);
  JsonWriter& null();
  JsonWriter& raw(const RawJson& v);         // empty: null
  JsonWriter& raw_text(std::string_view v);  // one well-formed JSON value
  JsonWriter& value(const boost::json::value& v);

  const std::string& text() const noexcept { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void separate();
  std::string out_;
  bool first_ = true;
  bool after_key_ = false;
};

// `object` serialized with the member `key` written as `raw` (in its place,
// or appended when the object has no such key).
std::string serialize_with_raw(const boost::json::object& object, std::string_view key,
                               const RawJson& raw);

// `s` as a JSON string literal, quotes included.
void append_json_string(std::string& out, std::string_view s);

}  // namespace errand::core
