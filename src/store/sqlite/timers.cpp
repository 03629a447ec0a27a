#include "store/sqlite/ops.hpp"

#include "store/common/job_transitions.hpp"
#include "store/common/queue_transitions.hpp"

namespace errand::store::sqlite::ops {
namespace {

using core::JobState;

// Timer work is done in chunks so no statement materializes every due job.
constexpr std::int64_t kChunk = 512;

struct DueJob {
  std::int64_t rowid;
  std::string queue;
  JobState state;
  std::string id;
  int attempt;
  std::string key;
};

core::Result<std::vector<DueJob>> due_jobs(Statements& sql, core::TimePoint now) {
  Query q(sql[Sql::jobs_due]);
  q.bind_time(1, now).bind_int(2, kChunk);
  std::vector<DueJob> due;
  for (;;) {
    auto row = q.step();
    if (!row) return row.error();
    if (!*row) return due;
    due.push_back({q.int_at(0), std::string(q.text_at(1)), static_cast<JobState>(q.int_at(2)),
                   public_id(q, 0, 3), static_cast<int>(q.int_at(4)), std::string(q.text_at(5))});
  }
}

core::Result<void> promote(OpContext& c, const DueJob& job) {
  if (job.state == JobState::waiting) {  // its signal did not come in time
    Query q(c.sql[Sql::job_signal_timeout]);
    q.bind_int(1, job.rowid);
    if (auto saved = q.run(); !saved) return saved;
  }
  Query q(c.sql[Sql::job_set_state]);
  q.bind_int(1, job.rowid).bind_int(2, static_cast<int>(JobState::queued));
  if (auto saved = q.run(); !saved) return saved;
  c.queues.move(job.queue, job.state, JobState::queued);
  c.keys.move(job.queue, job.key, job.state, JobState::queued);
  c.notice.runnable(job.queue);
  c.notice.job_changed({.id = job.id, .state = JobState::queued, .attempt = job.attempt});
  return {};
}

core::Result<std::vector<JobRow>> expired_leases(Statements& sql, core::TimePoint now,
                                                 std::vector<JobRow>& unreadable) {
  Query q(sql[Sql::jobs_lease_expired]);
  q.bind_time(1, now).bind_int(2, kChunk);
  return read_jobs(q, &unreadable);
}

using OptTime = std::optional<core::TimePoint>;

core::Result<std::optional<core::TimePoint>> first_time(Statements& sql, Sql name) {
  Query q(sql[name]);
  auto row = q.step();
  if (!row) return row.error();
  if (!*row) return std::nullopt;
  return q.time_at(0);
}

// Queues whose claims an empty rate-limit bucket held back, and whose bucket
// has a token again by `now`: their waiting claims may now succeed.
void wake_refilled(OpContext& c, core::TimePoint now) {
  for (const auto& name : c.queues.throttled_until_before(now)) {
    QueueRow& row = c.queues.edit(name);
    row.throttled_until.reset();
    if (is_runnable(row)) c.notice.runnable(name);
  }
}

}  // namespace

core::Result<std::int64_t> job_promote_due(OpContext& c, const JobPromoteDueParams& p) {
  wake_refilled(c, p.now);
  if (auto woken = wake_refilled_keys(c, p.now); !woken) return woken.error();
  std::int64_t moved = 0;
  for (;;) {
    auto due = due_jobs(c.sql, p.now);
    if (!due) return due.error();
    for (const auto& job : *due) {
      if (auto done = promote(c, job); !done) return done.error();
    }
    moved += static_cast<std::int64_t>(due->size());
    if (static_cast<std::int64_t>(due->size()) < kChunk) return moved;
  }
}

core::Result<std::int64_t> lease_expire(OpContext& c, const LeaseExpireParams& p) {
  std::int64_t expired = 0;
  for (;;) {
    std::vector<JobRow> unreadable;
    auto rows = expired_leases(c.sql, p.now, unreadable);
    if (!rows) return rows.error();
    for (const auto& row : unreadable) {
      if (auto buried = bury_unreadable(c, row, JobState::running); !buried) return buried.error();
    }
    for (auto& row : *rows) {
      const core::FailInput in{.retry = true};
      auto failed = fail_attempt(c, row, std::string(kLeaseExpiredError), in, p.now, p.jitter);
      if (!failed) return failed.error();
      c.notice.job_changed(lease_expired_change(row.job));
    }
    expired += static_cast<std::int64_t>(rows->size());
    if (static_cast<std::int64_t>(rows->size() + unreadable.size()) < kChunk) return expired;
  }
}

core::Result<std::optional<core::TimePoint>> next_deadline(OpContext& c) {
  auto run_at = first_time(c.sql, Sql::next_run_at);
  if (!run_at) return run_at;
  auto expiry = first_time(c.sql, Sql::next_lease_expiry);
  if (!expiry) return expiry;
  auto key_refill = next_key_refill(c);
  if (!key_refill) return key_refill;
  return earliest(earliest(earliest(*run_at, *expiry), c.queues.next_refill()), *key_refill);
}

core::Result<std::int64_t> job_prune_finished(OpContext& c, const JobPruneFinishedParams& p) {
  Query q(c.sql[Sql::jobs_prune]);
  q.bind_time(1, p.finished_before).bind_int(2, static_cast<std::int64_t>(p.limit));
  // A rate-limit bucket is full again within a day (core::kMaxRatePer).
  if (auto forgot = forget_idle_keys(c, p.finished_before - core::kMaxRatePer); !forgot) {
    return forgot.error();
  }
  if (auto batches = prune_batches(c, p.finished_before, p.limit); !batches) {
    return batches.error();
  }
  std::int64_t pruned = 0;
  for (;;) {
    auto row = q.step();
    if (!row) return row.error();
    if (!*row) return pruned;
    c.queues.move(q.text_at(0), static_cast<JobState>(q.int_at(1)), std::nullopt);
    ++pruned;
  }
}

}  // namespace errand::store::sqlite::ops
