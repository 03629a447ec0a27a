#include "store/sqlite/ops.hpp"

#include "core/id.hpp"
#include "store/common/job_transitions.hpp"

namespace errand::store::sqlite::ops {
namespace {

// The job of the same queue already holding the job's key, if any (a job
// inserted earlier in the same batch is found too). A repeat must ask for
// the same job: another type or payload under the key is a conflict, never
// a silent duplicate.
core::Result<std::optional<InsertOutcome>> find_duplicate(Statements& sql,
                                                          const core::NewJob& job) {
  Query q(sql[Sql::job_by_idempotency_key]);
  q.bind_text(1, job.queue).bind_text(2, job.idempotency_key);
  auto row = q.step();
  if (!row) return row.error();
  if (!*row) return std::nullopt;
  auto repeat = repeated_insert(job, public_id(q, 0, 1), q.text_at(3), q.text_at(4),
                                static_cast<core::JobState>(q.int_at(2)));
  if (!repeat) return repeat.error();
  return std::optional<InsertOutcome>(std::move(*repeat));
}

core::Result<InsertOutcome> insert_one(OpContext& c, const core::NewJob& job, core::TimePoint now) {
  if (!job.idempotency_key.empty()) {
    auto duplicate = find_duplicate(c.sql, job);
    if (!duplicate) return duplicate.error();
    if (*duplicate) return std::move(**duplicate);
  }
  const core::JobState state = core::initial_state(job.run_at, now);
  const QueueRow* queue = c.queues.find(job.queue);
  const auto settings =
      core::resolve_settings(job, queue ? queue->config.defaults : core::JobDefaults{});
  const std::int64_t id = take_job_id(c, now);
  if (auto inserted = insert_job(c.sql, id, job, settings, state, now); !inserted) {
    return inserted.error();
  }
  c.queues.move(job.queue, std::nullopt, state);
  c.keys.move(job.queue, job.key, std::nullopt, state);
  if (state == core::JobState::queued) {
    c.notice.runnable(job.queue);
  } else {
    c.notice.deadline(job.run_at);
  }
  return InsertOutcome{.id = core::format_job_id(id), .state = state};
}

}  // namespace

std::int64_t take_job_id(OpContext& c, core::TimePoint now) {
  c.last_job_id = core::next_job_id(c.last_job_id, now);
  return c.last_job_id;
}

core::Result<std::vector<InsertOutcome>> job_insert_many(OpContext& c,
                                                         const JobInsertManyParams& p) {
  std::vector<InsertOutcome> outcomes;
  outcomes.reserve(p.jobs.size());
  for (const auto& job : p.jobs) {
    auto outcome = insert_one(c, job, p.now);
    if (!outcome) return outcome.error();  // the savepoint drops the whole batch
    outcomes.push_back(std::move(*outcome));
  }
  return outcomes;
}

}  // namespace errand::store::sqlite::ops
