#include "core/rate_limit.hpp"

#include <algorithm>
#include <cmath>

namespace errand::core {
namespace {

// Refills are computed in doubles; this absorbs their rounding so that the
// instant next_token_at() names really has a whole token.
constexpr double kEpsilon = 1e-9;

double rate_per_ms(const RateLimit& rate) {
  return static_cast<double>(rate.limit) /
         static_cast<double>(std::max<std::int64_t>(rate.per.count(), 1));
}

}  // namespace

TokenBucket refill(const std::optional<TokenBucket>& bucket, const RateLimit& rate, TimePoint now) {
  const auto limit = static_cast<double>(rate.capacity());
  if (!bucket) return TokenBucket{.tokens = limit, .at = now};
  if (now <= bucket->at) return *bucket;
  const auto elapsed = static_cast<double>((now - bucket->at).count());
  return TokenBucket{.tokens = std::min(limit, bucket->tokens + elapsed * rate_per_ms(rate)),
                     .at = now};
}

std::int64_t available(const TokenBucket& bucket) {
  return static_cast<std::int64_t>(std::floor(bucket.tokens + kEpsilon));
}

TokenBucket take(TokenBucket bucket, std::int64_t n) {
  bucket.tokens = std::max(0.0, bucket.tokens - static_cast<double>(n));
  return bucket;
}

TimePoint next_token_at(const TokenBucket& bucket, const RateLimit& rate) {
  if (available(bucket) >= 1) return bucket.at;
  const double missing = 1.0 - bucket.tokens;
  const auto wait = static_cast<std::int64_t>(std::ceil(missing / rate_per_ms(rate) - kEpsilon));
  return bucket.at + Millis{std::max<std::int64_t>(wait, 1)};
}

}  // namespace errand::core
