// Dependencies between jobs (store/common/links.hpp) on SQLite: the
// job_deps edges, each job's `links` flags and `blockers` count, and the
// release of blocked children when a parent ends.
#include "store/sqlite/links.hpp"

#include "core/id.hpp"
#include "store/common/links.hpp"
#include "store/sqlite/ops.hpp"

#include <fmt/format.h>

namespace errand::store::sqlite::ops {
namespace {

using core::JobState;

struct LinkRow {
  JobState state;
  std::int64_t blockers;
  std::int64_t links;
  std::string queue;
  std::string key;
  core::TimePoint run_at;
  int attempt;
  std::string id;
  std::optional<std::int64_t> batch;
};

core::Result<std::optional<LinkRow>> link_row(Statements& sql, std::int64_t rowid) {
  Query q(sql[Sql::job_link_state]);
  q.bind_int(1, rowid);
  auto found = q.step();
  if (!found) return found.error();
  if (!*found) return std::optional<LinkRow>{};
  return std::optional<LinkRow>(LinkRow{
      static_cast<JobState>(q.int_at(0)), q.int_at(1), q.int_at(2), std::string(q.text_at(3)),
      std::string(q.text_at(4)), q.time_at(5), static_cast<int>(q.int_at(6)),
      q.is_null(7) ? core::format_job_id(rowid) : std::string(q.text_at(7)),
      q.is_null(8) ? std::optional<std::int64_t>() : std::optional<std::int64_t>(q.int_at(8))});
}

core::Result<void> add_links(Statements& sql, std::int64_t rowid, std::int64_t links) {
  Query q(sql[Sql::job_set_links]);
  q.bind_int(1, rowid).bind_int(2, links);
  return q.run();
}

}  // namespace

core::Result<ParentLinks> find_parents(OpContext& c, const core::NewJob& job,
                                       const std::vector<std::string>& item_ids) {
  ParentLinks out;
  auto add = [&](const std::string& id, const std::string& field) -> core::Result<void> {
    auto rowid = find_rowid(c.sql, id);
    if (!rowid) return rowid.error();
    auto row = *rowid ? link_row(c.sql, *rowid) : core::Result<std::optional<LinkRow>>();
    if (!row) return row.error();
    if (!*row) return core::invalid(field, fmt::format("{}: no job {}", field, id));
    for (auto r : out.rowids) {
      if (r == *rowid) return {};  // named twice: one edge
    }
    out.rowids.push_back(*rowid);
    out.parents.push_back({.id = (*row)->id, .state = (*row)->state});
    return {};
  };
  if (auto ok = for_each_parent(job, item_ids, add); !ok) return ok.error();
  return out;
}

core::Result<void> link_child(OpContext& c, std::int64_t child, const ParentLinks& parents,
                              const LinkDecision& d, bool after_failure_run, core::TimePoint now) {
  for (std::size_t i = 0; i < parents.rowids.size(); ++i) {
    if (auto linked = add_links(c.sql, parents.rowids[i], kLinkChildren); !linked) return linked;
    Query q(c.sql[Sql::dep_insert]);
    q.bind_int(1, parents.rowids[i]).bind_int(2, child);
    q.bind_int(3, core::is_terminal(parents.parents[i].state) ? 1 : 0);
    if (auto done = q.run(); !done) return done;
  }
  const std::int64_t links = kLinkParents | (after_failure_run ? kLinkAfterFailure : 0);
  // Bound text must outlive the statement's run (SQLite does not copy it).
  const std::string errors = d.error.empty()
                                 ? std::string()
                                 : errors_text({{.attempt = 0, .at = now, .message = d.error}});
  Query q(c.sql[Sql::job_set_blocking]);
  q.bind_int(1, child).bind_int(2, static_cast<int>(d.state)).bind_int(3, d.blockers);
  q.bind_int(4, links);
  if (d.error.empty()) {
    q.bind_null(5).bind_null(6);
  } else {
    q.bind_text(5, errors).bind_time(6, now);
  }
  return q.run();
}

core::Result<void> release_children(OpContext& c, std::int64_t rowid, const std::string& id,
                                    JobState end, core::TimePoint now, bool deleted) {
  struct Ended {
    std::int64_t rowid;
    std::string id;
    JobState end;
    bool deleted;
  };
  std::vector<Ended> todo{{rowid, id, end, deleted}};
  while (!todo.empty()) {
    const Ended parent = std::move(todo.back());
    todo.pop_back();
    std::vector<std::int64_t> children;
    {
      Query q(c.sql[Sql::deps_uncounted]);
      q.bind_int(1, parent.rowid);
      for (;;) {
        auto found = q.step();
        if (!found) return found.error();
        if (!*found) break;
        children.push_back(q.int_at(0));
      }
    }
    for (const auto child : children) {
      auto row = link_row(c.sql, child);
      if (!row) return row.error();
      if (!*row || (*row)->state != JobState::blocked) continue;
      const LinkRow& r = **row;
      const auto step = release_child(r.blockers, (r.links & kLinkAfterFailure) != 0, parent.id,
                                      parent.end, parent.deleted, r.run_at, now);
      const std::string errors =
          step.error.empty()
              ? std::string()
              : errors_text({{.attempt = r.attempt, .at = now, .message = step.error}});
      Query q(c.sql[Sql::job_set_blocking]);
      q.bind_int(1, child).bind_int(2, static_cast<int>(step.state)).bind_int(3, step.blockers);
      q.bind_int(4, 0);
      if (step.error.empty()) {
        q.bind_null(5).bind_null(6);
      } else {
        q.bind_text(5, errors).bind_time(6, now);
      }
      if (auto done = q.run(); !done) return done;
      if (step.state == JobState::blocked) continue;
      c.queues.move(r.queue, JobState::blocked, step.state);
      c.keys.move(r.queue, r.key, JobState::blocked, step.state);
      if (step.state == JobState::queued) {
        c.notice.runnable(r.queue);
      } else if (step.state == JobState::scheduled) {
        c.notice.deadline(r.run_at);
      }
      c.notice.job_changed(
          {.id = r.id, .state = step.state, .attempt = r.attempt, .error = step.error});
      if (!core::is_terminal(step.state)) continue;
      const EndedJob ended{.rowid = child, .id = r.id, .links = r.links, .batch = r.batch};
      if (auto done = job_ended(c, ended, step.state, now, false); !done) return done;
      if (ended.has_children()) todo.push_back({child, r.id, step.state, false});
    }
  }
  return {};
}

core::Result<void> release_before_delete(OpContext& c, std::int64_t rowid, core::TimePoint now) {
  auto row = link_row(c.sql, rowid);
  if (!row) return row.error();
  if (!*row || core::is_terminal((*row)->state)) return {};
  if ((*row)->batch) {
    auto counted = batch_job_ended(c, *(*row)->batch, JobState::cancelled, now);
    if (!counted) return counted;
  }
  if (((*row)->links & kLinkChildren) == 0) return {};
  return release_children(c, rowid, (*row)->id, JobState::cancelled, now, true);
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
  return release_children(c, j.rowid, j.id, end, now);
}

core::Result<void> load_links(Statements& sql, JobRow& row, bool results, bool children) {
  core::Job& job = row.job;
  if (job.has_parents) {
    Query q(sql[Sql::deps_parents]);
    q.bind_int(1, row.rowid);
    for (;;) {
      auto found = q.step();
      if (!found) return found.error();
      if (!*found) break;
      core::ParentRef p{.id = public_id(q, 0, 1), .state = static_cast<JobState>(q.int_at(2))};
      if (results && !q.is_null(3)) p.result = core::RawJson::trusted(std::string(q.text_at(3)));
      job.parents.push_back(std::move(p));
    }
  }
  if (children && job.has_children) {
    Query q(sql[Sql::deps_children]);
    q.bind_int(1, row.rowid).bind_int(2, static_cast<std::int64_t>(core::kMaxChildrenShown));
    for (;;) {
      auto found = q.step();
      if (!found) return found.error();
      if (!*found) break;
      job.children.push_back(public_id(q, 0, 1));
    }
  }
  if (job.continued) return load_push_bookkeeping(sql, row);
  return {};
}

}  // namespace errand::store::sqlite::ops
