// The C++ client for an Errand server: producer calls (enqueue, read, cancel,
// retry, delete), worker calls (claim, heartbeat, progress, complete, fail,
// acks) and queue administration, one typed method per API route
// (docs/API.md).
//
// Every method is synchronous and returns `core::Result<T>`: the typed
// answer, or the server's error (its code, message and field, e.g.
// `not_found`, or `conflict` for a stale lease), or `unavailable` when the
// server cannot be reached or does not answer in time. Nothing throws.
// A Client owns a small pool of keep-alive connections and is thread-safe:
// share one between threads; each call uses its own connection. The header
// is free of Asio and Beast.
//
// Give a client every node's URL when several servers share one database:
// calls go to the first until it fails (no connection, the connection lost
// before an answer, or `503` `unavailable`), then to the next, and so on
// (sticky). A call that cannot have been acted on goes to the next URL at
// once; one that may have been (the connection broke after it was sent) does
// so only if repeating it is harmless — reads, PUTs, claims, heartbeats,
// progress, pause and resume, an enqueue whose jobs all carry an
// idempotency key. Other calls (complete, fail, acks, cancel, retry, delete,
// trigger, an enqueue without a key) then return `unavailable` and leave the
// retry to their caller, whose next call goes to the next URL. When every
// URL fails, the error names each (client/failover.hpp has the rules).
#pragma once

#include "client/types.hpp"
#include "core/error.hpp"
#include "core/job.hpp"

#include <boost/json/value.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace errand::client {

inline constexpr std::string_view kDefaultUrl = "http://127.0.0.1:8740";

// A URL that failed, the one calls go to now, and why (for log lines).
struct Failover {
  std::string from, to;
  core::Error why;
};

