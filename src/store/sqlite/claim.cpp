#include "store/sqlite/ops.hpp"

#include "store/common/job_transitions.hpp"
#include "store/common/queue_transitions.hpp"
#include "store/sqlite/links.hpp"

#include <algorithm>

namespace errand::store::sqlite::ops {
namespace {

// The first `n` ready jobs of `queue`: higher priority first, then by id.
// Read completely before any of them is updated.
// Jobs that cannot be read are buried on the way, so they never hold up
// the queue.
core::Result<std::vector<JobRow>> ready_jobs(OpContext& c, const std::string& queue,
                                             core::TimePoint now, std::size_t n) {
  for (;;) {
    Query q(c.sql[Sql::jobs_ready]);
    q.bind_text(1, queue).bind_time(2, now).bind_int(3, static_cast<std::int64_t>(n));
    std::vector<JobRow> unreadable;
    auto rows = read_jobs(q, &unreadable);
    if (!rows || unreadable.empty()) return rows;
    for (const auto& row : unreadable) {
      if (auto buried = bury_unreadable(c, row, core::JobState::queued); !buried) {
        return buried.error();
      }
    }
    if (!rows->empty()) return rows;
  }
}

core::Result<void> save_lease(Statements& sql, const JobRow& row) {
  const core::Job& j = row.job;
  Query q(sql[Sql::job_claim_lease]);
  q.bind_int(1, row.rowid).bind_text(2, j.lease_id).bind_text(3, j.worker);
  q.bind_time(4, *j.lease_expires_at).bind_time(5, *j.started_at);
  return q.run();
}

// Leases the jobs read for a claim.
core::Result<void> take_jobs(OpContext& c, const std::string& queue, const JobClaimParams& p,
                             std::vector<JobRow>& rows, std::vector<core::Job>& claimed) {
  for (auto& row : rows) {
    grant_lease(row.job, p);
    if (auto saved = save_lease(c.sql, row); !saved) return saved.error();
    if (p.push) {
      if (auto read = load_push_bookkeeping(c.sql, row); !read) return read.error();
    }
    if (row.job.has_parents || (row.job.continued && !p.push)) {
      if (auto read = load_links(c.sql, row, true, false); !read) return read.error();
    }
    c.queues.move(queue, core::JobState::queued, core::JobState::running);
    c.keys.move(queue, row.job.key, core::JobState::queued, core::JobState::running);
    c.notice.deadline(*row.job.lease_expires_at);
    claimed.push_back(std::move(row.job));
  }
  return {};
}

core::Result<std::size_t> claim_from(OpContext& c, const std::string& queue,
                                     const JobClaimParams& p, std::size_t n,
                                     std::vector<core::Job>& claimed) {
  auto rows = ready_jobs(c, queue, p.now, n);
  if (!rows) return rows.error();
  if (auto taken = take_jobs(c, queue, p, *rows, claimed); !taken) return taken.error();
  return rows->size();
}

// The first n ready jobs of one key, burying the unreadable ones on the way.
core::Result<std::vector<JobRow>> ready_key_jobs(OpContext& c, const std::string& queue,
                                                 const std::string& key, core::TimePoint now,
                                                 std::size_t n) {
  for (;;) {
    std::vector<JobRow> unreadable;
    auto rows = key_jobs(c, queue, key, now, n, unreadable);
    if (!rows || unreadable.empty()) return rows;
    for (const auto& row : unreadable) {
      if (auto buried = bury_unreadable(c, row, core::JobState::queued); !buried) {
        return buried.error();
      }
    }
    if (!rows->empty()) return rows;
  }
}

// A claim of a queue whose keys take turns (store/common/keys.hpp): `keyed`
// are the keys next in turn; the keyless jobs take a turn as one more key.
core::Result<std::size_t> claim_fair(OpContext& c, const std::string& queue,
                                     const core::QueueConfig& config, const JobClaimParams& p,
                                     std::size_t n, std::vector<KeyRow> keyed,
                                     std::vector<core::Job>& claimed) {
  FairClaim fair(std::move(keyed), config, p.now, n);
  for (const auto& [key, until] : fair.throttled()) {
    if (auto saved = save_key_bucket(c, queue, key, until); !saved) return saved.error();
    c.notice.deadline(until);
  }
  auto keyless = ready_key_jobs(c, queue, "", p.now, 1);
  if (!keyless) return keyless.error();
  if (!keyless->empty()) {
    auto turn = keyless_turn(c, queue);
    if (!turn) return turn.error();
    fair.add_keyless(std::move(*turn), keyless->front().job.priority);
  }
  std::size_t taken = 0;
  for (const auto& share : fair.shares()) {
    auto rows = ready_key_jobs(c, queue, share.key, p.now, share.jobs);
    if (!rows) return rows.error();
    const auto got = static_cast<std::int64_t>(rows->size());
    if (got == 0) continue;
    if (auto done = take_jobs(c, queue, p, *rows, claimed); !done) return done.error();
    taken += rows->size();
    c.keys.add({queue, share.key}, fair.taken(share, got));
    if (const KeyRow* key = fair.bucket_of(share)) {
      if (auto saved = save_key_bucket(c, queue, *key, std::nullopt); !saved) return saved.error();
    }
  }
  if (auto clock = fair.clock()) c.keys.add({queue, ""}, KeyDelta{.clock = clock});
  if (auto written = write_key_moves(c); !written) return written.error();
  return taken;
}

// Caps `want` by the queue's token bucket at `now`. An empty bucket holds
// the claim back: the refill instant is remembered (job_promote_due reports
// the queue runnable then) and announced as a deadline so the timer wakes.
std::size_t rate_room(OpContext& c, const std::string& queue, const core::RateLimit& rate,
                      core::TimePoint now, std::size_t want) {
  QueueRow& row = c.queues.edit(queue);
  const std::size_t n = store::rate_room(row, rate, now, want);
  if (n == 0) c.notice.deadline(*row.throttled_until);
  return n;
}

core::Result<void> claim_queue(OpContext& c, const std::string& queue, const JobClaimParams& p,
                               std::vector<core::Job>& claimed) {
  // The queue book answers "nothing to do here" without touching the index.
  const QueueRow* row = c.queues.find(queue);
  if (!row || row->paused || row->count(core::JobState::queued) == 0) return {};
  if (row->config.push.has_value() != p.push) return {};  // push jobs go to the dispatcher only
  std::size_t n = concurrency_room(*row, p.max - claimed.size());
  const core::QueueConfig config = row->config;  // `row` dies with the next edit()
  const auto& rate = config.rate_limit;
  if (n > 0 && rate) n = rate_room(c, queue, *rate, p.now, n);
  if (n == 0) return {};
  auto keyed = ready_keys(c, queue, config, p.now, keys_to_read(n));
  if (!keyed) return keyed.error();
  auto taken = keyed->empty() ? claim_from(c, queue, p, n, claimed)
                              : claim_fair(c, queue, config, p, n, std::move(*keyed), claimed);
  if (!taken) return taken.error();
  if (rate) {
    QueueRow& edited = c.queues.edit(queue);
    edited.bucket = core::take(*edited.bucket, static_cast<std::int64_t>(*taken));
  }
  return {};
}

}  // namespace

core::Result<std::vector<core::Job>> job_claim(OpContext& c, const JobClaimParams& p) {
  std::vector<core::Job> claimed;
  claimed.reserve(std::min<std::size_t>(p.max, 64));
  for (const auto& queue : p.queues) {
    if (claimed.size() >= p.max) break;
    if (auto taken = claim_queue(c, queue, p, claimed); !taken) return taken.error();
  }
  return claimed;
}

core::Result<void> bury_unreadable(OpContext& c, const JobRow& row, core::JobState from) {
  Query q(c.sql[Sql::job_set_state]);
  q.bind_int(1, row.rowid).bind_int(2, static_cast<int>(core::JobState::dead));
  if (auto saved = q.run(); !saved) return saved;
  c.queues.move(row.job.queue, from, core::JobState::dead);
  c.keys.move(row.job.queue, row.job.key, from, core::JobState::dead);
  if (from == core::JobState::running) slot_freed(c, row.job.queue);
  return {};
}

void slot_freed(OpContext& c, std::string_view queue) {
  const QueueRow* row = c.queues.find(queue);
  if (row && slot_wakes(*row)) c.notice.runnable(queue);
}

}  // namespace errand::store::sqlite::ops
