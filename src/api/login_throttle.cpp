#include "api/login_throttle.hpp"

#include "core/duration.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace errand::api {

LoginThrottle::LoginThrottle(LoginThrottleOptions options) : options_(options) {}

LoginThrottle::Window& LoginThrottle::window_of(const std::string& address, core::TimePoint now) {
  auto it = windows_.find(address);
  if (it == windows_.end()) {
    if (windows_.size() >= options_.max_addresses) {
      // Expired windows first; else the stalest address makes room.
      std::erase_if(windows_,
                    [&](const auto& w) { return w.second.start + options_.window <= now; });
      if (windows_.size() >= options_.max_addresses) {
        windows_.erase(std::min_element(windows_.begin(), windows_.end(), [](auto& a, auto& b) {
          return a.second.start < b.second.start;
        }));
      }
    }
    return windows_.emplace(address, Window{.start = now}).first->second;
  }
  auto& w = it->second;
  if (w.start + options_.window <= now && w.locked_until <= now) {
    const auto ended = std::max(w.start + options_.window, w.locked_until);
    const bool consecutive = ended + options_.window > now;
    const bool reached = w.failures >= options_.max_failures;
    w = Window{.start = now,
               .previous_failures = consecutive ? w.failures : 0,
               .previous_refused = consecutive ? w.refused : 0,
               .strikes = consecutive && reached ? w.strikes : 0u};
  }
  return w;
}

std::optional<core::Millis> LoginThrottle::refused_for(const std::string& address,
                                                       core::TimePoint now) {
  // Asked on every request that needs credentials: while nothing failed it
  // takes no lock, and an address that never failed is not tracked.
  if (!any_failures_.load(std::memory_order_relaxed)) return std::nullopt;
  core::MutexLock lock(mutex_);
  if (windows_.find(address) == windows_.end()) return std::nullopt;
  auto& w = window_of(address, now);
  if (w.failures < options_.max_failures || w.locked_until <= now) return std::nullopt;
  ++w.refused;
  return std::max(core::Millis{1000},
                  std::chrono::duration_cast<core::Millis>(w.locked_until - now));
}

std::optional<std::string> LoginThrottle::failed(const std::string& address, core::TimePoint now) {
  core::MutexLock lock(mutex_);
  any_failures_.store(true, std::memory_order_relaxed);
  auto& w = window_of(address, now);
  ++w.failures;
  const auto window = core::format_duration(options_.window);
  if (w.failures == options_.max_failures) {
    constexpr unsigned kMaxDoublings = 6;
    w.strikes = std::min(w.strikes + 1, kMaxDoublings + 1);
    w.locked_until = w.start + options_.window * (1 << (w.strikes - 1));
    return fmt::format(
        "{}: {} failed {} times within {}; its attempts are refused for {}", options_.what, address,
        w.failures, window,
        core::format_duration(std::chrono::duration_cast<core::Millis>(w.locked_until - now)));
  }
  if (w.failures > 1) return std::nullopt;
  std::string line = fmt::format("{} failed from {}", options_.what, address);
  if (w.previous_failures > 0) {
    line += fmt::format(" (the {} before: {} failed, {} refused)", window, w.previous_failures,
                        w.previous_refused);
  }
  return line;
}

}  // namespace errand::api
