#include "core/cron.hpp"

#include <date/date.h>
#include <date/tz.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <exception>
#include <span>

namespace errand::core {

using std::chrono::seconds;

// ---------------------------------------------------------------------------
// Parsing

namespace {

constexpr std::array<std::string_view, 12> kMonthNames = {"jan", "feb", "mar", "apr", "may", "jun",
                                                          "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 7> kWeekdayNames = {"sun", "mon", "tue", "wed",
                                                           "thu", "fri", "sat"};

struct FieldSpec {
  std::string_view name;
  int lo;
  int hi;                                   // largest value accepted as written
  int span;                                 // largest useful step
  std::span<const std::string_view> names;  // names[i] stands for lo + i
  bool is_day = false;                      // accepts `?`
  bool accepts_last = false;                // accepts `L`
};

constexpr FieldSpec kSecond{"second", 0, 59, 59, {}};
constexpr FieldSpec kMinute{"minute", 0, 59, 59, {}};
constexpr FieldSpec kHour{"hour", 0, 23, 23, {}};
constexpr FieldSpec kDayOfMonth{"day-of-month", 1, 31, 30, {}, true, true};
constexpr FieldSpec kMonth{"month", 1, 12, 11, kMonthNames};
// 7 is accepted as Sunday and folded onto 0 after expansion.
constexpr FieldSpec kDayOfWeek{"day-of-week", 0, 7, 6, kWeekdayNames, true};

struct ParsedField {
  std::uint64_t bits = 0;
  bool star = false;  // Vixie: the field's text starts with `*` or `?`
  bool last = false;  // `L` seen
};

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
}

bool all_alpha(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalpha(static_cast<unsigned char>(c));
  });
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  for (;;) {
    auto at = s.find(sep);
    parts.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return parts;
    s.remove_prefix(at + 1);
  }
}

std::vector<std::string_view> split_blanks(std::string_view s) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    std::size_t start = i;
    while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i > start) words.push_back(s.substr(start, i - start));
  }
  return words;
}

// Parses one field of an expression; errors name it by its written position.
class FieldParser {
 public:
  FieldParser(const FieldSpec& spec, int number) : spec_(spec), number_(number) {}

  Result<ParsedField> parse(std::string_view text) {
    ParsedField out;
    out.star = text.front() == '*' || text.front() == '?';
    for (std::string_view item : split(text, ',')) {
      if (item.empty()) return fail(fmt::format("empty list item in \"{}\"", text));
      auto r = parse_item(item, out);
      if (!r) return r.error();
    }
    if (spec_.hi == 7 && ((out.bits >> 7) & 1U) != 0) out.bits = (out.bits & ~(1ULL << 7)) | 1ULL;
    return out;
  }

 private:
  // The top of `*` and of `N/step`: day-of-week stops at Saturday (6).
  int open_hi() const { return spec_.hi == 7 ? 6 : spec_.hi; }

  Error fail(std::string_view what) const {
    return invalid("cron", fmt::format("cron: field {} ({}): {}", number_, spec_.name, what));
  }

  Result<int> value(std::string_view text) const {
    if (all_alpha(text)) {
      if (spec_.names.empty()) return fail(fmt::format("\"{}\" is not a number", text));
      for (std::size_t i = 0; i < spec_.names.size(); ++i) {
        if (iequals(text, spec_.names[i])) return spec_.lo + static_cast<int>(i);
      }
      return fail(fmt::format("unknown name \"{}\"", text));
    }
    if (!all_digits(text)) return fail(fmt::format("\"{}\" is not a number", text));
    int v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || v < spec_.lo || v > spec_.hi) {
      return fail(fmt::format("{} is out of range {}-{}", text, spec_.lo, spec_.hi));
    }
    return v;
  }

  Result<int> step(std::string_view text) const {
    if (!all_digits(text)) return fail(fmt::format("step \"{}\" is not a number", text));
    int v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || v < 1 || v > spec_.span) {
      return fail(fmt::format("step {} is out of range 1-{}", text, spec_.span));
    }
    return v;
  }

  Result<void> parse_item(std::string_view item, ParsedField& out) const {
    auto slash = item.find('/');
    std::string_view base = item.substr(0, slash);
    int lo = 0;
    int hi = 0;
    int by = 1;
    if (slash != std::string_view::npos) {
      auto s = step(item.substr(slash + 1));
      if (!s) return s.error();
      by = *s;
    }
    if (base == "*" || base == "?") {
      if (base == "?" && !spec_.is_day) return fail("\"?\" is only allowed in the day fields");
      lo = spec_.lo;
      hi = open_hi();
    } else if (iequals(base, "L") && spec_.accepts_last) {
      if (slash != std::string_view::npos) return fail("\"L\" cannot take a step");
      out.last = true;
      return {};
    } else if (auto dash = base.find('-'); dash != std::string_view::npos) {
      if (dash == 0 || dash + 1 == base.size() || base.find('-', dash + 1) != base.npos) {
        return fail(fmt::format("\"{}\" is not a valid range", base));
      }
      auto a = value(base.substr(0, dash));
      if (!a) return a.error();
      auto b = value(base.substr(dash + 1));
      if (!b) return b.error();
      lo = *a, hi = *b;
      if (spec_.hi == 7 && hi == 0 && lo > 0) hi = 7;  // `mon-sun` ends on Sunday as 7
      if (lo > hi) return fail(fmt::format("range {} goes backwards", base));
    } else {
      auto v = value(base);
      if (!v) return v.error();
      lo = *v;
      hi = slash == std::string_view::npos ? *v : std::max(*v, open_hi());  // `5/15`: 5 to the end
    }
    for (int v = lo; v <= hi; v += by) out.bits |= 1ULL << v;
    return {};
  }

  const FieldSpec& spec_;
  int number_;
};

