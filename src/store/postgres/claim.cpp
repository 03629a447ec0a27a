// Claims. Ready jobs are taken with FOR UPDATE SKIP LOCKED, so servers
// claiming from one queue at once each get other jobs and never wait for
// one another. A queue with a concurrency or rate limit is first locked
// (its `queues` row, FOR UPDATE): the running count and the token bucket
// are read and changed under that lock and committed with the claim, so the
// limits hold across every server sharing the database.
#include "store/postgres/ops.hpp"

#include "store/common/job_transitions.hpp"
#include "store/common/queue_transitions.hpp"
#include "store/postgres/links.hpp"
#include "store/postgres/statements.hpp"

#include <algorithm>

namespace errand::store::postgres {

const Statement sql::jobs_ready{
    "jobs_ready", "SELECT " + std::string(kJobColumns) +
                      " FROM jobs WHERE state = 1 AND queue = $1 AND key = '' AND run_at <= $2"
                      " ORDER BY priority DESC, id LIMIT $3 FOR UPDATE SKIP LOCKED"};

namespace ops {
namespace {

const Statement kLease{
    "job_claim_lease",
    "UPDATE jobs AS j SET state = 2, attempt = j.attempt + 1, lease_id = u.lease_id,"
    " worker = $4, lease_expires_at = u.expires, started_at = coalesce(j.started_at, $5),"
    " event_seq = j.event_seq + 1"
    " FROM unnest($1::bigint[], $2::text[], $3::bigint[]) AS u(id, lease_id, expires)"
    " WHERE j.id = u.id"};

core::Result<std::vector<JobRow>> ready_jobs(OpContext& c, const std::string& queue,
                                             core::TimePoint now, std::size_t n) {
  for (;;) {
    auto r = c.db.run(sql::jobs_ready,
                      Params().text(queue).time(now).integer(static_cast<std::int64_t>(n)));
    if (!r) return r.error();
    std::vector<JobRow> unreadable;
    auto rows = read_jobs(*r, &unreadable);
    if (unreadable.empty()) return rows;
    for (const auto& row : unreadable) {
      if (auto buried = bury_unreadable(c, row, core::JobState::queued); !buried) {
        return buried.error();
      }
    }
    if (!rows.empty()) return rows;
  }
}

core::Result<void> save_leases(Conn& db, const std::vector<JobRow>& rows, const JobClaimParams& p) {
  std::vector<std::string> ids, leases, expires;
  for (const auto& row : rows) {
    ids.push_back(std::to_string(row.rowid));
    leases.push_back(row.job.lease_id);
    expires.push_back(std::to_string(core::to_unix_ms(*row.job.lease_expires_at)));
  }
  Params params;
  // ids, hex lease ids and numbers: nothing to quote
  params.text(plain_array(ids)).text(plain_array(leases)).text(plain_array(expires));
  params.text(p.worker).time(p.now);
  auto r = db.run(kLease, params);
  if (!r) return r.error();
  return {};
}

// Leases the jobs read for a claim (locked FOR UPDATE SKIP LOCKED).
core::Result<void> take_jobs(OpContext& c, const std::string& queue, const JobClaimParams& p,
                             std::vector<JobRow>& rows, std::vector<core::Job>& claimed) {
  if (rows.empty()) return {};
  for (auto& row : rows) grant_lease(row.job, p);
  if (auto saved = save_leases(c.db, rows, p); !saved) return saved.error();
  for (auto& row : rows) {
    if (p.push) {
      if (auto read = load_push_bookkeeping(c.db, row); !read) return read.error();
    }
    if (row.job.has_parents || (row.job.continued && !p.push)) {
      if (auto read = load_links(c.db, row, true, false); !read) return read.error();
    }
    c.queues.move(queue, core::JobState::queued, core::JobState::running);
    c.keys.move(queue, row.job.key, core::JobState::queued, core::JobState::running);
    c.notice.deadline(*row.job.lease_expires_at);
    c.notice.job_state_event(row.job);
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
// are the keys next in turn, read under the queue's row lock; the keyless
// jobs take a turn as one more key.
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
  std::vector<JobRow> keyless_head = std::move(*keyless);
  if (!keyless_head.empty()) {
    auto turn = keyless_turn(c, queue);
    if (!turn) return turn.error();
    fair.add_keyless(std::move(*turn), keyless_head.front().job.priority);
  }
  std::size_t taken = 0;
  for (const auto& share : fair.shares()) {
    std::vector<JobRow> rows;
    if (share.key.empty()) {  // the keyless head is locked already
      rows = std::move(keyless_head);
      if (share.jobs > rows.size()) {
        auto more = ready_key_jobs(c, queue, "", p.now, share.jobs);
        if (!more) return more.error();
        for (auto& row : *more) {
          if (rows.empty() || row.rowid != rows.front().rowid) rows.push_back(std::move(row));
        }
        if (rows.size() > share.jobs) rows.resize(share.jobs);
      }
    } else {
      auto read = ready_key_jobs(c, queue, share.key, p.now, share.jobs);
      if (!read) return read.error();
      rows = std::move(*read);
    }
    const auto got = static_cast<std::int64_t>(rows.size());
    if (got == 0) continue;
    if (auto done = take_jobs(c, queue, p, rows, claimed); !done) return done.error();
    taken += rows.size();
    c.keys.add({queue, share.key}, fair.taken(share, got));
    if (const KeyRow* key = fair.bucket_of(share)) {
      if (auto saved = save_key_bucket(c, queue, *key, std::nullopt); !saved) return saved.error();
    }
  }
  if (auto clock = fair.clock()) c.keys.add({queue, ""}, KeyDelta{.clock = clock});
  if (auto written = write_key_moves(c); !written) return written.error();
  return taken;
}

// Caps `want` by the bucket at `now` (refilled in `row`). An empty bucket
// holds the claim back: the refill instant is saved on the queue row
// (job_promote_due reports the queue runnable then, on any server) and
// announced as a deadline so the timer wakes.
core::Result<std::size_t> rate_room(OpContext& c, const std::string& queue, QueueRow& row,
                                    core::TimePoint now, std::size_t want) {
  const std::size_t n = store::rate_room(row, *row.config.rate_limit, now, want);
  if (n > 0) return n;
  if (auto saved = save_bucket(c.db, queue, row); !saved) return saved.error();
  c.notice.deadline(*row.throttled_until);
  return std::size_t{0};
}

core::Result<void> claim_queue(OpContext& c, const std::string& queue, const JobClaimParams& p,
                               std::vector<core::Job>& claimed) {
  auto found = c.queues.find(c.db, queue);
  if (!found) return found.error();
  if (!*found) return {};
  const bool limited = (*found)->config.concurrency || (*found)->config.rate_limit;
  if (limited) {  // read again under the row lock: these numbers decide
    found = c.queues.find(c.db, queue, /*lock=*/true);
    if (!found) return found.error();
    if (!*found) return {};
  }
  QueueRow& row = **found;
  if (row.paused || row.count(core::JobState::queued) <= 0) return {};
  if (row.config.push.has_value() != p.push) return {};  // push jobs go to the dispatcher only
  std::size_t n = concurrency_room(row, p.max - claimed.size());
  if (n > 0 && row.config.rate_limit) {
    auto room = rate_room(c, queue, row, p.now, n);
    if (!room) return room.error();
    n = *room;
  }
  if (n == 0) return {};
  auto keyed = ready_keys(c, queue, row.config, p.now, keys_to_read(n));
  if (!keyed) return keyed.error();
  std::optional<QueueRow> locked;
  if (!keyed->empty() && !limited) {
    // Keys' limits and turns are decided under the queue's row lock, so
    // servers claiming at once neither exceed a key's limit nor interleave
    // their turns: lock it, then read the keys again.
    auto again = c.queues.find(c.db, queue, /*lock=*/true);
    if (!again) return again.error();
    if (!*again) return {};
    locked = std::move(**again);
    keyed = ready_keys(c, queue, locked->config, p.now, keys_to_read(n));
    if (!keyed) return keyed.error();
  }
  const core::QueueConfig& config = locked ? locked->config : row.config;
  auto taken = keyed->empty() ? claim_from(c, queue, p, n, claimed)
                              : claim_fair(c, queue, config, p, n, std::move(*keyed), claimed);
  if (!taken) return taken.error();
  if (row.config.rate_limit && *taken > 0) {
    row.bucket = core::take(*row.bucket, static_cast<std::int64_t>(*taken));
    if (auto saved = save_bucket(c.db, queue, row); !saved) return saved.error();
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
  if (auto saved = save_state(c.db, row.rowid, core::JobState::dead); !saved) return saved;
  c.queues.move(row.job.queue, from, core::JobState::dead);
  c.keys.move(row.job.queue, row.job.key, from, core::JobState::dead);
  if (from == core::JobState::running) return slot_freed(c, row.job.queue);
  return {};
}

core::Result<void> slot_freed(OpContext& c, std::string_view queue) {
  if (c.queues.known_limited(queue) == false) return {};
  auto found = c.queues.find(c.db, queue);
  if (!found) return found.error();
  const auto& row = *found;
  if (row && slot_wakes(*row)) c.notice.runnable(queue);
  return {};
}

}  // namespace ops
}  // namespace errand::store::postgres
