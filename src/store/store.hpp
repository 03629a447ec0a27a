// The Store: every durable verb the engine needs, and nothing else.
//
// One interface, several backends (sqlite/ now, postgres/ later); SQL lives
// only below this header. Verbs are named noun-first and take one params
// struct each (call them with designated initializers). Every verb takes the
// decision-relevant `now` from its caller, so behaviour is driven by the
// engine's injected clock.
//
// Asynchrony and durability: each verb queues its work and returns at once;
// the `done` callback is invoked exactly once, on a store-owned thread, with
// the verb's result. For a verb that changes data, `done` runs only after the
// change is durable (committed and fsync'd); for a read, it sees every change
// whose `done` has already run. Callbacks must not block: hand heavy work
// elsewhere. After a failed commit or fsync the store refuses further writes
// with `errc::unavailable` until it is reopened.
//
// Thread-safety: every method may be called from any thread concurrently.
// Verbs submitted from one thread take effect in submission order.
#pragma once

#include "core/backoff.hpp"
#include "core/batch.hpp"
#include "core/job.hpp"
#include "core/node.hpp"
#include "core/queue_config.hpp"
#include "core/schedule.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace errand::store {

template <class T>
using Callback = std::function<void(core::Result<T>)>;

struct Unit {};  // the value of a verb that returns nothing

// ---- params and results -----------------------------------------------------

struct JobInsertManyParams {
  // Validated. The store gives each job its id (core/id.hpp: time-ordered,
  // strictly increasing, from `now`). Unset priority / max_attempts / timeout
  // take the queue's configured default, else the server's
  // (core::resolve_settings).
  std::vector<core::NewJob> jobs;
  core::TimePoint now;
};
struct InsertOutcome {
  std::string id;          // the new job's id, or the earlier job's for a duplicate
  core::JobState state;    // queued or scheduled (or the earlier job's state)
  bool duplicate = false;  // a job of the same queue holds the idempotency_key or unique key
  bool replaced = false;   // unique "replace": that waiting job took the new payload and times
  bool debounced = false;  // debounce: the job that will run (new or earlier)
};

struct JobGetParams {
  std::string id;
};

struct JobListParams {
  std::string queue;                    // empty: all queues
  std::optional<core::JobState> state;  // empty: all states
  std::string type;                     // empty: all types
  std::string key;                      // empty: any key; else jobs of this key
  std::string tag;                      // empty: any tags; else jobs carrying this tag
  // Non-empty: the jobs of this batch only (newest first; the other filters
  // but limit and cursor are not applied).
  std::string batch;
  std::string text;                      // empty: any payload; else payloads whose JSON contains it
  std::optional<core::TimePoint> since;  // jobs created at or after
  std::optional<core::TimePoint> until;  // jobs created before
  std::size_t limit = 50;                // 1..1000
  std::string cursor;                    // empty: from the newest; else ids strictly older than it
  // With a tag or text filter: at most this many jobs (of those the other
  // filters leave) are read for one page, so a search of a large store
  // cannot hold the store for long.
  std::size_t search_budget = 10'000;
  // Read the client JSON (payload, result, progress data)? A list shows it
  // only when asked (`include=payload`): it may be large.
  bool client_json = false;
  // The page stops (partial, next_cursor set) once the client JSON read for
  // it passes this many bytes, so a page of large payloads costs about this
  // much memory, not `limit` times the largest payload. At least one job.
  std::size_t max_bytes = 8 << 20;
};
struct JobPage {
  std::vector<core::Job> jobs;  // newest first
  std::string next_cursor;      // empty when there are no more
  // The search read its budget before the page was full: there may be more
  // matches older than next_cursor, where the next page goes on searching.
  bool partial = false;
};

struct JobClaimParams {
  std::vector<std::string> queues;  // tried in this order; paused queues are skipped
  std::string worker;
  std::size_t max = 1;
  std::optional<core::Millis> lease;  // lease length; default: each job's timeout
  core::TimePoint now;
  // False: only pull queues are claimed (workers). True: only push queues
  // (the push dispatcher), and each job comes with its push bookkeeping
  // (push_continuations, push_deferrals, push_state).
  bool push = false;
};
// The claimed jobs are returned in state running, attempt incremented, with a
// fresh lease_id, lease_expires_at = now + lease, started_at = now (first
// attempt only). Only queued jobs whose run_at <= now are taken; within a
// queue, higher priority first, then older (by id) first. A queue's config
// caps what is taken from it: never more running jobs than `concurrency`,
// never more claims than its rate limit's token bucket holds at `now`
// (core/rate_limit.hpp). A queue that has queued jobs but an empty bucket
// gives nothing, and its refill instant is reported as the notice's
// `deadline`; job_promote_due at or after that instant reports the queue as
// runnable again.

