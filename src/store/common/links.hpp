// Dependencies between jobs (NewJob::after), whatever the backend: what a
// new child becomes given its parents' states, and what a parent's end does
// to a blocked child. The backends keep the edges and counts; these decide.
// Pure functions; thread-safe.
#pragma once

#include "core/job.hpp"
#include "core/state.hpp"

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

}  // namespace errand::store
