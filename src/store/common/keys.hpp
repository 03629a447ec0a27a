// Per-key flow control, whatever the backend: the bookkeeping of each key's
// queued and running jobs, and the choice of which keys give a claim its
// jobs.
//
// A job's key (core::Job::key) names whom it belongs to. Each (queue, key)
// with queued or running jobs, or with its own settings, has a row in
// `queue_keys`: its counts, the priority of its next job (head_priority),
// its turn (`pass`), its own limits (core::KeyLimits) and its rate-limit
// bucket. The row of key '' holds no counts: there the queue keeps its fair
// clock and the keyless jobs' turn (they take turns as one more key).
//
// Fairness is stride scheduling: a claim takes the next job from the key
// whose head has the highest priority and, among those, the lowest pass;
// each job taken adds kStride / weight to its key's pass. A key that gains
// queued jobs after none starts at the queue's clock (the pass of the last
// turn taken), so a quiet key neither queues behind a busy one nor claims
// turns it missed while it had nothing to run. Within one claim of several
// jobs, every job of a key counts at its head's priority.
//
// Counts move as deltas (KeyBook), like the queues' counts: an operation's
// moves are kept or dropped with its savepoint and written at the end of
// the batch, after the queues' rows (so servers sharing a database take
// row locks in one order). A claim writes its own at once, under its
// queue's lock. Pure value types and functions; used on the writer thread.
#pragma once

#include "core/job.hpp"
#include "core/queue_config.hpp"
#include "core/rate_limit.hpp"
#include "core/state.hpp"
#include "store/store.hpp"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace errand::store {

inline constexpr std::int64_t kStride = 1'000'000;  // a weight-1 key's pass per job
inline constexpr std::int64_t kNoLimit = std::numeric_limits<std::int64_t>::max();

// What the batch changed of one key's row.
struct KeyDelta {
  std::int64_t queued = 0;
  std::int64_t running = 0;
  std::int64_t pass = 0;              // added to the key's pass
  std::optional<std::int64_t> clock;  // key '': the queue's clock, at least this
  bool empty() const { return queued == 0 && running == 0 && pass == 0 && !clock; }
  void add(const KeyDelta& d);
};

using KeyId = std::pair<std::string, std::string>;  // queue, key

class KeyBook {
 public:
  // One job of (queue, key) moved between states; only queued and running
  // are counted, and only for keyed jobs.
  void move(std::string_view queue, std::string_view key, std::optional<core::JobState> from,
            std::optional<core::JobState> to);
  void add(const KeyId& id, const KeyDelta& d) { op_[id].add(d); }

  void op_keep();
  void op_drop() { op_.clear(); }
  // The operation's deltas, taken out (a claim writes them itself).
  std::map<KeyId, KeyDelta> take_op() { return std::exchange(op_, {}); }
  // The batch's deltas, sorted by (queue, key), taken out.
  std::map<KeyId, KeyDelta> take_batch() { return std::exchange(batch_, {}); }
  void batch_drop() { batch_.clear(); }

 private:
  std::map<KeyId, KeyDelta> op_;
  std::map<KeyId, KeyDelta> batch_;
};

// A key's row as a claim reads it.
struct KeyRow {
  std::string key;
  std::int64_t queued = 0;
  std::int64_t running = 0;
  std::int64_t head_priority = 0;
  std::int64_t pass = 0;
  core::KeyLimits limits;  // the key's own (none unless overridden)
  std::optional<core::TokenBucket> bucket;
};

// One key's share of a claim.
struct KeyShare {
  std::size_t index = 0;  // of its row
  std::string key;
  std::size_t jobs = 0;
  std::int64_t first_pass = 0;  // the pass its first job was taken at
  std::int64_t stride = kStride;
};

// The effective limits of a key in a queue: its own, else the queue's.
std::int64_t key_concurrency(const KeyRow& row, const core::QueueConfig& queue);
std::optional<core::RateLimit> key_rate(const KeyRow& row, const core::QueueConfig& queue);
std::int64_t key_stride(const core::KeyLimits& limits);

// How many jobs each candidate key gives a claim of `want`: turn by turn,
// the key with the highest head priority, then the lowest pass, then the
// name; each key at most `room[i]` jobs and its queued count. `rows` come in
// the order the store read them (head priority, then pass); shares are
// returned for keys that give at least one job, in the order of their first
// turn.
std::vector<KeyShare> share_claim(const std::vector<KeyRow>& rows,
                                  const std::vector<std::size_t>& room, std::size_t want);

// The room a key's limits leave at `now`: its concurrency, then its bucket
// (refilled in `row`). 0 with `throttled_until` set when the bucket is empty.
std::size_t key_room(KeyRow& row, const core::QueueConfig& queue, core::TimePoint now,
                     std::size_t want, std::optional<core::TimePoint>& throttled_until);

// How many keys a claim of n reads: a few more than n, for the keys whose
// bucket turns out empty.
inline std::size_t keys_to_read(std::size_t n) {
  return std::min<std::size_t>(n + 16, 1024);
}

// One fair claim of up to `want` jobs from a queue, whatever the backend:
// the backend reads the keys next in turn (and the keyless jobs' head), this
// decides each key's share, the backend takes the jobs and writes what
// taken() and clock() report.
class FairClaim {
 public:
  // Keys whose limits leave no room are dropped; those whose bucket is
  // empty are listed in throttled(), with the instant it refills.
  FairClaim(std::vector<KeyRow> keyed, const core::QueueConfig& config, core::TimePoint now,
            std::size_t want);
  const std::vector<std::pair<KeyRow, core::TimePoint>>& throttled() const { return throttled_; }
  // The keyless jobs as one more key: their head's priority, as many jobs
  // as the claim wants.
  void add_keyless(KeyRow turn, std::int64_t head_priority);
  std::vector<KeyShare> shares() const { return share_claim(rows_, room_, want_); }
  // `got` jobs were taken for `share`: the key's delta (its pass); its
  // bucket, if it has one, gives up as many tokens (bucket_of).
  KeyDelta taken(const KeyShare& share, std::int64_t got);
  // The key's row after taken(), when it has a bucket to save.
  const KeyRow* bucket_of(const KeyShare& share) const;
  // The pass of the last turn taken: the queue's clock (key '').
  std::optional<std::int64_t> clock() const { return clock_; }

 private:
  std::vector<KeyRow> rows_;
  std::vector<std::size_t> room_;
  std::vector<std::pair<KeyRow, core::TimePoint>> throttled_;
  std::size_t want_;
  std::optional<std::int64_t> clock_;
};

// A key as GET /v1/queues/{q}/keys shows it.
KeyInfo to_key_info(std::string queue, const KeyRow& row, bool overridden,
                    std::optional<core::TimePoint> throttled_until);

core::Error key_not_found(std::string_view queue, std::string_view key);

}  // namespace errand::store
