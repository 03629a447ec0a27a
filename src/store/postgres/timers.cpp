// The engine's tick verbs. Each takes its rows FOR UPDATE SKIP LOCKED, so
// every server may run them at once: a job is promoted or expired by one of
// them, and a row another transaction holds is left for the next tick.
#include "store/postgres/ops.hpp"

#include "core/id.hpp"
#include "store/common/job_transitions.hpp"
#include "store/common/queue_transitions.hpp"
#include "store/postgres/statements.hpp"

namespace errand::store::postgres {

// `id = ANY (ARRAY(…))` makes promotion and pruning find their rows by
// primary key: joined to their subquery instead, a few hundred rows are
// enough for the planner to hash all of `jobs` (the plan test checks).
const Statement sql::jobs_promote_due{
    "jobs_promote_due",
    "WITH due AS (SELECT id, state FROM jobs WHERE (state = 0 OR state = 4 OR state = 8)"
    " AND run_at <= $1"
    " ORDER BY run_at LIMIT $2 FOR UPDATE SKIP LOCKED)"
    " UPDATE jobs AS j SET state = 1, event_seq = j.event_seq + 1 FROM due"
    " WHERE j.id = due.id AND j.id = ANY (ARRAY(SELECT id FROM due))"
    " RETURNING j.id, j.queue, due.state, j.attempt, j.key"};
const Statement sql::jobs_lease_expired{
    "jobs_lease_expired", "SELECT " + std::string(kJobColumns) +
                              " FROM jobs WHERE state = 2 AND lease_expires_at <= $1"
                              " ORDER BY lease_expires_at LIMIT $2 FOR UPDATE SKIP LOCKED"};
const Statement sql::next_run_at{"next_run_at",
                                 "SELECT run_at FROM jobs WHERE state = 0 OR state = 4 OR state = 8"
                                 " ORDER BY run_at LIMIT 1"};
const Statement sql::next_lease_expiry{"next_lease_expiry",
                                       "SELECT lease_expires_at FROM jobs WHERE state = 2"
                                       " ORDER BY lease_expires_at LIMIT 1"};
const Statement sql::jobs_prune{
    "jobs_prune",
    "DELETE FROM jobs WHERE id = ANY (ARRAY(SELECT id FROM jobs"
    " WHERE (state = 3 OR state = 5 OR state = 6) AND finished_at < $1"
    " ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED)) RETURNING queue, state"};

namespace ops {
namespace {

using core::JobState;

// Timer work is done in chunks so no statement materializes every due job.
constexpr std::int64_t kChunk = 512;

// Waits whose signal did not come in time: the job resumes with signal null.
const Statement kSignalTimeout{
    "job_signal_timeout",
    "UPDATE job_push SET signal = NULL, signal_status = 3 WHERE job_id = $1 AND signal_status = 1"};
const Statement kRefilled{"queues_refilled",
                          "UPDATE queues SET throttled_until = NULL WHERE throttled_until <= $1"
                          " RETURNING name"};
const Statement kNextRefill{"next_refill",
                            "SELECT min(throttled_until) FROM queues"
                            " WHERE throttled_until IS NOT NULL"};

using OptTime = std::optional<core::TimePoint>;

core::Result<OptTime> first_time(Conn& db, const Statement& s) {
  auto r = db.run(s);
  if (!r) return r.error();
  if (r->empty() || r->is_null(0, 0)) return OptTime{};
  return OptTime{r->time(0, 0)};
}

// Queues whose claims an empty rate-limit bucket held back, and whose bucket
// has a token again by `now`: their waiting claims may now succeed.
core::Result<void> wake_refilled(OpContext& c, core::TimePoint now) {
  auto r = c.db.run(kRefilled, Params().time(now));
  if (!r) return r.error();
  for (int i = 0; i < r->size(); ++i) {
    const std::string name(r->text(i, 0));
    auto row = c.queues.find(c.db, name);
    if (!row) return row.error();
    if (*row && is_runnable(**row)) c.notice.runnable(name);
  }
  return {};
}

}  // namespace

core::Result<std::int64_t> job_promote_due(OpContext& c, const JobPromoteDueParams& p) {
  if (auto woken = wake_refilled(c, p.now); !woken) return woken.error();
  if (auto woken = wake_refilled_keys(c, p.now); !woken) return woken.error();
  std::int64_t moved = 0;
  for (;;) {
    auto r = c.db.run(sql::jobs_promote_due, Params().time(p.now).integer(kChunk));
    if (!r) return r.error();
    for (int i = 0; i < r->size(); ++i) {
      const std::string queue(r->text(i, 1));
      c.queues.move(queue, static_cast<JobState>(r->integer(i, 2)), JobState::queued);
      c.keys.move(queue, r->text(i, 4), static_cast<JobState>(r->integer(i, 2)), JobState::queued);
      c.notice.runnable(queue);
      if (static_cast<JobState>(r->integer(i, 2)) == JobState::waiting) {
        auto timed_out = c.db.run(kSignalTimeout, Params().integer(r->integer(i, 0)));
        if (!timed_out) return timed_out.error();
      }
      c.notice.job_changed({.id = core::format_job_id(r->integer(i, 0)),
                            .state = JobState::queued,
                            .attempt = static_cast<int>(r->integer(i, 3))});
    }
    moved += r->size();
    if (r->size() < kChunk) return moved;
  }
}

core::Result<std::int64_t> lease_expire(OpContext& c, const LeaseExpireParams& p) {
  std::int64_t expired = 0;
  for (;;) {
    auto r = c.db.run(sql::jobs_lease_expired, Params().time(p.now).integer(kChunk));
    if (!r) return r.error();
    std::vector<JobRow> unreadable;
    auto rows = read_jobs(*r, &unreadable);
    for (const auto& row : unreadable) {
      if (auto buried = bury_unreadable(c, row, JobState::running); !buried) return buried.error();
    }
    for (auto& row : rows) {
      const core::FailInput in{.retry = true};
      auto failed = fail_attempt(c, row, std::string(kLeaseExpiredError), in, p.now, p.jitter);
      if (!failed) return failed.error();
      c.notice.job_changed(lease_expired_change(row.job));
    }
    expired += static_cast<std::int64_t>(rows.size());
    if (r->size() < kChunk) return expired;
  }
}

core::Result<std::optional<core::TimePoint>> next_deadline(OpContext& c) {
  auto run_at = first_time(c.db, sql::next_run_at);
  if (!run_at) return run_at.error();
  auto expiry = first_time(c.db, sql::next_lease_expiry);
  if (!expiry) return expiry.error();
  auto refill = first_time(c.db, kNextRefill);
  if (!refill) return refill.error();
  auto key_refill = next_key_refill(c);
  if (!key_refill) return key_refill.error();
  return earliest(earliest(earliest(*run_at, *expiry), *refill), *key_refill);
}

core::Result<std::int64_t> job_prune_finished(OpContext& c, const JobPruneFinishedParams& p) {
  // A rate-limit bucket is full again within a day (core::kMaxRatePer).
  if (auto forgot = forget_idle_keys(c, p.finished_before - core::kMaxRatePer); !forgot) {
    return forgot.error();
  }
  if (auto batches = prune_batches(c, p.finished_before, p.limit); !batches) {
    return batches.error();
  }
  auto r = c.db.run(sql::jobs_prune,
                    Params().time(p.finished_before).integer(static_cast<std::int64_t>(p.limit)));
  if (!r) return r.error();
  for (int i = 0; i < r->size(); ++i) {
    c.queues.move(r->text(i, 0), static_cast<JobState>(r->integer(i, 1)), std::nullopt);
  }
  return static_cast<std::int64_t>(r->size());
}

}  // namespace ops
}  // namespace errand::store::postgres
