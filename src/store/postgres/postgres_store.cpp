#include "store/postgres/postgres_store.hpp"

#include "store/postgres/listener.hpp"
#include "store/postgres/ops.hpp"
#include "store/postgres/schema.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace errand::store {
using postgres::OpContext;
namespace ops = postgres::ops;

namespace {

constexpr bool kWrites = true;
constexpr bool kReads = false;

// Many acknowledgements in one op, sharing the batch's one commit. The plain
// completes first, all at once (ops::complete_plain: two round trips instead
// of three a job); then every other item in its own savepoint, so a stale
// lease rolls back only that item.
class AckManyOp final : public postgres::Op {
 public:
  using Results = std::vector<core::Result<core::JobState>>;
  AckManyOp(std::vector<AckItem> items, Callback<Results> done)
      : Op(kWrites), items_(std::move(items)), done_(std::move(done)) {}

  void run(postgres::Batch& batch) override {
    results_.clear();  // a batch retried after a deadlock runs its ops again
    auto plain = [&](OpContext& c) { return ops::complete_plain(c, items_); };
    auto completed = batch.isolated<std::vector<bool>>(plain);
    if (batch.failed()) return;
    // When that failed, its savepoint is rolled back: every item on its own.
    if (!completed) {
      spdlog::warn("acknowledging {} jobs together failed ({}); each is taken on its own",
                   items_.size(), completed.error().message);
    }
    const std::vector<bool> done = completed ? std::move(*completed) : std::vector<bool>();
    for (std::size_t i = 0; i < items_.size(); ++i) {
      if (batch.failed()) return;
      if (i < done.size() && done[i]) {
        results_.emplace_back(core::JobState::succeeded);
        continue;
      }
      auto one = [&](OpContext& c) { return ops::job_ack(c, items_[i]); };
      results_.push_back(batch.isolated<core::JobState>(one));
    }
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

core::Result<std::unique_ptr<postgres::Conn>> connect_and_migrate(const PostgresOptions& o) {
  if (!postgres::valid_schema_name(o.schema)) {
    return core::make_error(
        core::errc::invalid_argument,
        fmt::format("invalid schema name \"{}\": use [a-z_][a-z0-9_]{{0,62}}", o.schema), "schema");
  }
  if (auto usable = postgres::check_conninfo(o.conninfo); !usable) return usable.error();
  auto conn = postgres::Conn::open(o.conninfo, o.schema);
  if (!conn) return conn.error();
  if (auto migrated = postgres::migrate_schema(**conn, o.schema); !migrated) {
    return migrated.error();
  }
  return conn;
}

}  // namespace

core::Result<int> PostgresStore::migrate(const PostgresOptions& options) {
  if (auto usable = postgres::check_conninfo(options.conninfo); !usable) return usable.error();
  auto conn = postgres::Conn::open(options.conninfo, options.schema);
  if (!conn) return conn.error();
  return postgres::migrate_schema(**conn, options.schema);
}

core::Result<std::unique_ptr<PostgresStore>> PostgresStore::open(PostgresOptions options) {
  auto conn = connect_and_migrate(options);
  if (!conn) return conn.error();
  auto notifier = std::make_unique<postgres::Notifier>();
  auto writer = std::make_unique<postgres::Writer>(
      std::move(*conn), options.conninfo, options.schema, options.store, *notifier,
      std::move(options.before_commit), options.commit_seconds, options.fsync_seconds);
  auto* w = writer.get();
  auto listener = std::make_unique<postgres::ChangeListener>(
      options.conninfo, options.schema, *notifier, [w] { return w->backend_pid(); },
      [w] { w->retry_connection_now(); }, options.clock);
  if (auto listening = listener->start(); !listening) return listening.error();
  writer->start();
  return std::unique_ptr<PostgresStore>(
      new PostgresStore(std::move(notifier), std::move(writer), std::move(listener)));
}

PostgresStore::PostgresStore(std::unique_ptr<postgres::Notifier> notifier,
                             std::unique_ptr<postgres::Writer> writer,
                             std::unique_ptr<postgres::ChangeListener> listener)
    : notifier_(std::move(notifier)), writer_(std::move(writer)), listener_(std::move(listener)) {}

PostgresStore::~PostgresStore() {
  close();
}

void PostgresStore::close() {
  writer_->close();
  listener_->stop();
}

// The LISTEN connection hears at once when the database goes away (its
// socket closes), while an idle writer learns it only at its next batch:
// either being down means the database cannot be counted on now.
bool PostgresStore::writable() const {
  return writer_->connected() && listener_->connected();
}

bool PostgresStore::set_job_event_feed(JobEventFeed feed) {
  listener_->set_job_event_feed(std::move(feed));
  return true;
}

std::optional<core::Millis> PostgresStore::clock_offset() const {
  return listener_->clock_offset();
}

std::int64_t PostgresStore::unreadable_jobs() const {
  return store::unreadable_jobs_seen();
}

template <class T, class F>
void PostgresStore::submit(bool writes, F body, Callback<T> done) {
  writer_->submit(postgres::make_op<T>(writes, std::move(body), std::move(done)));
}

void PostgresStore::set_change_listener(std::function<void(const ChangeNotice&)> listener) {
  notifier_->set(std::move(listener));
}

#define ERRAND_PG_VERB(verb, Params, Result, kind)                                            \
  void PostgresStore::verb(Params p, Callback<Result> done) {                                 \
    submit(                                                                                   \
        kind, [p = std::move(p)](OpContext& c) { return ops::verb(c, p); }, std::move(done)); \
  }
#define ERRAND_PG_VERB0(verb, Result, kind)                                \
  void PostgresStore::verb(Callback<Result> done) {                        \
    submit(                                                                \
        kind, [](OpContext& c) { return ops::verb(c); }, std::move(done)); \
  }

ERRAND_PG_VERB(job_insert_many, JobInsertManyParams, std::vector<InsertOutcome>, kWrites)
ERRAND_PG_VERB(job_get, JobGetParams, core::Job, kReads)
ERRAND_PG_VERB(job_list, JobListParams, JobPage, kReads)
ERRAND_PG_VERB(job_claim, JobClaimParams, std::vector<core::Job>, kWrites)
ERRAND_PG_VERB(lease_extend, LeaseExtendParams, LeaseInfo, kWrites)
ERRAND_PG_VERB(job_progress, JobProgressParams, Unit, kWrites)
ERRAND_PG_VERB(job_complete, JobCompleteParams, core::Job, kWrites)
ERRAND_PG_VERB(job_fail, JobFailParams, core::Job, kWrites)
ERRAND_PG_VERB(job_requeue, JobRequeueParams, core::Job, kWrites)
ERRAND_PG_VERB(job_signal, JobSignalParams, core::Job, kWrites)
ERRAND_PG_VERB(batch_create, BatchCreateParams, BatchInsertOutcome, kWrites)
ERRAND_PG_VERB(batch_add, BatchAddParams, BatchInsertOutcome, kWrites)
ERRAND_PG_VERB(batch_seal, BatchSealParams, core::Batch, kWrites)
ERRAND_PG_VERB(batch_get, BatchGetParams, core::Batch, kReads)
ERRAND_PG_VERB(webhook_claim, WebhookClaimParams, std::vector<WebhookDelivery>, kWrites)
ERRAND_PG_VERB(webhook_result, WebhookResultParams, Unit, kWrites)
ERRAND_PG_VERB(job_cancel, JobCancelParams, core::Job, kWrites)
ERRAND_PG_VERB(job_retry, JobRetryParams, core::Job, kWrites)
ERRAND_PG_VERB(job_delete, JobDeleteParams, Unit, kWrites)
ERRAND_PG_VERB0(queue_list, std::vector<QueueInfo>, kReads)
ERRAND_PG_VERB(queue_pause, QueuePauseParams, QueueInfo, kWrites)
ERRAND_PG_VERB(queue_configure, QueueConfigureParams, QueueInfo, kWrites)
ERRAND_PG_VERB(queue_rotate_secret, QueueRotateSecretParams, QueueInfo, kWrites)
ERRAND_PG_VERB(queue_get, QueueGetParams, QueueInfo, kReads)
ERRAND_PG_VERB(key_put, KeyPutParams, KeyInfo, kWrites)
ERRAND_PG_VERB(key_get, KeyRef, KeyInfo, kReads)
ERRAND_PG_VERB(key_delete, KeyRef, KeyInfo, kWrites)
ERRAND_PG_VERB(key_list, KeyListParams, KeyPage, kReads)
using OldestReady = std::map<std::string, core::TimePoint>;
ERRAND_PG_VERB0(queue_oldest_ready, OldestReady, kReads)
ERRAND_PG_VERB(job_promote_due, JobPromoteDueParams, std::int64_t, kWrites)
ERRAND_PG_VERB(lease_expire, LeaseExpireParams, std::int64_t, kWrites)
ERRAND_PG_VERB0(next_deadline, std::optional<core::TimePoint>, kReads)
ERRAND_PG_VERB(job_prune_finished, JobPruneFinishedParams, std::int64_t, kWrites)
ERRAND_PG_VERB(schedule_put, SchedulePutParams, SchedulePutOutcome, kWrites)
ERRAND_PG_VERB(schedule_get, ScheduleGetParams, core::Schedule, kReads)
ERRAND_PG_VERB0(schedule_list, std::vector<core::Schedule>, kReads)
ERRAND_PG_VERB(schedule_delete, ScheduleDeleteParams, Unit, kWrites)
ERRAND_PG_VERB(schedule_pause, SchedulePauseParams, core::Schedule, kWrites)
ERRAND_PG_VERB(schedule_fire, ScheduleFireParams, ScheduleFireOutcome, kWrites)
ERRAND_PG_VERB(stats_sample_put, StatsSamplePutParams, Unit, kWrites)
ERRAND_PG_VERB(stats_sample_list, StatsSampleListParams, std::vector<StatsSample>, kReads)
ERRAND_PG_VERB(setting_get_or_put, SettingGetOrPutParams, std::string, kWrites)
ERRAND_PG_VERB(session_put, SessionPutParams, Unit, kWrites)
ERRAND_PG_VERB(session_get, SessionGetParams, DashboardSession, kReads)
ERRAND_PG_VERB(session_delete, SessionDeleteParams, Unit, kWrites)
ERRAND_PG_VERB(session_list, SessionListParams, std::vector<DashboardSession>, kReads)
ERRAND_PG_VERB(session_drop_expired, SessionDropExpiredParams, std::int64_t, kWrites)
ERRAND_PG_VERB(node_heartbeat, NodeHeartbeatParams, Unit, kWrites)
ERRAND_PG_VERB(node_stop, NodeStopParams, Unit, kWrites)
ERRAND_PG_VERB0(node_list, std::vector<core::Node>, kReads)

#undef ERRAND_PG_VERB
#undef ERRAND_PG_VERB0

void PostgresStore::job_ack_many(std::vector<AckItem> items,
                                 Callback<std::vector<core::Result<core::JobState>>> done) {
  writer_->submit(std::make_unique<AckManyOp>(std::move(items), std::move(done)));
}

}  // namespace errand::store
