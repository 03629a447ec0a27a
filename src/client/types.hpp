// The values the C++ client sends and receives, one struct per API shape
// (see docs/API.md). Optional request fields left unset are not sent, so the
// server's defaults apply. Plain value types: thread-compatible.
#pragma once

#include "core/job.hpp"
#include "core/queue_config.hpp"
#include "core/queue_json.hpp"
#include "core/schedule_json.hpp"
#include "core/state.hpp"
#include "core/time.hpp"

#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace errand::client {

// POST /v1/jobs (and each item of POST /v1/jobs/batch).
struct EnqueueOptions {
  std::string queue;
  std::string type;                       // empty: none
  boost::json::value payload;             // null: none
  core::RawJson payload_json;             // set: sent verbatim instead of `payload`
  std::optional<core::Millis> delay;      // not with run_at
  std::optional<core::TimePoint> run_at;  // not with delay
  std::optional<std::int64_t> priority;
  std::optional<int> max_attempts;
  std::optional<core::Millis> timeout;
  std::string idempotency_key;  // empty: none
  std::string key;              // whom the job belongs to (per-key limits); empty: none
  std::vector<std::string> tags;
  std::optional<core::UniqueSpec> unique;      // deduplication (docs/API.md)
  std::optional<core::DebounceSpec> debounce;  // not with delay or run_at
  // Fields the job's token may see besides the job's status: {"payload"} (the
  // only one). Empty: status only.
  std::vector<std::string> token_scope;
  // Parents: the job is blocked until each has succeeded (docs/API.md,
  // "Workflows"); with after_failure_run it runs once each has ended.
  std::vector<std::string> after;
  bool after_failure_run = false;
};

struct Enqueued {
  std::string id;
  core::JobState state = core::JobState::queued;
  std::string token;       // read token for this one job (e.g. for a browser)
  bool duplicate = false;  // an earlier job with the same idempotency or unique key
  bool replaced = false;   // unique "replace": that waiting job took this enqueue's payload
  bool debounced = false;  // debounce: the job that will run
};

// GET /v1/jobs. Empty / unset fields are not filtered on.
struct ListOptions {
  std::string queue;
  std::optional<core::JobState> state;
  std::string type;
  std::string tag;                       // jobs carrying this tag
  std::string text;                      // jobs whose payload JSON contains this text
  std::optional<core::TimePoint> since;  // created at or after
  std::optional<core::TimePoint> until;  // created before
  std::optional<int> limit;              // 1..1000, server default 50
  std::string cursor;                    // next_cursor of the previous page
  bool include_payload = false;          // payload, result and progress data too
};

struct JobPage {
  std::vector<core::Job> jobs;  // newest first
  std::string next_cursor;      // empty: this was the last page
  bool partial = false;         // a tag/q search stopped before the page was full
  bool client_json = false;     // the jobs carry payload, result and progress data
};

// POST /v1/claim.
struct ClaimOptions {
  std::vector<std::string> queues;  // tried in order
  std::string worker;               // empty: the server's "anonymous"
  int max = 1;
  core::Millis wait{0};               // long poll: return as soon as a job is runnable
  std::optional<core::Millis> lease;  // unset: each job's timeout
};

struct ClaimedJob {
  std::string id;
  std::string queue;
  std::string type;
  boost::json::value payload;  // parsed by Boost.JSON (1e400 reads as infinity)
  core::RawJson payload_json;  // exactly as the server holds it
  int attempt = 0;
  int max_attempts = 0;
  std::int64_t priority = 0;
  std::string lease_id;
  core::TimePoint lease_expires_at{};
  std::vector<std::string> tags;
  core::TimePoint created_at{};
  // The W3C trace context the job was enqueued with (the claim's `trace`);
  // empty: none.
  std::string traceparent;
  std::string tracestate;
  // Workflows: the parents (`after`) with their results; and for a job that
  // was continued, how many times, the state its last continue saved and,
  // after a wait for a signal, the signal's body (null: the wait timed out).
  struct Parent {
    std::string id;
    core::JobState state = core::JobState::succeeded;
    boost::json::value result;
  };
  std::vector<Parent> parents;
  std::int64_t continuation = 0;
  boost::json::value state;
  std::optional<boost::json::value> signal;
};