struct Macro {
  std::string_view name;
  std::string_view fields;
};
constexpr std::array<Macro, 7> kMacros = {{{"@yearly", "0 0 1 1 *"},
                                           {"@annually", "0 0 1 1 *"},
                                           {"@monthly", "0 0 1 * *"},
                                           {"@weekly", "0 0 * * 0"},
                                           {"@daily", "0 0 * * *"},
                                           {"@midnight", "0 0 * * *"},
                                           {"@hourly", "0 * * * *"}}};

Result<std::vector<std::string_view>> expand_macro(std::string_view text) {
  for (const Macro& m : kMacros) {
    if (iequals(text, m.name)) return split_blanks(m.fields);
  }
  return invalid("cron", fmt::format("cron: unknown macro \"{}\" (expected @yearly, @annually, "
                                     "@monthly, @weekly, @daily, @midnight or @hourly)",
                                     text));
}

}  // namespace

Result<CronExpr> parse_cron(std::string_view text) {
  CronExpr cron;
  std::vector<std::string_view> fields = split_blanks(text);
  if (!fields.empty() && fields[0].front() == '@') {
    if (fields.size() > 1) {
      return invalid("cron", fmt::format("cron: \"{}\" takes no other fields", fields[0]));
    }
    auto expanded = expand_macro(fields[0]);
    if (!expanded) return expanded.error();
    fields = *expanded;
  }
  if (fields.size() != 5 && fields.size() != 6) {
    return invalid("cron", fmt::format("cron: expected 5 or 6 fields, got {}", fields.size()));
  }
  cron.has_seconds = fields.size() == 6;
  const int first = cron.has_seconds ? 1 : 0;
  static constexpr std::array<const FieldSpec*, 6> kSpecs = {&kSecond,     &kMinute, &kHour,
                                                             &kDayOfMonth, &kMonth,  &kDayOfWeek};
  std::array<ParsedField, 6> parsed{};
  parsed[0].bits = 1;  // second 0 when not written
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const FieldSpec& spec = *kSpecs[i + 1 - first];
    auto f = FieldParser(spec, static_cast<int>(i) + 1).parse(fields[i]);
    if (!f) return f.error();
    parsed[i + 1 - first] = *f;
  }
  auto begin = text.find_first_not_of(" \t\r\n\f\v");
  auto end = text.find_last_not_of(" \t\r\n\f\v");
  cron.text = std::string(text.substr(begin, end - begin + 1));
  cron.seconds = parsed[0].bits;
  cron.minutes = parsed[1].bits;
  cron.hours = parsed[2].bits;
  cron.days_of_month = parsed[3].bits;
  cron.last_day_of_month = parsed[3].last;
  cron.day_of_month_star = parsed[3].star;
  cron.months = parsed[4].bits;
  cron.days_of_week = parsed[5].bits;
  cron.day_of_week_star = parsed[5].star;
  return cron;
}

// ---------------------------------------------------------------------------
// Time zones

class ZoneAccess {
 public:
  static const date::time_zone* get(const TimeZone& z) { return z.zone_; }
};

std::string_view TimeZone::name() const {
  return zone_ == nullptr ? std::string_view("UTC") : std::string_view(zone_->name());
}

