#include "store/sqlite/sqlite_store.hpp"

#include "store/sqlite/online_backup.hpp"
#include "store/sqlite/ops.hpp"
#include "store/sqlite/schema.hpp"

#include <fmt/format.h>

#include <filesystem>

namespace errand::store {
namespace fs = std::filesystem;
using sqlite::OpContext;
namespace ops = sqlite::ops;

namespace {

constexpr bool kWrites = true;
constexpr bool kReads = false;
// The most jobs a request may carry and still run on its caller's thread
// (Op::may_run_here): the trip to the writer and back costs about what a
// few jobs' statements do.
constexpr std::size_t kSmallRequest = 16;

core::Result<std::string> database_path(const std::string& dir) {
  const fs::path root = dir.empty() ? fs::path(".") : fs::path(dir);
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) {
    return core::make_error(
        core::errc::unavailable,
        fmt::format("cannot create data directory {}: {}", root.string(), ec.message()));
  }
  return (root / "errand.db").string();
}

// Many acknowledgements in one op: each item in its own savepoint, so a stale
// lease rolls back only that item, and all share the batch's one commit.
class AckManyOp final : public sqlite::Op {
 public:
  using Results = std::vector<core::Result<core::JobState>>;
  AckManyOp(std::vector<AckItem> items, Callback<Results> done)
      : Op(kWrites), items_(std::move(items)), done_(std::move(done)) {}
  std::size_t size() const { return items_.size(); }

  void run(sqlite::Batch& batch) override {
    // job_complete and job_fail change the queue book and the notice only
    // after their row is written, as isolated_each requires.
    auto body = [this](OpContext& c, std::size_t i) { return ops::job_ack(c, items_[i]); };
    results_ = batch.isolated_each<core::JobState>(items_.size(), body);
  }
  void finish(const core::Error* failure) override {
    if (failure) return done_(core::Result<Results>(boost::system::in_place_error, *failure));
    done_(std::move(results_));
  }

 private:
  std::vector<AckItem> items_;
  Callback<Results> done_;
  Results results_;
};

}  // namespace

core::Result<std::unique_ptr<SqliteStore>> SqliteStore::open(SqliteOptions options) {
  auto path = database_path(options.dir);
  if (!path) return path.error();
  auto db = sqlite::Db::open(*path);
  if (!db) return db.error();
  if (auto schema = sqlite::prepare_schema(**db); !schema) return schema.error();
  auto sql = sqlite::Statements::prepare(**db);
  if (!sql) return sql.error();
  auto rows = sqlite::load_queue_rows(**sql);
  if (!rows) return rows.error();
  sqlite::QueueBook queues;
  queues.load(std::move(*rows));
  auto last_job_id = (*db)->query_text("SELECT coalesce(max(id), 0) FROM jobs");
  if (!last_job_id) return last_job_id.error();
  // The WAL exists from the schema's transaction on (exclusive mode keeps it
  // while the connection is open); that transaction is made durable here.
  auto wal = sqlite::WalSync::open((*db)->path() + "-wal", std::move(options.fail_sync));
  if (!wal) return wal.error();
  if (auto synced = wal->sync(); !synced) return synced.error();
  auto writer = std::make_unique<sqlite::Writer>(std::move(*db), std::move(*sql), std::move(queues),
                                                 std::stoll(*last_job_id), options.store,
                                                 std::move(*wal), std::move(options.fail_commit),
                                                 options.commit_seconds, options.fsync_seconds);
  writer->start();
  return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(writer), *path));
}

SqliteStore::SqliteStore(std::unique_ptr<sqlite::Writer> writer, const std::string& db_path)
    : writer_(std::move(writer)),
      backup_(std::make_unique<sqlite::OnlineBackup>(*writer_, db_path)) {}

SqliteStore::~SqliteStore() {
  close();
}

void SqliteStore::close() {
  writer_->close();
  backup_->close();
}

void SqliteStore::database_backup(DatabaseBackupParams p, Callback<DatabaseBackup> done) {
  backup_->start(std::move(p), std::move(done));
}

template <class T, class F>
void SqliteStore::submit(bool writes, F body, Callback<T> done) {
  writer_->submit(sqlite::make_op<T>(writes, std::move(body), std::move(done)));
}

