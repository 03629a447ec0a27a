// Dependencies between jobs on SQLite (store/sqlite/links.cpp). Writer
// thread only, inside the batch's transaction.
#pragma once

#include "store/common/links.hpp"
#include "store/sqlite/job_rows.hpp"
#include "store/sqlite/writer.hpp"

namespace errand::store::sqlite::ops {

// The parents a new job names (ids, and the ids of earlier items of its
// insert), as found: each named once. Errors: invalid_argument (field
// "after[i]") for an id that names no job.
struct ParentLinks {
  std::vector<std::int64_t> rowids;
  std::vector<ParentState> parents;
};
core::Result<ParentLinks> find_parents(OpContext& c, const core::NewJob& job,
                                       const std::vector<std::string>& item_ids);

// Records the new job `child`'s edges and flags its parents, and gives it
// the state, blocker count (and error) of `d`.
core::Result<void> link_child(OpContext& c, std::int64_t child, const ParentLinks& parents,
                              const LinkDecision& d, bool after_failure_run, core::TimePoint now);

// Job `rowid` (shown as `id`) ended in `end` (or was deleted before it
// ended): each blocked child not yet told is released or cancelled, and so
// on down the graph. Call only for jobs with kLinkChildren.
core::Result<void> release_children(OpContext& c, std::int64_t rowid, const std::string& id,
                                    core::JobState end, core::TimePoint now, bool deleted = false);

// Job `j` ended in `end`, in this transaction: its completion webhook is
// owed, its batch counts it (and fires what that makes due) and, unless
// `children` is false, its blocked children move on down the graph.
core::Result<void> job_ended(OpContext& c, const EndedJob& j, core::JobState end,
                             core::TimePoint now, bool children = true);

// A job about to be deleted before it ended: its batch counts it cancelled,
// and its children are cancelled (it never will end).
core::Result<void> release_before_delete(OpContext& c, std::int64_t rowid, core::TimePoint now);

// Fills the job's parents (with their results when `results`), its first
// children (when `children`) and its continuation (state, signal), as its
// links flags say it has them.
core::Result<void> load_links(Statements& sql, JobRow& row, bool results, bool children);

}  // namespace errand::store::sqlite::ops
