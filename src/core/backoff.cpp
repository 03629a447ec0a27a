#include "core/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace errand::core {

Millis retry_backoff(const BackoffPolicy& policy, int attempt, double jitter) {
  const int exponent = std::clamp(attempt - 1, 0, 40);
  const double window =
      std::min(static_cast<double>(policy.cap.count()),
               static_cast<double>(policy.base.count()) * std::ldexp(1.0, exponent));
  const double picked = std::clamp(jitter, 0.0, 1.0) * window;
  const auto ms = static_cast<Millis::rep>(picked);
  return std::clamp(Millis{ms}, policy.floor, std::max(policy.floor, policy.cap));
}

}  // namespace errand::core
