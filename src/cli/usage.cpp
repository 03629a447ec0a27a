#include "cli/usage.hpp"

#include <fmt/format.h>
#include <boost/json/stream_parser.hpp>

#include <algorithm>
#include <numeric>

namespace errand::cli {

namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), std::size_t{0});
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string closest_word(std::string_view word, const std::vector<std::string>& choices) {
  std::string best;
  std::size_t best_distance = 3;
  for (const auto& choice : choices) {
    std::size_t d = edit_distance(word, choice);
    const bool affix = word.size() >= 3 && (choice.starts_with(word) || word.starts_with(choice));
    if (affix) d = std::min<std::size_t>(d, 2);
    if (d < best_distance) {
      best_distance = d;
      best = choice;
    }
  }
  return best;
}

std::string json_syntax_error(std::string_view text) {
  boost::json::stream_parser parser;
  boost::system::error_code ec;
  const std::size_t used = parser.write_some(text.data(), text.size(), ec);
  std::size_t at = used;
  if (!ec && used < text.size()) {
    ec = boost::json::error::extra_data;
  } else if (!ec) {
    parser.finish(ec);
    at = text.size();
  }
  if (!ec) return {};
  at = std::min(at, text.size());
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < at; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  if (at == text.size()) {
    return fmt::format("not valid JSON: it ends too early at line {}, column {} ({})", line, column,
                       ec.message());
  }
  return fmt::format("not valid JSON at line {}, column {}, near \"{}\" ({})", line, column,
                     text.substr(at, 10), ec.message());
}

}  // namespace errand::cli
