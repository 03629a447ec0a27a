// PostgresStore: the shared Store, for any number of servers on one
// PostgreSQL database (libpq). Its tables live in their own schema
// (PostgresOptions::schema), created and migrated at open under an advisory
// lock (store/postgres/schema.hpp); it needs an ordinary role that may
// create a schema in the database — no superuser, no extension.
//
// Every verb is queued to one writer thread that group-commits on its own
// connection: the pending verbs (up to StoreOptions::max_batch, at most
// 64) run in one transaction, each in its own savepoint, committed with
// synchronous_commit = on; only then are their callbacks run (on the writer
// thread, in submission order), followed by the change listener. Reads run
// in the same batches, so they see every change submitted before them.
// Claims take jobs FOR UPDATE SKIP LOCKED; queue limits are decided under
// the queue row's lock; queue counts change by deltas added at commit. A
// commit that made jobs runnable NOTIFYs `<schema>_jobs`, and a second
// connection LISTENs there, so the change listener also hears about jobs
// made runnable by other servers.
//
// Durability: a write's callback runs only after its transaction committed.
// If the connection is lost, or COMMIT's outcome is unknown, every verb of
// the batch gets errc::unavailable ("the database connection was lost: …");
// the store reconnects with backoff (100 ms doubling to 5 s), answers verbs
// with errc::unavailable meanwhile (writable() is false), and serves them
// again once reconnected — unlike SqliteStore, one failure is not forever.
//
// Thread-safety: every method may be called from any thread. close() must
// not be called from inside a callback (it would wait for itself).
#pragma once

#include "core/metrics.hpp"
#include "store/store.hpp"

#include <functional>
#include <memory>
#include <string>

namespace errand::store {

namespace postgres {
class Writer;
class ChangeListener;
class Notifier;
}  // namespace postgres

// A setting every server must agree on (e.g. the token-signing secret).
struct PostgresOptions {
  std::string conninfo;           // a libpq URI or key=value string (without Errand's ?schema=)
  std::string schema = "errand";  // [a-z_][a-z0-9_]{0,62}
  StoreOptions store;
  // The server's own clock, which clock_offset() compares with the
  // database's; null: the system clock.
  const core::Clock* clock = nullptr;
  // Fault injection for tests: called on the writer thread just before each
  // batch's COMMIT (e.g. to cut the connection then).
  std::function<void()> before_commit;
  // Where the write transactions' times (BEGIN to COMMIT's answer) and the
  // COMMIT round trips (the database's fsync) are observed (GET /metrics);
  // null: nowhere. Outlive the store.
  core::metrics::Histogram* commit_seconds = nullptr;
  core::metrics::Histogram* fsync_seconds = nullptr;
};

class PostgresStore final : public Store {
 public:
  // Connects (two sessions: the writer's and the LISTEN one), creates or
  // migrates the schema, and starts the writer. Errors: invalid_argument
  // (schema name; a URL libpq cannot use); unavailable (cannot reach it) or
  // forbidden (it refused: password, database, role, privilege), naming
  // host and port and the server's message, never the password;
  // internal (the schema version is newer than this binary's, naming both;
  // SQL).
  static core::Result<std::unique_ptr<PostgresStore>> open(PostgresOptions options);
  // Runs the migrations only (errand migrate): creates or migrates the
  // schema and returns the version reached. Errors as open's.
  static core::Result<int> migrate(const PostgresOptions& options);
  ~PostgresStore() override;

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
  void schedule_delete(ScheduleDeleteParams p, Callback<Unit> done) override;
  void schedule_pause(SchedulePauseParams p, Callback<core::Schedule> done) override;
  void schedule_fire(ScheduleFireParams p, Callback<ScheduleFireOutcome> done) override;
  void stats_sample_put(StatsSamplePutParams p, Callback<Unit> done) override;
  void stats_sample_list(StatsSampleListParams p, Callback<std::vector<StatsSample>> done) override;
  void node_heartbeat(NodeHeartbeatParams p, Callback<Unit> done) override;
  void node_stop(NodeStopParams p, Callback<Unit> done) override;
  void node_list(Callback<std::vector<core::Node>> done) override;

  // Stores `p.value` under `p.name` unless the name has a value already;
  // returns the stored value (the first server's, when several race).
  // Errors: unavailable, internal. Durable when `done` runs.
  void setting_get_or_put(SettingGetOrPutParams p, Callback<std::string> done) override;

  // Dashboard sessions, in the `sessions` table every server reads (see
  // store/store.hpp).
  void session_put(SessionPutParams p, Callback<Unit> done) override;
  void session_get(SessionGetParams p, Callback<DashboardSession> done) override;
  void session_delete(SessionDeleteParams p, Callback<Unit> done) override;
  void session_list(SessionListParams p, Callback<std::vector<DashboardSession>> done) override;
  void session_drop_expired(SessionDropExpiredParams p, Callback<std::int64_t> done) override;

  // False while the writer's or the LISTEN connection is lost (they are
  // reconnecting).
  // Job events of every server, from the NOTIFYs of their commits
  // (store/postgres/events.hpp); delivered on the LISTEN thread.
  bool set_job_event_feed(JobEventFeed feed) override;
  bool writable() const override;
  // The database's clock (clock_timestamp()) minus PostgresOptions::clock,
  // measured when the store opens and every few seconds after, on the
  // LISTEN connection (the sample with the shortest round trip of three).
  std::optional<core::Millis> clock_offset() const override;
  std::int64_t unreadable_jobs() const override;
  // Runs every verb already submitted, then closes; later verbs get
  // errc::unavailable (answered on the calling thread). Safe to call twice.
  void close() override;

 private:
  PostgresStore(std::unique_ptr<postgres::Notifier> notifier,
                std::unique_ptr<postgres::Writer> writer,
                std::unique_ptr<postgres::ChangeListener> listener);
  template <class T, class F>
  void submit(bool writes, F body, Callback<T> done);

  std::unique_ptr<postgres::Notifier> notifier_;
  std::unique_ptr<postgres::Writer> writer_;
  std::unique_ptr<postgres::ChangeListener> listener_;
};

}  // namespace errand::store
