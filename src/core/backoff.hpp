// Retry backoff: exponential with full jitter, capped (the AWS "full jitter"
// scheme), so a thundering herd of failures spreads out. Pure.
#pragma once

#include "core/time.hpp"

namespace errand::core {

struct BackoffPolicy {
  Millis base{1000};      // the window after the first failed attempt
  Millis cap{3'600'000};  // no wait is ever longer than this
  Millis floor{100};      // no retry sooner than this, to avoid hot loops
};

// Wait before the next attempt after `attempt` (1-based) failed attempts:
// a value in [floor, min(cap, base * 2^(attempt-1))], picked by `jitter` in [0, 1).
Millis retry_backoff(const BackoffPolicy& policy, int attempt, double jitter);

}  // namespace errand::core
