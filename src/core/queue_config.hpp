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
// `burst`: the bucket's size (unset: `limit`), so up to `burst` claims may
// start at once after a quiet spell, and `limit` per `per` after that.
struct RateLimit {
  std::int64_t limit = 1;
  Millis per{1'000};
  std::optional<std::int64_t> burst;
  std::int64_t capacity() const { return burst.value_or(limit); }
  bool operator==(const RateLimit&) const = default;
};

// What a job enqueued into the queue gets when the enqueue does not say.
struct JobDefaults {
  std::optional<std::int64_t> priority;
  std::optional<int> max_attempts;
  std::optional<Millis> timeout;
  // The completion webhook (core::NewJob::on_done) of a job that names none.
  std::optional<std::string> on_done;
  bool operator==(const JobDefaults&) const = default;
};

// Every field unset means "no limit" / "the server's default".
struct QueueConfig {
  std::optional<std::int64_t> concurrency;  // running jobs of this queue, at most
  std::optional<RateLimit> rate_limit;
  // Per key (core::Job::key; keyless jobs are bounded by the queue-wide
  // limits only): running jobs and claim rate of each key, unless the key
  // has its own (KeyLimits).
  std::optional<std::int64_t> key_concurrency;
  std::optional<RateLimit> key_rate_limit;
  JobDefaults defaults;
  // Set: Errand delivers the queue's jobs to this endpoint (core/push.hpp)
  // and never hands them to claims.
  std::optional<PushConfig> push;
  bool operator==(const QueueConfig&) const = default;
};

inline constexpr std::int64_t kMaxKeyWeight = 1'000;

// One key's own settings in a queue (PUT /v1/queues/{q}/keys/{key}): they
// replace the queue's key_concurrency / key_rate_limit for that key. A
// paused key's jobs wait; `weight` w gives the key w turns for each turn of
// a key of weight 1 when claims go round the keys.
struct KeyLimits {
  std::optional<std::int64_t> concurrency;
  std::optional<RateLimit> rate_limit;
  bool paused = false;
  std::optional<std::int64_t> weight;  // 1..kMaxKeyWeight; unset: 1
  bool operator==(const KeyLimits&) const = default;
};

// A job's settings once every "not given" is resolved.
struct JobSettings {
  std::int64_t priority = 0;
  int max_attempts = kDefaultMaxAttempts;
  Millis timeout = kDefaultTimeout;
  std::string on_done;  // empty: no completion webhook
};

// The job's own value, else the queue's default, else the server's default.
JobSettings resolve_settings(const NewJob& job, const JobDefaults& defaults);

}  // namespace errand::core
