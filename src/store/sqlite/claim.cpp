#include "store/sqlite/ops.hpp"

#include "core/id.hpp"

#include <algorithm>

namespace errand::store::sqlite::ops {
namespace {

constexpr std::size_t kLeaseIdBytes = 16;

// The first `n` ready jobs of `queue`: higher priority first, then by id.
// Read completely before any of them is updated.
core::Result<std::vector<JobRow>> ready_jobs(Statements& sql, const std::string& queue,
                                             core::TimePoint now, std::size_t n) {
  Query q(sql[Sql::jobs_ready]);
  q.bind_text(1, queue).bind_time(2, now).bind_int(3, static_cast<std::int64_t>(n));
  return read_jobs(q);
}

void grant_lease(core::Job& job, const JobClaimParams& p) {
  job.state = core::JobState::running;
  ++job.attempt;
  job.lease_id = core::random_hex(kLeaseIdBytes);
  job.lease_expires_at = p.now + p.lease.value_or(job.timeout);
  if (!job.started_at) job.started_at = p.now;
  job.worker = p.worker;
}

core::Result<void> claim_from(OpContext& c, const std::string& queue, const JobClaimParams& p,
                              std::vector<core::Job>& claimed) {
  auto rows = ready_jobs(c.sql, queue, p.now, p.max - claimed.size());
  if (!rows) return rows.error();
  for (auto& row : *rows) {
    grant_lease(row.job, p);
    if (auto saved = save_job(c.sql, row); !saved) return saved;
    c.queues.move(queue, core::JobState::queued, core::JobState::running);
    c.notice.deadline(*row.job.lease_expires_at);
    claimed.push_back(std::move(row.job));
  }
  return {};
}

}  // namespace

core::Result<std::vector<core::Job>> job_claim(OpContext& c, const JobClaimParams& p) {
  std::vector<core::Job> claimed;
  claimed.reserve(std::min<std::size_t>(p.max, 64));
  for (const auto& queue : p.queues) {
    if (claimed.size() >= p.max) break;
    // The queue book answers "nothing to do here" without touching the index.
    const QueueRow* row = c.queues.find(queue);
    if (!row || row->paused || row->count(core::JobState::queued) == 0) continue;
    if (auto taken = claim_from(c, queue, p, claimed); !taken) return taken.error();
  }
  return claimed;
}

}  // namespace errand::store::sqlite::ops