template <class T, class F>
void SqliteStore::submit_small(bool writes, F body, Callback<T> done) {
  auto op = sqlite::make_op<T>(writes, std::move(body), std::move(done));
  op->allow_run_here();
  writer_->submit(std::move(op));
}

void SqliteStore::set_change_listener(std::function<void(const ChangeNotice&)> listener) {
  writer_->set_listener(std::move(listener));
}

void SqliteStore::job_insert_many(JobInsertManyParams p,
                                  Callback<std::vector<InsertOutcome>> done) {
  const bool small = p.jobs.size() <= kSmallRequest;
  auto body = [p = std::move(p)](OpContext& c) { return ops::job_insert_many(c, p); };
  if (small) return submit_small(kWrites, std::move(body), std::move(done));
  submit(kWrites, std::move(body), std::move(done));
}

void SqliteStore::job_get(JobGetParams p, Callback<core::Job> done) {
  submit_small(
      kReads, [p = std::move(p)](OpContext& c) { return ops::job_get(c, p); }, std::move(done));
}

void SqliteStore::job_list(JobListParams p, Callback<JobPage> done) {
  submit(
      kReads, [p = std::move(p)](OpContext& c) { return ops::job_list(c, p); }, std::move(done));
}

void SqliteStore::job_claim(JobClaimParams p, Callback<std::vector<core::Job>> done) {
  auto body = [p = std::move(p)](OpContext& c) { return ops::job_claim(c, p); };
  writer_->submit(sqlite::make_op<std::vector<core::Job>>(kWrites, std::move(body), std::move(done),
                                                          /*early=*/true));
}

void SqliteStore::lease_extend(LeaseExtendParams p, Callback<LeaseInfo> done) {
  submit_small(
      kWrites, [p = std::move(p)](OpContext& c) { return ops::lease_extend(c, p); },
      std::move(done));
}

void SqliteStore::job_progress(JobProgressParams p, Callback<Unit> done) {
  submit_small(
      kWrites, [p = std::move(p)](OpContext& c) { return ops::job_progress(c, p); },
      std::move(done));
}

void SqliteStore::job_complete(JobCompleteParams p, Callback<core::Job> done) {
  submit_small(
      kWrites, [p = std::move(p)](OpContext& c) { return ops::job_complete(c, p); },
      std::move(done));
}

void SqliteStore::job_fail(JobFailParams p, Callback<core::Job> done) {
  submit_small(
      kWrites, [p = std::move(p)](OpContext& c) { return ops::job_fail(c, p); }, std::move(done));
}

void SqliteStore::job_requeue(JobRequeueParams p, Callback<core::Job> done) {
  submit(
      kWrites, [p = std::move(p)](OpContext& c) { return ops::job_requeue(c, p); },
      std::move(done));
}

void SqliteStore::job_signal(JobSignalParams p, Callback<core::Job> done) {
  submit(
      kWrites, [p = std::move(p)](OpContext& c) { return ops::job_signal(c, p); }, std::move(done));
}

void SqliteStore::batch_create(BatchCreateParams p, Callback<BatchInsertOutcome> done) {
  submit(
      kWrites, [p = std::move(p)](OpContext& c) { return ops::batch_create(c, p); },
      std::move(done));
}

void SqliteStore::batch_add(BatchAddParams p, Callback<BatchInsertOutcome> done) {
  submit(
      kWrites, [p = std::move(p)](OpContext& c) { return ops::batch_add(c, p); }, std::move(done));
}

void SqliteStore::batch_seal(BatchSealParams p, Callback<core::Batch> done) {
  submit(
      kWrites, [p = std::move(p)](OpContext& c) { return ops::batch_seal(c, p); }, std::move(done));
}

void SqliteStore::batch_get(BatchGetParams p, Callback<core::Batch> done) {
  submit_small(
      kReads, [p = std::move(p)](OpContext& c) { return ops::batch_get(c, p); }, std::move(done));
}

void SqliteStore::webhook_claim(WebhookClaimParams p, Callback<std::vector<WebhookDelivery>> done) {
  submit(
      kWrites, [p = std::move(p)](OpContext& c) { return ops::webhook_claim(c, p); },
      std::move(done));
}

