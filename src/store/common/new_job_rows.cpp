#include "store/common/new_job_rows.hpp"

namespace errand::store {

bool reads_jobs_table(const core::NewJob& job) {
  return !job.after.empty() || !job.after_items.empty() || !job.idempotency_key.empty() ||
         job.unique || job.debounce;
}

core::Result<void> NewJobRows::add(NewJobRow row) {
  rows_.push_back(std::move(row));
  if (rows_.size() < max_) return {};
  return flush();
}

core::Result<void> NewJobRows::flush() {
  const std::span<const NewJobRow> all(rows_);
  std::size_t from = 0;
  for (std::size_t n = max_; n > 0; n /= 2) {
    while (all.size() - from >= n) {
      if (auto written = write_(all.subspan(from, n)); !written) return written;
      from += n;
    }
  }
  rows_.clear();
  return {};
}

}  // namespace errand::store
