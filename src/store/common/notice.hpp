// Collects the ChangeNotice of one operation, and merges operations' notices
// into the one notice of a committed batch. Shared by every backend's writer.
// Plain value type; used only on the writer thread.
#pragma once

#include "store/store.hpp"

#include <algorithm>
#include <string_view>

namespace errand::store {

class NoticeBuilder {
 public:
  void runnable(std::string_view queue) {
    auto& queues = notice_.runnable_queues;
    if (std::find(queues.begin(), queues.end(), queue) == queues.end()) queues.emplace_back(queue);
  }
  void deadline(core::TimePoint t) {
    if (!notice_.deadline || t < *notice_.deadline) notice_.deadline = t;
  }
  void job_changed(JobChange change) { notice_.job_changes.push_back(std::move(change)); }
  void merge_into(NoticeBuilder& into) const {
    for (const auto& q : notice_.runnable_queues) into.runnable(q);
    if (notice_.deadline) into.deadline(*notice_.deadline);
    auto& changes = into.notice_.job_changes;
    changes.insert(changes.end(), notice_.job_changes.begin(), notice_.job_changes.end());
  }
  bool empty() const {
    return notice_.runnable_queues.empty() && !notice_.deadline && notice_.job_changes.empty();
  }
  std::size_t job_change_count() const { return notice_.job_changes.size(); }
  bool any_runnable() const { return !notice_.runnable_queues.empty(); }
  const ChangeNotice& peek() const { return notice_; }
  void clear() {
    notice_.runnable_queues.clear();
    notice_.deadline.reset();
    notice_.job_changes.clear();
  }
  ChangeNotice take() {
    ChangeNotice out = std::move(notice_);
    clear();
    return out;
  }

 private:
  ChangeNotice notice_;
};

}  // namespace errand::store
