#include "store/postgres/ops.hpp"

#include "core/id.hpp"
#include "core/lease.hpp"
#include "store/common/job_transitions.hpp"
#include "store/postgres/links.hpp"

#include <fmt/format.h>

#include <unordered_map>

namespace errand::store::postgres::ops {
namespace {

using core::JobState;

const Statement kLeaseById{"job_lease_by_id",
                           "SELECT id, state, lease_id, timeout_ms, cancel_requested, queue,"
                           " attempt, key, links, batch_id FROM jobs WHERE id = $1 FOR UPDATE"};
const Statement kLeasesByIds{"job_leases_by_ids",
                             "SELECT id, state, lease_id, timeout_ms, cancel_requested, queue,"
                             " attempt, key, links, batch_id FROM jobs WHERE id = ANY($1::bigint[])"
                             " ORDER BY id FOR UPDATE"};
const Statement kCompleteLeasedMany{
    "job_complete_leased_many",
    "UPDATE jobs AS j SET state = 3, result = u.result, finished_at = u.finished_at,"
    " lease_id = NULL, lease_expires_at = NULL, event_seq = j.event_seq + 1"
    " FROM unnest($1::bigint[], $2::text[], $3::bigint[]) AS u(id, result, finished_at)"
    " WHERE j.id = u.id"};
const Statement kSetLease{"job_set_lease", "UPDATE jobs SET lease_expires_at = $2 WHERE id = $1"};
const Statement kSetProgress{
    "job_set_progress", "UPDATE jobs SET progress = $2, event_seq = event_seq + 1 WHERE id = $1"};
const Statement kCompleteLeased{
    "job_complete_leased",
    "UPDATE jobs SET state = 3, result = $2, finished_at = $3, lease_id = NULL,"
    " lease_expires_at = NULL, event_seq = event_seq + 1 WHERE id = $1"};
const Statement kLogSave{"job_log_save",
                         "INSERT INTO job_logs(job_id, attempt, at, log) VALUES ($1, $2, $3, $4)"
                         " ON CONFLICT (job_id, attempt) DO UPDATE SET at = excluded.at,"
                         " log = excluded.log"};
const Statement kPushClearDeferrals{
    "job_push_clear_deferrals",
    "UPDATE job_push SET deferrals = 0 WHERE job_id = $1 AND deferrals <> 0"};
const Statement kPushSave{"job_push_save",
                          "INSERT INTO job_push(job_id, continuations, deferrals, state, signal,"
                          " signal_nonce, signal_status) VALUES ($1, $2, $3, $4, $5, $6, $7)"
                          " ON CONFLICT (job_id) DO UPDATE SET"
                          " continuations = excluded.continuations,"
                          " deferrals = excluded.deferrals, state = excluded.state,"
                          " signal = excluded.signal, signal_nonce = excluded.signal_nonce,"
                          " signal_status = excluded.signal_status"};
const Statement kSetContinued{"job_set_continued",
                              "UPDATE jobs SET links = links | 8 WHERE id = $1 AND links & 8 = 0"};
const Statement kSignalWait{
    "job_signal_wait",
    "SELECT j.state, j.attempt, j.queue, j.key, p.signal_nonce, p.signal_status"
    " FROM jobs j JOIN job_push p ON p.job_id = j.id WHERE j.id = $1 FOR UPDATE"};
const Statement kSignalSave{"job_signal_save",
                            "UPDATE job_push SET signal = $2, signal_status = 2 WHERE job_id = $1"};
const Statement kResume{"job_resume",
                        "UPDATE jobs SET state = 1, run_at = $2, event_seq = event_seq + 1"
                        " WHERE id = $1"};

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

// Row `i` of kLeaseById's or kLeasesByIds' columns, when its lease is
// `lease_id` (else check_lease's error).
core::Result<LeaseRow> lease_row(const Rows& r, int i, std::string_view id,
                                 std::string_view lease_id) {
  const auto state = static_cast<JobState>(r.integer(i, 1));
  if (auto ok = core::check_lease(id, state, r.text(i, 2), lease_id); !ok) return ok.error();
  return LeaseRow{r.integer(i, 0),
                  core::Millis{r.integer(i, 3)},
                  r.boolean(i, 4),
                  std::string(r.text(i, 5)),
                  static_cast<int>(r.integer(i, 6)),
                  std::string(r.text(i, 7)),
                  r.integer(i, 8),
                  r.opt_integer(i, 9)};
}

core::Result<LeaseRow> load_lease(Conn& db, std::string_view id, std::string_view lease_id) {
  const auto rowid = core::parse_job_id(id);
  if (!rowid) return job_not_found(id);
  auto r = db.run(kLeaseById, Params().integer(*rowid));
  if (!r) return r.error();
  if (r->empty()) return job_not_found(id);
  return lease_row(*r, 0, id, lease_id);
}

core::Result<JobRow> load_leased_job(Conn& db, std::string_view id, std::string_view lease_id) {
  auto row = load_job(db, id);
  if (!row) return row;
  if (auto ok = core::check_lease(id, row->job.state, row->job.lease_id, lease_id); !ok)
    return ok.error();
  return row;
}

core::Result<void> save_log(Conn& db, std::int64_t rowid, const core::Job& job,
                            std::string_view log, core::TimePoint now) {
  if (log.empty()) return {};
  const std::string tail = log_tail(log);
  auto r = db.run(kLogSave, Params().integer(rowid).integer(job.attempt).time(now).text(tail));
  if (!r) return r.error();
  return {};
}

core::Result<void> clear_deferrals(OpContext& c, const JobRow& row) {
  auto r = c.db.run(kPushClearDeferrals, Params().integer(row.rowid));
  if (!r) return r.error();
  return {};
}

core::Result<void> save_push_bookkeeping(Conn& db, const JobRow& row) {
  const core::Job& job = row.job;
  Params p;
  p.integer(row.rowid).integer(job.push_continuations).integer(job.push_deferrals);
  p.text_or_null(job.push_state).text_or_null(job.signal.stored()).text_or_null(job.signal_nonce);
  p.integer(static_cast<int>(job.signal_status));
  auto r = db.run(kPushSave, p);
  if (!r) return r.error();
  return {};
}

}  // namespace

core::Result<core::Job> job_requeue(OpContext& c, const JobRequeueParams& p) {
  auto row = load_leased_job(c.db, p.id, p.lease_id);
  if (!row) return row.error();
  core::Job& job = row->job;
  if (auto loaded = load_push_bookkeeping(c.db, *row); !loaded) return loaded.error();
  apply_requeue(job, p);
  if (auto saved = save_job(c.db, *row); !saved) return saved.error();
  if (auto saved = save_push_bookkeeping(c.db, *row); !saved) return saved.error();
  if (p.continuation) {
    if (auto r = c.db.run(kSetContinued, Params().integer(row->rowid)); !r) return r.error();
  }
  c.queues.move(job.queue, JobState::running, job.state);
  c.keys.move(job.queue, job.key, JobState::running, job.state);
  if (job.state == JobState::queued) {
    c.notice.runnable(job.queue);
  } else {
    c.notice.deadline(job.run_at);
  }
  if (auto freed = slot_freed(c, job.queue); !freed) return freed.error();
  c.notice.job_state_event(job);
  return requeue_summary(job);
}

core::Result<LeaseInfo> lease_extend(OpContext& c, const LeaseExtendParams& p) {
  auto lease = load_lease(c.db, p.id, p.lease_id);
  if (!lease) return lease.error();
  const core::TimePoint expires = p.now + p.extend.value_or(lease->timeout);
  if (auto r = c.db.run(kSetLease, Params().integer(lease->rowid).time(expires)); !r) {
    return r.error();
  }
  c.notice.deadline(expires);  // a shorter extension can move the deadline earlier
  return LeaseInfo{.lease_expires_at = expires, .cancel_requested = lease->cancel_requested};
}

core::Result<Unit> job_progress(OpContext& c, const JobProgressParams& p) {
  auto lease = load_lease(c.db, p.id, p.lease_id);
  if (!lease) return lease.error();
  core::Progress progress = p.progress;
  progress.updated_at = p.now;
  auto r = c.db.run(kSetProgress, Params().integer(lease->rowid).text(progress_text(progress)));
  if (!r) return r.error();
  c.notice.job_event({.id = p.id, .progress = true});
  return Unit{};
}

// The hot path: the lease fields only (no payload or JSON read), then an
// update of the columns that change.
namespace {

// What a complete does once its row is updated: the attempt's log, the
// counts, a freed slot's wake-up and the watchers' event (not job_ended).
core::Result<core::Job> record_completed(OpContext& c, const JobCompleteParams& p,
                                         const LeaseRow& lease) {
  core::Job job = completed_job(p, lease.queue, lease.attempt);
  if (auto saved = save_log(c.db, lease.rowid, job, p.log, p.now); !saved) return saved.error();
  c.queues.move(job.queue, JobState::running, JobState::succeeded);
  c.keys.move(job.queue, lease.key, JobState::running, JobState::succeeded);
  c.queues.add_processed(job.queue);
  if (auto freed = slot_freed(c, job.queue); !freed) return freed.error();
  c.notice.job_state_event(job);
  return job;
}

}  // namespace

core::Result<core::Job> job_complete(OpContext& c, const JobCompleteParams& p) {
  auto lease = load_lease(c.db, p.id, p.lease_id);
  if (!lease) return lease.error();
  Params params;
  params.integer(lease->rowid).text_or_null(p.result.stored()).time(p.now);
  if (auto done = c.db.run(kCompleteLeased, params); !done) return done.error();
  auto job = record_completed(c, p, *lease);
  if (!job) return job.error();
  const EndedJob ended{
      .rowid = lease->rowid, .id = job->id, .links = lease->links, .batch = lease->batch};
  if (auto done = job_ended(c, ended, JobState::succeeded, p.now); !done) return done.error();
  return job;
}

core::Result<std::vector<bool>> complete_plain(OpContext& c, const std::vector<AckItem>& items) {
  std::vector<bool> done(items.size(), false);
  // Candidates: the completes of jobs named once in the batch (a job
  // acknowledged twice, or failed and completed, keeps its items' order on
  // the per-item path).
  std::unordered_map<std::int64_t, int> named;
  std::vector<std::int64_t> rowids(items.size(), 0);  // 0: not a candidate
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto& id = items[i].fail ? items[i].failure.id : items[i].complete.id;
    if (const auto rowid = core::parse_job_id(id)) {
      ++named[*rowid];
      if (!items[i].fail) rowids[i] = *rowid;
    }
  }
  std::vector<std::string> ids;
  for (auto& rowid : rowids) {
    if (rowid != 0 && named[rowid] > 1) rowid = 0;
    if (rowid != 0) ids.push_back(std::to_string(rowid));
  }
  if (ids.size() < 2) return done;  // one job costs the same on its own
  auto r = c.db.run(kLeasesByIds, Params().text(plain_array(ids)));
  if (!r) return r.error();
  std::unordered_map<std::int64_t, int> row_of;  // rowid -> row of r
  for (int k = 0; k < r->size(); ++k) row_of.emplace(r->integer(k, 0), k);
  // The completes whose leases hold, of jobs whose end touches nothing else
  // (no webhook, batch or waiting children: job_ended would).
  std::vector<std::pair<std::size_t, LeaseRow>> plain;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto found = rowids[i] == 0 ? row_of.end() : row_of.find(rowids[i]);
    if (found == row_of.end()) continue;
    const auto& p = items[i].complete;
    auto lease = lease_row(*r, found->second, p.id, p.lease_id);
    if (!lease || lease->links != 0 || lease->batch) continue;  // on its own: the same answer
    plain.emplace_back(i, std::move(*lease));
  }
  if (plain.empty()) return done;
  std::vector<std::string> done_ids, finished;
  std::vector<std::optional<std::string_view>> results;
  for (const auto& [i, lease] : plain) {
    const auto& p = items[i].complete;
    done_ids.push_back(std::to_string(lease.rowid));
    results.push_back(p.result.empty() ? std::nullopt
                                       : std::optional<std::string_view>(p.result.stored()));
    finished.push_back(std::to_string(core::to_unix_ms(p.now)));
  }
  Params params;
  params.text(plain_array(done_ids)).text(text_array(results)).text(plain_array(finished));
  if (auto updated = c.db.run(kCompleteLeasedMany, params); !updated) return updated.error();
  for (const auto& [i, lease] : plain) {
    if (auto job = record_completed(c, items[i].complete, lease); !job) return job.error();
    done[i] = true;
  }
  return done;
}