namespace {

// A zone name as people mistype it: no surrounding spaces, any case, spaces
// for underscores ("new york").
std::string zone_key(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  std::string out(s);
  for (auto& c : out)
    c = c == ' ' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The zone meant by an unknown name: the same name in another case, or the
// zone of that city ("Berlin" -> "Europe/Berlin"). Empty: no guess.
std::string suggest_time_zone(std::string_view name) {
  const std::string key = zone_key(name);
  if (key.empty()) return {};
  std::string by_city;
  for (const auto& zone : date::get_tzdb().zones) {
    const std::string zone_name(zone.name());
    const std::string k = zone_key(zone_name);
    if (k == key) return zone_name;
    const auto slash = k.rfind('/');
    if (by_city.empty() && slash != std::string::npos &&
        k.compare(slash + 1, std::string::npos, key) == 0)
      by_city = zone_name;
  }
  return by_city;
}

}  // namespace

Result<TimeZone> find_time_zone(std::string_view name) {
  if (name.empty() || name == "UTC") return TimeZone{};
  try {
    date::get_tzdb();
  } catch (const std::exception& e) {
    return make_error(errc::internal,
                      fmt::format("timezone: the time zone database cannot be read: {}", e.what()),
                      "timezone");
  }
  try {
    const date::time_zone* zone = date::locate_zone(name);
    (void)zone->get_info(date::sys_seconds{});  // loads the zone's file now, not in cron_next
    return TimeZone{zone};
  } catch (const std::exception&) {
    const std::string guess = suggest_time_zone(name);
    return invalid("timezone", guess.empty()
                                   ? fmt::format("timezone: unknown time zone \"{}\"", name)
                                   : fmt::format("timezone: unknown time zone \"{}\"; did "
                                                 "you mean \"{}\"?",
                                                 name, guess));
  }
}

seconds utc_offset(const TimeZone& zone, TimePoint t) {
  const date::time_zone* z = ZoneAccess::get(zone);
  return z == nullptr ? seconds{0} : z->get_info(t).offset;
}

std::string format_in_zone(TimePoint t, const TimeZone& zone) {
  const seconds offset = utc_offset(zone, t);
  const auto local = t + offset;
  const auto day = date::floor<date::days>(local);
  const date::year_month_day ymd{day};
  const date::hh_mm_ss<Millis> tod{local - day};
  std::string out = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", int(ymd.year()),
                                unsigned(ymd.month()), unsigned(ymd.day()), tod.hours().count(),
                                tod.minutes().count(), tod.seconds().count());
  if (tod.subseconds().count() != 0) out += fmt::format(".{:03}", tod.subseconds().count());
  if (zone.is_utc()) return out + "Z";
  const auto mins = offset.count() / 60;
  const auto abs = mins < 0 ? -mins : mins;
  return out + fmt::format("{}{:02}:{:02}", mins < 0 ? '-' : '+', abs / 60, abs % 60);
}

// ---------------------------------------------------------------------------
// Next fire time

