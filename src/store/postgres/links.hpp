// Dependencies between jobs on PostgreSQL (store/postgres/links.cpp).
// Writer thread only, inside the batch's transaction. A child's insert
// locks each parent's row (UPDATE … links) before it reads the parent's
// state, and a parent's end holds its row lock until it commits, so on
// every server the child either sees the parent ended or is found by the
// parent's release.
#pragma once

#include "store/common/links.hpp"
#include "store/postgres/job_rows.hpp"
#include "store/postgres/writer.hpp"

namespace errand::store::postgres::ops {

struct ParentLinks {
  std::vector<std::int64_t> rowids;
  std::vector<ParentState> parents;
};
// The parents a new job names (ids, and the ids of earlier items of its
// insert), each named once, flagged as having children and locked.
// Errors: invalid_argument (field "after[i]") for an id that names no job.
core::Result<ParentLinks> find_parents(OpContext& c, const core::NewJob& job,
                                       const std::vector<std::string>& item_ids);

// Records the new job `child`'s edges and gives it the state, blocker count
// (and error) of `d`.
core::Result<void> link_child(OpContext& c, std::int64_t child, const ParentLinks& parents,
                              const LinkDecision& d, bool after_failure_run, core::TimePoint now);

// Job `rowid` ended in `end` (or was deleted before it ended): each blocked
// child not yet told is released or cancelled, and so on down the graph.
core::Result<void> release_children(OpContext& c, std::int64_t rowid, core::JobState end,
                                    core::TimePoint now, bool deleted = false);
// Job `j` ended in `end`, in this transaction: its completion webhook is
// owed, its batch counts it (under the batch row's lock) and, unless
// `children` is false, its blocked children move on down the graph.
core::Result<void> job_ended(OpContext& c, const EndedJob& j, core::JobState end,
                             core::TimePoint now, bool children = true);
// A job about to be deleted before it ended: its batch counts it cancelled,
// and its children are cancelled.
core::Result<void> release_before_delete(OpContext& c, std::int64_t rowid, core::TimePoint now);

// Fills the job's parents (with results when `results`), first children
// (when `children`) and continuation, as its links flags say it has them.
core::Result<void> load_links(Conn& db, JobRow& row, bool results, bool children);

}  // namespace errand::store::postgres::ops
