// The job model (see DESIGN.md, "Job model") and its validation rules.
// Plain value types: thread-compatible.
#pragma once

#include "core/json_text.hpp"
#include "core/state.hpp"
#include "core/time.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace errand::core {

inline constexpr int kDefaultMaxAttempts = 10;
inline constexpr int kMaxMaxAttempts = 1000;
inline constexpr Millis kDefaultTimeout{5 * 60'000};
inline constexpr std::size_t kMaxQueueName = 64;
inline constexpr std::size_t kMaxTypeName = 128;
inline constexpr std::size_t kMaxIdempotencyKey = 256;
inline constexpr std::size_t kMaxJobKey = 128;  // characters
inline constexpr std::size_t kMaxTags = 32;
inline constexpr std::size_t kMaxTagLength = 64;
inline constexpr std::size_t kMaxErrorMessage = 4096;
inline constexpr std::size_t kMaxLogBytes = 64 * 1024;  // kept per attempt: the tail

struct Progress {
  std::optional<int> percent;  // 0..100
  std::string message;
  RawJson data;  // the client's JSON, verbatim; empty when not set
  TimePoint updated_at{};
};

struct AttemptError {
  int attempt = 0;
  TimePoint at{};
  std::string message;
};

// What an attempt's handler wrote (the last kMaxLogBytes), kept apart from
// the job row so claims never read it.
struct AttemptLog {
  int attempt = 0;
  TimePoint at{};  // when the attempt ended
  std::string text;
};

// Workflows (docs/API.md "Workflows"): the most parents one job may wait
// for, and a parent as its children see it.
inline constexpr std::size_t kMaxParents = 1000;
inline constexpr std::size_t kMaxChildrenShown = 100;  // a job's read lists this many
struct ParentRef {
  std::string id;
  JobState state = JobState::queued;
  RawJson result;  // the parent's result (claims only); empty: none
};

// A continued job's wait for a signal (POST /v1/signals/<token>).
enum class SignalStatus : std::uint8_t {
  none,       // the job never waited for one (or its last continue did not)
  waiting,    // it waits: the signal URL works once
  received,   // the signal came: its body is the job's `signal`
  timed_out,  // the wait ended without one: the job resumed with signal null
};
std::string_view to_string(SignalStatus s) noexcept;

// A completion webhook (`on_done`): Errand POSTs the job's JSON to `url`
// when the job ends, signed like push calls, retried until a 2xx or for
// kWebhookRetryFor.
inline constexpr Millis kWebhookRetryFor{24 * 3'600'000};
struct WebhookInfo {
  std::string state;    // "pending", "delivered" or "failed" (gave up)
  int attempts = 0;     // calls made
  int last_status = 0;  // the last call's HTTP status; 0: none (or no answer)
  std::string last_error;
  TimePoint created_at{};                 // when the job ended (the retries' clock starts)
  std::optional<TimePoint> next_at;       // pending: the next call
  std::optional<TimePoint> delivered_at;  // delivered: when
};

// A job as stored. Lease fields are meaningful only while running.
struct Job {
  std::string id;
  std::string queue;
  std::string type;
  RawJson payload;  // the client's JSON, verbatim (core/json_text.hpp)
  JobState state = JobState::queued;
  std::int64_t priority = 0;
  TimePoint run_at{};
  TimePoint created_at{};
  std::optional<TimePoint> started_at;
  std::optional<TimePoint> finished_at;
  int attempt = 0;
  int max_attempts = kDefaultMaxAttempts;
  Millis timeout = kDefaultTimeout;
  std::string idempotency_key;  // empty: none
  // Whom the job belongs to (a customer, workspace, user): the unit of the
  // queue's per-key limits and fair claims. Empty: none (the keyless jobs
  // of a queue share their turn as if they had one key).
  std::string key;
  std::vector<std::string> tags;
  std::optional<Progress> progress;
  RawJson result;  // empty until succeeded with a result; verbatim
  std::vector<AttemptError> errors;
  std::string lease_id;
  std::string worker;
  std::optional<TimePoint> lease_expires_at;
  bool cancel_requested = false;
  // A store several servers share (PostgreSQL): the number of the job's
  // last change, from a sequence per job that every server sees alike (job
  // events across servers, engine/events.hpp). 0 elsewhere.
  std::uint64_t event_seq = 0;
  // Every attempt's log, oldest first: filled by a single-job read only.
  std::vector<AttemptLog> logs;
  // Push delivery (push queues' jobs only): calls that answered `continue`,
  // 429/503 answers in a row, and the state the last `continue` returned
  // (serialized JSON; empty: none). The state is read by push claims only.
  std::int64_t push_continuations = 0;
  int push_deferrals = 0;
  std::string push_state;
  // The size in bytes of that state, for readers (who never see the state).
  std::int64_t push_state_bytes = 0;
  // Continuations of pull jobs use the same bookkeeping (push_continuations,
  // push_state): a claim of a continued job carries its state and signal.
  // The signal wait of the last continuation, its nonce (the signal URL's
  // secret part: admins' reads only) and, once received, the signal's body.
  SignalStatus signal_status = SignalStatus::none;
  std::string signal_nonce;
  RawJson signal;
  // Dependencies: the jobs this one waits for (`after`), filled by a
  // single-job read and by claims (with their results), and the first
  // kMaxChildrenShown jobs that wait for this one (single-job read only).
  // `after_failure_run`: run even when a parent ends dead or cancelled.
  std::vector<ParentRef> parents;
  std::vector<std::string> children;
  bool after_failure_run = false;
  bool has_parents = false;            // the job was enqueued with `after`
  bool has_children = false;           // some job waits (or waited) for this one
  bool continued = false;              // a continuation stored its state (claims read it)
  std::string batch;                   // the batch the job belongs to; empty: none
  std::string on_done;                 // its completion webhook's URL; empty: none
  std::optional<WebhookInfo> webhook;  // that webhook's delivery (single-job read only)
  // W3C trace context given at enqueue (core/trace.hpp): handed to workers,
  // push calls and webhooks, written in log lines. Empty: none.
  std::string traceparent;
  std::string tracestate;
};

// Deduplication at enqueue (`unique`): while a job of the same queue with
// this key is in one of `states` (and, with `within`, was enqueued at most
// that long ago), the enqueue enqueues nothing: it answers that job
// (`replace`: after giving a waiting one the new payload, run_at and
// priority).
inline constexpr std::size_t kMaxDedupKey = 256;
struct UniqueSpec {
  std::string key;
  std::optional<Millis> within;
  unsigned states = (1u << static_cast<unsigned>(JobState::scheduled)) |
                    (1u << static_cast<unsigned>(JobState::queued)) |
                    (1u << static_cast<unsigned>(JobState::running));
  bool replace = false;
  bool operator==(const UniqueSpec&) const = default;
};

// Debounce: enqueues sharing the key within `period` collapse into one job,
// which runs `period` after the last of them with the last payload, and no
// later than `max_wait` after the first.
struct DebounceSpec {
  std::string key;
  Millis period{0};
  std::optional<Millis> max_wait;
  bool operator==(const DebounceSpec&) const = default;
};

// What an enqueue asks for, already validated, before the store assigns state.
struct NewJob {
  std::string queue;
  std::string type;
  RawJson payload;
  // priority, max_attempts, timeout unset: the queue's default, else the
  // server's (core::resolve_settings).
  std::optional<std::int64_t> priority;
  TimePoint run_at{};
  std::optional<int> max_attempts;
  std::optional<Millis> timeout;
  std::string idempotency_key;
  std::string key;  // validated (validate_job_key); empty: none
  std::vector<std::string> tags;
  std::optional<UniqueSpec> unique;      // not with debounce
  std::optional<DebounceSpec> debounce;  // run_at is ignored: the store sets it
  // Parents: ids of existing jobs, and indexes of earlier jobs of the same
  // insert (a batch's `ref`s), at most kMaxParents in all. The job is
  // blocked until each has succeeded (or ended, with after_failure_run).
  std::vector<std::string> after;
  std::vector<std::size_t> after_items;
  bool after_failure_run = false;
  std::string on_done;  // completion webhook URL (validated); empty: none
  // W3C trace context (validated, core/trace.hpp); empty: none.
  std::string traceparent;
  std::string tracestate;
};

// At most `limit` bytes of `text`: its head (keep_tail false) or its tail,
// never cutting a UTF-8 sequence in two.
std::string utf8_clip(std::string_view text, std::size_t limit, bool keep_tail = false);

// Queue names: [a-z0-9_.-]{1,64}.
Result<void> validate_queue_name(std::string_view name, std::string_view field = "queue");
// Job keys: 1..kMaxJobKey characters of UTF-8 without control characters.
Result<void> validate_job_key(std::string_view key, std::string_view field = "key");
// Job types and tags: printable ASCII without spaces, 1..limit characters.
Result<void> validate_label(std::string_view value, std::size_t limit, std::string_view field);

}  // namespace errand::core
