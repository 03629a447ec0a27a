// One page of job_list, filled from the rows a backend reads newest first:
// the page limit, the search budget, the byte cap on client JSON, and where
// the next page starts. The backend runs its list statement (reading
// rows_to_read() rows at most) and hands each row over in order. Also the
// id range a list reads. Plain value type; single-threaded.
#pragma once

#include "store/common/job_rows.hpp"
#include "store/store.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

namespace errand::store {

class JobPageFill {
 public:
  explicit JobPageFill(const JobListParams& p);

  // How many rows the statement should return at most: one more than a page
  // tells whether a page follows; a search reads at most its budget, and one
  // more to tell whether it stopped early.
  std::int64_t rows_to_read() const;

  // Before each row: false when the page is done (the search budget is
  // spent); the row is then not read.
  bool take_row();
  // The row did not pass the filters; `id` is its job's id.
  void skip(std::string id);
  // Before reading a row that passed the filters: false when the page is
  // full (by count or by bytes); the row is then not read.
  bool has_room();
  // The row that passed; an unreadable one is passed over (it was logged).
  void add(JobRow row);

  JobPage take() { return std::move(page_); }

 private:
  std::size_t limit_;
  bool search_;
  std::size_t budget_;
  std::size_t max_bytes_;
  JobPage page_;
  std::size_t read_ = 0;
  std::size_t bytes_ = 0;  // of client JSON read for the page
  std::string last_read_;
};

// Ids carry their creation time, so a time range is a range of ids: the
// page starts below the cursor and below p.until. `cursor_id`: the cursor's
// job id as a number, or 0 when it has none (a legacy cursor, whose job is
// gone or never was in this store, stands for the start of its millisecond).
std::int64_t list_upper_bound(const JobListParams& p, std::int64_t cursor_id);

}  // namespace errand::store