void SqliteStore::webhook_result(WebhookResultParams p, Callback<Unit> done) {
  submit(
      kWrites, [p = std::move(p)](OpContext& c) { return ops::webhook_result(c, p); },
      std::move(done));
}

void SqliteStore::job_ack_many(std::vector<AckItem> items,
                               Callback<std::vector<core::Result<core::JobState>>> done) {
  auto op = std::make_unique<AckManyOp>(std::move(items), std::move(done));
  if (op->size() <= kSmallRequest) op->allow_run_here();
  writer_->submit(std::move(op));
}

void SqliteStore::job_cancel(JobCancelParams p, Callback<core::Job> done) {
  submit(
      kWrites, [p = std::move(p)](OpContext& c) { return ops::job_cancel(c, p); }, std::move(done));
}

void SqliteStore::job_retry(JobRetryParams p, Callback<core::Job> done) {
  submit(
      kWrites, [p = std::move(p)](OpContext& c) { return ops::job_retry(c, p); }, std::move(done));
}

void SqliteStore::job_delete(JobDeleteParams p, Callback<Unit> done) {
  submit(
      kWrites, [p = std::move(p)](OpContext& c) { return ops::job_delete(c, p); }, std::move(done));
}

void SqliteStore::queue_oldest_ready(Callback<std::map<std::string, core::TimePoint>> done) {
  submit(
      kReads, [](OpContext& c) { return ops::queue_oldest_ready(c); }, std::move(done));
}

void SqliteStore::queue_list(Callback<std::vector<QueueInfo>> done) {
  submit(
      kReads, [](OpContext& c) { return ops::queue_list(c); }, std::move(done));
}

void SqliteStore::queue_pause(QueuePauseParams p, Callback<QueueInfo> done) {
  submit(
      kWrites, [p = std::move(p)](OpContext& c) { return ops::queue_pause(c, p); },
      std::move(done));
}

void SqliteStore::queue_configure(QueueConfigureParams p, Callback<QueueInfo> done) {
  submit(
      kWrites, [p = std::move(p)](OpContext& c) { return ops::queue_configure(c, p); },
      std::move(done));
}

void SqliteStore::queue_rotate_secret(QueueRotateSecretParams p, Callback<QueueInfo> done) {
  submit(
      kWrites, [p = std::move(p)](OpContext& c) { return ops::queue_rotate_secret(c, p); },
      std::move(done));
}

void SqliteStore::queue_get(QueueGetParams p, Callback<QueueInfo> done) {
  submit_small(
      kReads, [p = std::move(p)](OpContext& c) { return ops::queue_get(c, p); }, std::move(done));
}

void SqliteStore::key_put(KeyPutParams p, Callback<KeyInfo> done) {
  submit(
      kWrites, [p = std::move(p)](OpContext& c) { return ops::key_put(c, p); }, std::move(done));
}

void SqliteStore::key_get(KeyRef p, Callback<KeyInfo> done) {
  submit(
      kReads, [p = std::move(p)](OpContext& c) { return ops::key_get(c, p); }, std::move(done));
}

void SqliteStore::key_delete(KeyRef p, Callback<KeyInfo> done) {
  submit(
      kWrites, [p = std::move(p)](OpContext& c) { return ops::key_delete(c, p); }, std::move(done));
}

void SqliteStore::key_list(KeyListParams p, Callback<KeyPage> done) {
  submit(
      kReads, [p = std::move(p)](OpContext& c) { return ops::key_list(c, p); }, std::move(done));
}

void SqliteStore::job_promote_due(JobPromoteDueParams p, Callback<std::int64_t> done) {
  submit(
      kWrites, [p](OpContext& c) { return ops::job_promote_due(c, p); }, std::move(done));
}

void SqliteStore::lease_expire(LeaseExpireParams p, Callback<std::int64_t> done) {
  submit(
      kWrites, [p](OpContext& c) { return ops::lease_expire(c, p); }, std::move(done));
}

void SqliteStore::next_deadline(Callback<std::optional<core::TimePoint>> done) {
  submit(
      kReads, [](OpContext& c) { return ops::next_deadline(c); }, std::move(done));
}

