// A queue's row as every backend keeps it (pause flag, lifetime counters, job
// count per state, config, push secrets, token bucket), and the stored form
// of its config: nullable integer columns and the push headers as JSON text
// [[name, value]…]. How a backend layers its unwritten changes over these
// rows (its QueueBook) is its own. Pure value types and functions.
#pragma once

#include "core/rate_limit.hpp"
#include "core/state.hpp"
#include "store/store.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace errand::store {

struct QueueRow {
  bool paused = false;
  std::int64_t processed = 0;
  std::int64_t failed = 0;
  std::array<std::int64_t, std::size(core::kAllStates)> counts{};
  core::QueueConfig config;
  core::PushSecrets secrets;
  // The SQLite store keeps these in memory only (a restart starts full and
  // forgets held-back claims); the PostgreSQL store stores them.
  std::optional<core::TokenBucket> bucket;
  std::optional<core::TimePoint> throttled_until;

  std::int64_t& count(core::JobState s) { return counts[static_cast<std::size_t>(s)]; }
  std::int64_t count(core::JobState s) const { return counts[static_cast<std::size_t>(s)]; }
};

QueueInfo to_queue_info(std::string name, const QueueRow& row);

// The config columns of a queue row, in table order: concurrency,
// rate_limit, rate_per_ms, default_priority, default_max_attempts,
// default_timeout_ms, push_url, push_timeout_ms, push_concurrency,
// push_headers. Absent optionals are SQL NULL; no push_url: no push.
struct QueueConfigColumns {
  std::optional<std::int64_t> concurrency;
  std::optional<std::int64_t> rate_limit;
  std::optional<std::int64_t> rate_per_ms;
  std::optional<std::int64_t> default_priority;
  std::optional<std::int64_t> default_max_attempts;
  std::optional<std::int64_t> default_timeout_ms;
  std::optional<std::string> push_url;
  std::int64_t push_timeout_ms = 0;
  std::int64_t push_concurrency = 0;
  std::optional<std::string> push_headers;
  // The settings added after the columns, as JSON text: rate_limit's
  // burst, key_concurrency, key_rate_limit (flow control) and the default
  // completion webhook ("on_done": URL); NULL when none is set.
  std::optional<std::string> flow;
};

// Throws (boost::json) when push_headers or flow is not the JSON this store wrote.
core::QueueConfig decode_queue_config(const QueueConfigColumns& c);
QueueConfigColumns encode_queue_config(const core::QueueConfig& c);

// A rate limit as stored in JSON text ({"limit","per_ms","burst"?}) and back.
std::string rate_limit_text(const core::RateLimit& rate);
core::RateLimit rate_limit_of(std::string_view text);

}  // namespace errand::store
