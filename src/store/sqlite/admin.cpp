#include "store/sqlite/ops.hpp"

#include "core/id.hpp"

#include "store/common/job_transitions.hpp"
#include "store/common/queue_transitions.hpp"
#include "store/sqlite/links.hpp"

namespace errand::store::sqlite::ops {

using core::JobState;

core::Result<core::Job> job_cancel(OpContext& c, const JobCancelParams& p) {
  auto row = load_job(c.sql, p.id);
  if (!row) return row.error();
  core::Job& job = row->job;
  auto left = apply_cancel(job, p.now);
  if (!left) return left.error();
  if (*left) c.queues.move(job.queue, **left, JobState::cancelled);
  if (*left) c.keys.move(job.queue, job.key, **left, JobState::cancelled);
  if (auto saved = save_job(c.sql, *row); !saved) return saved.error();
  if (*left) {
    auto ended = job_ended(c, EndedJob::of(row->rowid, job), JobState::cancelled, p.now);
    if (!ended) return ended.error();
  }
  return std::move(job);
}

core::Result<core::Job> job_retry(OpContext& c, const JobRetryParams& p) {
  auto row = load_job(c.sql, p.id);
  if (!row) return row.error();
  core::Job& job = row->job;
  auto left = apply_retry(job, p.now);
  if (!left) return left.error();
  c.queues.move(job.queue, *left, JobState::queued);
  c.keys.move(job.queue, job.key, *left, JobState::queued);
  if (auto saved = save_job(c.sql, *row); !saved) return saved.error();
  if (auto batch = core::parse_job_id(job.batch)) {
    if (auto undone = batch_job_ended(c, *batch, *left, p.now, true); !undone) {
      return undone.error();
    }
  }
  c.notice.runnable(job.queue);
  return std::move(job);
}

core::Result<Unit> job_delete(OpContext& c, const JobDeleteParams& p) {
  auto rowid = find_rowid(c.sql, p.id);
  if (!rowid) return rowid.error();
  if (auto released = release_before_delete(c, *rowid, p.now); !released) {
    return released.error();
  }
  Query q(c.sql[Sql::job_delete]);
  q.bind_int(1, *rowid);
  auto deleted = q.step();
  if (!deleted) return deleted.error();
  if (!*deleted) return job_not_found(p.id);
  const std::string queue(q.text_at(0));
  const auto state = static_cast<JobState>(q.int_at(1));
  const std::string key(q.text_at(2));
  if (auto done = q.run(); !done) return done.error();
  c.queues.move(queue, state, std::nullopt);
  c.keys.move(queue, key, state, std::nullopt);
  if (state == JobState::running) slot_freed(c, queue);
  return Unit{};
}

core::Result<std::vector<QueueInfo>> queue_list(OpContext& c) {
  return c.queues.list();
}

core::Result<QueueInfo> queue_pause(OpContext& c, const QueuePauseParams& p) {
  QueueRow& row = c.queues.edit(p.queue);  // creates the queue; its row is written at commit
  if (apply_pause(row, p.paused)) c.notice.runnable(p.queue);
  return to_queue_info(p.queue, row);
}

core::Result<QueueInfo> queue_configure(OpContext& c, const QueueConfigureParams& p) {
  QueueRow& row = c.queues.edit(p.queue);  // creates the queue; its row is written at commit
  if (apply_configure(row, p)) c.notice.runnable(p.queue);
  return to_queue_info(p.queue, row);
}

core::Result<QueueInfo> queue_rotate_secret(OpContext& c, const QueueRotateSecretParams& p) {
  const QueueRow* found = c.queues.find(p.queue);
  if (!found) return no_push_secret(p.queue);
  QueueRow& row = c.queues.edit(p.queue);
  if (auto rotated = apply_rotate_secret(row, p); !rotated) return rotated.error();
  return to_queue_info(p.queue, row);
}

core::Result<QueueInfo> queue_get(OpContext& c, const QueueGetParams& p) {
  const QueueRow* row = c.queues.find(p.queue);
  if (!row) return queue_not_found(p.queue);
  return to_queue_info(p.queue, *row);
}

}  // namespace errand::store::sqlite::ops