core::Result<void> fail_attempt(OpContext& c, JobRow& row, std::string message, core::FailInput in,
                                core::TimePoint now, double jitter) {
  core::Job& job = row.job;
  const auto decision = apply_fail(job, std::move(message), in, now, c.options.backoff, jitter);
  if (decision.next == JobState::failed) c.notice.deadline(decision.run_at);
  if (auto saved = save_job(c.db, row); !saved) return saved;
  c.queues.move(job.queue, JobState::running, decision.next);
  c.keys.move(job.queue, job.key, JobState::running, decision.next);
  c.queues.add_failed(job.queue);
  if (auto freed = slot_freed(c, job.queue); !freed) return freed;
  if (core::is_terminal(decision.next))
    return job_ended(c, EndedJob::of(row.rowid, job), decision.next, now);
  return {};
}

core::Result<core::Job> job_signal(OpContext& c, const JobSignalParams& p) {
  const auto rowid = core::parse_job_id(p.id);
  if (!rowid) return signal_expired();
  auto r = c.db.run(kSignalWait, Params().integer(*rowid));
  if (!r) return r.error();
  if (r->empty()) return signal_expired();
  core::Job job;
  job.id = core::format_job_id(*rowid);
  job.state = static_cast<JobState>(r->integer(0, 0));
  job.attempt = static_cast<int>(r->integer(0, 1));
  job.queue = std::string(r->text(0, 2));
  const std::string key(r->text(0, 3));
  const auto status = static_cast<core::SignalStatus>(r->integer(0, 5));
  if (auto ok = check_signal(r->text(0, 4), status, job.state, p.nonce); !ok) return ok.error();
  const std::string body = p.body.empty() ? std::string("null") : p.body.stored();
  if (auto saved = c.db.run(kSignalSave, Params().integer(*rowid).text(body)); !saved) {
    return saved.error();
  }
  if (auto saved = c.db.run(kResume, Params().integer(*rowid).time(p.now)); !saved) {
    return saved.error();
  }
  c.queues.move(job.queue, JobState::waiting, JobState::queued);
  c.keys.move(job.queue, key, JobState::waiting, JobState::queued);
  c.notice.runnable(job.queue);
  job.state = JobState::queued;
  job.run_at = p.now;
  c.notice.job_state_event(job);
  return job;
}

core::Result<core::Job> job_fail(OpContext& c, const JobFailParams& p) {
  auto row = load_leased_job(c.db, p.id, p.lease_id);
  if (!row) return row.error();
  if (auto cleared = clear_deferrals(c, *row); !cleared) return cleared.error();
  const core::FailInput in{.retry = p.retry, .retry_in = p.retry_in};
  if (auto saved = save_log(c.db, row->rowid, row->job, p.log, p.now); !saved) {
    return saved.error();
  }
  if (auto failed = fail_attempt(c, *row, p.error, in, p.now, p.jitter); !failed) {
    return failed.error();
  }
  c.notice.job_state_event(row->job);
  return std::move(row->job);
}

core::Result<JobState> job_ack(OpContext& c, const AckItem& item) {
  auto job = item.fail ? job_fail(c, item.failure) : job_complete(c, item.complete);
  if (!job) return job.error();
  return job->state;
}

}  // namespace errand::store::postgres::ops
