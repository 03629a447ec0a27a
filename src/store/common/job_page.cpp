#include "store/common/job_page.hpp"

#include "core/id.hpp"

#include <algorithm>
#include <limits>

namespace errand::store {
namespace {

constexpr std::size_t kMaxListLimit = 1000;

}  // namespace

JobPageFill::JobPageFill(const JobListParams& p)
    : limit_(std::clamp<std::size_t>(p.limit, 1, kMaxListLimit)),
      search_(!p.tag.empty() || !p.text.empty()),
      budget_(std::max<std::size_t>(p.search_budget, 1)),
      max_bytes_(p.max_bytes) {}

std::int64_t JobPageFill::rows_to_read() const {
  return static_cast<std::int64_t>(search_ ? budget_ + 1 : limit_ + 1);
}

bool JobPageFill::take_row() {
  if (search_ && read_ == budget_) {  // a row past the budget: stop where the budget ended
    page_.partial = page_.jobs.size() < limit_;
    page_.next_cursor = page_.partial ? last_read_ : page_.jobs.back().id;
    return false;
  }
  ++read_;
  return true;
}

void JobPageFill::skip(std::string id) {
  last_read_ = std::move(id);
}

bool JobPageFill::has_room() {
  if (page_.jobs.size() == limit_) {
    page_.next_cursor = page_.jobs.back().id;
    return false;
  }
  if (!page_.jobs.empty() && bytes_ >= max_bytes_) {  // large payloads: a short page
    page_.next_cursor = page_.jobs.back().id;
    page_.partial = true;
    return false;
  }
  return true;
}

void JobPageFill::add(JobRow row) {
  last_read_ = row.job.id;
  if (!row.unreadable.empty()) return;  // logged once and counted; never takes the page down
  const core::Job& job = row.job;
  bytes_ += job.payload.stored().size() + job.result.stored().size();
  if (job.progress) bytes_ += job.progress->data.stored().size();
  page_.jobs.push_back(std::move(row.job));
}

std::int64_t list_upper_bound(const JobListParams& p, std::int64_t cursor_id) {
  std::int64_t bound = std::numeric_limits<std::int64_t>::max();
  if (!p.cursor.empty()) {
    bound = cursor_id != 0 ? cursor_id
                           : core::job_id_floor(core::from_unix_ms(core::legacy_id_ms(p.cursor)));
  }
  if (p.until) bound = std::min(bound, core::job_id_floor(*p.until));
  return bound;
}

}  // namespace errand::store
