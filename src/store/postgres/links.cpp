// Dependencies between jobs (store/common/links.hpp) on PostgreSQL.
#include "store/postgres/links.hpp"

#include "core/id.hpp"
#include "store/postgres/ops.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace errand::store::postgres::ops {
namespace {

using core::JobState;

// Locks the parent (its end waits for this insert, or this insert for its
// end) and reads its state; a parent not yet flagged is marked as having
// children.
const Statement kParentLock{"job_parent_lock",
                            "SELECT state, links FROM jobs WHERE id = $1 FOR SHARE"};
const Statement kParentFlag{"job_parent_flag", "UPDATE jobs SET links = links | 1 WHERE id = $1"};
const Statement kDepInsert{"dep_insert",
                           "INSERT INTO job_deps(parent, child, counted) VALUES ($1, $2, $3)"
                           " ON CONFLICT DO NOTHING"};
const Statement kSetBlocking{
    "job_set_blocking",
    "UPDATE jobs SET state = $2, blockers = $3, links = links | $4::smallint,"
    " errors = coalesce($5, errors), finished_at = coalesce($6, finished_at),"
    " event_seq = event_seq + CASE WHEN state <> $2 THEN 1 ELSE 0 END WHERE id = $1"};
const Statement kDepsUncounted{
    "deps_uncounted",
    "UPDATE job_deps SET counted = true WHERE parent = $1 AND NOT counted RETURNING child"};
const Statement kChildLock{"job_child_lock",
                           "SELECT state, blockers, links, queue, key, run_at, attempt, batch_id"
                           " FROM jobs WHERE id = $1 FOR UPDATE"};
const Statement kDepsParents{
    "deps_parents",
    "SELECT d.parent, j.state, j.result FROM job_deps d JOIN jobs j ON j.id = d.parent"
    " WHERE d.child = $1 ORDER BY d.parent LIMIT 1000"};
const Statement kDepsChildren{
    "deps_children", "SELECT child FROM job_deps WHERE parent = $1 ORDER BY child LIMIT $2"};

core::Result<void> set_blocking(Conn& db, std::int64_t rowid, JobState state, std::int64_t blockers,
                                std::int64_t links, const std::string& error, int attempt,
                                core::TimePoint now) {
  Params p;
  p.integer(rowid).integer(static_cast<int>(state)).integer(blockers).integer(links);
  if (error.empty()) {
    p.null().null();
  } else {
    p.text(errors_text({{.attempt = attempt, .at = now, .message = error}})).time(now);
  }
  auto r = db.run(kSetBlocking, p);
  if (!r) return r.error();
  return {};
}

}  // namespace

core::Result<ParentLinks> find_parents(OpContext& c, const core::NewJob& job,
                                       const std::vector<std::string>& item_ids) {
  ParentLinks out;
  auto add = [&](const std::string& id, const std::string& field) -> core::Result<void> {
    const auto rowid = core::parse_job_id(id);
    if (!rowid) return core::invalid(field, fmt::format("{}: no job {}", field, id));
    for (auto r : out.rowids) {
      if (r == *rowid) return {};  // named twice: one edge
    }
    auto r = c.db.run(kParentLock, Params().integer(*rowid));
    if (!r) return r.error();
    if (r->empty()) return core::invalid(field, fmt::format("{}: no job {}", field, id));
    if ((r->integer(0, 1) & kLinkChildren) == 0) {
      if (auto flagged = c.db.run(kParentFlag, Params().integer(*rowid)); !flagged) {
        return flagged.error();
      }
    }
    out.rowids.push_back(*rowid);
    out.parents.push_back(
        {.id = core::format_job_id(*rowid), .state = static_cast<JobState>(r->integer(0, 0))});
    return {};
  };
  if (auto ok = for_each_parent(job, item_ids, add); !ok) return ok.error();
  return out;
}

core::Result<void> link_child(OpContext& c, std::int64_t child, const ParentLinks& parents,
                              const LinkDecision& d, bool after_failure_run, core::TimePoint now) {
  for (std::size_t i = 0; i < parents.rowids.size(); ++i) {
    Params p;
    p.integer(parents.rowids[i]).integer(child);
    p.boolean(core::is_terminal(parents.parents[i].state));
    if (auto r = c.db.run(kDepInsert, p); !r) return r.error();
  }
  const std::int64_t links = kLinkParents | (after_failure_run ? kLinkAfterFailure : 0);
  return set_blocking(c.db, child, d.state, d.blockers, links, d.error, 0, now);
}

