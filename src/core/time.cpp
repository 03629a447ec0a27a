#include "core/time.hpp"

#include <fmt/format.h>

#include <cctype>

namespace errand::core {
namespace {

// Reads exactly `n` digits at `pos`; false if they are not all digits.
bool read_digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

}  // namespace

std::string format_rfc3339(TimePoint t) {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss<Millis> hms{t - day};
  const int year = static_cast<int>(ymd.year());
  if (year < 0 || year > 9999) {
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", year,
                       static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                       hms.hours().count(), hms.minutes().count(), hms.seconds().count(),
                       hms.subseconds().count());
  }
  // Every response carries several of these: written by hand, not by fmt.
  std::string out = "0000-00-00T00:00:00.000Z";
  const auto put = [&out](std::size_t at, std::size_t width, long long v) {
    for (std::size_t i = width; i-- > 0; v /= 10) out[at + i] = static_cast<char>('0' + v % 10);
  };
  put(0, 4, year);
  put(5, 2, static_cast<unsigned>(ymd.month()));
  put(8, 2, static_cast<unsigned>(ymd.day()));
  put(11, 2, hms.hours().count());
  put(14, 2, hms.minutes().count());
  put(17, 2, hms.seconds().count());
  put(20, 3, hms.subseconds().count());
  return out;
}

Result<TimePoint> parse_rfc3339(std::string_view s, std::string_view field) {
  using namespace std::chrono;
  auto bad = [&] {
    return invalid(std::string(field), fmt::format("{} must be an RFC 3339 time such as "
                                                   "\"2026-01-31T08:00:00Z\", got \"{}\"",
                                                   field, s));
  };
  int y, mo, d, h, mi, sec;
  if (!read_digits(s, 0, 4, y) || s.size() < 20 || s[4] != '-' || !read_digits(s, 5, 2, mo) ||
      s[7] != '-' || !read_digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !read_digits(s, 11, 2, h) || s[13] != ':' || !read_digits(s, 14, 2, mi) || s[16] != ':' ||
      !read_digits(s, 17, 2, sec)) {
    return bad();
  }
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 60) return bad();
  std::size_t pos = 19;
  int millis = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      if (digits < 3) millis = millis * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return bad();
    for (int i = digits; i < 3; ++i) millis *= 10;
  }
  int offset_min = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!read_digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !read_digits(s, pos + 4, 2, om) || oh > 23 || om > 59) {
      return bad();
    }
    offset_min = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return bad();
  }
  if (pos != s.size()) return bad();
  const auto t = sys_days{ymd} + hours{h} + minutes{mi} + seconds{std::min(sec, 59)} +
                 Millis{millis} - minutes{offset_min};
  return time_point_cast<Millis>(t);
}

}  // namespace errand::core
