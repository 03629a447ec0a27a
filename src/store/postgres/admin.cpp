#include "store/postgres/ops.hpp"

#include "core/id.hpp"
#include "store/common/job_transitions.hpp"
#include "store/common/queue_transitions.hpp"
#include "store/postgres/links.hpp"

namespace errand::store::postgres::ops {
namespace {

using core::JobState;

const Statement kJobDelete{"job_delete",
                           "DELETE FROM jobs WHERE id = $1 RETURNING queue, state, key"};

// The queue's row under its lock (a new, empty one when missing).
core::Result<QueueRow> locked_queue(OpContext& c, std::string_view queue) {
  auto found = c.queues.find(c.db, queue, /*lock=*/true);
  if (!found) return found.error();
  return found->value_or(QueueRow{});
}

}  // namespace

core::Result<core::Job> job_cancel(OpContext& c, const JobCancelParams& p) {
  auto row = load_job(c.db, p.id);
  if (!row) return row.error();
  core::Job& job = row->job;
  auto left = apply_cancel(job, p.now);
  if (!left) return left.error();
  if (*left) c.queues.move(job.queue, **left, JobState::cancelled);
  if (*left) c.keys.move(job.queue, job.key, **left, JobState::cancelled);
  if (auto saved = save_job(c.db, *row); !saved) return saved.error();
  if (*left) c.notice.job_state_event(job);  // else a running job: asked to stop, still running
  if (*left) {
    auto ended = job_ended(c, EndedJob::of(row->rowid, job), JobState::cancelled, p.now);
    if (!ended) return ended.error();
  }
  return std::move(job);
}

core::Result<core::Job> job_retry(OpContext& c, const JobRetryParams& p) {
  auto row = load_job(c.db, p.id);
  if (!row) return row.error();
  core::Job& job = row->job;
  auto left = apply_retry(job, p.now);
  if (!left) return left.error();
  c.queues.move(job.queue, *left, JobState::queued);
  c.keys.move(job.queue, job.key, *left, JobState::queued);
  if (auto saved = save_job(c.db, *row); !saved) return saved.error();
  if (auto batch = core::parse_job_id(job.batch)) {
    if (auto undone = batch_job_ended(c, *batch, *left, p.now, true); !undone) {
      return undone.error();
    }
  }
  c.notice.runnable(job.queue);
  c.notice.job_state_event(job);
  return std::move(job);
}

core::Result<Unit> job_delete(OpContext& c, const JobDeleteParams& p) {
  const auto rowid = core::parse_job_id(p.id);
  if (!rowid) return job_not_found(p.id);
  if (auto released = release_before_delete(c, *rowid, p.now); !released) {
    return released.error();
  }
  auto r = c.db.run(kJobDelete, Params().integer(*rowid));
  if (!r) return r.error();
  if (r->empty()) return job_not_found(p.id);
  const std::string queue(r->text(0, 0));
  const auto state = static_cast<JobState>(r->integer(0, 1));
  c.queues.move(queue, state, std::nullopt);
  c.keys.move(queue, r->text(0, 2), state, std::nullopt);
  if (state == JobState::running) {
    if (auto freed = slot_freed(c, queue); !freed) return freed.error();
  }
  return Unit{};
}

core::Result<std::vector<QueueInfo>> queue_list(OpContext& c) {
  return c.queues.list(c.db);
}

core::Result<QueueInfo> queue_pause(OpContext& c, const QueuePauseParams& p) {
  auto row = locked_queue(c, p.queue);
  if (!row) return row.error();
  const bool wake = apply_pause(*row, p.paused);
  if (auto saved = save_queue_settings(c.db, p.queue, *row); !saved) return saved.error();
  if (wake) c.notice.runnable(p.queue);
  return to_queue_info(p.queue, *row);
}

core::Result<QueueInfo> queue_configure(OpContext& c, const QueueConfigureParams& p) {
  auto row = locked_queue(c, p.queue);
  if (!row) return row.error();
  const bool wake = apply_configure(*row, p);
  c.queues.note_config(p.queue, p.config);
  if (auto saved = save_queue_settings(c.db, p.queue, *row); !saved) return saved.error();
  if (wake) c.notice.runnable(p.queue);
  return to_queue_info(p.queue, *row);
}

core::Result<QueueInfo> queue_rotate_secret(OpContext& c, const QueueRotateSecretParams& p) {
  auto found = c.queues.find(c.db, p.queue, /*lock=*/true);
  if (!found) return found.error();
  if (!*found) return no_push_secret(p.queue);
  QueueRow& row = **found;
  if (auto rotated = apply_rotate_secret(row, p); !rotated) return rotated.error();
  if (auto saved = save_queue_settings(c.db, p.queue, row); !saved) return saved.error();
  return to_queue_info(p.queue, row);
}

core::Result<QueueInfo> queue_get(OpContext& c, const QueueGetParams& p) {
  auto found = c.queues.find(c.db, p.queue);
  if (!found) return found.error();
  if (!*found) return queue_not_found(p.queue);
  return to_queue_info(p.queue, **found);
}

}  // namespace errand::store::postgres::ops
