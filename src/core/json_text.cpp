#include "core/json_text.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>

namespace errand::core {
namespace json = boost::json;
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// A recursive-descent scanner over one JSON text. It only checks and skips:
// values are never built, so numbers keep their text.
class Scanner {
 public:
  Scanner(std::string_view text, std::size_t max_depth) : t_(text), max_depth_(max_depth) {}

  bool value(std::size_t depth) {
    skip_space();
    if (at_end()) return fail("unexpected end of JSON");
    switch (t_[pos_]) {
      case '{':
        return object(depth + 1);
      case '[':
        return array(depth + 1);
      case '"':
        return string();
      case 't':
        return literal("true");
      case 'f':
        return literal("false");
      case 'n':
        return literal("null");
      default:
        return number();
    }
  }

  bool string() {
    ++pos_;  // the opening quote
    while (!at_end()) {
      const auto c = static_cast<unsigned char>(t_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c == '\\') {
        if (!escape()) return false;
      } else if (c < 0x20) {
        return fail("a control character must be escaped inside a string");
      } else if (c < 0x80) {
        ++pos_;
      } else if (!utf8()) {
        return fail("invalid UTF-8 in a string");
      }
    }
    return fail("unterminated string");
  }

  void skip_space() {
    while (!at_end() && is_space(t_[pos_])) ++pos_;
  }
  bool at_end() const { return pos_ >= t_.size(); }
  char peek() const { return at_end() ? '\0' : t_[pos_]; }

  std::size_t pos_ = 0;
  const char* error_ = nullptr;

 private:
  bool fail(const char* why) {
    if (!error_) error_ = why;
    return false;
  }

  bool object(std::size_t depth) {
    if (depth > max_depth_) return fail("nested too deep");
    ++pos_;
    skip_space();
    if (peek() == '}') {
      ++pos_;
      return true;
    }
    for (;;) {
      skip_space();
      if (peek() != '"') return fail("expected a string key");
      if (!string()) return false;
      skip_space();
      if (peek() != ':') return fail("expected ':' after a key");
      ++pos_;
      if (!value(depth)) return false;
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == '}') {
        ++pos_;
        return true;
      }
      return fail(at_end() ? "unexpected end of JSON" : "expected ',' or '}'");
    }
  }

