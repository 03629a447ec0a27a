// The queue's JSON forms, shared by the server (api/queues) and the C++ client
// (client/wire): each written by one function and read by one.
//
// Answers: a queue with its counts and config (GET /v1/queues/{q}, PUT,
// pause, resume; a page of GET /v1/queues) and a key of a queue
// (GET /v1/queues/{q}/keys/{key}, a page of GET .../keys). Every config
// member is present, unset ones null; push header values are masked.
// Requests: the body of PUT /v1/queues/{q} (the whole config; unset members
// left out) and of PUT /v1/queues/{q}/keys/{key}.
//
// The answers' readers are lenient as core/json_reader.hpp says; the request
// readers are the server's validation: unknown members refused, ranges
// checked (core/queue_config.hpp), errors naming the field
// ("rate_limit.per"). Errors are invalid_argument. Pure functions and value
// types: thread-compatible.
#pragma once

#include "core/error.hpp"
#include "core/queue_config.hpp"
#include "core/state.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

namespace errand::core {

// A queue as the API shows it.
struct QueueStatus {
  std::string name;
  bool paused = false;
  QueueConfig config;  // unset fields: no limit / the server's default
  std::array<std::int64_t, std::size(kAllStates)> counts{};  // indexed by JobState
  std::int64_t processed = 0;                                // attempts that succeeded, ever
  std::int64_t failed_total = 0;                             // attempts that failed, ever

  std::int64_t count(JobState s) const { return counts[static_cast<std::size_t>(s)]; }
  bool operator==(const QueueStatus&) const = default;
};

// A page of GET /v1/queues, sorted by name.
struct QueuePage {
  std::vector<QueueStatus> queues;
  std::string next_cursor;  // the next page's cursor; empty: this was the last page
};

// A key of a queue (core::Job::key): its jobs, and its own settings (unset:
// the queue's apply).
struct KeyStatus {
  std::string queue;
  std::string key;
  std::int64_t queued = 0;
  std::int64_t running = 0;
  bool overridden = false;  // it has settings of its own
  KeyLimits limits;
  std::optional<TimePoint> throttled_until;  // its claims wait for its bucket until then
  bool operator==(const KeyStatus&) const = default;
};

struct KeyPage {
  std::vector<KeyStatus> keys;
  std::string next_cursor;  // empty: this was the last page
};

// What PUT /v1/queues/{q} sets.
struct QueueSettings {
  bool paused = false;
  QueueConfig config;
};

// ---- answers ----

// {"limit", "per", "burst"?}; null when unset.
boost::json::value rate_limit_to_json(const std::optional<RateLimit>& rate);
// A queue's `config`: every member, unset ones null.
boost::json::object queue_config_to_json(const QueueConfig& config);
// {"name", "paused", "counts": {state: n, …}, "processed", "failed_total", "config"}.
boost::json::object queue_to_json(const QueueStatus& queue);
// {"queues": [...], "next_cursor": name or null}.
boost::json::object queue_page_to_json(const QueuePage& page);
// {"queue", "key", "queued", "running", "overridden", "concurrency",
//  "rate_limit", "paused", "weight", "throttled_until"}.
boost::json::object key_to_json(const KeyStatus& key);
// {"keys": [...], "next_cursor": key or null}.
boost::json::object key_page_to_json(const KeyPage& page);

// A queue's `config` (`path` names it in errors); absent (an older server)
// or null reads as no config.
Result<QueueConfig> queue_config_from_json(const boost::json::value& v, std::string path);
Result<QueueStatus> queue_from_json(const boost::json::value& v, std::string path = {});
Result<QueuePage> queue_page_from_json(const boost::json::value& v);
Result<KeyStatus> key_from_json(const boost::json::value& v, std::string path = {});
Result<KeyPage> key_page_from_json(const boost::json::value& v);

// ---- requests ----

// PUT /v1/queues/{q}: {"paused", and each config member that is set}; the
// push headers unmasked.
boost::json::object queue_settings_body(const QueueSettings& settings);
Result<QueueSettings> queue_settings_from_body(const boost::json::object& body);
// PUT /v1/queues/{q}/keys/{key}: the members that are set ("paused" when true).
boost::json::object key_limits_body(const KeyLimits& limits);
Result<KeyLimits> key_limits_from_body(const boost::json::object& body);

class Fields;
// The completion webhook `{"url": "https://…"}` at `key` of a job or of a
// queue's defaults: its URL (push address rules), or nullopt when absent or
// null.
Result<std::optional<std::string>> webhook_from_body(const Fields& f, std::string_view key);

}  // namespace errand::core
