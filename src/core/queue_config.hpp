// A queue's configuration (PUT /v1/queues/{q}): how many of its jobs may run
// at once, how fast claims may start, and the defaults its new jobs get, with
// the limits the API enforces and the rule that turns an enqueue's "not
// given" into concrete job settings. Plain value types and pure functions:
// thread-compatible.
#pragma once

#include "core/job.hpp"
#include "core/push.hpp"
#include "core/time.hpp"

#include <cstdint>
#include <optional>

namespace errand::core {

inline constexpr std::int64_t kMaxConcurrency = 100'000;
inline constexpr std::int64_t kMaxRateLimit = 1'000'000;
inline constexpr Millis kMinRatePer{1'000};
inline constexpr Millis kMaxRatePer{86'400'000};
inline constexpr std::int64_t kMaxPriority = 1'000'000;  // and -kMaxPriority
inline constexpr Millis kMinTimeout{1'000};
inline constexpr Millis kMaxTimeout{86'400'000};

// At most `limit` claims per `per`, as a token bucket (see core/rate_limit.hpp).
struct RateLimit {
  std::int64_t limit = 1;
  Millis per{1'000};
  bool operator==(const RateLimit&) const = default;
};

// What a job enqueued into the queue gets when the enqueue does not say.
struct JobDefaults {
  std::optional<std::int64_t> priority;
  std::optional<int> max_attempts;
  std::optional<Millis> timeout;
  bool operator==(const JobDefaults&) const = default;
};

// Every field unset means "no limit" / "the server's default".
struct QueueConfig {
  std::optional<std::int64_t> concurrency;  // running jobs of this queue, at most
  std::optional<RateLimit> rate_limit;
  JobDefaults defaults;
  // Set: Errand delivers the queue's jobs to this endpoint (core/push.hpp)
  // and never hands them to claims.
  std::optional<PushConfig> push;
  bool operator==(const QueueConfig&) const = default;
};

// A job's settings once every "not given" is resolved.
struct JobSettings {
  std::int64_t priority = 0;
  int max_attempts = kDefaultMaxAttempts;
  Millis timeout = kDefaultTimeout;
};

// The job's own value, else the queue's default, else the server's default.
JobSettings resolve_settings(const NewJob& job, const JobDefaults& defaults);

}  // namespace errand::core