struct LeaseExtendParams {
  std::string id;
  std::string lease_id;
  std::optional<core::Millis> extend;  // new lease length from now; default: the job's timeout
  core::TimePoint now;
};
struct LeaseInfo {
  core::TimePoint lease_expires_at;
  bool cancel_requested = false;
};

struct JobProgressParams {
  std::string id;
  std::string lease_id;
  core::Progress progress;  // replaces the job's progress; updated_at = now
  core::TimePoint now;
};

struct JobCompleteParams {
  std::string id;
  std::string lease_id;
  core::RawJson result;  // empty: none
  std::string log;       // the attempt's log (its last core::kMaxLogBytes are kept); empty: none
  core::TimePoint now;
};

struct JobFailParams {
  std::string id;
  std::string lease_id;
  std::string error;  // appended to the job's errors with its attempt number
  bool retry = true;
  std::optional<core::Millis> retry_in;
  std::string log;  // the attempt's log (its last core::kMaxLogBytes are kept); empty: none
  core::TimePoint now;
  double jitter = 0.5;  // [0,1) picks the backoff within its window
};

// Ends a push call without counting it as an attempt: the job waits
// (scheduled, or queued when run_at <= now) for its next call, with the same
// attempt number. A continuation stores `state` (serialized JSON), counts
// one more continuation, clears the deferrals and sets `progress` if given;
// a deferral (429/503 with Retry-After) counts one more deferral.
//
// Pull workers continue too (POST /v1/jobs/{id}/continue): the same, and a
// claim of the job then carries its state. With a `signal_nonce` the job
// waits for a signal instead: state `waiting` until job_signal names the
// nonce, or until run_at (its timeout), when it is queued with signal null.
struct JobRequeueParams {
  std::string id;
  std::string lease_id;
  core::TimePoint run_at;
  bool continuation = false;  // else a deferral
  std::string state;
  std::optional<core::Progress> progress;
  std::string signal_nonce;  // continuation only; empty: no signal
  core::TimePoint now;
};

// A signal for a job waiting for one: the job becomes queued at once and its
// next claim carries `body`. Errors: not_found (field "signal") when the job
// is gone or `nonce` is not its current or last wait's (expired: the wait
// timed out, or a later wait replaced it); conflict (field "signal") when
// that wait's signal was already received.
struct JobSignalParams {
  std::string id;
  std::string nonce;
  core::RawJson body;  // validated JSON
  core::TimePoint now;
};

// One entry of a batched acknowledgement: complete when `fail` is false.
struct AckItem {
  bool fail = false;
  JobCompleteParams complete;
  JobFailParams failure;
};

struct JobCancelParams {
  std::string id;
  core::TimePoint now;
};
struct JobRetryParams {
  std::string id;
  core::TimePoint now;
};
struct JobDeleteParams {
  std::string id;
  // A job deleted before it ended cancels the children that wait for it, at `now`.
  core::TimePoint now;
};

struct QueueInfo {
  std::string name;
  bool paused = false;
  core::QueueConfig config;
  core::PushSecrets push_secrets;                 // never rendered in the queue's JSON
  std::map<core::JobState, std::int64_t> counts;  // every state present, zero if none
  std::int64_t processed = 0;                     // attempts that succeeded, ever
  std::int64_t failed = 0;                        // attempts that failed (incl. lease expiry), ever
};
// A key of a queue (core::Job::key): its jobs and its own settings.
struct KeyInfo {
  std::string queue;
  std::string key;
  std::int64_t queued = 0;
  std::int64_t running = 0;
  bool overridden = false;                         // it has settings of its own (limits)
  core::KeyLimits limits;                          // its own settings (when overridden)
  std::optional<core::TimePoint> throttled_until;  // its claims wait for its bucket until then
};
struct KeyPutParams {
  std::string queue;  // validated names
  std::string key;
  core::KeyLimits limits;  // replaces the key's own settings
};
struct KeyRef {
  std::string queue;
  std::string key;
};
struct KeyListParams {
  std::string queue;
  std::size_t limit = 100;  // 1..1000
  std::string cursor;       // keys after this one (by name); empty: from the first
  // True: the busiest keys first (running + queued, then name), one page.
  bool busiest = false;
};
struct KeyPage {
  std::vector<KeyInfo> keys;
  std::string next_cursor;  // empty when there are no more
};

