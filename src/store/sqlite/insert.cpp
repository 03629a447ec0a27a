#include "store/sqlite/ops.hpp"

#include "core/id.hpp"

namespace errand::store::sqlite::ops {
namespace {

// The job already holding `key`, if any. Keys are global across queues, and a
// job inserted earlier in the same batch is found too.
core::Result<std::optional<InsertOutcome>> find_duplicate(Statements& sql, std::string_view key) {
  Query q(sql[Sql::job_by_idempotency_key]);
  q.bind_text(1, key);
  auto row = q.step();
  if (!row) return row.error();
  if (!*row) return std::nullopt;
  return InsertOutcome{.id = public_id(q, 0, 1),
                       .state = static_cast<core::JobState>(q.int_at(2)),
                       .duplicate = true};
}

core::Result<InsertOutcome> insert_one(OpContext& c, const core::NewJob& job, core::TimePoint now) {
  if (!job.idempotency_key.empty()) {
    auto duplicate = find_duplicate(c.sql, job.idempotency_key);
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
