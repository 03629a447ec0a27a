// The queue book: every queue's pause flag, config, lifetime counters and job
// count per state, kept in memory so claims skip empty or paused queues and
// enforce concurrency without a query, and `queue_list` never counts rows.
// It also holds what is never written to disk: each rate-limited queue's
// token bucket, and the refill instant a held-back claim waits for.
//
// Changes are layered like the transaction they belong to: an operation edits
// copies in its own layer (kept or dropped with its savepoint), kept layers
// accumulate in the batch layer (written to the `queues` table before COMMIT),
// and the batch layer is published only after the commit succeeded. Lookups
// see op, then batch, then published values. Used only on the writer thread.
#pragma once

#include "store/common/queue_rows.hpp"
#include "store/store.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace errand::store::sqlite {

class QueueBook {
 public:
  using Rows = std::map<std::string, QueueRow, std::less<>>;

  void load(Rows rows) { published_ = std::move(rows); }

  // The queue's current values, or nullptr if it does not exist.
  const QueueRow* find(std::string_view queue) const;
  // The operation's editable copy of the queue (created empty if missing).
  QueueRow& edit(std::string_view queue);
  // Moves one job of `queue` between states; a missing side adds or removes it.
  void move(std::string_view queue, std::optional<core::JobState> from,
            std::optional<core::JobState> to);

  void op_keep();
  void op_drop() { op_.clear(); }

  // Rows changed by the batch so far (absolute values), to be written.
  const Rows& batch() const { return batch_; }
  void batch_publish();
  void batch_drop() { batch_.clear(); }

  // Every queue, sorted by name, as the batch sees it.
  std::vector<QueueInfo> list() const;
  // Queues whose held-back claims' refill instant is <= now.
  std::vector<std::string> throttled_until_before(core::TimePoint now) const;
  // The earliest refill instant a held-back claim waits for.
  std::optional<core::TimePoint> next_refill() const;

 private:
  template <class F>
  void for_each(F f) const;  // every queue once, as the batch sees it

  Rows published_;
  Rows batch_;
  std::vector<std::pair<std::string, QueueRow>> op_;  // an op touches few queues
};

class Statements;
// Every row of the `queues` table, read once at open.
core::Result<QueueBook::Rows> load_queue_rows(Statements& sql);
// Writes one queue's row (counts, totals, flag and config).
core::Result<void> save_queue_row(Statements& sql, const std::string& name, const QueueRow& row);

}  // namespace errand::store::sqlite