struct QueuePauseParams {
  std::string queue;
  bool paused = true;
};
struct QueueConfigureParams {
  std::string queue;  // validated name
  bool paused = false;
  core::QueueConfig config;  // validated; replaces the whole config
};
struct QueueGetParams {
  std::string queue;
};
struct QueueRotateSecretParams {
  std::string queue;
  core::Millis keep_previous = core::kDefaultKeepPrevious;
  core::TimePoint now;
};

struct JobPromoteDueParams {
  core::TimePoint now;
};
struct LeaseExpireParams {
  core::TimePoint now;
  double jitter = 0.5;
};
struct JobPruneFinishedParams {
  core::TimePoint finished_before;  // succeeded/dead/cancelled finished before this go
  std::size_t limit = 10'000;       // at most this many per call
};

// ---- batches ------------------------------------------------------------------

// A batch and its first jobs, inserted all or nothing (the jobs as
// job_insert_many inserts them, each marked with the batch). Sealed at once
// unless `open`; an empty sealed batch is done at once.
struct BatchCreateParams {
  std::vector<core::NewJob> jobs;
  std::optional<core::NewJob> on_success, on_complete, on_death;  // callback jobs
  bool open = false;
  core::TimePoint now;
};
// More jobs for an open batch. Errors: not_found (field "id"); conflict
// (field "batch") when it is sealed.
struct BatchAddParams {
  std::string id;
  std::vector<core::NewJob> jobs;
  core::TimePoint now;
};
// No more jobs: the callbacks fire once its jobs have ended (at once if
// they have). Sealing a sealed batch changes nothing. Errors: not_found.
struct BatchSealParams {
  std::string id;
  core::TimePoint now;
};
struct BatchGetParams {
  std::string id;
};
struct BatchInsertOutcome {
  core::Batch batch;  // after the change
  std::vector<InsertOutcome> jobs;
};
// A job of a batch that ends (succeeded, dead, cancelled — also by a
// parent's failure, or deleted before it ended, counted as cancelled) adds
// to the batch's counts in the same transaction; the callback jobs the
// batch then owes (core::batch_firing) are inserted in that transaction
// too, with core::callback_payload: each fires exactly once. A retried
// job of a batch not yet done leaves its count again.

// ---- completion webhooks -----------------------------------------------------------

