#include "store/sqlite/ops.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace errand::store::sqlite::ops {

using core::JobState;

core::Result<core::Job> job_cancel(OpContext& c, const JobCancelParams& p) {
  auto row = load_job(c.sql, p.id);
  if (!row) return row.error();
  core::Job& job = row->job;
  if (auto allowed = core::check_cancel(job.state); !allowed) return allowed.error();
  if (job.state == JobState::running) {
    job.cancel_requested = true;  // the attempt ends cancelled when it fails or expires
  } else {
    c.queues.move(job.queue, job.state, JobState::cancelled);
    job.state = JobState::cancelled;
    job.finished_at = p.now;
  }
  if (auto saved = save_job(c.sql, *row); !saved) return saved.error();
  return std::move(job);
}

core::Result<core::Job> job_retry(OpContext& c, const JobRetryParams& p) {
  auto row = load_job(c.sql, p.id);
  if (!row) return row.error();
  core::Job& job = row->job;
  if (auto allowed = core::check_retry(job.state); !allowed) return allowed.error();
  c.queues.move(job.queue, job.state, JobState::queued);
  job.state = JobState::queued;
  job.run_at = p.now;
  job.max_attempts = std::max(job.max_attempts, job.attempt + 1);
  job.finished_at.reset();
  // An old cancel request must not cancel the fresh attempt the caller asked for.
  job.cancel_requested = false;
  if (auto saved = save_job(c.sql, *row); !saved) return saved.error();
  c.notice.runnable(job.queue);
  return std::move(job);
}

core::Result<Unit> job_delete(OpContext& c, const JobDeleteParams& p) {
  auto rowid = find_rowid(c.sql, p.id);
  if (!rowid) return rowid.error();
  Query q(c.sql[Sql::job_delete]);
  q.bind_int(1, *rowid);
  auto deleted = q.step();
  if (!deleted) return deleted.error();
  if (!*deleted) {
    return core::make_error(core::errc::not_found, fmt::format("no job with id \"{}\"", p.id),
                            "id");
  }
  const std::string queue(q.text_at(0));
  const auto state = static_cast<JobState>(q.int_at(1));
  if (auto done = q.run(); !done) return done.error();
  c.queues.move(queue, state, std::nullopt);
  if (state == JobState::running) slot_freed(c, queue);
  return Unit{};
}

core::Result<std::vector<QueueInfo>> queue_list(OpContext& c) {
  return c.queues.list();
}

core::Result<QueueInfo> queue_pause(OpContext& c, const QueuePauseParams& p) {
  QueueRow& row = c.queues.edit(p.queue);  // creates the queue; its row is written at commit
  const bool resumed = row.paused && !p.paused;
  row.paused = p.paused;
  if (resumed && row.count(JobState::queued) > 0) c.notice.runnable(p.queue);
  return to_queue_info(p.queue, row);
}

core::Result<QueueInfo> queue_configure(OpContext& c, const QueueConfigureParams& p) {
  QueueRow& row = c.queues.edit(p.queue);  // creates the queue; its row is written at commit
  if (row.config.rate_limit != p.config.rate_limit) {
    row.bucket.reset();  // a new limit starts with a full bucket
    row.throttled_until.reset();
  }
  row.paused = p.paused;
  row.config = p.config;
  if (row.config.push && row.secrets.current.empty())
    row.secrets.current = core::make_push_secret();
  // A raised limit, a removed one or a resume may let waiting claims through.
  if (!row.paused && row.count(JobState::queued) > 0) c.notice.runnable(p.queue);
  return to_queue_info(p.queue, row);
}

core::Result<QueueInfo> queue_rotate_secret(OpContext& c, const QueueRotateSecretParams& p) {
  const QueueRow* found = c.queues.find(p.queue);
  if (!found || found->secrets.current.empty()) {
    return core::make_error(core::errc::not_found,
                            fmt::format("queue \"{}\" has no push signing secret (it has never "
                                        "had a push endpoint)",
                                        p.queue),
                            "queue");
  }
  QueueRow& row = c.queues.edit(p.queue);
  row.secrets.previous = std::move(row.secrets.current);
  row.secrets.previous_until = p.now + p.keep_previous;
  row.secrets.current = core::make_push_secret();
  return to_queue_info(p.queue, row);
}

core::Result<QueueInfo> queue_get(OpContext& c, const QueueGetParams& p) {
  const QueueRow* row = c.queues.find(p.queue);
  if (!row) {
    return core::make_error(core::errc::not_found, fmt::format("no queue named \"{}\"", p.queue),
                            "queue");
  }
  return to_queue_info(p.queue, *row);
}

}  // namespace errand::store::sqlite::ops
