// The engine: the job lifecycle on top of a Store.
//
// It turns API requests into store verbs with the injected clock's `now`,
// assigns ids, makes long-poll claims wait for work (woken by the store's
// change notices, never by polling), and runs the timer that promotes due
// jobs, expires leases and prunes finished jobs. `tick(now)` does what is due
// at `now` and returns the next deadline; the timer sleeps until then and is
// re-armed early by any commit that brings a deadline closer. Tests drive
// `tick` with a FakeClock and leave the timer off.
//
// Every coroutine here may be awaited from any executor and resumes on it.
// Methods are thread-safe. The engine registers itself as the store's change
// listener: close the store before destroying the engine. Durability is the store's: a mutating
// call completes after its change is fsync'd.
#pragma once

#include "core/job.hpp"
#include "core/mutex.hpp"
#include "engine/events.hpp"
#include "engine/job_metrics.hpp"
#include "engine/nodes.hpp"
#include "engine/schedules.hpp"
#include "engine/stats.hpp"
#include "engine/waiters.hpp"
#include "store/store.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <unordered_set>
#include <utility>

namespace errand::engine {

template <class T>
using Task = boost::asio::awaitable<core::Result<T>>;

// The bus's event of a change a shared store reported (its own number kept).
JobEvent event_of(store::JobEventNotice notice);

struct EnqueueRequest {
  std::string queue;
  std::string queue_field = "queue";  // the request field naming `queue`, for errors
  std::string type;
  core::RawJson payload;  // verbatim (core/json_text.hpp)
  std::optional<core::Millis> delay;
  std::optional<core::TimePoint> run_at;
  // Unset: the queue's configured default, else the server's.
  std::optional<std::int64_t> priority;
  std::optional<int> max_attempts;
  std::optional<core::Millis> timeout;
  std::string idempotency_key;
  std::string key;  // validated (core::validate_job_key); empty: none
  std::vector<std::string> tags;
  std::optional<core::UniqueSpec> unique;
  std::optional<core::DebounceSpec> debounce;  // not with delay or run_at
  // Parents (core::NewJob::after): job ids, and earlier requests of the
  // same call by index.
  std::vector<std::string> after;
  std::vector<std::size_t> after_items;
  bool after_failure_run = false;
  std::string on_done;  // completion webhook URL (validated); empty: none
  // W3C trace context (core/trace.hpp, validated); empty: none.
  std::string traceparent;
  std::string tracestate;
};

// A batch (store::BatchCreateParams): its first jobs and its callback jobs.
struct BatchRequest {
  std::vector<EnqueueRequest> jobs;
  std::optional<EnqueueRequest> on_success, on_complete, on_death;
  bool open = false;
};

struct ClaimRequest {
  std::vector<std::string> queues;
  std::string worker = "anonymous";
  std::size_t max = 1;
  // With a wait: answer once at least `min` jobs are taken (up to max), or
  // when the wait ends with what there is. The jobs taken meanwhile are
  // leased (their lease runs from when each was taken).
  std::size_t min = 1;
  core::Millis wait{0};
  std::optional<core::Millis> lease;
  bool push = false;  // the push dispatcher's claims (push queues only)
};

// What a worker (or the push dispatcher) says of a job it holds. The
// engine adds the time and the backoff's jitter.
struct CompleteRequest {
  std::string id;
  std::string lease_id;
  core::RawJson result;  // empty: none
  std::string log;       // the attempt's log; empty: none
};

struct FailRequest {
  std::string id;
  std::string lease_id;
  std::string error;
  bool retry = true;
  std::optional<core::Millis> retry_in;
  std::string log;
};

// One entry of a batched acknowledgement: `failure` when `fail`, else `complete`.
struct AckRequest {
  bool fail = false;
  CompleteRequest complete;
  FailRequest failure;
};

// Ends a push call without counting an attempt (store::JobRequeueParams).
struct RequeueRequest {
  std::string id;
  std::string lease_id;
  core::TimePoint run_at;
  bool continuation = false;  // else a deferral
  std::string state;
  std::optional<core::Progress> progress;
  std::string signal_nonce;  // a continuation waiting for a signal (until run_at)
};

struct EngineOptions {
  core::Millis retention{7 * 86'400'000};    // finished jobs are kept this long
  core::Millis prune_interval{10 * 60'000};  // how often pruning runs
  bool run_timer = true;                     // false in tests that drive tick()
  // The timer sleeps at most this long between ticks, even with no deadline
  // in sight. With a store other servers share, deadlines they made (a
  // lease held by a server that died, a job they delayed) reach this one
  // only by looking: keep it short there (errand server: 1 s on PostgreSQL).
  core::Millis max_timer_wait{60'000};
  // Queues are never deleted and each costs memory in every stats sample:
  // a change that would create one more than this is refused.
  std::size_t max_queues = 10'000;
  // The schedule timer's longest sleep (engine/schedules.hpp): a second when
  // other servers share the store, so it sees the schedules they change.
  core::Millis schedule_recheck = kDefaultScheduleRecheck;
  EventBusOptions events;
  StatsOptions stats;
  NodeOptions nodes;
  // Where the engine counts enqueues, waits, runs and ends (GET /metrics);
  // null: nowhere. Outlives the engine.
  core::metrics::Metrics* metrics = nullptr;
  // The job transition lines (debug level) as JSON object messages
  // (--log-format json), else text.
  bool json_logs = false;
};

// The start of a watch: the subscription, and the job as it stood at the
// subscription's position (unset for a resume, which needs none).
struct WatchStart {
  Subscription subscription;
  std::optional<core::Job> snapshot;
};

struct EngineStats {
  std::size_t waiting_claims = 0;
  std::uint64_t ticks = 0;
  std::int64_t unreadable_jobs = 0;  // store::Store::unreadable_jobs
};

class Engine {
 public:
  Engine(boost::asio::any_io_executor executor, store::Store& store, const core::Clock& clock,
         EngineOptions options = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Starts the timers (if enabled): deadlines and schedules. stop() wakes
  // every waiting claim (they answer empty) and stops both timers; safe
  // before start() and twice.
  void start();
  void stop();

  // Assigns ids and run_at; inserts all or none. Durable when it completes.
  // Errors: too_many_requests (naming the request's queue_field) when it
  // would create a queue beyond options.max_queues.
  Task<std::vector<store::InsertOutcome>> enqueue(std::vector<EnqueueRequest> requests);

  // Batches (store::BatchCreateParams and the rest). Queues count against
  // options.max_queues as an enqueue's do.
  Task<store::BatchInsertOutcome> create_batch(BatchRequest request);
  Task<store::BatchInsertOutcome> add_to_batch(std::string id, std::vector<EnqueueRequest> jobs);
  Task<core::Batch> seal_batch(std::string id);
  Task<core::Batch> batch(std::string id);

  // Completion webhooks (store::WebhookDelivery): the deliveries due now,
  // leased for `lease`; a call's outcome.
  Task<std::vector<store::WebhookDelivery>> webhooks_due(std::size_t max, core::Millis lease);
  Task<store::Unit> webhook_result(store::WebhookResultParams params);

  Task<core::Job> get(std::string id);
  Task<store::JobPage> list(store::JobListParams params);
  Task<core::Job> cancel(std::string id);
  Task<core::Job> retry(std::string id);
  Task<store::Unit> remove(std::string id);

  // Takes up to `max` jobs; with a `wait`, sleeps until work arrives or the
  // wait ends (then answers empty).
  Task<std::vector<core::Job>> claim(ClaimRequest request);
  // One long poll: the first claim that takes anything, or nothing at the wait's end.
  Task<std::vector<core::Job>> claim_some(ClaimRequest request);

  Task<store::LeaseInfo> heartbeat(std::string id, std::string lease_id,
                                   std::optional<core::Millis> extend);
  Task<store::Unit> progress(std::string id, std::string lease_id, core::Progress progress);
  Task<core::Job> complete(CompleteRequest request);
  Task<core::Job> fail(FailRequest request);
  Task<std::vector<core::Result<core::JobState>>> ack_many(std::vector<AckRequest> requests);
  // Ends a push call without counting an attempt; a pull worker's continue.
  Task<core::Job> requeue(RequeueRequest request);
  // A signal for a job that waits for one (store::JobSignalParams).
  Task<core::Job> signal(std::string id, std::string nonce, core::RawJson body);

  Task<std::vector<store::QueueInfo>> queues();
  // Each queue's longest-waiting queued job's run_at (store::queue_oldest_ready).
  Task<std::map<std::string, core::TimePoint>> oldest_ready();
  // Creating a queue beyond options.max_queues: too_many_requests (field "queue").
  Task<store::QueueInfo> pause(std::string queue, bool paused);
  // Replaces the queue's pause flag and config, creating it if missing
  // (beyond options.max_queues: too_many_requests, field "queue").
  Task<store::QueueInfo> configure(store::QueueConfigureParams params);
  // Errors: not_found.
  Task<store::QueueInfo> queue(std::string name);
  // A key's own settings in a queue (store::Store::key_put and the rest).
  // Creating a queue beyond options.max_queues: too_many_requests.
  Task<store::KeyInfo> put_key(store::KeyPutParams params);
  Task<store::KeyInfo> key(store::KeyRef ref);
  Task<store::KeyInfo> delete_key(store::KeyRef ref);
  Task<store::KeyPage> keys(store::KeyListParams params);
  // Creates or replaces a schedule (Schedules::put). The queue it names
  // counts against options.max_queues as an enqueue's does (its fires create
  // it): a new one beyond the limit is too_many_requests (field "queue") and
  // nothing is written. Durable when it completes.
  Task<store::SchedulePutOutcome> put_schedule(core::ScheduleSpec spec);
  Task<store::QueueInfo> rotate_push_secret(std::string queue, core::Millis keep_previous);

  // Called (on the configuring coroutine's thread) after every successful
  // configure or secret rotation, with the queue after the change. Set
  // before start(); the push dispatcher follows queue changes with it.
  void set_queue_listener(std::function<void(const store::QueueInfo&)> listener);
  // Asked by configure() about a queue's `push` config before anything is
  // written: its error is the configure's (the push dispatcher sets it, to
  // refuse a URL its address policy would refuse at every call). Set before
  // start().
  void set_push_check(std::function<core::Result<void>(const core::PushConfig&)> check);
  // Called with every attempt claimed on this server when it ends
  // (complete, fail, cancel answered by its worker): the OTLP exporter's
  // record (engine/otlp.hpp). Must not block. Set before start().
  void set_span_sink(std::function<void(AttemptSpan)> sink);
  // Wakes long-poll claims waiting on `queues` (they claim again at once).
  void wake_claims(const std::vector<std::string>& queues);

  // A consistent copy of the store's database, taken while it serves
  // (store::Store::database_backup). Durable when it completes.
  Task<store::DatabaseBackup> backup(store::DatabaseBackupParams params);

  // Follows a job's changes: subscribes to its events, resuming after
  // `resume` if the bus still can, else with a snapshot read consistent with
  // the subscription (every change after the snapshot is delivered, none
  // before it). `wake` runs (on any thread) when the watcher has events.
  // Unsubscribe with events().unsubscribe(). Errors: not_found.
  Task<WatchStart> watch(std::string id, std::function<void()> wake,
                         std::optional<StreamPosition> resume);
  // The job event bus. Without the timer (tests) call flush_due yourself.
  EventBus& events() { return events_; }

  // Does what is due at `now` (promote due jobs, expire leases, prune) and
  // returns the next deadline, if any.
  boost::asio::awaitable<std::optional<core::TimePoint>> tick(core::TimePoint now);

  const core::Clock& clock() const { return clock_; }
  EngineStats stats() const;
  // False while the store refuses writes (store::Store::writable).
  bool store_writable() const;
  // Throughput, claim latency and workers of the recent past (sampled by
  // the engine's timer every options.stats.step while started).
  const StatsHistory& history() const { return history_; }
  // Cron schedules and their timer (started and stopped with the engine).
  Schedules& schedules() { return *schedules_; }
  // This server in the node registry; its heartbeat starts and stops with
  // the engine's timers, once announced.
  Nodes& nodes() { return nodes_; }
  const Nodes& nodes() const { return nodes_; }
  // Runs when the store reports a committed change (any thread).
  void on_store_change(const store::ChangeNotice& notice);

 private:
  double next_jitter() EXCLUDES(rng_mutex_);
  boost::asio::awaitable<void> timer_loop();
  boost::asio::awaitable<void> stats_loop();
  boost::asio::awaitable<void> keep_sample(core::TimePoint at,
                                           const std::vector<store::QueueInfo>& queues);
  void request_deadline(core::TimePoint deadline);
  struct Sleeper;
  // Submits one claim to the store; `done` runs on the store's thread.
  void start_claim(const ClaimRequest& request, store::Callback<std::vector<core::Job>> done);
  Task<std::vector<core::Job>> claim_once(const ClaimRequest& request);
  // A waiter's wake-up: claims for the sleeping coroutine, then rings its timer.
  void wake_sleeper(const std::shared_ptr<Sleeper>& sleeper, const ClaimRequest& request,
                    const std::shared_ptr<boost::asio::steady_timer>& timer,
                    const boost::asio::any_io_executor& executor);
  void note_claim(const std::string& worker, const std::vector<core::Job>& jobs);
  // Counts the queues a change names against options.max_queues, reading
  // the store's queue list the first time. `names` pairs a queue with the
  // request field naming it. Errors: too_many_requests, or the store's.
  Task<store::Unit> admit_queues(std::vector<std::pair<std::string, std::string>> names);
  // The store's form of enqueue requests made at `now`.
  static std::vector<core::NewJob> new_jobs(std::vector<EnqueueRequest> requests,
                                            core::TimePoint now);
  void remember_queues(const std::vector<store::QueueInfo>& queues) EXCLUDES(queue_names_mutex_);
  // Wraps a store callback so that `publish(value)` runs first, on the
  // store's thread: events are published in commit order.
  template <class T, class F>
  store::Callback<T> publishing(store::Callback<T> done, F publish);
  void publish_state(const core::Job& job);
  // After an attempt's end: its span (when wanted) and its transition line.
  void attempt_ended(std::string_view lease_id, std::string_view id, std::string_view queue,
                     core::JobState state, core::TimePoint now, const core::Job* job,
                     std::string_view error);
  void resync_events();
  Task<WatchStart> watch_shared(std::string id, std::function<void()> wake,
                                std::optional<StreamPosition> resume);
  void arm_event_flush(core::TimePoint due);

  boost::asio::any_io_executor executor_;
  boost::asio::strand<boost::asio::any_io_executor> timer_strand_;
  store::Store& store_;
  const core::Clock& clock_;
  EngineOptions options_;
  Waiters waiters_;

  core::Mutex rng_mutex_;
  std::mt19937_64 rng_ GUARDED_BY(rng_mutex_);

  // Timer state, touched only on timer_strand_.
  std::shared_ptr<boost::asio::steady_timer> timer_;
  std::optional<core::TimePoint> armed_deadline_;
  std::optional<core::TimePoint> pending_deadline_;
  core::TimePoint next_prune_{};
  std::atomic<bool> started_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> ticks_{0};
  std::unique_ptr<Schedules> schedules_;
  std::function<void(const store::QueueInfo&)> queue_listener_;
  std::function<core::Result<void>(const core::PushConfig&)> push_check_;
  std::function<void(AttemptSpan)> span_sink_;

  // Every queue known to exist (or admitted): the max_queues count.
  core::Mutex queue_names_mutex_;
  std::unordered_set<std::string> queue_names_ GUARDED_BY(queue_names_mutex_);
  std::atomic<bool> queue_names_loaded_{false};

  EventBus events_;
  StatsHistory history_;
  JobMetrics job_metrics_;
  Nodes nodes_;
  std::shared_ptr<boost::asio::steady_timer> stats_timer_;  // touched only on timer_strand_
  // The event bus's flush timer, touched only on timer_strand_.
  std::shared_ptr<boost::asio::steady_timer> event_timer_;
  std::optional<core::TimePoint> event_flush_at_;
};

template <class T, class F>
store::Callback<T> Engine::publishing(store::Callback<T> done, F publish) {
  return [this, done = std::move(done), publish = std::move(publish)](core::Result<T> r) mutable {
    if (r && events_.watched()) publish(*r);
    done(std::move(r));
  };
}

}  // namespace errand::engine