core::Result<void> release_children(OpContext& c, std::int64_t rowid, JobState end,
                                    core::TimePoint now, bool deleted) {
  struct Ended {
    std::int64_t rowid;
    JobState end;
    bool deleted;
  };
  std::vector<Ended> todo{{rowid, end, deleted}};
  while (!todo.empty()) {
    const Ended parent = todo.back();
    todo.pop_back();
    auto children = c.db.run(kDepsUncounted, Params().integer(parent.rowid));
    if (!children) return children.error();
    std::vector<std::int64_t> ids;
    for (int i = 0; i < children->size(); ++i) ids.push_back(children->integer(i, 0));
    std::sort(ids.begin(), ids.end());  // rows locked in one order by every server
    const std::string parent_id = core::format_job_id(parent.rowid);
    for (const auto child : ids) {
      auto r = c.db.run(kChildLock, Params().integer(child));
      if (!r) return r.error();
      if (r->empty() || static_cast<JobState>(r->integer(0, 0)) != JobState::blocked) continue;
      const std::int64_t links = r->integer(0, 2);
      const std::string queue(r->text(0, 3));
      const std::string key(r->text(0, 4));
      const auto run_at = r->time(0, 5);
      const int attempt = static_cast<int>(r->integer(0, 6));
      const auto batch = r->opt_integer(0, 7);
      const auto step = release_child(r->integer(0, 1), (links & kLinkAfterFailure) != 0, parent_id,
                                      parent.end, parent.deleted, run_at, now);
      if (auto saved =
              set_blocking(c.db, child, step.state, step.blockers, 0, step.error, attempt, now);
          !saved) {
        return saved;
      }
      if (step.state == JobState::blocked) continue;
      c.queues.move(queue, JobState::blocked, step.state);
      c.keys.move(queue, key, JobState::blocked, step.state);
      if (step.state == JobState::queued) {
        c.notice.runnable(queue);
      } else if (step.state == JobState::scheduled) {
        c.notice.deadline(run_at);
      }
      c.notice.job_changed({.id = core::format_job_id(child),
                            .state = step.state,
                            .attempt = attempt,
                            .error = step.error});
      if (!core::is_terminal(step.state)) continue;
      const EndedJob ended{
          .rowid = child, .id = core::format_job_id(child), .links = links, .batch = batch};
      if (auto done = job_ended(c, ended, step.state, now, false); !done) return done;
      if (ended.has_children()) todo.push_back({child, step.state, false});
    }
  }
  return {};
}

core::Result<void> release_before_delete(OpContext& c, std::int64_t rowid, core::TimePoint now) {
  auto r = c.db.run(kChildLock, Params().integer(rowid));
  if (!r) return r.error();
  if (r->empty() || core::is_terminal(static_cast<JobState>(r->integer(0, 0)))) return {};
  if (auto batch = r->opt_integer(0, 7)) {
    if (auto counted = batch_job_ended(c, *batch, JobState::cancelled, now); !counted) {
      return counted;
    }
  }
  if ((r->integer(0, 2) & kLinkChildren) == 0) return {};
  return release_children(c, rowid, JobState::cancelled, now, true);
}

core::Result<void> job_ended(OpContext& c, const EndedJob& j, JobState end, core::TimePoint now,
                             bool children) {
  if (j.has_webhook()) {
    if (auto told = webhook_job_ended(c, j.rowid, now); !told) return told;
  }
  if (j.batch) {
    if (auto counted = batch_job_ended(c, *j.batch, end, now); !counted) return counted;
  }
  if (!children || !j.has_children()) return {};
  return release_children(c, j.rowid, end, now);
}

core::Result<void> load_links(Conn& db, JobRow& row, bool results, bool children) {
  core::Job& job = row.job;
  if (job.has_parents) {
    auto r = db.run(kDepsParents, Params().integer(row.rowid));
    if (!r) return r.error();
    for (int i = 0; i < r->size(); ++i) {
      core::ParentRef p{.id = core::format_job_id(r->integer(i, 0)),
                        .state = static_cast<JobState>(r->integer(i, 1))};
      if (results && !r->is_null(i, 2))
        p.result = core::RawJson::trusted(std::string(r->text(i, 2)));
      job.parents.push_back(std::move(p));
    }
  }
  if (children && job.has_children) {
    auto r = db.run(kDepsChildren, Params().integer(row.rowid).integer(
                                       static_cast<std::int64_t>(core::kMaxChildrenShown)));
    if (!r) return r.error();
    for (int i = 0; i < r->size(); ++i)
      job.children.push_back(core::format_job_id(r->integer(i, 0)));
  }
  if (job.continued) return load_push_bookkeeping(db, row);
  return {};
}

}  // namespace errand::store::postgres::ops