// A job with `on_done` that ends (succeeded, dead, cancelled) gets one
// delivery, written in the transaction of its end (a later end after a
// retry replaces it); its queue gets a signing secret if it has none.
struct WebhookDelivery {
  std::string job_id;
  std::string queue;
  std::string url;
  int attempts = 0;  // calls made before this one
  core::TimePoint created_at;
};
// Takes up to `max` pending deliveries due at `now`, each leased for
// `lease` (no other server takes it meanwhile; if this one dies, it is due
// again after the lease).
struct WebhookClaimParams {
  core::TimePoint now;
  std::size_t max = 16;
  core::Millis lease{60'000};
};
// A call's outcome: delivered, else retried at `retry_at` (unset: given up).
struct WebhookResultParams {
  std::string job_id;
  bool delivered = false;
  int status = 0;
  std::string error;
  std::optional<core::TimePoint> retry_at;
  core::TimePoint now;
};

// ---- schedules ----------------------------------------------------------------

struct SchedulePutParams {
  core::ScheduleSpec spec;  // validated (core::compile_schedule)
  core::TimePoint now;
};
struct SchedulePutOutcome {
  core::Schedule schedule;  // after the change
  bool created = false;     // there was no schedule of that name
};
struct ScheduleGetParams {
  std::string name;
};
struct ScheduleDeleteParams {
  std::string name;
};
struct SchedulePauseParams {
  std::string name;
  bool paused = true;
  core::TimePoint now;
};
struct ScheduleFireParams {
  std::string name;
  // A scheduled fire time; unset: a manual trigger ("fire now" at `now`),
  // which ignores pause and overlap and is not recorded as a fire time.
  std::optional<core::TimePoint> fire_at;
  core::TimePoint now;
};
enum class FireResult {
  enqueued,         // the job was inserted (job_id)
  skipped_overlap,  // overlap "skip" and the previous run still waits or runs: recorded, no job
  already_fired,    // this fire time is already done (fired, skipped, or before fired_through)
  paused,           // the schedule is paused: nothing recorded
};
struct ScheduleFireOutcome {
  FireResult result = FireResult::enqueued;
  std::string job_id;                             // the job enqueued, when enqueued
  core::JobState state = core::JobState::queued;  // its state, when enqueued
  core::Schedule schedule;                        // after the change
};

// ---- server settings ------------------------------------------------------------

// A value every server on the store must share (the job-token secret): the
// first `value` put under `name` wins and is kept.
struct SettingGetOrPutParams {
  std::string name;
  std::string value;  // stored if `name` has no value yet
};

// ---- throughput history --------------------------------------------------------

// The queues' lifetime counters (QueueInfo::processed and ::failed) as they
// were at one instant: the dashboard's throughput chart is the difference
// between consecutive samples, so keeping them lets the chart outlive a restart.
struct QueueTotals {
  std::int64_t processed = 0;
  std::int64_t failed = 0;
};
struct StatsSample {
  core::TimePoint at;
  std::map<std::string, QueueTotals> queues;  // by queue name
};
struct StatsSamplePutParams {
  StatsSample sample;
  core::TimePoint keep_after;  // samples taken at or before this are deleted
};
struct StatsSampleListParams {
  core::TimePoint since;  // samples taken after this, oldest first
};

// ---- dashboard sessions ----------------------------------------------------------

// A dashboard login as the store keeps it (api/session.hpp): every server on
// the store sees it, so a login on one is valid on all and a logout on one
// ends it on all. The session's id is never stored, only its digest.
struct DashboardSession {
  std::string digest;      // the id's keyed digest (hex), the session's key
  std::string csrf_token;  // what its state-changing requests must carry
  std::string client;      // the address that logged in
  core::TimePoint expires_at;
  core::TimePoint created_at;
};
struct SessionPutParams {
  DashboardSession session;
};
struct SessionGetParams {
  std::string digest;
  core::TimePoint now;  // a session with expires_at <= now is absent
};
struct SessionDeleteParams {
  std::string digest;
};
struct SessionListParams {
  core::TimePoint now;       // sessions with expires_at <= now are left out
  std::size_t limit = 1000;  // at most this many, newest first
};
struct SessionDropExpiredParams {
  core::TimePoint now;  // sessions with expires_at <= now go
  // Then, while more than this many remain, the oldest (by created_at) go.
  std::size_t keep = 10'000;
  std::size_t limit = 1'000;  // at most this many per call, expired ones first
};

// ---- the node registry -----------------------------------------------------------

// One server's heartbeat: its row (core::Node) is created or updated with
// last_seen = now and its figures; a stopped_at it has is kept.
struct NodeHeartbeatParams {
  core::Node node;  // last_seen and stopped_at are ignored
  core::TimePoint now;
  // Nodes whose last_seen is before now - forget_after are deleted (any
  // state): the registry keeps a day of history, not every start ever.
  core::Millis forget_after = core::kNodeForgetAfter;
};
struct NodeStopParams {
  std::string id;
  core::TimePoint now;
};

// A copy of the whole database while the store serves (database_backup).
struct DatabaseBackupParams {
  // The database file the caller means, as stat(2) identifies it (st_dev,
  // st_ino); the store refuses when its own is another file. Unset: any.
  std::optional<std::uint64_t> device;
  std::optional<std::uint64_t> inode;
};
struct DatabaseBackup {
  std::string file;  // the copy's file name, in the store's own data directory
  std::int64_t pages = 0;
  std::int64_t bytes = 0;
  core::Millis took{0};
};

// A job whose state a timer verb changed (job_promote_due, lease_expire).
struct JobChange {
  std::string id;
  core::JobState state;  // after the change
  int attempt = 0;
  std::string error;  // lease_expire: the error the attempt failed with
};

// What a committed change means for waiters, timers and watchers. Delivered
// after the commit that caused it, on the store's thread, before the
// callback of the first op whose changes it lists (else after all of the
// batch's callbacks): a job's changes reach the listener and the callbacks in
// the order they were made.
struct ChangeNotice {
  // Queues where a claim may now succeed: they gained queued jobs, were
  // resumed or reconfigured, freed a slot under their concurrency limit, or
  // (from job_promote_due) their rate-limit bucket refilled.
  std::vector<std::string> runnable_queues;
  // An earlier run_at, lease expiry or rate-limit refill may now exist.
  std::optional<core::TimePoint> deadline;
  // Jobs whose state the timer verbs changed, in the order they changed.
  std::vector<JobChange> job_changes;
};

// A job's change, as a store that several servers share tells every one of
// them (set_job_event_feed). `seq` numbers the job's changes, the same on
// every server (core::Job::event_seq of the row after the change); a job's
// notices arrive in the order of its changes.
struct JobEventNotice {
  std::string id;
  std::uint64_t seq = 0;
  bool progress = false;                          // else a state change
  core::JobState state = core::JobState::queued;  // state changes: the state after it
  int attempt = 0;
  core::RawJson result;  // succeeded: the job's result
  std::string error;     // failed, dead, cancelled: the attempt's error, if any
  std::optional<core::Progress> progress_value;  // progress: the job's latest
};
struct JobEventFeed {
  // Whether this server wants the job's notices (someone here watches it).
  // Called on the store's thread for every change of every server: cheap.
  std::function<bool(const std::string& job_id)> wanted;
  // The wanted notices, in commit order, on the store's thread.
  std::function<void(std::vector<JobEventNotice>)> deliver;
  // The store's stream of changes broke and is back: changes made meanwhile
  // were not delivered (read the watched jobs again). Store's thread.
  std::function<void()> resync;
};

struct StoreOptions {
  core::BackoffPolicy backoff;
  std::size_t max_batch = 1024;  // most verbs committed in one transaction
  // SQLite: after a failed write transaction (a full disk, an I/O error)
  // writes are refused until a probe write commits; at most one probe this
  // often, at the next write.
  core::Millis recovery_probe{1000};
  // SQLite: a small request that finds the writer idle and nothing waiting
  // runs on the caller's thread, in a RunHere scope (the lone request: no
  // wake-up of the writer, no hand-back), while requests come on average at
  // least this far apart (a moving average of the gaps between them). When
  // they come closer, they would queue up behind a caller that waits for its
  // fsync: they go to the writer, which commits them together.
  std::chrono::microseconds lone_interval{250};
  // Such a caller also waits for its request's fsync only while the last
  // fsync took less than this; on a slower disk the settler thread does, so
  // a slow disk does not hold up the caller (an HTTP thread serving every
  // connection). This disk takes 0.1-0.4 ms on a fast day, ~4 ms when slow.
  std::chrono::microseconds lone_sync_max{1000};
};

// Lets a store run the verb called within this scope on the calling thread,
// before the call returns, when it can do so at once (see
// StoreOptions::lone_interval). The callback and the store's change
// listener may then run on this thread too, inside the call: set it only
// around a call whose callback does no more than hand the answer to another
// executor, holding no lock the listener takes (engine::await_store). What a
// verb does and answers is the same either way; a store may ignore the scope
// (PostgreSQL does: its writer waits for network round trips, which would
// hold up the caller's thread longer than the hand-off costs).
class RunHere {
 public:
  RunHere() : RunHere(true) {}
  ~RunHere() { allowed_ = before_; }
  RunHere(const RunHere&) = delete;
  RunHere& operator=(const RunHere&) = delete;
  static bool allowed() { return allowed_; }