struct ClientOptions {
  // http[s]://host:port, or several separated by commas: every node of one
  // service ("http://a:8740,http://b:8740", as ERRAND_URL holds them).
  std::string url{kDefaultUrl};
  // The same as a list, one URL an entry; when not empty, used instead of `url`.
  std::vector<std::string> urls;
  std::string key;                       // bearer secret; empty: none (loopback servers)
  core::Millis connect_timeout{5'000};   // per URL tried
  core::Millis request_timeout{30'000};  // per call and URL; a claim adds its wait
  std::size_t max_idle_connections = 8;  // per URL
  // https:// servers' certificates are checked against the system's CA
  // store plus the PEM certificates of this file (e.g. a private CA's);
  // empty: the system's store alone. An unusable file is reported by every
  // call as `invalid_argument`, field "ca_file".
  std::string ca_file;
  // Called when a URL failed and calls move to the next, on the thread of
  // the call that failed (once per move, however many calls saw it fail).
  // Empty: nothing is said.
  std::function<void(const Failover&)> on_failover;
};

class Client {
 public:
  // Never fails: a malformed URL (or list) is reported by every call as
  // `invalid_argument`, field "url" (an unusable ca_file likewise).
  explicit Client(ClientOptions options);
  ~Client();
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;

  // ---- producers ----
  // Durable on the server before it answers.
  core::Result<Enqueued> enqueue(const EnqueueOptions& job);
  // All or nothing; results in the order of `jobs`.
  core::Result<std::vector<Enqueued>> enqueue_batch(const std::vector<EnqueueOptions>& jobs);
  core::Result<core::Job> get(std::string_view id);
  core::Result<JobPage> list(const ListOptions& options = {});
  // Each returns the job after the change.
  core::Result<core::Job> cancel(std::string_view id);
  core::Result<core::Job> retry(std::string_view id);
  core::Result<void> remove(std::string_view id);

  // ---- workers ----
  // Waits up to `options.wait` for work; the read time-out allows for it.
  core::Result<std::vector<ClaimedJob>> claim(const ClaimOptions& options);
  // `read_timeout` zero: `request_timeout`.
  core::Result<HeartbeatResult> heartbeat(std::string_view id, std::string_view lease_id,
                                          std::optional<core::Millis> extend = std::nullopt,
                                          core::Millis read_timeout = core::Millis{0});
  core::Result<void> progress(std::string_view id, std::string_view lease_id,
                              const ProgressUpdate& update);
  core::Result<Finished> complete(std::string_view id, std::string_view lease_id,
                                  const boost::json::value& result = nullptr,
                                  std::string_view log = {});
  // Ends the attempt without failing it: the job sleeps or waits for a signal
  // (docs/API.md, "Workflows"), then runs again with `options.state`.
  core::Result<Continued> continue_job(std::string_view id, std::string_view lease_id,
                                       const ContinueOptions& options);
  core::Result<Finished> fail(std::string_view id, std::string_view lease_id,
                              const FailOptions& options);
  // Many completes and fails in one call; each item succeeds or fails alone.
  core::Result<std::vector<AckResult>> ack_many(const std::vector<Ack>& acks);

  // ---- queues and health ----
  // Every queue, sorted by name (each page of GET /v1/queues in turn).
  core::Result<std::vector<QueueInfo>> queues();
  // One page of the queues after `cursor` (empty: from the first); `limit`
  // 1..1000, unset: the server's default (100).
  core::Result<QueuePage> queue_page(std::string_view cursor = {},
                                     std::optional<int> limit = std::nullopt);
  core::Result<QueueInfo> pause(std::string_view queue);
  core::Result<QueueInfo> resume(std::string_view queue);
  // One queue; `not_found` when the server has never seen it.
  core::Result<QueueInfo> get_queue(std::string_view queue);
  // Replaces the queue's whole config and pause flag (creating the queue);
  // unset fields are cleared. Needs an admin key.
  core::Result<QueueInfo> configure_queue(std::string_view queue, const core::QueueConfig& config,
                                          bool paused = false);
  // The queue's push signing secret(s); `not_found` if it never had a push
  // endpoint. Needs an admin key.
  core::Result<PushSecret> push_secret(std::string_view queue);
  // ---- a queue's keys (flow control) ----
  // One page of the queue's keys by name after `cursor`, or (busiest) the
  // keys with the most jobs running + queued.
  core::Result<KeyPage> keys(std::string_view queue, std::string_view cursor = {},
                             std::optional<int> limit = {}, bool busiest = false);
  // `not_found` (field "key") when it has no jobs and no settings.
  core::Result<KeyInfo> get_key(std::string_view queue, std::string_view key);
  // Replaces the key's own settings.
  core::Result<KeyInfo> put_key(std::string_view queue, std::string_view key,
                                const core::KeyLimits& limits);
  // Removes them; `not_found` when it has none.
  core::Result<KeyInfo> delete_key(std::string_view queue, std::string_view key);
  // A new secret; the old one stays valid for `keep_previous` (server default 24h).
  core::Result<PushSecret> rotate_push_secret(std::string_view queue,
                                              std::optional<core::Millis> keep_previous = {});
  // Ok when the server answers /healthz with 200.
  core::Result<void> health();

  // ---- cron schedules (writes need an admin key) ----
  core::Result<std::vector<ScheduleInfo>> schedules();
  // `not_found` for an unknown name.
  core::Result<ScheduleInfo> get_schedule(std::string_view name);
  // Creates or replaces the whole schedule; a bad cron or time zone is
  // `invalid_argument` naming the field ("cron", "timezone").
  core::Result<ScheduleInfo> put_schedule(std::string_view name, const ScheduleOptions& options);
  core::Result<void> delete_schedule(std::string_view name);
  // Enqueues the schedule's job now; returns the job.
  core::Result<Enqueued> trigger_schedule(std::string_view name);
  core::Result<ScheduleInfo> pause_schedule(std::string_view name);
  core::Result<ScheduleInfo> resume_schedule(std::string_view name);

  // The raw JSON answer of any route, for what has no typed call yet.
  // `body` null: no body. A non-2xx answer is an error as for typed calls.
  // GET and PUT are repeated on the next URL after a lost connection; POST
  // and DELETE only when they cannot have arrived.
  core::Result<boost::json::value> call(std::string_view method, std::string_view target,
                                        const boost::json::value& body = nullptr,
                                        core::Millis read_timeout = core::Millis{0});

  // The server URL(s) as configured (for messages).
  const std::string& url() const noexcept;
  // The URL calls go to now.
  std::string current_url() const;
  // Every URL, the current one first, then the others in their order: the
  // list to hand on (as ERRAND_URL, joined with commas) to another client.
  std::vector<std::string> urls() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace errand::client