void SqliteStore::job_prune_finished(JobPruneFinishedParams p, Callback<std::int64_t> done) {
  submit(
      kWrites, [p](OpContext& c) { return ops::job_prune_finished(c, p); }, std::move(done));
}

void SqliteStore::schedule_put(SchedulePutParams p, Callback<SchedulePutOutcome> done) {
  submit(
      kWrites, [p = std::move(p)](OpContext& c) { return ops::schedule_put(c, p); },
      std::move(done));
}

void SqliteStore::schedule_get(ScheduleGetParams p, Callback<core::Schedule> done) {
  submit(
      kReads, [p = std::move(p)](OpContext& c) { return ops::schedule_get(c, p); },
      std::move(done));
}

void SqliteStore::schedule_list(Callback<std::vector<core::Schedule>> done) {
  submit(
      kReads, [](OpContext& c) { return ops::schedule_list(c); }, std::move(done));
}

void SqliteStore::schedule_delete(ScheduleDeleteParams p, Callback<Unit> done) {
  submit(
      kWrites, [p = std::move(p)](OpContext& c) { return ops::schedule_delete(c, p); },
      std::move(done));
}

void SqliteStore::schedule_pause(SchedulePauseParams p, Callback<core::Schedule> done) {
  submit(
      kWrites, [p = std::move(p)](OpContext& c) { return ops::schedule_pause(c, p); },
      std::move(done));
}

void SqliteStore::schedule_fire(ScheduleFireParams p, Callback<ScheduleFireOutcome> done) {
  submit(
      kWrites, [p = std::move(p)](OpContext& c) { return ops::schedule_fire(c, p); },
      std::move(done));
}

std::int64_t SqliteStore::unreadable_jobs() const {
  return store::unreadable_jobs_seen();
}

void SqliteStore::setting_get_or_put(SettingGetOrPutParams p, Callback<std::string> done) {
  submit<std::string>(
      kWrites, [p = std::move(p)](OpContext& c) { return ops::setting_get_or_put(c, p); },
      std::move(done));
}

void SqliteStore::stats_sample_put(StatsSamplePutParams p, Callback<Unit> done) {
  submit(
      kWrites, [p = std::move(p)](OpContext& c) { return ops::stats_sample_put(c, p); },
      std::move(done));
}

void SqliteStore::stats_sample_list(StatsSampleListParams p,
                                    Callback<std::vector<StatsSample>> done) {
  submit(
      kReads, [p](OpContext& c) { return ops::stats_sample_list(c, p); }, std::move(done));
}

void SqliteStore::session_put(SessionPutParams p, Callback<Unit> done) {
  submit(
      kWrites, [p = std::move(p)](OpContext& c) { return ops::session_put(c, p); },
      std::move(done));
}

void SqliteStore::session_get(SessionGetParams p, Callback<DashboardSession> done) {
  submit(
      kReads, [p = std::move(p)](OpContext& c) { return ops::session_get(c, p); }, std::move(done));
}

void SqliteStore::session_list(SessionListParams p, Callback<std::vector<DashboardSession>> done) {
  submit(
      kReads, [p](OpContext& c) { return ops::session_list(c, p); }, std::move(done));
}

void SqliteStore::session_delete(SessionDeleteParams p, Callback<Unit> done) {
  submit(
      kWrites, [p = std::move(p)](OpContext& c) { return ops::session_delete(c, p); },
      std::move(done));
}

void SqliteStore::session_drop_expired(SessionDropExpiredParams p, Callback<std::int64_t> done) {
  submit(
      kWrites, [p](OpContext& c) { return ops::session_drop_expired(c, p); }, std::move(done));
}

void SqliteStore::node_heartbeat(NodeHeartbeatParams p, Callback<Unit> done) {
  submit(
      kWrites, [p = std::move(p)](OpContext& c) { return ops::node_heartbeat(c, p); },
      std::move(done));
}

void SqliteStore::node_stop(NodeStopParams p, Callback<Unit> done) {
  submit(
      kWrites, [p = std::move(p)](OpContext& c) { return ops::node_stop(c, p); }, std::move(done));
}

void SqliteStore::node_list(Callback<std::vector<core::Node>> done) {
  submit(
      kReads, [](OpContext& c) { return ops::node_list(c); }, std::move(done));
}

}  // namespace errand::store
