// Push delivery's rules without I/O (docs/API.md, "Push delivery"): a
// queue's push endpoint and its validation, the signing secret and the
// Errand-Signature header, the body of a call, and what an endpoint's answer
// means for the job. The dispatcher (engine/push/) does the I/O and applies
// the outcome. Plain value types and pure functions: thread-safe.
#pragma once

#include "core/fields.hpp"
#include "core/job.hpp"
#include "core/time.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace errand::core {

class HmacSha256;

inline constexpr Millis kDefaultPushTimeout{30'000};
inline constexpr Millis kMinPushTimeout{1'000};
inline constexpr Millis kMaxPushTimeout{15 * 60'000};
inline constexpr std::int64_t kDefaultPushConcurrency = 10;
inline constexpr std::int64_t kMaxPushConcurrency = 1000;
inline constexpr std::size_t kMaxPushUrl = 2048;
inline constexpr std::size_t kMaxPushHeaders = 32;
inline constexpr std::size_t kMaxPushHeaderValue = 4096;
inline constexpr Millis kMaxPushDelay{86'400'000};           // continue.delay and Retry-After
inline constexpr Millis kMaxSignalWait{365LL * 86'400'000};  // continue.signal.timeout
inline constexpr std::size_t kPushErrorBody = 2048;  // bytes of a failed answer kept in the error
inline constexpr int kPushDeferralsPerAttempt = 3;   // 429/503 answers in a row that count once
// Leases of push calls outlast the call by this much, so a lost server's
// calls are retried only after they must have ended.
inline constexpr Millis kPushLeaseMargin{10'000};
inline constexpr Millis kDefaultKeepPrevious{86'400'000};
inline constexpr Millis kMaxKeepPrevious{30LL * 86'400'000};

struct PushHeader {
  std::string name;
  std::string value;
  bool operator==(const PushHeader&) const = default;
};

// A queue's push endpoint.
struct PushConfig {
  std::string url;
  Millis timeout = kDefaultPushTimeout;
  std::int64_t concurrency = kDefaultPushConcurrency;
  std::vector<PushHeader> headers;
  bool operator==(const PushConfig&) const = default;
};

// A queue's signing secrets: the current one and, during a rotation, the
// previous one until `previous_until`.
struct PushSecrets {
  std::string current;  // empty: none yet
  std::string previous;
  std::optional<TimePoint> previous_until;
  bool operator==(const PushSecrets&) const = default;
  // The previous secret, if still valid at `now`.
  std::string_view previous_at(TimePoint now) const;
};

// Server-wide limits on continuations.
struct PushLimits {
  std::int64_t max_continuations = 1000;
  std::size_t max_state_bytes = 1 << 20;
};

// Errors name the field under `prefix` ("push.url", "push.headers.x-token").
Result<void> validate_push_url(std::string_view url, std::string_view field = "push.url");

// A progress report: the members "percent" (0..100), "message" and "data" of
// `f`, which the caller has checked for unknown members
// (POST /v1/jobs/{id}/progress).
Result<Progress> progress_from_fields(const Fields& f);
// The object member "progress" of `f` (a continue's, from a pull worker or a
// push handler; `source`: its JSON text) as a progress report.
Result<Progress> progress_member(const Fields& f, std::string_view source);
Result<void> validate_push_header(std::string_view name, std::string_view value,
                                  std::string_view field = "push.headers");
// Reads a `push` object ({url, timeout?, concurrency?, headers?}).
Result<PushConfig> parse_push_config(const boost::json::object& object,
                                     std::string_view prefix = "push");
// Its JSON form: in a queue's config header values are shown as "***";
// `mask_headers` false gives the form a PUT sends.
boost::json::object push_config_to_json(const PushConfig& config, bool mask_headers = true);

// "whsec_" + 64 hex digits from the system's CSPRNG.
std::string make_push_secret();

// "t=<unix>,v1=<hex>[,v1=<hex of previous>]".
std::string push_signature(std::int64_t unix_seconds, std::string_view body,
                           const HmacSha256& current, const HmacSha256* previous);

// {"job": job_json, "lease_id", "attempt", "continuation", "state",
// "parents"?, "signal"?, "signal_url"?}; `state` is serialized JSON (empty:
// null). `signal_url`: the URL that resumes the job if this call's answer
// continues it waiting for a signal (empty: left out).
std::string push_body(std::string_view job_json, const Job& job, std::string_view signal_url = {});

// What the endpoint answered.
struct PushAnswer {
  unsigned status = 0;
  std::string_view retry_after;  // the Retry-After header, empty if absent
  bool no_retry = false;         // Errand-No-Retry: true
  std::string_view body;
};

struct PushOutcome {
  enum class Kind {
    complete,   // succeeded with `result`
    continue_,  // call again at `run_at` with `state`; `progress` if given
    defer,      // call again at `run_at`; not an attempt
    fail,       // a failed attempt: `error`, retried per policy (`retry_in` if set)
    dead,       // final: `error`
  };
  Kind kind = Kind::fail;
  RawJson result;     // the answer's JSON, verbatim
  std::string state;  // serialized JSON (continue_)
  std::optional<Progress> progress;
  TimePoint run_at{};
  std::optional<Millis> retry_in;
  std::string error;
  // continue_ with "signal": {"timeout"}: the job waits for its signal URL
  // until run_at (= now + the timeout).
  bool wait_signal = false;
};

// `job` carries the continuation count and deferrals in a row so far.
PushOutcome decide_push_outcome(const PushAnswer& answer, const Job& job, TimePoint now,
                                const PushLimits& limits);

// Retry-After as seconds or an HTTP date, relative to `now`, at most
// kMaxPushDelay ahead; nullopt if it is neither.
std::optional<TimePoint> parse_retry_after(std::string_view text, TimePoint now);

// The first `limit` bytes of `text`, cut at a character boundary.
std::string utf8_head(std::string_view text, std::size_t limit);

}  // namespace errand::core
