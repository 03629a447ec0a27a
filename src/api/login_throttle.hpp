// Failed dashboard logins per client address: after `max_failures` within
// one `window`, that address's logins are refused (429 with Retry-After)
// until the window ends, whatever they send, so passwords cannot be guessed
// at speed. What to log comes back as text: the first failure of an
// address's window (with the count of its window before) and the moment it
// is locked out, so a flood writes a few lines per window, not one a try.
//
// Pure: time comes in as `now`. At most `max_addresses` are tracked (the
// stalest make room). Thread-safe.
#pragma once

#include "core/time.hpp"

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace errand::api {

struct LoginThrottleOptions {
  std::size_t max_failures = 10;  // failed logins of one address per window
  core::Millis window{60'000};
  std::size_t max_addresses = 10'000;
};

class LoginThrottle {
 public:
  explicit LoginThrottle(LoginThrottleOptions options = {});

  // How long `address` must wait before its next login is looked at
  // (nullopt: it may try now). A refused try is counted for the log.
  std::optional<core::Millis> refused_for(const std::string& address, core::TimePoint now);
  // Records a failed login; returns a line to log, when one is due.
  std::optional<std::string> failed(const std::string& address, core::TimePoint now);

  const LoginThrottleOptions& options() const { return options_; }

 private:
  struct Window {
    core::TimePoint start;
    std::size_t failures = 0;
    std::size_t refused = 0;
    std::size_t previous_failures = 0;  // of the window before, for the log
    std::size_t previous_refused = 0;
  };
  Window& window_of(const std::string& address, core::TimePoint now);

  const LoginThrottleOptions options_;
  std::mutex mutex_;
  std::unordered_map<std::string, Window> windows_;
};

}  // namespace errand::api
