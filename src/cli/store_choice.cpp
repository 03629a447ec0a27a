#include "cli/store_choice.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <vector>

namespace errand::cli {
namespace {

constexpr std::string_view kForms =
    "use sqlite:DIR or postgres://USER:PASSWORD@HOST:PORT/DATABASE (optionally ?schema=NAME)";

bool is_postgres_url(std::string_view s) {
  return s.starts_with("postgres://") || s.starts_with("postgresql://");
}

// A schema name Errand can use unquoted: lower case, as PostgreSQL folds it.
bool valid_schema(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  if (!(std::islower(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::islower(static_cast<unsigned char>(c)) ||
           std::isdigit(static_cast<unsigned char>(c)) || c == '_';
  });
}

// Where the password of a postgres URL is: [begin, end) of its characters
// in the user part (`user:PASSWORD@host`), or npos.
std::pair<std::size_t, std::size_t> userinfo_password(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return {std::string_view::npos, 0};
  const auto start = scheme_end + 3;
  // The authority ends at the first '/', '?' or '#'; the user part at its last '@'.
  auto end = url.find_first_of("/?#", start);
  if (end == std::string_view::npos) end = url.size();
  const auto at = url.substr(start, end - start).rfind('@');
  if (at == std::string_view::npos) return {std::string_view::npos, 0};
  const auto colon = url.substr(start, at).find(':');
  if (colon == std::string_view::npos) return {std::string_view::npos, 0};
  return {start + colon + 1, start + at};
}

struct Param {
  std::string_view name;
  std::size_t value_begin;  // offset in the URL
  std::size_t value_end;
  std::size_t begin;  // the whole `name=value`
  std::size_t end;
};

std::vector<Param> query_params(std::string_view url) {
  std::vector<Param> out;
  const auto q = url.find('?');
  if (q == std::string_view::npos) return out;
  auto end_all = url.find('#', q);
  if (end_all == std::string_view::npos) end_all = url.size();
  std::size_t pos = q + 1;
  while (pos < end_all) {
    auto amp = url.find('&', pos);
    if (amp == std::string_view::npos || amp > end_all) amp = end_all;
    const auto item = url.substr(pos, amp - pos);
    const auto eq = item.find('=');
    const auto name = item.substr(0, eq);
    const auto value_begin = eq == std::string_view::npos ? amp : pos + eq + 1;
    out.push_back({name, value_begin, amp, pos, amp});
    pos = amp + 1;
  }
  return out;
}

// Where a URL's passwords are, in order: the user part's and every
// `password=` parameter's value, each as [begin, end).
std::vector<std::pair<std::size_t, std::size_t>> password_spans(std::string_view url) {
  std::vector<std::pair<std::size_t, std::size_t>> spans;
  if (auto [b, e] = userinfo_password(url); b != std::string_view::npos) spans.emplace_back(b, e);
  for (const auto& p : query_params(url)) {
    if (p.name == "password") spans.emplace_back(p.value_begin, p.value_end);
  }
  std::sort(spans.begin(), spans.end());
  return spans;
}

}  // namespace

std::string redact_store_url(std::string_view url) {
  const auto secrets = password_spans(url);
  std::string out;
  std::size_t at = 0;
  for (auto [b, e] : secrets) {
    out.append(url.substr(at, b - at));
    out.append("***");
    at = e;
  }
  out.append(url.substr(at));
  return out;
}

core::Result<StoreChoice> parse_store(std::string_view spec, std::string_view field) {
  StoreChoice choice;
  if (spec.starts_with("sqlite:")) {
    choice.dir = std::string(spec.substr(7));
    if (choice.dir.starts_with("//")) choice.dir = choice.dir.substr(2);  // sqlite://DIR
    if (choice.dir.empty()) {
      return core::invalid(
          std::string(field),
          fmt::format("{}: sqlite: needs a directory, e.g. sqlite:./errand-data", field));
    }
    choice.shown = "sqlite:" + choice.dir;
    return choice;
  }
  if (!is_postgres_url(spec)) {
    return core::invalid(std::string(field), fmt::format("{} \"{}\" is not a store: {}", field,
                                                         redact_store_url(spec), kForms));
  }
  choice.kind = StoreChoice::Kind::postgres;
  choice.shown = redact_store_url(spec);
  // Take `schema=` out; everything else is libpq's.
  std::string conninfo;
  std::size_t at = 0;
  bool removed_any = false;
  for (const auto& p : query_params(spec)) {
    if (p.name != "schema") continue;
    const auto value = spec.substr(p.value_begin, p.value_end - p.value_begin);
    if (!valid_schema(value)) {
      return core::invalid(std::string(field),
                           fmt::format("{}: schema \"{}\" must be 1-63 lower-case letters, "
                                       "digits and underscores, starting with a letter "
                                       "or underscore",
                                       field, value));
    }
    choice.schema = std::string(value);
    // Drop "name=value" and one separator next to it.
    auto begin = p.begin;
    auto end = p.end;
    if (end < spec.size() && spec[end] == '&') {
      ++end;
    } else if (begin > 0 && spec[begin - 1] == '&') {
      --begin;
    }
    conninfo.append(spec.substr(at, begin - at));
    at = end;
    removed_any = true;
  }
  conninfo.append(spec.substr(at));
  if (removed_any && conninfo.ends_with('?')) conninfo.pop_back();
  choice.conninfo = std::move(conninfo);
  return choice;
}

void scrub_passwords(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg(argv[i]);
    const auto url_at = std::min(arg.find("postgres://"), arg.find("postgresql://"));
    if (url_at == std::string_view::npos) continue;
    for (auto [b, e] : password_spans(arg.substr(url_at))) {
      std::memset(argv[i] + url_at + b, 'x', e - b);
    }
  }
}

}  // namespace errand::cli