namespace {

using LocalSeconds = date::local_seconds;

// A local wall-clock time as fields; fields may overflow by one during the
// search (day 32, hour 24, ...) and are normalised by the loop.
struct Wall {
  int year;
  int month;
  int day;
  int hour;
  int minute;
  int second;
};

Wall to_wall(LocalSeconds t) {
  const auto day = date::floor<date::days>(t);
  const date::year_month_day ymd{day};
  const date::hh_mm_ss<seconds> tod{t - day};
  return {int(ymd.year()),          int(unsigned(ymd.month())), int(unsigned(ymd.day())),
          int(tod.hours().count()), int(tod.minutes().count()), int(tod.seconds().count())};
}

LocalSeconds from_wall(const Wall& w) {
  const date::local_days day{date::year{w.year} / w.month / w.day};
  return day + std::chrono::hours{w.hour} + std::chrono::minutes{w.minute} + seconds{w.second};
}

int days_in_month(int year, int month) {
  return int(unsigned((date::year{year} / month / date::last).day()));
}

int weekday(int year, int month, int day) {
  return int(date::weekday{date::sys_days{date::year{year} / month / day}}.c_encoding());
}

template <std::size_t N>
int next_bit(const std::bitset<N>& bits, int from) {
  for (int i = std::max(from, 0); i < int(N); ++i) {
    if (bits[std::size_t(i)]) return i;
  }
  return -1;
}

bool day_matches(const CronExpr& c, int year, int month, int day) {
  const bool dom = c.days_of_month[std::size_t(day)] ||
                   (c.last_day_of_month && day == days_in_month(year, month));
  const bool dow = c.days_of_week[std::size_t(weekday(year, month, day))];
  if (!c.day_of_month_star && !c.day_of_week_star) return dom || dow;
  return dom && dow;
}

// Whether some month of the expression has a day it can match at all; with
// that, a match exists within one 400-year Gregorian cycle.
bool can_ever_fire(const CronExpr& c) {
  if (c.seconds.none() || c.minutes.none() || c.hours.none() || c.days_of_week.none()) {
    return false;
  }
  const bool either = !c.day_of_month_star && !c.day_of_week_star;
  for (int m = 1; m <= 12; ++m) {
    if (!c.months[std::size_t(m)]) continue;
    if (either || c.last_day_of_month) return true;
    const int longest = m == 2 ? 29 : days_in_month(2001, m);
    const int first_day = next_bit(c.days_of_month, 1);
    if (first_day != -1 && first_day <= longest) return true;
  }
  return false;
}

void next_month(Wall& w) {
  if (++w.month > 12) w.month = 1, ++w.year;
  w.day = 1, w.hour = w.minute = w.second = 0;
}

// The first local time at or after `w` the expression matches, searching up
// to the end of `last_year`. Each step jumps a whole field.
std::optional<Wall> next_match(const CronExpr& c, Wall w, int last_year) {
  while (w.year <= last_year) {
    if (!c.months[std::size_t(w.month)]) {
      const int m = next_bit(c.months, w.month + 1);
      if (m < 0) {
        w = {w.year + 1, next_bit(c.months, 1), 1, 0, 0, 0};
      } else {
        w = {w.year, m, 1, 0, 0, 0};
      }
      continue;
    }
    const int last = days_in_month(w.year, w.month);
    int d = w.day;
    while (d <= last && !day_matches(c, w.year, w.month, d)) ++d;
    if (d > last) {
      next_month(w);
      continue;
    }
    if (d != w.day) w.day = d, w.hour = w.minute = w.second = 0;
    const int h = next_bit(c.hours, w.hour);
    if (h < 0) {
      ++w.day, w.hour = w.minute = w.second = 0;
      continue;
    }
    if (h != w.hour) w.hour = h, w.minute = w.second = 0;
    const int mi = next_bit(c.minutes, w.minute);
    if (mi < 0) {
      ++w.hour, w.minute = w.second = 0;
      continue;
    }
    if (mi != w.minute) w.minute = mi, w.second = 0;
    const int s = next_bit(c.seconds, w.second);
    if (s < 0) {
      ++w.minute, w.second = 0;
      continue;
    }
    w.second = s;
    return w;
  }
  return std::nullopt;
}

// The earliest local time whose fire instant can come after `t`. Normally
// the second after t's wall clock; but during the second pass of a repeated
// (fall-back) hour, every wall-clock time up to the end of that hour already
// fired at its first occurrence, so the search starts where the repeat ends.
LocalSeconds search_start(const date::time_zone* zone, date::sys_seconds t) {
  if (zone == nullptr) return LocalSeconds{t.time_since_epoch()} + seconds{1};
  const LocalSeconds local{t.time_since_epoch() + zone->get_info(t).offset};
  const date::local_info info = zone->get_info(local);
  if (info.result == date::local_info::ambiguous && t >= info.second.begin) {
    return LocalSeconds{info.second.begin.time_since_epoch() + info.first.offset};
  }
  return local + seconds{1};
}

// The instant a matching local time fires at: its only occurrence, the end of
// the gap it falls in, or its first occurrence.
date::sys_seconds fire_instant(const date::time_zone* zone, LocalSeconds local) {
  if (zone == nullptr) return date::sys_seconds{local.time_since_epoch()};
  const date::local_info info = zone->get_info(local);
  if (info.result == date::local_info::nonexistent) return info.first.end;
  return date::sys_seconds{local.time_since_epoch() - info.first.offset};
}

constexpr int kSearchYears = 400;
constexpr int kFirstYear = 1;
constexpr int kLastYear = 9999;

}  // namespace

std::optional<TimePoint> cron_next(const CronExpr& cron, const TimeZone& zone, TimePoint after) {
  static const auto kFirst = date::sys_days{date::year{kFirstYear} / 1 / 1};
  static const auto kEnd = date::sys_days{date::year{kLastYear + 1} / 1 / 1};
  if (!can_ever_fire(cron)) return std::nullopt;
  if (after >= kEnd) return std::nullopt;
  // Fire times are whole seconds, so "after t" is "after t's second".
  const date::sys_seconds t =
      std::max(std::chrono::floor<seconds>(after), date::sys_seconds{kFirst} - seconds{1});
  const date::time_zone* z = ZoneAccess::get(zone);
  const Wall start = to_wall(search_start(z, t));
  const auto match = next_match(cron, start, start.year + kSearchYears);
  if (!match) return std::nullopt;
  const date::sys_seconds fire = fire_instant(z, from_wall(*match));
  if (fire >= kEnd) return std::nullopt;
  return TimePoint{fire};
}

std::vector<TimePoint> cron_next_n(const CronExpr& cron, const TimeZone& zone, TimePoint after,
                                   std::size_t n) {
  std::vector<TimePoint> out;
  out.reserve(std::min<std::size_t>(n, 1024));
  while (out.size() < n) {
    auto next = cron_next(cron, zone, after);
    if (!next) break;
    out.push_back(*next);
    after = *next;
  }
  return out;
}

}  // namespace errand::core
