// Dependencies between jobs (NewJob::after), whatever the backend: what a
// new child becomes given its parents' states, and what a parent's end does
// to a blocked child. The backends keep the edges and counts; these decide.
// Pure functions; thread-safe.
#pragma once

#include "core/batch.hpp"
#include "core/error.hpp"
#include "core/job.hpp"
#include "core/state.hpp"
#include "store/common/job_rows.hpp"
#include "store/store.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace errand::store {

// A parent as the child's insert finds it.
struct ParentState {
  std::string id;
  core::JobState state = core::JobState::queued;
};

// What a new job with parents becomes.
struct LinkDecision {
  core::JobState state = core::JobState::blocked;
  std::int64_t blockers = 0;  // parents not yet done
  std::string error;          // cancelled at once: why (a parent that failed it)
};
LinkDecision decide_links(const std::vector<ParentState>& parents, bool after_failure_run,
                          core::TimePoint run_at, core::TimePoint now);

// Whether a parent that ended in `end` lets its child go on (else the child
// is cancelled): succeeded, or any end when the child runs after failures.
bool parent_releases(core::JobState end, bool after_failure_run);

// The error a child is cancelled with when parent `id` ended in `end`
// (`deleted`: the parent was deleted before it ended).
std::string parent_failed_error(std::string_view id, core::JobState end, bool deleted = false);

// What a blocked child becomes when a parent's end is applied to it.
struct ChildStep {
  core::JobState state = core::JobState::blocked;  // blocked: still waiting for others
  std::int64_t blockers = 0;
  std::string error;  // cancelled: why
};
ChildStep release_child(std::int64_t blockers, bool after_failure_run, std::string_view parent_id,
                        core::JobState end, bool deleted, core::TimePoint run_at,
                        core::TimePoint now);

// A job that has just ended, as what follows its end needs it.
struct EndedJob {
  std::int64_t rowid = 0;
  std::string id;
  std::int64_t links = 0;  // kLink* (store/common/job_rows.hpp)
  std::optional<std::int64_t> batch;

  bool has_children() const { return (links & kLinkChildren) != 0; }
  bool has_webhook() const { return (links & kLinkWebhook) != 0; }
  // From the job as read: its id, children, completion webhook and batch.
  static EndedJob of(std::int64_t rowid, const core::Job& job);
};

// Calls `add(id, field)` for each parent `job` names: its `after` ids (field
// "after[i]"), then the earlier items of its insert it waits for (their ids
// in `item_ids`; field "after"). An item that is not an earlier one is
// invalid_argument; the first error of `add` is returned.
template <class Add>
core::Result<void> for_each_parent(const core::NewJob& job,
                                   const std::vector<std::string>& item_ids, Add add) {
  for (std::size_t i = 0; i < job.after.size(); ++i) {
    if (auto ok = add(job.after[i], fmt::format("after[{}]", i)); !ok) return ok;
  }
  for (const auto item : job.after_items) {
    if (item >= item_ids.size()) {
      return core::invalid("after", fmt::format("after: item {} is not an earlier item", item));
    }
    if (auto ok = add(item_ids[item], std::string("after")); !ok) return ok;
  }
  return {};
}

// What inserting jobs into a batch adds to its counts: each new job (not a
// duplicate or a debounced one) to total, those cancelled at once (a failed
// parent) to cancelled too.
core::BatchCounts batch_added(const std::vector<InsertOutcome>& inserted);

}  // namespace errand::store