  // Within a verb run here: verbs its callbacks call go the usual way.
  class Off;

 protected:
  explicit RunHere(bool allow) : before_(allowed_) { allowed_ = allow; }

 private:
  static inline thread_local bool allowed_ = false;
  bool before_;
};

class RunHere::Off : RunHere {
 public:
  Off() : RunHere(false) {}
};

// ---- the interface ------------------------------------------------------------

class Store {
 public:
  virtual ~Store() = default;

  // Called after each commit that made jobs runnable or may move the next
  // deadline earlier. Set before use; not changed afterwards.
  virtual void set_change_listener(std::function<void(const ChangeNotice&)> listener) = 0;

  // Inserts all jobs or none. A job whose idempotency_key matches an existing
  // (not yet pruned) job of the same queue is not inserted; its outcome names
  // the existing job. Errors: conflict (field "idempotency_key") when that
  // job has another type or payload; unavailable, internal. Durable when
  // `done` runs.
  //
  // Dependencies (NewJob::after, after_items): a job with parents is
  // `blocked` until every parent has ended succeeded (or ended at all, with
  // after_failure_run); a parent already dead or cancelled makes it
  // `cancelled` at once, with an error naming that parent. Whenever a job
  // ends (complete, fail, lease expiry, cancel, delete), its blocked
  // children move on in the same transaction: queued (or scheduled) when
  // their last parent is done, cancelled when a parent failed them, and so
  // on down the graph. Errors: invalid_argument (field "after[i]") when a
  // parent id names no job.
  virtual void job_insert_many(JobInsertManyParams p,
                               Callback<std::vector<InsertOutcome>> done) = 0;

