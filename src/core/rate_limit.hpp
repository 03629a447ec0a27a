// The rate limit of a queue as a token bucket: the bucket holds at most
// `limit` tokens (`burst` when set) and refills continuously at `limit` tokens per `per`; each
// claimed job takes one token. A full bucket allows a burst of `limit`
// claims; after that claims start at the refill rate. (A fixed window would
// allow 2x`limit` claims across a window boundary and make every waiting
// worker stampede at the boundary; the bucket spreads them out.)
//
// The bucket is a plain value the caller keeps (the store keeps one per
// queue, in memory: a restart starts every bucket full). Pure functions of
// `now`: thread-compatible.
#pragma once

#include "core/queue_config.hpp"
#include "core/time.hpp"

#include <cstdint>
#include <optional>

namespace errand::core {

struct TokenBucket {
  double tokens = 0;  // 0..limit, fractional between claims
  TimePoint at{};     // when `tokens` was computed
};

// The bucket as it stands at `now`: a fresh (nullopt) bucket is full; time
// going backwards adds nothing.
TokenBucket refill(const std::optional<TokenBucket>& bucket, const RateLimit& rate, TimePoint now);

// Whole tokens available: how many claims may start now.
std::int64_t available(const TokenBucket& bucket);

// The bucket after `n` (<= available) claims.
TokenBucket take(TokenBucket bucket, std::int64_t n);

// The first instant at which at least one whole token is available (the
// bucket's `at` when one already is).
TimePoint next_token_at(const TokenBucket& bucket, const RateLimit& rate);

}  // namespace errand::core
