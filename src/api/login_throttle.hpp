// Failed attempts per client address — dashboard logins, and wrong API keys
// or job tokens: after `max_failures` within one `window`, that address's
// attempts are refused (429 with Retry-After) until the window ends,
// whatever they send, so secrets cannot be guessed at speed. The lock-out
// doubles for each window in a row that reaches the limit (the window, then
// 2, 4 … up to 64 windows), and is forgotten after a window without it.
// What to log comes back as text: the first failure of an address's window
// (with the count of its window before) and the moment it is locked out, so
// a flood writes a few lines per window, not one a try.
//
// Pure: time comes in as `now`. At most `max_addresses` are tracked (the
// stalest make room). Thread-safe.
#pragma once

#include "core/mutex.hpp"
#include "core/time.hpp"

#include <atomic>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace errand::api {

struct LoginThrottleOptions {
  std::size_t max_failures = 10;  // failed logins of one address per window
  core::Millis window{60'000};
  std::size_t max_addresses = 10'000;
  std::string_view what = "dashboard login";  // in log lines: "<what> failed from …"
};

class LoginThrottle {
 public:
  explicit LoginThrottle(LoginThrottleOptions options = {});

  // How long `address` must wait before its next login is looked at
  // (nullopt: it may try now). A refused try is counted for the log.
  std::optional<core::Millis> refused_for(const std::string& address, core::TimePoint now)
      EXCLUDES(mutex_);
  // Records a failed login; returns a line to log, when one is due.
  std::optional<std::string> failed(const std::string& address, core::TimePoint now)
      EXCLUDES(mutex_);

  const LoginThrottleOptions& options() const { return options_; }

 private:
  struct Window {
    core::TimePoint start;
    std::size_t failures = 0;
    std::size_t refused = 0;
    std::size_t previous_failures = 0;  // of the window before, for the log
    std::size_t previous_refused = 0;
    unsigned strikes = 0;  // windows in a row that reached max_failures
    core::TimePoint locked_until{};
  };
  Window& window_of(const std::string& address, core::TimePoint now) REQUIRES(mutex_);

  const LoginThrottleOptions options_;
  std::atomic<bool> any_failures_{false};  // a failure was ever recorded
  core::Mutex mutex_;
  std::unordered_map<std::string, Window> windows_ GUARDED_BY(mutex_);
};

}  // namespace errand::api
