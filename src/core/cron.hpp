// Cron expressions and time zones: which instants a schedule fires at.
//
// `parse_cron` turns text into a `CronExpr` (a set of wall-clock times),
// `find_time_zone` names an IANA zone from the system tz database (tzdata,
// read through Howard Hinnant's date/tz), and `cron_next` answers "when does
// this fire next, strictly after `after`?" — a pure function of its arguments.
//
// Syntax: 5 fields `minute hour day-of-month month day-of-week`, or 6 with a
// leading `second`. Each field is a comma list of `*`, `N`, `A-B`, each with
// an optional `/STEP` (`*/5`, `1-30/2`, `5/15` = 5 to the field's maximum).
// Months take `JAN`..`DEC`, weekdays `SUN`..`SAT` (any case); weekday 7 is
// Sunday too. Day-of-month accepts `L` (the month's last day); both day fields
// accept `?` as `*`. The two day fields combine as in Vixie cron: if both are
// restricted (neither starts with `*` or `?`), a day matches when EITHER
// matches; otherwise both must. Macros: @yearly = @annually `0 0 1 1 *`,
// @monthly `0 0 1 * *`, @weekly `0 0 * * 0`, @daily = @midnight `0 0 * * *`,
// @hourly `0 * * * *`.
//
// Daylight saving. An expression matches wall-clock (local) times; each local
// time fires at most once, at one instant:
//  - a local time that does not exist (skipped by a spring-forward gap) fires
//    at the first instant after the gap; all of the gap's times fire there
//    once (`30 2 * * *` in Europe/Berlin on 2026-03-29 fires at 03:00 CEST,
//    `*/15 * * * *` fires once at 03:00 for 02:00..03:00);
//  - a local time that occurs twice (fall back) fires at its first occurrence
//    only. Wall-clock times already fired are not fired again: during the
//    repeated hour nothing fires (`*/15 * * * *` in Berlin on 2026-10-25
//    fires 02:45 CEST, then 03:00 CET, an hour and a quarter later).
// Known limit: the system tz files list transitions only up to 2037, and
// date/tz does not apply the rule string that extends them, so after 2037 a
// zone keeps its last offset (no daylight saving).
//
// Values are plain data: thread-compatible. `TimeZone` refers to the process's
// immutable tz database: copyable and safe to use from many threads.
#pragma once

#include "core/error.hpp"
#include "core/time.hpp"

#include <bitset>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace date {
class time_zone;
}

namespace errand::core {

// The set of local wall-clock times an expression matches.
struct CronExpr {
  std::string text;          // as written, surrounding blanks trimmed
  bool has_seconds = false;  // written with 6 fields
  std::bitset<60> seconds;   // {0} when written with 5 fields
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<32> days_of_month;   // bits 1..31
  bool last_day_of_month = false;  // `L` in day-of-month
  std::bitset<13> months;          // bits 1..12
  std::bitset<7> days_of_week;     // 0 = Sunday .. 6 = Saturday
  bool day_of_month_star = false;  // the field starts with `*` or `?` (Vixie)
  bool day_of_week_star = false;
};

// Parses a cron expression. Errors: errc::invalid_argument, field "cron", a
// message pointing at the field as written, e.g.
//   cron: expected 5 or 6 fields, got 4
//   cron: field 2 (hour): 25 is out of range 0-23
//   cron: field 5 (day-of-week): unknown name "fry"
//   cron: unknown macro "@reboot" (expected @yearly, ...)
Result<CronExpr> parse_cron(std::string_view text);

// An IANA time zone, or UTC (the default-constructed value).
class TimeZone {
 public:
  TimeZone() = default;  // UTC
  // "UTC" or the IANA name, e.g. "Europe/Berlin".
  std::string_view name() const;
  bool is_utc() const { return zone_ == nullptr; }
  friend bool operator==(const TimeZone&, const TimeZone&) = default;

 private:
  friend Result<TimeZone> find_time_zone(std::string_view name);
  friend class ZoneAccess;
  explicit TimeZone(const date::time_zone* zone) : zone_(zone) {}
  const date::time_zone* zone_ = nullptr;  // null: UTC, without the database
};

// Looks a zone up by its exact IANA name ("America/New_York"); "" and "UTC"
// give UTC without touching the database. Reads the system tz database on
// first use and the zone's file at lookup, so later calls do no I/O.
// Errors: errc::invalid_argument, field "timezone",
//   timezone: unknown time zone "Mars/Base"
// or errc::internal if the database itself cannot be read.
Result<TimeZone> find_time_zone(std::string_view name);

// The zone's offset from UTC at instant `t` (local = UTC + offset), for
// instants in years 1 to 9999.
std::chrono::seconds utc_offset(const TimeZone& zone, TimePoint t);

// `t` as local time with its offset: "2026-10-25T02:30:00+02:00" (UTC as
// "Z"); milliseconds appear only when not zero. Years 1 to 9999.
std::string format_in_zone(TimePoint t, const TimeZone& zone);

// The first fire time strictly after `after`, by the daylight-saving rules
// above; nullopt if the expression never fires (`0 0 30 2 *`) or not within
// 400 years, or if it would be past year 9999 (instants before year 1 count
// as the start of year 1, UTC). Jumps field by field: microseconds, whatever
// the expression.
std::optional<TimePoint> cron_next(const CronExpr& cron, const TimeZone& zone, TimePoint after);

// Up to `n` successive fire times after `after` (fewer if it stops firing).
std::vector<TimePoint> cron_next_n(const CronExpr& cron, const TimeZone& zone, TimePoint after,
                                   std::size_t n);

}  // namespace errand::core
