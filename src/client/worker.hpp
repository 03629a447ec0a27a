// The worker runtime of the C++ client: claims jobs from an Errand server and
// runs registered handlers on them, keeping their leases alive.
//
// Register one handler per queue (or per queue and job type), then call
// `run()`: it long-polls `claim` for as many jobs as there are free slots
// (`concurrency`), runs each handler on a thread of a pool of that size,
// heartbeats every running job at a third of its lease (at least every 10s,
// so a cancel is seen soon) from one heartbeat thread, and reports the
// outcome: a returned JSON value completes the job with that result, a thrown
// exception fails the attempt (retried with backoff), a thrown `NoRetry`
// fails it for good (`dead`). Outcomes that are ready together are sent in
// one `POST /v1/acks`.
//
// `stop()` (from any thread; not from a signal handler) stops claiming and
// lets running handlers finish for up to `grace`; jobs still running then are
// failed on the server so they are retried elsewhere, and their handlers see
// `should_stop()`. `run()` returns once every handler has returned — a
// handler that ignores `should_stop()` keeps it waiting, although its job
// has already been handed back. A server that cannot be reached is retried
// with capped backoff and a log line; given several URLs (ClientOptions), the
// client moves claims, heartbeats, progress and acks on to the next one
// first. Nothing in the runtime throws.
//
// Thread-safety: `handle()` before `run()` only; `stop()` from anywhere;
// a `RunningJob` belongs to the handler it was given to.
#pragma once

#include "client/client.hpp"
#include "client/types.hpp"
#include "core/time.hpp"

#include <boost/json/value.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace errand::client {

// Thrown by a handler: the attempt fails and the job is not retried (dead).
class NoRetry : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Why a handler should give up its job early.
enum class StopReason {
  none,
  cancelled,   // the job was cancelled (seen on a heartbeat)
  lease_lost,  // the job was deleted, or its lease ran out and went to another worker
  shutdown,    // the worker's grace period after stop() is over
};

std::string_view to_string(StopReason r) noexcept;

struct JobSlot;  // shared by the runtime and the handle (worker_runtime.hpp)
class WorkerRuntime;

// The handler's view of its job. Calls are best effort: a failed progress
// call is logged, never thrown.
class RunningJob {
 public:
  RunningJob(std::shared_ptr<JobSlot> slot, WorkerRuntime* runtime);

  const ClaimedJob& job() const noexcept;
  const std::string& id() const noexcept { return job().id; }
  const std::string& queue() const noexcept { return job().queue; }
  const std::string& type() const noexcept { return job().type; }
  const boost::json::value& payload() const noexcept { return job().payload; }
  // The payload's JSON text exactly as enqueued (numbers beyond a double kept).
  const core::RawJson& payload_json() const noexcept { return job().payload_json; }
  int attempt() const noexcept { return job().attempt; }
  // The W3C trace context the job was enqueued with (empty: none), to
  // continue the enqueue's trace in the handler's own spans.
  const std::string& traceparent() const noexcept { return job().traceparent; }
  const std::string& tracestate() const noexcept { return job().tracestate; }
  // The lease as first granted: the claim's `lease`, else the job's timeout.
  core::Millis lease() const noexcept;

  // Sets the job's progress now. False when the server did not take it.
  bool progress(int percent, std::string_view message = {},
                const boost::json::value& data = nullptr);
  // The attempt's log (what the handler's work printed), sent with its
  // outcome; the server keeps the last 64 KiB. Replaces an earlier one.
  void set_log(std::string text);
  // Completes with this JSON text verbatim instead of the handler's return
  // value (for results that must keep numbers a double cannot hold).
  void set_result_json(core::RawJson result);
  // Workflows (docs/API.md): the parents with their results; the state the
  // job's last continue saved (null: never continued); after a wait for a
  // signal, the signal's body (null: the wait timed out).
  const std::vector<ClaimedJob::Parent>& parents() const noexcept { return job().parents; }
  const boost::json::value& state() const noexcept { return job().state; }
  const std::optional<boost::json::value>& signal() const noexcept { return job().signal; }
  // Ends this attempt now without failing it: the job sleeps, or waits for
  // a signal, then runs again with `options.state` (the handler's return
  // value is then ignored; return at once). For a wait, the answer's
  // signal_url is what to hand to whoever will call it. Errors: the
  // server's (e.g. conflict when the lease was lost).
  core::Result<Continued> continue_job(const ContinueOptions& options);
  // The handler continued the job by other means (its own POST
  // /v1/jobs/{id}/continue): no outcome is sent for this attempt.
  void mark_continued();
  // Set from heartbeat answers.
  bool cancel_requested() const noexcept;
  // Any reason to give up now (cancelled, lease lost, shutdown).
  bool should_stop() const noexcept { return stop_reason() != StopReason::none; }
  StopReason stop_reason() const noexcept;

 private:
  std::shared_ptr<JobSlot> slot_;
  WorkerRuntime* runtime_;
};

using Handler = std::function<boost::json::value(RunningJob& job)>;

// What became of one job, for logs and summaries (after the server answered).
struct JobOutcome {
  ClaimedJob job;
  bool ok = false;           // completed
  core::JobState state{};    // as the server reports it, when reported
  std::string error;         // the failure message sent, when not ok
  std::string report_error;  // set when the server refused or never got the outcome
  core::Millis elapsed{0};   // handler run time
};

enum class LogLevel { info, warn, error };

struct WorkerOptions {
  std::string name;     // empty: "host:pid"
  int concurrency = 1;  // handler threads = jobs at a time
  // Each claim waits this long for work. It bounds how long an idle worker
  // takes to notice stop() (as the short blocking fetch in Faktory and
  // Sidekiq does), at one small request per wait per idle worker.
  core::Millis claim_wait{2'000};
  std::optional<core::Millis> lease;  // claim `lease`; unset: each job's timeout
  core::Millis grace{30'000};         // after stop(): time for running handlers to finish
  core::Millis max_backoff{15'000};   // cap of the reconnect backoff
  std::size_t max_ack_batch = 100;
  // Log lines (default: "errand worker: <line>" on stderr). Any thread.
  std::function<void(LogLevel, std::string_view)> log;
  // Called once per job after its outcome was reported. Any thread.
  std::function<void(const JobOutcome&)> on_outcome;
};

class Worker {
 public:
  // `client` must outlive the worker.
  Worker(Client& client, WorkerOptions options);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Jobs of `queue` (of any type not registered separately).
  void handle(std::string queue, Handler handler);
  // Jobs of `queue` with this `type`.
  void handle(std::string queue, std::string type, Handler handler);

  // Claims and runs jobs until stop(); returns when all work is reported.
  // Returns at once if no handler is registered.
  void run();
  // Stops claiming and starts the grace period. Idempotent.
  void stop();

 private:
  std::unique_ptr<WorkerRuntime> runtime_;
};

}  // namespace errand::client
