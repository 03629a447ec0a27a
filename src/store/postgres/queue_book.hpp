// The queues as the PostgreSQL store's writer sees them: each queue's row
// (pause flag, config, push secrets, lifetime counters, job count per state,
// rate-limit bucket) lives in the `queues` table, shared by every server;
// this book adds what the running batch changed but has not written yet.
//
// Job counts and lifetime counters change as deltas: an operation's deltas
// are kept or dropped with its savepoint, kept ones accumulate for the
// batch, and the batch's deltas are added to the rows (sorted by name, so
// two servers' batches take the row locks in one order) just before COMMIT.
// Adding deltas commutes, so servers sharing a queue never lose a count. A
// read of a queue is its committed row plus the batch's deltas; a claim of a
// limited queue reads it FOR UPDATE, so its concurrency count and token
// bucket are decided under the row lock (store/postgres/claim.cpp).
// Used only on the writer thread.
#pragma once

#include "store/common/queue_rows.hpp"
#include "store/postgres/conn.hpp"
#include "store/store.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace errand::store::postgres {

struct QueueDelta {
  std::array<std::int64_t, std::size(core::kAllStates)> counts{};
  std::int64_t processed = 0;
  std::int64_t failed = 0;
  void add_to(QueueDelta& into) const;
  void apply(QueueRow& row) const;
};

class QueueBook {
 public:
  // Moves one job of `queue` between states; a missing side adds or removes it.
  void move(std::string_view queue, std::optional<core::JobState> from,
            std::optional<core::JobState> to);
  void add_processed(std::string_view queue) { op_[std::string(queue)].processed += 1; }
  void add_failed(std::string_view queue) { op_[std::string(queue)].failed += 1; }

  void op_keep();
  void op_drop() { op_.clear(); }
  // Forgets the batch's deltas and what it learnt of the queues' configs.
  void batch_drop() {
    batch_.clear();
    limited_.clear();
  }
  // The statements adding the batch's deltas to the rows (creating missing
  // ones), one a queue; their results are not needed, so they go with the
  // batch's next round trip.
  std::vector<Step> flush_steps() const;

  // The queue's row plus the unwritten deltas; nullopt if it does not exist.
  // `lock`: SELECT … FOR UPDATE (held until the batch commits).
  core::Result<std::optional<QueueRow>> find(Conn& db, std::string_view queue, bool lock = false);
  // Whether the queue has a concurrency limit, when a read in this batch
  // told (nullopt: not known yet). Lets the verbs that end a running job skip
  // re-reading the queue of an unlimited one; another server's reconfigure
  // during the batch wakes waiters itself (NOTIFY).
  std::optional<bool> known_limited(std::string_view queue) const;
  void note_config(std::string_view queue, const core::QueueConfig& config) {
    limited_.insert_or_assign(std::string(queue), config.concurrency.has_value());
  }

  // Every queue, sorted by name, as the batch sees it.
  core::Result<std::vector<QueueInfo>> list(Conn& db);

 private:
  QueueDelta delta(std::string_view queue) const;

  std::map<std::string, QueueDelta, std::less<>> op_;
  std::map<std::string, QueueDelta, std::less<>> batch_;
  std::map<std::string, bool, std::less<>> limited_;
};

// Writes the queue's pause flag, config and push secrets (creating it).
core::Result<void> save_queue_settings(Conn& db, std::string_view name, const QueueRow& row);
// Writes the queue's token bucket and refill instant (the row exists).
core::Result<void> save_bucket(Conn& db, std::string_view name, const QueueRow& row);

}  // namespace errand::store::postgres
