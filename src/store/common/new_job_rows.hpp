// New jobs' rows written many to a statement, for every backend: a
// statement's own cost (SQLite: its cursors on the table and each index;
// PostgreSQL: a round trip) is most of a one-row insert's. The backend says
// how to write one statement of rows; NewJobRows keeps rows until it has a
// full statement's worth and splits the rest into statements of 2^k rows,
// so a backend prepares one statement per power of two.
#pragma once

#include "core/error.hpp"
#include "core/job.hpp"
#include "core/queue_config.hpp"

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace errand::store {

// A new job's row: its id, `state`, and its resolved settings (the job's
// unset priority / max_attempts / timeout are not read).
struct NewJobRow {
  std::int64_t id = 0;
  const core::NewJob* job = nullptr;
  core::JobSettings settings;
  core::JobState state = core::JobState::queued;
};

// Whether inserting `job` reads the jobs table (its idempotency, unique or
// debounce key's lookup, its parents): the rows kept before it are written
// first.
bool reads_jobs_table(const core::NewJob& job);

// add() keeps a row and writes the kept ones once there are `max` (a power
// of two); flush() writes the rest, largest statements first (13 rows are
// 8 + 4 + 1). A kept row is not in the table yet, so whatever reads the jobs
// table (an idempotency key's lookup, a parent of the same batch) must come
// after flush(). Each row's job must outlive its write.
class NewJobRows {
 public:
  // Writes one statement of rows; rows.size() is a power of two.
  using Write = std::function<core::Result<void>(std::span<const NewJobRow> rows)>;

  NewJobRows(std::size_t max, Write write) : max_(max), write_(std::move(write)) {}

  core::Result<void> add(NewJobRow row);
  core::Result<void> flush();

 private:
  std::size_t max_;
  Write write_;
  std::vector<NewJobRow> rows_;
};

}  // namespace errand::store
