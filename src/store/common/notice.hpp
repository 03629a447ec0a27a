// Collects the ChangeNotice of one operation, and merges operations' notices
// into the one notice of a committed batch. Shared by every backend's writer.
// Plain value type; used only on the writer thread.
#pragma once

#include "store/store.hpp"

#include <algorithm>
#include <string_view>

namespace errand::store {

// A job event an operation made, for a store that announces job events to
// every server (store::Store::set_job_event_feed): what the change was, not
// yet its number (the writer reads that before it commits).
struct JobEventMark {
  std::string id;
  bool progress = false;  // else a state change
  core::JobState state = core::JobState::queued;
  int attempt = 0;
};

class NoticeBuilder {
 public:
  void runnable(std::string_view queue) {
    auto& queues = notice_.runnable_queues;
    if (std::find(queues.begin(), queues.end(), queue) == queues.end()) queues.emplace_back(queue);
  }
  void deadline(core::TimePoint t) {
    if (!notice_.deadline || t < *notice_.deadline) notice_.deadline = t;
  }
  void job_changed(JobChange change) {
    job_event({.id = change.id, .state = change.state, .attempt = change.attempt});
    notice_.job_changes.push_back(std::move(change));
  }
  void job_event(JobEventMark mark) { events_.push_back(std::move(mark)); }
  // A state change the job's answer shows.
  void job_state_event(const core::Job& job) {
    job_event({.id = job.id, .state = job.state, .attempt = job.attempt});
  }
  const std::vector<JobEventMark>& events() const { return events_; }
  void merge_into(NoticeBuilder& into) const {
    for (const auto& q : notice_.runnable_queues) into.runnable(q);
    if (notice_.deadline) into.deadline(*notice_.deadline);
    auto& changes = into.notice_.job_changes;
    changes.insert(changes.end(), notice_.job_changes.begin(), notice_.job_changes.end());
    into.events_.insert(into.events_.end(), events_.begin(), events_.end());
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
    events_.clear();
  }
  // The notice (the event marks are dropped).
  ChangeNotice take() {
    ChangeNotice out = std::move(notice_);
    clear();
    return out;
  }

 private:
  ChangeNotice notice_;
  std::vector<JobEventMark> events_;
};

}  // namespace errand::store
