// SqliteStore: the embedded, single-node Store (the default backend), one
// SQLite database file `<dir>/errand.db` in WAL mode, the WAL fsync'd by the
// writer (WalSync) before any answer that depends on it.
//
// Every verb is queued to one writer thread that group-commits: all pending
// verbs (up to StoreOptions::max_batch) run in one transaction, each write in
// its own savepoint, and are committed with one fsync; only then are their
// callbacks run (on the writer or the settler thread, in submission order)
// followed by the change listener. Reads run in the same batches, so they see
// every change submitted before them. Per-queue counts are kept in memory
// and in the `queues` table, written in the same transaction as the jobs.
//
// Durability: a write's callback runs only after its change is fsync'd. If a
// commit fails, every verb of that batch gets errc::unavailable and the store
// refuses all later writes with errc::unavailable until it is reopened.
// The database is locked exclusively: one SqliteStore per directory.
//
// Thread-safety: every method may be called from any thread. close() must not
// be called from inside a callback (it would wait for itself).
#pragma once

#include "core/metrics.hpp"
#include "store/store.hpp"

#include <functional>
#include <memory>
#include <string>

namespace errand::store {

namespace sqlite {
class Writer;
class OnlineBackup;
}  // namespace sqlite

struct SqliteOptions {
  std::string dir;  // created if missing; the database is <dir>/errand.db
  StoreOptions store;
  // Fault injection for tests: called at each commit of a write batch;
  // returning true makes that commit fail as a failed fsync would.
  std::function<bool()> fail_commit;
  // Called before each fsync of the WAL (on the thread doing it); returning
  // true makes that fsync fail as a disk error would.
  std::function<bool()> fail_sync;
  // Where the write transactions' and the WAL fsyncs' times are observed
  // (GET /metrics); null: nowhere. Outlive the store.
  core::metrics::Histogram* commit_seconds = nullptr;
  core::metrics::Histogram* fsync_seconds = nullptr;
};

class SqliteStore final : public Store {
 public:
  // Opens or creates the database. Errors: unavailable (cannot create the
  // directory or open or lock the file), internal (schema, I/O), each naming
  // the path.
  static core::Result<std::unique_ptr<SqliteStore>> open(SqliteOptions options);
  ~SqliteStore() override;

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
  void batch_create(BatchCreateParams p, Callback<BatchInsertOutcome> done) override;
  void batch_add(BatchAddParams p, Callback<BatchInsertOutcome> done) override;
  void batch_seal(BatchSealParams p, Callback<core::Batch> done) override;
  void batch_get(BatchGetParams p, Callback<core::Batch> done) override;
  void webhook_claim(WebhookClaimParams p, Callback<std::vector<WebhookDelivery>> done) override;
  void webhook_result(WebhookResultParams p, Callback<Unit> done) override;
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
  void schedule_put(SchedulePutParams p, Callback<SchedulePutOutcome> done) override;
  void schedule_get(ScheduleGetParams p, Callback<core::Schedule> done) override;
  void schedule_list(Callback<std::vector<core::Schedule>> done) override;
  void setting_get_or_put(SettingGetOrPutParams p, Callback<std::string> done) override;
  void stats_sample_put(StatsSamplePutParams p, Callback<Unit> done) override;
  void stats_sample_list(StatsSampleListParams p, Callback<std::vector<StatsSample>> done) override;
  void node_heartbeat(NodeHeartbeatParams p, Callback<Unit> done) override;
  void node_stop(NodeStopParams p, Callback<Unit> done) override;
  void node_list(Callback<std::vector<core::Node>> done) override;
  void schedule_delete(ScheduleDeleteParams p, Callback<Unit> done) override;
  void schedule_pause(SchedulePauseParams p, Callback<core::Schedule> done) override;
  void schedule_fire(ScheduleFireParams p, Callback<ScheduleFireOutcome> done) override;
  void session_put(SessionPutParams p, Callback<Unit> done) override;
  void session_get(SessionGetParams p, Callback<DashboardSession> done) override;
  void session_list(SessionListParams p, Callback<std::vector<DashboardSession>> done) override;
  void session_delete(SessionDeleteParams p, Callback<Unit> done) override;
  void session_drop_expired(SessionDropExpiredParams p, Callback<std::int64_t> done) override;
  // The copy goes into the store's directory (store/sqlite/online_backup.hpp).
  void database_backup(DatabaseBackupParams p, Callback<DatabaseBackup> done) override;
  // Runs every verb already submitted, then closes; later verbs get
  // errc::unavailable (answered on the calling thread). Safe to call twice.
  void close() override;
  std::int64_t unreadable_jobs() const override;

 private:
  SqliteStore(std::unique_ptr<sqlite::Writer> writer, const std::string& db_path);
  template <class T, class F>
  void submit(bool writes, F body, Callback<T> done);
  // A small request that may run on its caller's thread (Op::may_run_here).
  template <class T, class F>
  void submit_small(bool writes, F body, Callback<T> done);

  std::unique_ptr<sqlite::Writer> writer_;
  std::unique_ptr<sqlite::OnlineBackup> backup_;  // uses writer_: destroyed first
};

}  // namespace errand::store
