// Time for Errand: one time-point type, the injectable clock, RFC 3339.
//
// All times are UTC wall-clock instants with millisecond precision. Code that
// needs "now" takes it as an argument (pure functions) or asks a `Clock` it
// was given, so tests drive time with `FakeClock`. SystemClock is stateless;
// FakeClock is safe to read and advance from several threads.
#pragma once

#include "core/error.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace errand::core {

using Millis = std::chrono::milliseconds;
using TimePoint = std::chrono::sys_time<Millis>;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override {
    return std::chrono::time_point_cast<Millis>(std::chrono::system_clock::now());
  }
};

// Another clock moved by an offset that may change at any time: a node's own
// clock set to its database's (engine/database_clock.hpp), or shifted on
// purpose for a test. Safe to read and shift from several threads.
class ShiftedClock final : public Clock {
 public:
  explicit ShiftedClock(const Clock& base, Millis shift = Millis{0})
      : base_(base), shift_(shift.count()) {}
  TimePoint now() const override { return base_.now() + Millis{shift_.load()}; }
  Millis shift() const { return Millis{shift_.load()}; }
  void set_shift(Millis shift) { shift_.store(shift.count()); }

 private:
  const Clock& base_;
  std::atomic<std::int64_t> shift_;
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimePoint start = TimePoint{Millis{1'800'000'000'000}})
      : ms_(start.time_since_epoch().count()) {}
  TimePoint now() const override { return TimePoint{Millis{ms_.load()}}; }
  void set(TimePoint t) { ms_.store(t.time_since_epoch().count()); }
  void advance(Millis d) { ms_.fetch_add(d.count()); }

 private:
  std::atomic<std::int64_t> ms_;
};

inline std::int64_t to_unix_ms(TimePoint t) {
  return t.time_since_epoch().count();
}
inline TimePoint from_unix_ms(std::int64_t ms) {
  return TimePoint{Millis{ms}};
}

// "2026-11-27T21:06:54.123Z" (always UTC, always milliseconds).
std::string format_rfc3339(TimePoint t);

// Accepts RFC 3339 date-times: "2026-11-27T21:06:54Z", with optional fraction
// (truncated to milliseconds) and a "Z" or "+hh:mm"/"-hh:mm" offset.
// `field` names the request field in the error.
Result<TimePoint> parse_rfc3339(std::string_view text, std::string_view field = "time");

}  // namespace errand::core