// POST /v1/jobs/{id}/continue: the attempt ends without failing; the job
// sleeps (delay / until) or waits for a signal (signal_timeout), then runs
// again with `state`.
struct ContinueOptions {
  boost::json::value state;
  std::optional<core::Millis> delay;
  std::optional<core::TimePoint> until;
  std::optional<core::Millis> signal_timeout;
};
struct Continued {
  std::string id;
  core::JobState state = core::JobState::scheduled;
  core::TimePoint run_at{};
  std::string signal_url;  // a path (/v1/signals/…); empty unless it waits for a signal
};

struct HeartbeatResult {
  core::TimePoint lease_expires_at{};
  bool cancel_requested = false;
};

// POST /v1/jobs/{id}/progress. Unset fields are not sent.
struct ProgressUpdate {
  std::optional<int> percent;  // 0..100
  std::optional<std::string> message;
  boost::json::value data;  // null: not sent
};

// POST /v1/jobs/{id}/fail.
struct FailOptions {
  std::string error;
  bool retry = true;                     // false: no further attempts
  std::optional<core::Millis> retry_in;  // overrides the backoff
  std::string log;                       // the attempt's output (the server keeps 64 KiB)
};

// What complete / fail did to the job.
struct Finished {
  std::string id;
  core::JobState state = core::JobState::succeeded;
  std::optional<core::TimePoint> run_at;  // for fail: when the next attempt may start
};

// One item of POST /v1/acks: a complete, or a fail when `error` is set.
struct Ack {
  std::string id;
  std::string lease_id;
  boost::json::value result;             // complete only; null: not sent
  core::RawJson result_json;             // complete only; set: sent verbatim instead of `result`
  std::optional<std::string> error;      // set: this is a fail
  bool retry = true;                     // fail only
  std::optional<core::Millis> retry_in;  // fail only
  std::string log;                       // the attempt's output; empty: none
};

struct AckResult {
  std::string id;
  bool ok = false;
  core::JobState state = core::JobState::succeeded;  // when ok
  core::Error error;                                 // when not ok
};

// A queue (GET /v1/queues/{q}, PUT, pause, resume), a page of GET /v1/queues,
// a key of a queue and a page of keys: the core codec's types
// (core/queue_json.hpp).
using QueueInfo = core::QueueStatus;
using QueuePage = core::QueuePage;
using KeyInfo = core::KeyStatus;
using KeyPage = core::KeyPage;

// A push queue's signing secrets (GET /v1/queues/{q}/push-secret).
struct PushSecret {
  std::string queue;
  std::string secret;
  std::string previous;  // empty: none (or no longer valid)
  std::optional<core::TimePoint> previous_expires_at;
};

// PUT /v1/schedules/{name}: the whole schedule (unset fields: server defaults).
struct ScheduleOptions {
  std::string cron;      // 5 or 6 fields, or a macro such as @daily
  std::string timezone;  // IANA name; empty: UTC
  std::string queue;
  std::string type;            // empty: none
  boost::json::value payload;  // null: none
  std::optional<std::int64_t> priority;
  std::optional<int> max_attempts;
  std::string overlap;  // "allow" or "skip"; empty: allow
  bool paused = false;
  std::optional<core::Millis> catch_up;  // unset: 1h
};

// One schedule of GET /v1/schedules (and GET / PUT /v1/schedules/{name}) and
// its next fire times: the core codec's types (core/schedule_json.hpp).
using ScheduleFire = core::ScheduleFire;
using ScheduleInfo = core::ScheduleStatus;

}  // namespace errand::client
