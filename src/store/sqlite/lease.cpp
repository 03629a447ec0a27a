#include "store/sqlite/ops.hpp"

#include "core/id.hpp"
#include "core/lease.hpp"
#include "store/common/job_transitions.hpp"
#include "store/sqlite/links.hpp"

namespace errand::store::sqlite::ops {
namespace {

using core::JobState;

// The few lease fields of a job, without reading its payload.
struct LeaseRow {
  std::int64_t rowid = 0;
  core::Millis timeout{};
  bool cancel_requested = false;
  std::string queue;
  int attempt = 0;
  std::string key;
  std::int64_t links = 0;
  std::optional<std::int64_t> batch;
};

core::Result<LeaseRow> load_lease(Statements& sql, std::string_view id, std::string_view lease_id) {
  auto rowid = find_rowid(sql, id);
  if (!rowid) return rowid.error();
  Query q(sql[Sql::job_lease_by_id]);
  q.bind_int(1, *rowid);
  auto found = q.step();
  if (!found) return found.error();
  if (!*found) return job_not_found(id);
  const auto state = static_cast<JobState>(q.int_at(1));
  if (auto ok = core::check_lease(id, state, q.text_at(2), lease_id); !ok) return ok.error();
  return LeaseRow{q.int_at(0),
                  core::Millis{q.int_at(3)},
                  q.int_at(4) != 0,
                  std::string(q.text_at(5)),
                  static_cast<int>(q.int_at(6)),
                  std::string(q.text_at(7)),
                  q.int_at(8),
                  q.is_null(9) ? std::optional<std::int64_t>() : q.int_at(9)};
}

core::Result<JobRow> load_leased_job(Statements& sql, std::string_view id,
                                     std::string_view lease_id) {
  auto row = load_job(sql, id);
  if (!row) return row;
  if (auto ok = core::check_lease(id, row->job.state, row->job.lease_id, lease_id); !ok)
    return ok.error();
  return row;
}

// Keeps the ending attempt's log, if the worker sent one.
core::Result<void> save_log(Statements& sql, std::int64_t rowid, const core::Job& job,
                            std::string_view log, core::TimePoint now) {
  if (log.empty()) return {};
  const std::string tail = log_tail(log);
  Query q(sql[Sql::job_log_save]);
  q.bind_int(1, rowid).bind_int(2, job.attempt).bind_time(3, now).bind_text(4, tail);
  return q.run();
}

// A failed push call ends a run of 429/503 deferrals (pull queues have none).
core::Result<void> clear_deferrals(OpContext& c, const JobRow& row) {
  const QueueRow* queue = c.queues.find(row.job.queue);
  if (!queue || !queue->config.push) return {};
  Query q(c.sql[Sql::job_push_clear_deferrals]);
  q.bind_int(1, row.rowid);
  return q.run();
}

core::Result<void> save_push_bookkeeping(Statements& sql, const JobRow& row) {
  const core::Job& job = row.job;
  Query q(sql[Sql::job_push_save]);
  q.bind_int(1, row.rowid).bind_int(2, job.push_continuations).bind_int(3, job.push_deferrals);
  q.bind_text_or_null(4, job.push_state).bind_text_or_null(5, job.signal.stored());
  q.bind_text_or_null(6, job.signal_nonce).bind_int(7, static_cast<int>(job.signal_status));
  return q.run();
}

}  // namespace

core::Result<core::Job> job_requeue(OpContext& c, const JobRequeueParams& p) {
  auto row = load_leased_job(c.sql, p.id, p.lease_id);
  if (!row) return row.error();
  core::Job& job = row->job;
  if (auto loaded = load_push_bookkeeping(c.sql, *row); !loaded) return loaded.error();
  apply_requeue(job, p);
  if (auto saved = save_job(c.sql, *row); !saved) return saved.error();
  if (auto saved = save_push_bookkeeping(c.sql, *row); !saved) return saved.error();
  if (p.continuation) {
    Query q(c.sql[Sql::job_set_links]);
    q.bind_int(1, row->rowid).bind_int(2, kLinkContinued);
    if (auto saved = q.run(); !saved) return saved.error();
  }
  c.queues.move(job.queue, JobState::running, job.state);
  c.keys.move(job.queue, job.key, JobState::running, job.state);
  if (job.state == JobState::queued) {
    c.notice.runnable(job.queue);
  } else {
    c.notice.deadline(job.run_at);
  }
  slot_freed(c, job.queue);
  return requeue_summary(job);
}

core::Result<LeaseInfo> lease_extend(OpContext& c, const LeaseExtendParams& p) {
  auto lease = load_lease(c.sql, p.id, p.lease_id);
  if (!lease) return lease.error();
  const core::TimePoint expires = p.now + p.extend.value_or(lease->timeout);
  Query q(c.sql[Sql::job_set_lease]);
  q.bind_int(1, lease->rowid).bind_time(2, expires);
  if (auto saved = q.run(); !saved) return saved.error();
  c.notice.deadline(expires);  // a shorter extension can move the deadline earlier
  return LeaseInfo{.lease_expires_at = expires, .cancel_requested = lease->cancel_requested};
}

core::Result<Unit> job_progress(OpContext& c, const JobProgressParams& p) {
  auto lease = load_lease(c.sql, p.id, p.lease_id);
  if (!lease) return lease.error();
  core::Progress progress = p.progress;
  progress.updated_at = p.now;
  const std::string text = progress_text(progress);
  Query q(c.sql[Sql::job_set_progress]);
  q.bind_int(1, lease->rowid).bind_text(2, text);
  if (auto saved = q.run(); !saved) return saved.error();
  return Unit{};
}

// The hot path: the lease fields only (no payload or JSON read), then an
// update of the columns that change.
core::Result<core::Job> job_complete(OpContext& c, const JobCompleteParams& p) {
  auto lease = load_lease(c.sql, p.id, p.lease_id);
  if (!lease) return lease.error();
  const std::string& result = p.result.stored();
  Query q(c.sql[Sql::job_complete_leased]);
  q.bind_int(1, lease->rowid).bind_text_or_null(2, result).bind_time(3, p.now);
  if (auto done = q.run(); !done) return done.error();
  core::Job job = completed_job(p, std::move(lease->queue), lease->attempt);
  if (auto saved = save_log(c.sql, lease->rowid, job, p.log, p.now); !saved) return saved.error();
  c.queues.move(job.queue, JobState::running, JobState::succeeded);
  c.keys.move(job.queue, lease->key, JobState::running, JobState::succeeded);
  ++c.queues.edit(job.queue).processed;
  slot_freed(c, job.queue);
  const EndedJob ended{
      .rowid = lease->rowid, .id = job.id, .links = lease->links, .batch = lease->batch};
  if (auto done = job_ended(c, ended, JobState::succeeded, p.now); !done) return done.error();
  return job;
}

core::Result<void> fail_attempt(OpContext& c, JobRow& row, std::string message, core::FailInput in,
                                core::TimePoint now, double jitter) {
  core::Job& job = row.job;
  const auto decision = apply_fail(job, std::move(message), in, now, c.options.backoff, jitter);
  if (decision.next == JobState::failed) c.notice.deadline(decision.run_at);
  if (auto saved = save_job(c.sql, row); !saved) return saved;
  c.queues.move(job.queue, JobState::running, decision.next);
  c.keys.move(job.queue, job.key, JobState::running, decision.next);
  ++c.queues.edit(job.queue).failed;
  slot_freed(c, job.queue);
  if (core::is_terminal(decision.next))
    return job_ended(c, EndedJob::of(row.rowid, job), decision.next, now);
  return {};
}

core::Result<core::Job> job_signal(OpContext& c, const JobSignalParams& p) {
  auto rowid = find_rowid(c.sql, p.id);
  if (!rowid) return rowid.error();
  Query q(c.sql[Sql::job_signal_wait]);
  q.bind_int(1, *rowid);
  auto found = q.step();
  if (!found) return found.error();
  if (!*found) return signal_expired();
  core::Job job;
  job.id = q.is_null(4) ? core::format_job_id(*rowid) : std::string(q.text_at(4));
  job.state = static_cast<JobState>(q.int_at(0));
  job.attempt = static_cast<int>(q.int_at(1));
  job.queue = std::string(q.text_at(2));
  const std::string key(q.text_at(3));
  const auto status = static_cast<core::SignalStatus>(q.int_at(6));
  if (auto ok = check_signal(q.text_at(5), status, job.state, p.nonce); !ok) return ok.error();
  if (auto done = q.run(); !done) return done.error();
  const std::string body = p.body.empty() ? std::string("null") : p.body.stored();
  Query save(c.sql[Sql::job_signal_save]);
  save.bind_int(1, *rowid).bind_text(2, body);
  save.bind_int(3, static_cast<int>(core::SignalStatus::received));
  if (auto saved = save.run(); !saved) return saved.error();
  Query resume(c.sql[Sql::job_resume]);
  resume.bind_int(1, *rowid).bind_time(2, p.now);
  if (auto saved = resume.run(); !saved) return saved.error();
  c.queues.move(job.queue, JobState::waiting, JobState::queued);
  c.keys.move(job.queue, key, JobState::waiting, JobState::queued);
  c.notice.runnable(job.queue);
  job.state = JobState::queued;
  job.run_at = p.now;
  return job;
}

core::Result<core::Job> job_fail(OpContext& c, const JobFailParams& p) {
  auto row = load_leased_job(c.sql, p.id, p.lease_id);
  if (!row) return row.error();
  if (auto cleared = clear_deferrals(c, *row); !cleared) return cleared.error();
  const core::FailInput in{.retry = p.retry, .retry_in = p.retry_in};
  if (auto saved = save_log(c.sql, row->rowid, row->job, p.log, p.now); !saved) {
    return saved.error();
  }
  if (auto failed = fail_attempt(c, *row, p.error, in, p.now, p.jitter); !failed) {
    return failed.error();
  }
  return std::move(row->job);
}

core::Result<JobState> job_ack(OpContext& c, const AckItem& item) {
  auto job = item.fail ? job_fail(c, item.failure) : job_complete(c, item.complete);
  if (!job) return job.error();
  return job->state;
}

}  // namespace errand::store::sqlite::ops