  // Errors: not_found.
  virtual void job_get(JobGetParams p, Callback<core::Job> done) = 0;
  // Newest first. Queue, state and type filters and time ranges use
  // indexes; tag and text filters scan (within the other filters).
  virtual void job_list(JobListParams p, Callback<JobPage> done) = 0;

  // Atomically takes up to `max` runnable jobs from `queues` (in order) and
  // leases them. An empty result is not an error. The jobs handed out were
  // durable before; the lease may be answered before it is (an
  // implementation may answer right after writing it, ahead of the commit):
  // a lease lost to a crash leaves the job queued, and the worker's next
  // heartbeat or complete is refused, as for an expired lease.
  virtual void job_claim(JobClaimParams p, Callback<std::vector<core::Job>> done) = 0;

  // Errors: not_found; conflict when lease_id is not the job's current lease
  // (or the job is not running). Durable when `done` runs.
  virtual void lease_extend(LeaseExtendParams p, Callback<LeaseInfo> done) = 0;
  virtual void job_progress(JobProgressParams p, Callback<Unit> done) = 0;
  // running -> succeeded (even if cancel was requested: the work is done).
  // Returns what the change wrote — id, queue, state, attempt, result,
  // finished_at, lease cleared — and nothing else of the job (the hot path
  // reads no payload): job_get has the whole job.
  virtual void job_complete(JobCompleteParams p, Callback<core::Job> done) = 0;
  // running -> failed / dead / cancelled per core::decide_fail.
  // Also clears a push job's deferrals in a row.
  virtual void job_fail(JobFailParams p, Callback<core::Job> done) = 0;
  // running -> scheduled/queued, see JobRequeueParams. Returns id, queue,
  // state, attempt, run_at. Errors: not_found, conflict (as complete).
  virtual void job_requeue(JobRequeueParams p, Callback<core::Job> done) = 0;
  // See JobSignalParams. Returns id, queue, state, attempt.
  virtual void job_signal(JobSignalParams p, Callback<core::Job> done) = 0;
  // Each item succeeds or fails on its own; one transaction for all.
  virtual void job_ack_many(std::vector<AckItem> items,
                            Callback<std::vector<core::Result<core::JobState>>> done) = 0;

  // Waiting states -> cancelled; running -> cancel_requested. Errors:
  // not_found, conflict (already terminal).
  virtual void job_cancel(JobCancelParams p, Callback<core::Job> done) = 0;
  // dead/failed/cancelled -> queued now, with at least one attempt left.
  virtual void job_retry(JobRetryParams p, Callback<core::Job> done) = 0;
  virtual void job_delete(JobDeleteParams p, Callback<Unit> done) = 0;

  // Every queue that has ever had a job or been configured, sorted by name.
  virtual void queue_list(Callback<std::vector<QueueInfo>> done) = 0;
  // Creates the queue if it does not exist yet.
  virtual void queue_pause(QueuePauseParams p, Callback<QueueInfo> done) = 0;
  // Sets the pause flag and replaces the whole config (creating the queue if
  // missing); returns the queue after the change. A queue with queued jobs is
  // reported runnable (a raised limit may let claims through). A changed rate
  // limit starts with a full bucket. Errors: unavailable, internal. Durable
  // when `done` runs.
  // A config with `push` gives the queue a signing secret if it has none
  // (core::make_push_secret); the secret outlives the push config.
  virtual void queue_configure(QueueConfigureParams p, Callback<QueueInfo> done) = 0;
  // A new signing secret; the old one stays valid for `keep_previous`.
  // Errors: not_found (field "queue") when the queue has no secret.
  virtual void queue_rotate_secret(QueueRotateSecretParams p, Callback<QueueInfo> done) = 0;
  // One queue. Errors: not_found (field "queue").
  virtual void queue_get(QueueGetParams p, Callback<QueueInfo> done) = 0;

  // ---- keys (store/common/keys.hpp) ----
  // Gives the key its own settings (replacing any it had); a changed rate
  // limit starts with a full bucket. Waiting claims are told the queue is
  // runnable when the key has queued jobs. Durable when `done` runs.
  virtual void key_put(KeyPutParams p, Callback<KeyInfo> done) = 0;
  // The key's counts and settings. Errors: not_found (field "key") when it
  // has neither jobs queued or running nor settings.
  virtual void key_get(KeyRef p, Callback<KeyInfo> done) = 0;
  // Removes the key's own settings (the queue's apply again). Errors:
  // not_found (field "key") when it has none. Durable when `done` runs.
  virtual void key_delete(KeyRef p, Callback<KeyInfo> done) = 0;
  // The queue's keys that have jobs queued or running, or settings.
  virtual void key_list(KeyListParams p, Callback<KeyPage> done) = 0;
  // For each queue with queued jobs: when the longest-waiting of the jobs
  // next in line at each priority level became ready to run (run_at).
  // Queues without queued jobs are absent.
  virtual void queue_oldest_ready(Callback<std::map<std::string, core::TimePoint>> done) = 0;

