// A Store that forwards every call to another, and on command fails some
// calls before they reach it (so nothing of theirs is done), or holds their
// answers back after the other store did the work: store fault injection
// for the engine, API and integration tests (the server wraps its store in
// one when ERRAND_TEST_STORE_FAULTS is set: cli/open_store.cpp).
//
// A fault names a verb ("job_insert_many", "job_claim", …; empty: every
// verb) and fails every matching call from now on, or only the nth
// (1: the next one), with `code` (unavailable unless said otherwise). A hold
// on a verb keeps the answers of its calls until release(): the work is
// done and durable, the caller has not heard yet — a store that is slow.
//
// Thread-safe: faults and holds may change while calls run on the inner
// store's threads.
#pragma once

#include "core/mutex.hpp"
#include "store/store.hpp"

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace errand::store {

struct StoreFault {
  std::string verb;      // empty: every verb
  std::int64_t nth = 0;  // 0: every matching call; n: only the nth from now on
  core::errc code = core::errc::unavailable;
  std::string message = "the store failed (an injected fault)";
};

// "job_insert_many:3,job_claim" → {job_insert_many, nth 3}, {job_claim,
// every call}; "*" is every verb. Errors: invalid_argument naming `field`.
core::Result<std::vector<StoreFault>> parse_store_faults(std::string_view text,
                                                         std::string_view field);

class FaultyStore final : public Store {
 public:
  explicit FaultyStore(Store& inner);
  explicit FaultyStore(std::unique_ptr<Store> inner);  // owns it

  void add(StoreFault fault) EXCLUDES(mutex_);
  // Holds the answers of `verb`'s calls (empty: every verb) until release().
  void hold(std::string verb) EXCLUDES(mutex_);
  // Lets the held answers go, in the order they came, and stops holding.
  void release() EXCLUDES(mutex_);
  // Removes every fault (held answers stay held until release()).
  void heal() EXCLUDES(mutex_);
  // Calls of `verb` seen so far, and how many of them were failed.
  std::int64_t calls(std::string_view verb) const EXCLUDES(mutex_);
  std::int64_t failures(std::string_view verb) const EXCLUDES(mutex_);

  void set_change_listener(std::function<void(const ChangeNotice&)> listener) override;
  void job_insert_many(JobInsertManyParams p, Callback<std::vector<InsertOutcome>> done) override;
  void job_get(JobGetParams p, Callback<core::Job> done) override;
  void job_list(JobListParams p, Callback<JobPage> done) override;
  void job_claim(JobClaimParams p, Callback<std::vector<core::Job>> done) override;
  void lease_extend(LeaseExtendParams p, Callback<LeaseInfo> done) override;
  void job_progress(JobProgressParams p, Callback<Unit> done) override;
  void job_complete(JobCompleteParams p, Callback<core::Job> done) override;
  void job_fail(JobFailParams p, Callback<core::Job> done) override;
  void job_requeue(JobRequeueParams p, Callback<core::Job> done) override;
  void job_signal(JobSignalParams p, Callback<core::Job> done) override;
  void job_ack_many(std::vector<AckItem> items,
                    Callback<std::vector<core::Result<core::JobState>>> done) override;
  void job_cancel(JobCancelParams p, Callback<core::Job> done) override;
  void job_retry(JobRetryParams p, Callback<core::Job> done) override;
  void job_delete(JobDeleteParams p, Callback<Unit> done) override;
  void queue_list(Callback<std::vector<QueueInfo>> done) override;
  void queue_pause(QueuePauseParams p, Callback<QueueInfo> done) override;
  void queue_configure(QueueConfigureParams p, Callback<QueueInfo> done) override;
  void queue_rotate_secret(QueueRotateSecretParams p, Callback<QueueInfo> done) override;
  void queue_get(QueueGetParams p, Callback<QueueInfo> done) override;
  void key_put(KeyPutParams p, Callback<KeyInfo> done) override;
  void key_get(KeyRef p, Callback<KeyInfo> done) override;
  void key_delete(KeyRef p, Callback<KeyInfo> done) override;
  void key_list(KeyListParams p, Callback<KeyPage> done) override;
  void queue_oldest_ready(Callback<std::map<std::string, core::TimePoint>> done) override;
  void job_promote_due(JobPromoteDueParams p, Callback<std::int64_t> done) override;
  void lease_expire(LeaseExpireParams p, Callback<std::int64_t> done) override;
  void next_deadline(Callback<std::optional<core::TimePoint>> done) override;
  void job_prune_finished(JobPruneFinishedParams p, Callback<std::int64_t> done) override;
  void batch_create(BatchCreateParams p, Callback<BatchInsertOutcome> done) override;
  void batch_add(BatchAddParams p, Callback<BatchInsertOutcome> done) override;
  void batch_seal(BatchSealParams p, Callback<core::Batch> done) override;
  void batch_get(BatchGetParams p, Callback<core::Batch> done) override;
  void webhook_claim(WebhookClaimParams p, Callback<std::vector<WebhookDelivery>> done) override;
  void webhook_result(WebhookResultParams p, Callback<Unit> done) override;
  void schedule_put(SchedulePutParams p, Callback<SchedulePutOutcome> done) override;
  void schedule_get(ScheduleGetParams p, Callback<core::Schedule> done) override;
  void schedule_list(Callback<std::vector<core::Schedule>> done) override;
  void schedule_delete(ScheduleDeleteParams p, Callback<Unit> done) override;
  void schedule_pause(SchedulePauseParams p, Callback<core::Schedule> done) override;
  void schedule_fire(ScheduleFireParams p, Callback<ScheduleFireOutcome> done) override;
  void setting_get_or_put(SettingGetOrPutParams p, Callback<std::string> done) override;
  void stats_sample_put(StatsSamplePutParams p, Callback<Unit> done) override;
  void stats_sample_list(StatsSampleListParams p, Callback<std::vector<StatsSample>> done) override;
  void session_put(SessionPutParams p, Callback<Unit> done) override;
  void session_get(SessionGetParams p, Callback<DashboardSession> done) override;
  void session_delete(SessionDeleteParams p, Callback<Unit> done) override;
  void session_list(SessionListParams p, Callback<std::vector<DashboardSession>> done) override;
  void session_drop_expired(SessionDropExpiredParams p, Callback<std::int64_t> done) override;
  void node_heartbeat(NodeHeartbeatParams p, Callback<Unit> done) override;
  void node_stop(NodeStopParams p, Callback<Unit> done) override;
  void node_list(Callback<std::vector<core::Node>> done) override;
  bool set_job_event_feed(JobEventFeed feed) override;
  std::optional<core::Millis> clock_offset() const override;
  bool writable() const override;
  std::int64_t unreadable_jobs() const override;
  void database_backup(DatabaseBackupParams p, Callback<DatabaseBackup> done) override;
  void close() override;

 private:
  // The error to answer `verb`'s call with, when a fault says so (counts
  // the call either way).
  std::optional<core::Error> fault(std::string_view verb) EXCLUDES(mutex_);
  bool holds(std::string_view verb) const EXCLUDES(mutex_);
  // `done`, or — while `verb` is held — a callback that keeps the answer
  // until release().
  template <class T>
  Callback<T> answer(std::string_view verb, Callback<T> done) {
    if (!holds(verb)) return done;
    return [this, done = std::move(done)](core::Result<T> r) mutable {
      auto kept = std::make_shared<core::Result<T>>(std::move(r));
      core::MutexLock lock(mutex_);
      if (!holding_) {
        lock.unlock();
        done(std::move(*kept));
        return;
      }
      held_.push_back([done = std::move(done), kept] { done(std::move(*kept)); });
    };
  }

  struct Rule {
    StoreFault fault;
    std::int64_t seen = 0;  // matching calls since the rule was added
  };

  std::unique_ptr<Store> owned_;
  Store& inner_;
  std::atomic<bool> armed_{false};  // any fault or hold: the fast path skips the lock
  mutable core::Mutex mutex_;
  std::vector<Rule> rules_ GUARDED_BY(mutex_);
  std::vector<std::string> held_verbs_ GUARDED_BY(mutex_);
  bool holding_ GUARDED_BY(mutex_) = false;
  std::vector<std::function<void()>> held_ GUARDED_BY(mutex_);
  std::map<std::string, std::int64_t, std::less<>> calls_ GUARDED_BY(mutex_);
  std::map<std::string, std::int64_t, std::less<>> failures_ GUARDED_BY(mutex_);
};

}  // namespace errand::store