  bool array(std::size_t depth) {
    if (depth > max_depth_) return fail("nested too deep");
    ++pos_;
    skip_space();
    if (peek() == ']') {
      ++pos_;
      return true;
    }
    for (;;) {
      if (!value(depth)) return false;
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == ']') {
        ++pos_;
        return true;
      }
      return fail(at_end() ? "unexpected end of JSON" : "expected ',' or ']'");
    }
  }

  bool literal(std::string_view word) {
    if (t_.substr(pos_, word.size()) != word) return fail("unexpected character");
    pos_ += word.size();
    return true;
  }

  bool digits() {
    if (!is_digit(peek())) return fail("expected a digit");
    while (is_digit(peek())) ++pos_;
    return true;
  }

  bool number() {
    if (peek() == '-') ++pos_;
    if (peek() == '0') {
      ++pos_;
    } else if (is_digit(peek())) {
      digits();
    } else {
      return fail(at_end() ? "unexpected end of JSON" : "unexpected character");
    }
    if (peek() == '.') {
      ++pos_;
      if (!digits()) return false;
    }
    if (peek() == 'e' || peek() == 'E') {
      ++pos_;
      if (peek() == '+' || peek() == '-') ++pos_;
      if (!digits()) return false;
    }
    return true;
  }

  bool escape() {
    ++pos_;  // the backslash
    const char c = peek();
    if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' ||
        c == 't') {
      ++pos_;
      return true;
    }
    if (c != 'u') return fail("invalid escape in a string");
    ++pos_;
    unsigned unit = 0;
    if (!hex4(unit)) return fail("invalid \\u escape in a string");
    // UTF-16 surrogates come in pairs (as every JSON parser here reads them):
    // a high one followed by a \u low one.
    if (unit >= 0xDC00 && unit <= 0xDFFF) return fail("a lone surrogate in a \\u escape");
    if (unit >= 0xD800 && unit <= 0xDBFF) {
      unsigned low = 0;
      if (peek() != '\\' || pos_ + 1 >= t_.size() || t_[pos_ + 1] != 'u') {
        return fail("a lone surrogate in a \\u escape");
      }
      pos_ += 2;
      if (!hex4(low)) return fail("invalid \\u escape in a string");
      if (low < 0xDC00 || low > 0xDFFF) return fail("a lone surrogate in a \\u escape");
    }
    return true;
  }

  // Four hex digits of a \u escape into `unit`.
  bool hex4(unsigned& unit) {
    for (int i = 0; i < 4; ++i, ++pos_) {
      const char h = peek();
      if (!is_hex(h)) return false;
      unit = unit * 16 + static_cast<unsigned>(h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
    }
    return true;
  }

  // One multi-byte UTF-8 sequence (RFC 3629: no overlongs, no surrogates).
  bool utf8() {
    const auto byte = [&](std::size_t i) -> unsigned {
      return pos_ + i < t_.size() ? static_cast<unsigned char>(t_[pos_ + i]) : 0u;
    };
    const auto cont = [&](std::size_t i, unsigned lo = 0x80, unsigned hi = 0xBF) {
      return byte(i) >= lo && byte(i) <= hi;
    };
    const unsigned c = byte(0);
    std::size_t n = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      n = cont(1) ? 2 : 0;
    } else if (c == 0xE0) {
      n = cont(1, 0xA0) && cont(2) ? 3 : 0;
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
      n = cont(1) && cont(2) ? 3 : 0;
    } else if (c == 0xED) {
      n = cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;
    } else if (c == 0xF0) {
      n = cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
    } else if (c >= 0xF1 && c <= 0xF3) {
      n = cont(1) && cont(2) && cont(3) ? 4 : 0;
    } else if (c == 0xF4) {
      n = cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
    }
    pos_ += n;
    return n != 0;
  }

  std::string_view t_;
  std::size_t max_depth_;
};

// The value starting at `s.pos_` of a valid text, skipped; returns its text.
std::string_view take_value(Scanner& s, std::string_view text) {
  s.skip_space();
  const auto start = s.pos_;
  s.value(0);
  return text.substr(start, s.pos_ - start);
}

std::string unescape_key(std::string_view token) {
  if (token.find('\\') == std::string_view::npos) {
    return std::string(token.substr(1, token.size() - 2));
  }
  boost::system::error_code ec;
  auto v = json::parse(token, ec);
  return !ec && v.is_string() ? std::string(v.get_string()) : std::string();
}

}  // namespace

Result<void> check_json(std::string_view text, std::string_view field, std::size_t max_depth) {
  Scanner s(text, max_depth);
  s.skip_space();
  if (s.at_end()) {
    return invalid(std::string(field), fmt::format("{} is empty: expected a JSON value", field));
  }
  if (s.value(0)) {
    s.skip_space();
    if (s.at_end()) return {};
    s.error_ = "unexpected text after the JSON value";
  }
  const auto pos = std::min(s.pos_, text.size());
  std::size_t line = 1;
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < pos; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  std::string why = s.error_;
  if (why == "nested too deep") why = fmt::format("nested more than {} levels deep", max_depth);
  return invalid(std::string(field),
                 fmt::format("{} is not valid JSON: {} at line {}, column {} (byte {})", field, why,
                             line, pos - line_start + 1, pos));
}

std::string minify_json(std::string_view valid) {
  std::string out;
  out.reserve(valid.size());
  bool in_string = false;
  for (std::size_t i = 0; i < valid.size(); ++i) {
    const char c = valid[i];
    if (in_string) {
      out += c;
      if (c == '\\') {
        out += valid[++i];
      } else if (c == '"') {
        in_string = false;
      }
    } else if (!is_space(c)) {
      out += c;
      in_string = c == '"';
    }
  }
  return out;
}