  // Timer work (the engine's tick). scheduled/failed with run_at <= now ->
  // queued; returns how many moved. Also reports, as runnable, the queues
  // whose claims were held back by an empty rate-limit bucket that has
  // refilled by `now` (they move no job and are not counted).
  virtual void job_promote_due(JobPromoteDueParams p, Callback<std::int64_t> done) = 0;
  // running with lease_expires_at <= now -> fails the attempt with error
  // "lease expired" (retry per policy); returns how many.
  virtual void lease_expire(LeaseExpireParams p, Callback<std::int64_t> done) = 0;
  // The earliest run_at of a waiting job, lease expiry of a running one, or
  // rate-limit refill a held-back claim waits for.
  virtual void next_deadline(Callback<std::optional<core::TimePoint>> done) = 0;
  virtual void job_prune_finished(JobPruneFinishedParams p, Callback<std::int64_t> done) = 0;

  // ---- batches (see BatchCreateParams) ----
  virtual void batch_create(BatchCreateParams p, Callback<BatchInsertOutcome> done) = 0;
  virtual void batch_add(BatchAddParams p, Callback<BatchInsertOutcome> done) = 0;
  virtual void batch_seal(BatchSealParams p, Callback<core::Batch> done) = 0;
  virtual void batch_get(BatchGetParams p, Callback<core::Batch> done) = 0;

  // ---- completion webhooks (see WebhookDelivery) ----
  virtual void webhook_claim(WebhookClaimParams p, Callback<std::vector<WebhookDelivery>> done) = 0;
  virtual void webhook_result(WebhookResultParams p, Callback<Unit> done) = 0;

  // ---- schedules (store/sqlite/schedules.cpp) ----
  // Creates or replaces the schedule `spec.name` (its bookkeeping is kept).
  // fired_through becomes `now` when it is created or core::schedule_rearms
  // says so, so fire times before it are never fired. Errors: unavailable,
  // internal. Durable when `done` runs.
  virtual void schedule_put(SchedulePutParams p, Callback<SchedulePutOutcome> done) = 0;
  // Errors: not_found (field "name").
  virtual void schedule_get(ScheduleGetParams p, Callback<core::Schedule> done) = 0;
  // Every schedule, sorted by name.
  virtual void schedule_list(Callback<std::vector<core::Schedule>> done) = 0;
  // Removes the schedule and its fire records (its jobs stay). Errors:
  // not_found. Durable when `done` runs.
  virtual void schedule_delete(ScheduleDeleteParams p, Callback<Unit> done) = 0;
  // Sets the pause flag; a resume moves fired_through to `now` (times that
  // came while paused never fire). Errors: not_found. Durable when `done` runs.
  virtual void schedule_pause(SchedulePauseParams p, Callback<core::Schedule> done) = 0;
  // Fires the schedule once, in ONE transaction: records the fire time
  // (unique per schedule and time, and never at or before fired_through) and
  // inserts its job with idempotency key core::schedule_fire_key, then sets
  // fired_through, last_fired_at and the last job. So a fire time enqueues at
  // most one job, whatever restarts, slow ticks or other servers do. With
  // overlap "skip" a fire while the last job is scheduled, queued, running
  // or failed (waiting to retry) is recorded without a job. The job's
  // priority and max_attempts are the schedule's, else the queue's defaults.
  // Errors: not_found, unavailable, internal. Durable when `done` runs.
  virtual void schedule_fire(ScheduleFireParams p, Callback<ScheduleFireOutcome> done) = 0;

  // ---- server settings (store/sqlite/settings.cpp) ----
  // The value stored under `name`, storing `value` first if there is none.
  // Errors: unavailable, internal. Durable when `done` runs.
  virtual void setting_get_or_put(SettingGetOrPutParams p, Callback<std::string> done) = 0;

