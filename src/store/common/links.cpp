#include "store/common/links.hpp"

#include "core/id.hpp"

#include <fmt/format.h>

namespace errand::store {

using core::JobState;

bool parent_releases(JobState end, bool after_failure_run) {
  return end == JobState::succeeded || after_failure_run;
}

std::string parent_failed_error(std::string_view id, JobState end, bool deleted) {
  if (deleted) return fmt::format("parent {} was deleted before it ended", id);
  return fmt::format("parent {} ended {}", id, core::to_string(end));
}

LinkDecision decide_links(const std::vector<ParentState>& parents, bool after_failure_run,
                          core::TimePoint run_at, core::TimePoint now) {
  LinkDecision out;
  for (const auto& p : parents) {
    if (!core::is_terminal(p.state)) {
      ++out.blockers;
    } else if (!parent_releases(p.state, after_failure_run) && out.error.empty()) {
      out.error = parent_failed_error(p.id, p.state);
    }
  }
  if (!out.error.empty()) {
    out.state = JobState::cancelled;
  } else if (out.blockers == 0) {
    out.state = core::initial_state(run_at, now);
  }
  return out;
}

ChildStep release_child(std::int64_t blockers, bool after_failure_run, std::string_view parent_id,
                        JobState end, bool deleted, core::TimePoint run_at, core::TimePoint now) {
  if (deleted || !parent_releases(end, after_failure_run)) {
    return {.state = JobState::cancelled,
            .blockers = blockers,
            .error = parent_failed_error(parent_id, end, deleted)};
  }
  const std::int64_t left = blockers > 0 ? blockers - 1 : 0;
  return {.state = left == 0 ? core::initial_state(run_at, now) : JobState::blocked,
          .blockers = left};
}

EndedJob EndedJob::of(std::int64_t rowid, const core::Job& job) {
  return EndedJob{
      .rowid = rowid,
      .id = job.id,
      .links = (job.has_children ? kLinkChildren : 0) | (job.on_done.empty() ? 0 : kLinkWebhook),
      .batch = core::parse_job_id(job.batch)};
}

core::BatchCounts batch_added(const std::vector<InsertOutcome>& inserted) {
  core::BatchCounts d;
  for (const auto& o : inserted) {
    if (o.duplicate || o.debounced) continue;
    ++d.total;
    if (o.state == core::JobState::cancelled) ++d.cancelled;
  }
  return d;
}

}  // namespace errand::store
