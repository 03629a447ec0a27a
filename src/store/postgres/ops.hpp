// The bodies of the PostgreSQL store's verbs, one function per Store verb,
// run by the writer inside the batch's transaction, each inside its own
// savepoint. Each returns the verb's result and records its effect on queue
// counts and the change notice in the OpContext; the writer publishes both
// only after the commit. Semantics are those documented in store/store.hpp;
// every row another server may change at the same time is read FOR UPDATE
// (jobs) or changed by commutative deltas (queue counts). Writer thread only.
#pragma once

#include "store/postgres/job_rows.hpp"
#include "store/postgres/postgres_store.hpp"
#include "store/postgres/writer.hpp"

namespace errand::store::postgres::ops {

// insert.cpp
core::Result<std::vector<InsertOutcome>> job_insert_many(OpContext& c,
                                                         const JobInsertManyParams& p);
// job_insert_many's jobs, each marked with `batch` when given.
core::Result<std::vector<InsertOutcome>> insert_jobs(OpContext& c,
                                                     const std::vector<core::NewJob>& jobs,
                                                     core::TimePoint now,
                                                     std::optional<std::int64_t> batch);
// batches.cpp
core::Result<BatchInsertOutcome> batch_create(OpContext& c, const BatchCreateParams& p);
core::Result<BatchInsertOutcome> batch_add(OpContext& c, const BatchAddParams& p);
core::Result<core::Batch> batch_seal(OpContext& c, const BatchSealParams& p);
core::Result<core::Batch> batch_get(OpContext& c, const BatchGetParams& p);
core::Result<JobPage> batch_jobs(OpContext& c, const JobListParams& p);
// A job of batch `batch` ended in `end` (or, `undo`, left that end for a
// retry): the batch's counts change (under its row lock) and what it owes fires.
core::Result<void> batch_job_ended(OpContext& c, std::int64_t batch, core::JobState end,
                                   core::TimePoint now, bool undo = false);
core::Result<void> prune_batches(OpContext& c, core::TimePoint finished_before, std::size_t limit);
// webhooks.cpp
core::Result<void> webhook_job_ended(OpContext& c, std::int64_t rowid, core::TimePoint now);
core::Result<std::vector<WebhookDelivery>> webhook_claim(OpContext& c, const WebhookClaimParams& p);
core::Result<Unit> webhook_result(OpContext& c, const WebhookResultParams& p);
core::Result<void> load_webhook(Conn& db, JobRow& row);
// The queue's defaults for new jobs (none when the queue has no row).
core::Result<core::JobDefaults> queue_defaults(OpContext& c, std::string_view queue);

// read.cpp
core::Result<core::Job> job_get(OpContext& c, const JobGetParams& p);
core::Result<JobPage> job_list(OpContext& c, const JobListParams& p);
core::Result<std::map<std::string, core::TimePoint>> queue_oldest_ready(OpContext& c);

// claim.cpp
core::Result<std::vector<core::Job>> job_claim(OpContext& c, const JobClaimParams& p);
// A running job of `queue` ended (call after its move): waiting claims of a
// concurrency-limited queue with queued jobs are told it is runnable.
core::Result<void> slot_freed(OpContext& c, std::string_view queue);
// A job whose row cannot be read becomes dead, so it no longer holds up its queue.
core::Result<void> bury_unreadable(OpContext& c, const JobRow& row, core::JobState from);

// keys.cpp
// The queue's keys that may give a claim jobs at `now` (queued jobs, not
// paused, under their concurrency limit, not waiting for their bucket),
// next in turn first, at most n.
core::Result<std::vector<KeyRow>> ready_keys(OpContext& c, const std::string& queue,
                                             const core::QueueConfig& config, core::TimePoint now,
                                             std::size_t n);
// The keyless jobs' turn (their pass, no earlier than the queue's clock).
core::Result<KeyRow> keyless_turn(OpContext& c, const std::string& queue);
// The first n ready jobs of one key of the queue ('' : the keyless ones).
core::Result<std::vector<JobRow>> key_jobs(OpContext& c, const std::string& queue,
                                           const std::string& key, core::TimePoint now,
                                           std::size_t n, std::vector<JobRow>& unreadable);
core::Result<void> save_key_bucket(OpContext& c, const std::string& queue, const KeyRow& row,
                                   std::optional<core::TimePoint> throttled_until);
// Writes the operation's key moves now (a claim's, under its queue's turn).
core::Result<void> write_key_moves(OpContext& c);
// '' and then up to n keys next in turn.
core::Result<std::vector<std::string>> next_keys(OpContext& c, const std::string& queue,
                                                 std::size_t n);
// Keys whose bucket has refilled by `now`: their queues are runnable again.
core::Result<void> wake_refilled_keys(OpContext& c, core::TimePoint now);
core::Result<std::optional<core::TimePoint>> next_key_refill(OpContext& c);
// Deletes the rows of keys with nothing queued or running, no settings and
// no claim since `before`.
core::Result<void> forget_idle_keys(OpContext& c, core::TimePoint before);
core::Result<KeyInfo> key_put(OpContext& c, const KeyPutParams& p);
core::Result<KeyInfo> key_get(OpContext& c, const KeyRef& p);
core::Result<KeyInfo> key_delete(OpContext& c, const KeyRef& p);
core::Result<KeyPage> key_list(OpContext& c, const KeyListParams& p);

// lease.cpp
core::Result<LeaseInfo> lease_extend(OpContext& c, const LeaseExtendParams& p);
core::Result<Unit> job_progress(OpContext& c, const JobProgressParams& p);
core::Result<core::Job> job_complete(OpContext& c, const JobCompleteParams& p);
core::Result<core::Job> job_fail(OpContext& c, const JobFailParams& p);
core::Result<core::Job> job_requeue(OpContext& c, const JobRequeueParams& p);
core::Result<core::Job> job_signal(OpContext& c, const JobSignalParams& p);
core::Result<core::JobState> job_ack(OpContext& c, const AckItem& item);
// The completes of an ack batch that need little but their row changed (the
// lease holds; no webhook, batch or waiting children; the job named once in
// the batch), done with one read and one update (and a log's write each):
// which items it completed.
// The others are left for job_ack, which answers them as it would have.
core::Result<std::vector<bool>> complete_plain(OpContext& c, const std::vector<AckItem>& items);
core::Result<void> fail_attempt(OpContext& c, JobRow& row, std::string message, core::FailInput in,
                                core::TimePoint now, double jitter);

// admin.cpp
core::Result<core::Job> job_cancel(OpContext& c, const JobCancelParams& p);
core::Result<core::Job> job_retry(OpContext& c, const JobRetryParams& p);
core::Result<Unit> job_delete(OpContext& c, const JobDeleteParams& p);
core::Result<std::vector<QueueInfo>> queue_list(OpContext& c);
core::Result<QueueInfo> queue_pause(OpContext& c, const QueuePauseParams& p);
core::Result<QueueInfo> queue_configure(OpContext& c, const QueueConfigureParams& p);
core::Result<QueueInfo> queue_rotate_secret(OpContext& c, const QueueRotateSecretParams& p);
core::Result<QueueInfo> queue_get(OpContext& c, const QueueGetParams& p);

// timers.cpp
core::Result<std::int64_t> job_promote_due(OpContext& c, const JobPromoteDueParams& p);
core::Result<std::int64_t> lease_expire(OpContext& c, const LeaseExpireParams& p);
core::Result<std::optional<core::TimePoint>> next_deadline(OpContext& c);
core::Result<std::int64_t> job_prune_finished(OpContext& c, const JobPruneFinishedParams& p);

// schedules.cpp
core::Result<SchedulePutOutcome> schedule_put(OpContext& c, const SchedulePutParams& p);
core::Result<core::Schedule> schedule_get(OpContext& c, const ScheduleGetParams& p);
core::Result<std::vector<core::Schedule>> schedule_list(OpContext& c);
core::Result<Unit> schedule_delete(OpContext& c, const ScheduleDeleteParams& p);
core::Result<core::Schedule> schedule_pause(OpContext& c, const SchedulePauseParams& p);
core::Result<ScheduleFireOutcome> schedule_fire(OpContext& c, const ScheduleFireParams& p);

// stats_samples.cpp
core::Result<Unit> stats_sample_put(OpContext& c, const StatsSamplePutParams& p);
core::Result<std::vector<StatsSample>> stats_sample_list(OpContext& c,
                                                         const StatsSampleListParams& p);

// nodes.cpp
core::Result<Unit> node_heartbeat(OpContext& c, const NodeHeartbeatParams& p);
core::Result<Unit> node_stop(OpContext& c, const NodeStopParams& p);
core::Result<std::vector<core::Node>> node_list(OpContext& c);

// settings.cpp
core::Result<std::string> setting_get_or_put(OpContext& c, const SettingGetOrPutParams& p);

// sessions.cpp
core::Result<Unit> session_put(OpContext& c, const SessionPutParams& p);
core::Result<DashboardSession> session_get(OpContext& c, const SessionGetParams& p);
core::Result<Unit> session_delete(OpContext& c, const SessionDeleteParams& p);
core::Result<std::vector<DashboardSession>> session_list(OpContext& c, const SessionListParams& p);
core::Result<std::int64_t> session_drop_expired(OpContext& c, const SessionDropExpiredParams& p);

}  // namespace errand::store::postgres::ops