  // ---- throughput history (store/sqlite/stats_samples.cpp) ----
  // Records `sample` unless one was taken at the same instant (the first is
  // kept: several servers sampling the shared counters at one step's
  // instant keep one sample, and each reads that one back) and deletes the
  // samples taken at or before `keep_after`, so the history stays bounded.
  // Errors: unavailable, internal. Durable when `done` runs.
  virtual void stats_sample_put(StatsSamplePutParams p, Callback<Unit> done) = 0;
  // The samples taken after `since`, oldest first.
  virtual void stats_sample_list(StatsSampleListParams p,
                                 Callback<std::vector<StatsSample>> done) = 0;

  // ---- dashboard sessions (store/sqlite/sessions.cpp) ----
  // Stores `p.session` under its digest, replacing one stored under the same
  // digest (so a repeated put is harmless). Errors: unavailable, internal.
  // Durable when `done` runs.
  virtual void session_put(SessionPutParams p, Callback<Unit> done) = 0;
  // The session stored under `p.digest`. Errors: not_found (field
  // "session") when there is none or it expired at `now`.
  virtual void session_get(SessionGetParams p, Callback<DashboardSession> done) = 0;
  // Removes the session (a logout): every later session_get, on any server,
  // finds none. Errors: not_found (field "session"), unavailable, internal.
  // Durable when `done` runs.
  virtual void session_delete(SessionDeleteParams p, Callback<Unit> done) = 0;
  // The current sessions (expires_at > now), newest first (by created_at,
  // then digest), at most `limit`. Errors: unavailable, internal.
  virtual void session_list(SessionListParams p, Callback<std::vector<DashboardSession>> done) = 0;
  // Deletes the sessions expired at `now`, then the oldest beyond `keep`,
  // at most `limit` in all; returns how many went. Errors: unavailable,
  // internal. Durable when `done` runs.
  virtual void session_drop_expired(SessionDropExpiredParams p, Callback<std::int64_t> done) = 0;

  // A store that several servers share reports the changes of every job,
  // made by any of them, to `feed`, and returns true; then it alone numbers
  // job events. False: the store has no such feed (SQLite: one server), and
  // the caller publishes the changes its verbs answer. Set before use.
  virtual bool set_job_event_feed(JobEventFeed /*feed*/) { return false; }

  // How far the store's own clock is ahead of the clock it was opened with,
  // as last measured: a store that several servers share judges time by one
  // clock (PostgreSQL's), and each server sets its own by this. nullopt: the
  // store has no clock of its own (SQLite), or has not measured it yet.
  virtual std::optional<core::Millis> clock_offset() const { return std::nullopt; }

  // False once the store refuses writes (after a failed commit or fsync).
  virtual bool writable() const { return true; }
  // How many distinct jobs this process found it cannot read (stored data
  // damaged, or written by an older version): lists skip them and claims
  // make them dead, so each takes down nothing but itself.
  virtual std::int64_t unreadable_jobs() const { return 0; }

  // ---- the node registry (store/sqlite/nodes.cpp) ----
  // Creates or updates `p.node.id`'s row: every field from `p.node`,
  // last_seen = now, stopped_at kept as it was (a stopped node stays
  // stopped); then deletes the rows whose last_seen is before
  // now - forget_after. Errors: unavailable, internal. Durable when `done` runs.
  virtual void node_heartbeat(NodeHeartbeatParams p, Callback<Unit> done) = 0;
  // Marks the node stopped: stopped_at = last_seen = now. Errors: not_found
  // (field "id"), unavailable, internal. Durable when `done` runs.
  virtual void node_stop(NodeStopParams p, Callback<Unit> done) = 0;
  // Every node in the registry, oldest start first (then by id).
  virtual void node_list(Callback<std::vector<core::Node>> done) = 0;

  // ---- backups (store/sqlite/online_backup.hpp) ----
  // Writes a consistent copy of the whole database, as it stood at one
  // instant during the call, into a new file of the store's own directory:
  // a single-file database a server can start on. Writes go on meanwhile
  // (the SQLite store copies a slice of pages between its write batches).
  // Durable when `done` runs: the copy is fsync'd and holds nothing that
  // was not. Errors: conflict (field "database") when the store has no
  // such file (PostgreSQL: back up with pg_dump) or p names another file,
  // or a backup is running already; unavailable (the store is closing, or
  // refuses writes), internal (I/O), each naming the file.
  virtual void database_backup(DatabaseBackupParams /*p*/, Callback<DatabaseBackup> done) {
    done(core::make_error(core::errc::conflict,
                          "this store keeps no database file to copy: back up PostgreSQL with "
                          "pg_dump (docs/operations.md)",
                          "database"));
  }

  // Waits for queued work to finish and closes. Safe to call twice.
  virtual void close() = 0;
};

}  // namespace errand::store