std::vector<JsonMember> json_members(std::string_view valid) {
  std::vector<JsonMember> out;
  Scanner s(valid, kMaxJsonDepth + 1);
  s.skip_space();
  if (s.peek() != '{') return out;
  ++s.pos_;
  for (;;) {
    s.skip_space();
    if (s.peek() != '"') break;  // '}' of an empty object
    const auto start = s.pos_;
    s.string();
    auto key = unescape_key(valid.substr(start, s.pos_ - start));
    s.skip_space();
    ++s.pos_;  // ':'
    out.push_back({std::move(key), take_value(s, valid)});
    s.skip_space();
    if (s.peek() != ',') break;
    ++s.pos_;
  }
  return out;
}

std::vector<std::string_view> json_elements(std::string_view valid) {
  std::vector<std::string_view> out;
  Scanner s(valid, kMaxJsonDepth + 1);
  s.skip_space();
  if (s.peek() != '[') return out;
  ++s.pos_;
  s.skip_space();
  if (s.peek() == ']') return out;
  for (;;) {
    out.push_back(take_value(s, valid));
    s.skip_space();
    if (s.peek() != ',') break;
    ++s.pos_;
  }
  return out;
}

std::optional<std::string_view> json_member(std::string_view valid, std::string_view key) {
  std::optional<std::string_view> found;
  for (auto& m : json_members(valid)) {
    if (m.key == key) found = m.value;
  }
  return found;
}

// ---- RawJson ------------------------------------------------------------------

Result<RawJson> RawJson::parse(std::string_view text, std::string_view field,
                               std::size_t max_depth) {
  if (auto ok = check_json(text, field, max_depth); !ok) return ok.error();
  return trusted(minify_json(text));
}

RawJson RawJson::from_value(const json::value& v) {
  return trusted(json::serialize(v));
}

json::value RawJson::value() const {
  if (text_.empty()) return nullptr;
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = kMaxJsonDepth + 1;
  auto v = json::parse(text_, ec, {}, options);
  return ec ? json::value(nullptr) : v;
}

std::string serialize_with_raw(const json::object& object, std::string_view key,
                               const RawJson& raw) {
  JsonWriter w;
  w.begin_object();
  bool written = false;
  for (const auto& [k, v] : object) {
    w.key(k);
    if (k == key) {
      w.raw(raw);
      written = true;
    } else {
      w.value(v);
    }
  }
  if (!written) w.key(key).raw(raw);
  return w.end_object().take();
}

// ---- JsonWriter ----------------------------------------------------------------

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  std::size_t plain = 0;  // start of the run not yet copied
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + plain, i - plain);
    plain = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xF];
    }
  }
  out.append(s.data() + plain, s.size() - plain);
  out += '"';
}

void JsonWriter::separate() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_) out_ += ',';
  first_ = false;
}

JsonWriter& JsonWriter::begin_object() {
  separate();
  out_ += '{';
  first_ = true;
  return *this;
}
JsonWriter& JsonWriter::end_object() {
  out_ += '}';
  first_ = false;
  return *this;
}
JsonWriter& JsonWriter::begin_array() {
  separate();
  out_ += '[';
  first_ = true;
  return *this;
}
JsonWriter& JsonWriter::end_array() {
  out_ += ']';
  first_ = false;
  return *this;
}
JsonWriter& JsonWriter::key(std::string_view k) {
  separate();
  append_json_string(out_, k);
  out_ += ':';
  after_key_ = true;
  return *this;
}
JsonWriter& JsonWriter::string(std::string_view s) {
  separate();
  append_json_string(out_, s);
  return *this;
}
JsonWriter& JsonWriter::string_or_null(std::string_view s) {
  return s.empty() ? null() : string(s);
}
JsonWriter& JsonWriter::integer(std::int64_t n) {
  separate();
  fmt::format_to(std::back_inserter(out_), "{}", n);
  return *this;
}
JsonWriter& JsonWriter::boolean(bool b) {
  separate();
  out_ += b ? "true" : "false";
  return *this;
}
JsonWriter& JsonWriter::null() {
  separate();
  out_ += "null";
  return *this;
}
JsonWriter& JsonWriter::raw(const RawJson& v) {
  return raw_text(v.text());
}
JsonWriter& JsonWriter::raw_text(std::string_view v) {
  separate();
  out_ += v;
  return *this;
}
JsonWriter& JsonWriter::value(const json::value& v) {
  separate();
  out_ += json::serialize(v);
  return *this;
}

}  // namespace errand::core
