#include "store/postgres/ops.hpp"

#include "core/id.hpp"
#include "core/push.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace errand::store::postgres::ops {
namespace {

using core::JobState;

const Statement kJobDelete{"job_delete", "DELETE FROM jobs WHERE id = $1 RETURNING queue, state"};

core::Error no_queue(std::string_view queue) {
  return core::make_error(core::errc::not_found, fmt::format("no queue named \"{}\"", queue),
                          "queue");
}

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
  if (auto allowed = core::check_cancel(job.state); !allowed) return allowed.error();
  if (job.state == JobState::running) {
    job.cancel_requested = true;  // the attempt ends cancelled when it fails or expires
  } else {
    c.queues.move(job.queue, job.state, JobState::cancelled);
    job.state = JobState::cancelled;
    job.finished_at = p.now;
  }
  if (auto saved = save_job(c.db, *row); !saved) return saved.error();
  return std::move(job);
}

core::Result<core::Job> job_retry(OpContext& c, const JobRetryParams& p) {
  auto row = load_job(c.db, p.id);
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
  if (auto saved = save_job(c.db, *row); !saved) return saved.error();
  c.notice.runnable(job.queue);
  return std::move(job);
}

core::Result<Unit> job_delete(OpContext& c, const JobDeleteParams& p) {
  const auto rowid = core::parse_job_id(p.id);
  if (!rowid) return job_not_found(p.id);
  auto r = c.db.run(kJobDelete, Params().integer(*rowid));
  if (!r) return r.error();
  if (r->empty()) return job_not_found(p.id);
  const std::string queue(r->text(0, 0));
  const auto state = static_cast<JobState>(r->integer(0, 1));
  c.queues.move(queue, state, std::nullopt);
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
  const bool resumed = row->paused && !p.paused;
  row->paused = p.paused;
  if (auto saved = save_queue_settings(c.db, p.queue, *row); !saved) return saved.error();
  if (resumed && row->count(JobState::queued) > 0) c.notice.runnable(p.queue);
  return to_queue_info(p.queue, *row);
}

core::Result<QueueInfo> queue_configure(OpContext& c, const QueueConfigureParams& p) {
  auto row = locked_queue(c, p.queue);
  if (!row) return row.error();
  if (row->config.rate_limit != p.config.rate_limit) {
    row->bucket.reset();  // a new limit starts with a full bucket
    row->throttled_until.reset();
  }
  row->paused = p.paused;
  row->config = p.config;
  c.queues.note_config(p.queue, p.config);
  if (row->config.push && row->secrets.current.empty())
    row->secrets.current = core::make_push_secret();
  if (auto saved = save_queue_settings(c.db, p.queue, *row); !saved) return saved.error();
  // A raised limit, a removed one or a resume may let waiting claims through.
  if (!row->paused && row->count(JobState::queued) > 0) c.notice.runnable(p.queue);
  return to_queue_info(p.queue, *row);
}

core::Result<QueueInfo> queue_rotate_secret(OpContext& c, const QueueRotateSecretParams& p) {
  auto found = c.queues.find(c.db, p.queue, /*lock=*/true);
  if (!found) return found.error();
  if (!*found || (*found)->secrets.current.empty()) {
    return core::make_error(core::errc::not_found,
                            fmt::format("queue \"{}\" has no push signing secret (it has never "
                                        "had a push endpoint)",
                                        p.queue),
                            "queue");
  }
  QueueRow& row = **found;
  row.secrets.previous = std::move(row.secrets.current);
  row.secrets.previous_until = p.now + p.keep_previous;
  row.secrets.current = core::make_push_secret();
  if (auto saved = save_queue_settings(c.db, p.queue, row); !saved) return saved.error();
  return to_queue_info(p.queue, row);
}

core::Result<QueueInfo> queue_get(OpContext& c, const QueueGetParams& p) {
  auto found = c.queues.find(c.db, p.queue);
  if (!found) return found.error();
  if (!*found) return no_queue(p.queue);
  return to_queue_info(p.queue, **found);
}

}  // namespace errand::store::postgres::ops
