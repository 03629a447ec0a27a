// The two renderings of measurements: one JSON object per line (--json) and
// one table for people.
#include "bench.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace errand::bench {
namespace {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (static_cast<unsigned char>(ch) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<int>(ch));
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

struct JsonValue {
  std::string operator()(std::int64_t v) const { return std::to_string(v); }
  // Three decimals are below any noise here, and stay plain JSON numbers.
  std::string operator()(double v) const { return fmt::format("{:.3f}", v); }
  std::string operator()(const std::string& v) const { return json_string(v); }
};

// Display width in characters (the table has a few UTF-8 symbols such as ≤).
std::size_t width(const std::string& s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string pad(const std::string& s, std::size_t w) {
  return s + std::string(w > width(s) ? w - width(s) : 0, ' ');
}

}  // namespace

double Measurement::figure(const std::string& key) const {
  for (const auto& [k, v] : fields) {
    if (k != key) continue;
    if (auto* d = std::get_if<double>(&v)) return *d;
    if (auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
  }
  return 0;
}

void Measurement::set_target(std::string text, const std::string& key, double bound,
                             bool at_least) {
  target = std::move(text);
  met = at_least ? figure(key) >= bound : figure(key) <= bound;
}

std::string to_json(const Measurement& m) {
  std::string out = "{\"workload\":";
  out += json_string(m.workload);
  for (const auto& [key, value] : m.fields) {
    out += ',';
    out += json_string(key);
    out += ':';
    out += std::visit(JsonValue{}, value);
  }
  out += '}';
  return out;
}

std::string to_table(const std::vector<Measurement>& ms) {
  const std::array<std::string, 5> head{"workload", "measurement", "result", "target", "detail"};
  std::vector<std::array<std::string, 5>> rows;
  for (const auto& m : ms) {
    auto target = m.target;
    if (m.met) target += *m.met ? " (met)" : " (NOT met)";
    rows.push_back({m.workload, m.name, m.result, target, m.detail});
  }
  std::array<std::size_t, 5> w{};
  for (std::size_t i = 0; i < w.size(); ++i) {
    w[i] = width(head[i]);
    for (const auto& r : rows) w[i] = std::max(w[i], width(r[i]));
  }
  auto line = [&](const std::array<std::string, 5>& r) {
    std::string out;
    for (std::size_t i = 0; i < r.size(); ++i)
      out += (i ? "  " : "") + (i + 1 < r.size() ? pad(r[i], w[i]) : r[i]);
    return out + "\n";
  };
  std::string out = line(head);
  std::array<std::string, 5> rule;
  for (std::size_t i = 0; i < w.size(); ++i) rule[i] = std::string(w[i], '-');
  out += line(rule);
  for (const auto& r : rows) out += line(r);
  return out;
}

}  // namespace errand::bench
