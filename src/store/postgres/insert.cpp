#include "store/postgres/ops.hpp"

#include "core/id.hpp"
#include "store/common/job_transitions.hpp"
#include "store/postgres/statements.hpp"

#include <fmt/format.h>

namespace errand::store::postgres {

const Statement sql::job_by_idempotency_key{"job_by_idempotency_key",
                                            "SELECT id, state, type, payload FROM jobs"
                                            " WHERE queue = $1 AND idempotency_key = $2"};

namespace ops {
namespace {

const Statement kQueueDefaults{"queue_defaults",
                               "SELECT default_priority, default_max_attempts,"
                               " default_timeout_ms FROM queues WHERE name = $1"};

// The job of the same queue already holding the job's key, if any (a job
// inserted earlier in the same batch is found too). Another type or payload
// under the key is a conflict, never a silent duplicate. A key another
// server is inserting at this moment waits for it (the unique index), and a
// lost race is a unique violation: the caller's retry then finds the job.
core::Result<std::optional<InsertOutcome>> find_duplicate(Conn& db, const core::NewJob& job) {
  auto r = db.run(sql::job_by_idempotency_key, Params().text(job.queue).text(job.idempotency_key));
  if (!r) return r.error();
  if (r->empty()) return std::nullopt;
  auto repeat = repeated_insert(job, core::format_job_id(r->integer(0, 0)), r->text(0, 2),
                                r->text(0, 3), static_cast<core::JobState>(r->integer(0, 1)));
  if (!repeat) return repeat.error();
  return std::optional<InsertOutcome>(std::move(*repeat));
}

// Another server inserted a job under the key after find_duplicate looked
// (its commit is what the insert waited for): that job is the first.
core::Result<InsertOutcome> taken_meanwhile(Conn& db, const core::NewJob& job) {
  auto duplicate = find_duplicate(db, job);
  if (!duplicate) return duplicate.error();
  if (*duplicate) return std::move(**duplicate);
  return core::make_error(
      core::errc::unavailable,
      fmt::format("idempotency_key \"{}\" of queue {} is being taken by another request; try again",
                  job.idempotency_key, job.queue),
      "idempotency_key");
}

core::Result<InsertOutcome> insert_one(OpContext& c, const core::NewJob& job, core::TimePoint now,
                                       std::map<std::string, core::JobDefaults>& defaults) {
  if (!job.idempotency_key.empty()) {
    auto duplicate = find_duplicate(c.db, job);
    if (!duplicate) return duplicate.error();
    if (*duplicate) return std::move(**duplicate);
  }
  auto known = defaults.find(job.queue);
  if (known == defaults.end()) {
    auto read = queue_defaults(c, job.queue);
    if (!read) return read.error();
    known = defaults.emplace(job.queue, *read).first;
  }
  const core::JobState state = core::initial_state(job.run_at, now);
  const auto settings = core::resolve_settings(job, known->second);
  auto id = insert_job(c.db, job, settings, state, now);
  if (!id) return id.error();
  if (!*id) return taken_meanwhile(c.db, job);
  c.queues.move(job.queue, std::nullopt, state);
  c.keys.move(job.queue, job.key, std::nullopt, state);
  if (state == core::JobState::queued) {
    c.notice.runnable(job.queue);
  } else {
    c.notice.deadline(job.run_at);
  }
  return InsertOutcome{.id = core::format_job_id(**id), .state = state};
}

}  // namespace

core::Result<core::JobDefaults> queue_defaults(OpContext& c, std::string_view queue) {
  auto r = c.db.run(kQueueDefaults, Params().text(queue));
  if (!r) return r.error();
  core::JobDefaults d;
  if (r->empty()) return d;
  d.priority = r->opt_integer(0, 0);
  if (auto n = r->opt_integer(0, 1)) d.max_attempts = static_cast<int>(*n);
  if (auto ms = r->opt_integer(0, 2)) d.timeout = core::Millis{*ms};
  return d;
}

core::Result<std::vector<InsertOutcome>> job_insert_many(OpContext& c,
                                                         const JobInsertManyParams& p) {
  std::vector<InsertOutcome> outcomes;
  outcomes.reserve(p.jobs.size());
  std::map<std::string, core::JobDefaults> defaults;  // per queue, read once per verb
  for (const auto& job : p.jobs) {
    auto outcome = insert_one(c, job, p.now, defaults);
    if (!outcome) return outcome.error();  // the savepoint drops the whole batch
    outcomes.push_back(std::move(*outcome));
  }
  return outcomes;
}

}  // namespace ops
}  // namespace errand::store::postgres
