#include "store/sqlite/ops.hpp"

#include "core/id.hpp"
#include "store/common/job_transitions.hpp"
#include "store/sqlite/links.hpp"

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

// A waiting job found by a unique or debounce key takes the new payload,
// run_at (and priority, when the enqueue gave one): its state follows run_at.
core::Result<core::JobState> replace_waiting(OpContext& c, std::int64_t rowid,
                                             std::string_view queue, core::JobState from,
                                             const core::NewJob& job, core::TimePoint run_at,
                                             core::TimePoint now) {
  const core::JobState to = core::initial_state(run_at, now);
  const std::string& payload = job.payload.empty() ? std::string("null") : job.payload.stored();
  Query q(c.sql[Sql::job_replace]);
  q.bind_int(1, rowid).bind_text(2, payload).bind_time(3, run_at);
  if (job.priority) {
    q.bind_int(4, *job.priority);
  } else {
    q.bind_null(4);
  }
  q.bind_int(5, static_cast<int>(to));
  auto row = q.step();
  if (!row) return row.error();
  const std::string key(*row ? q.text_at(0) : std::string_view());
  if (auto done = q.run(); !done) return done.error();
  c.queues.move(queue, from, to);
  c.keys.move(queue, key, from, to);
  if (to == core::JobState::queued) {
    c.notice.runnable(queue);
  } else {
    c.notice.deadline(run_at);
  }
  return to;
}

// unique: the latest job of the queue holding the key in one of the states
// (enqueued within `for`), answered instead of a new one.
core::Result<std::optional<InsertOutcome>> find_unique(OpContext& c, const core::NewJob& job,
                                                       core::TimePoint now) {
  const auto& u = *job.unique;
  Query q(c.sql[Sql::job_by_unique_key]);
  q.bind_text(1, job.queue).bind_text(2, u.key).bind_int(3, u.states);
  q.bind_time(4, unique_since(u, now));
  auto found = q.step();
  if (!found) return found.error();
  if (!*found) return std::optional<InsertOutcome>{};
  const std::int64_t rowid = q.int_at(0);
  InsertOutcome out{.id = public_id(q, 0, 1),
                    .state = static_cast<core::JobState>(q.int_at(2)),
                    .duplicate = true};
  if (auto done = q.run(); !done) return done.error();
  if (u.replace && replaceable(out.state)) {
    auto to = replace_waiting(c, rowid, job.queue, out.state, job, job.run_at, now);
    if (!to) return to.error();
    out.state = *to;
    out.replaced = true;
  }
  return std::optional(std::move(out));
}

// debounce: the job of the queue still waiting under the key takes this
// enqueue's payload and runs `period` from now (no later than its max_wait).
core::Result<std::optional<InsertOutcome>> find_debounced(OpContext& c, const core::NewJob& job,
                                                          core::TimePoint now) {
  const auto& d = *job.debounce;
  Query q(c.sql[Sql::job_by_debounce_key]);
  q.bind_text(1, job.queue).bind_text(2, d.key);
  auto found = q.step();
  if (!found) return found.error();
  if (!*found) return std::optional<InsertOutcome>{};
  const std::int64_t rowid = q.int_at(0);
  InsertOutcome out{.id = public_id(q, 0, 1),
                    .state = static_cast<core::JobState>(q.int_at(2)),
                    .debounced = true};
  const auto until = q.opt_time_at(3);
  if (auto done = q.run(); !done) return done.error();
  auto to =
      replace_waiting(c, rowid, job.queue, out.state, job, debounce_run_at(d, now, until), now);
  if (!to) return to.error();
  out.state = *to;
  return std::optional(std::move(out));
}

core::Result<InsertOutcome> insert_one(OpContext& c, const core::NewJob& asked, core::TimePoint now,
                                       const std::vector<std::string>& item_ids,
                                       std::optional<std::int64_t> batch, NewJobRows& rows) {
  const bool linked = !asked.after.empty() || !asked.after_items.empty();
  // What reads the jobs table must see the batch's earlier rows.
  if (reads_jobs_table(asked)) {
    if (auto written = rows.flush(); !written) return written.error();
  }
  if (!asked.idempotency_key.empty()) {
    auto duplicate = find_duplicate(c.sql, asked);
    if (!duplicate) return duplicate.error();
    if (*duplicate) return std::move(**duplicate);
  }
  const core::NewJob* job = &asked;
  core::NewJob debounced;
  if (asked.unique) {
    auto found = find_unique(c, asked, now);
    if (!found) return found.error();
    if (*found) return std::move(**found);
  } else if (asked.debounce) {
    auto found = find_debounced(c, asked, now);
    if (!found) return found.error();
    if (*found) return std::move(**found);
    debounced = asked;
    debounced.run_at = debounce_run_at(*asked.debounce, now, std::nullopt);
    job = &debounced;
  }
  core::JobState state = core::initial_state(job->run_at, now);
  ParentLinks parents;
  LinkDecision links;
  if (linked) {
    auto found = find_parents(c, *job, item_ids);
    if (!found) return found.error();
    parents = std::move(*found);
    links = decide_links(parents.parents, job->after_failure_run, job->run_at, now);
    state = links.state;
  }
  const QueueRow* queue = c.queues.find(job->queue);
  const auto settings =
      core::resolve_settings(*job, queue ? queue->config.defaults : core::JobDefaults{});
  const std::int64_t id = take_job_id(c, now);
  // A linked job's links are written on its row, and `debounced` dies with
  // this call: those rows are written now (after the rows kept before them).
  if (linked || job != &asked) {
    if (auto inserted = insert_job(c.sql, id, *job, settings, state, now, batch); !inserted) {
      return inserted.error();
    }
  } else if (auto kept = rows.add({.id = id, .job = job, .settings = settings, .state = state});
             !kept) {
    return kept.error();
  }
  if (linked) {
    if (auto done = link_child(c, id, parents, links, job->after_failure_run, now); !done) {
      return done.error();
    }
    if (state == core::JobState::cancelled && !settings.on_done.empty()) {  // ended at once
      if (auto told = webhook_job_ended(c, id, now); !told) return told.error();
    }
  }
  c.queues.move(job->queue, std::nullopt, state);
  c.keys.move(job->queue, job->key, std::nullopt, state);
  if (state == core::JobState::queued) {
    c.notice.runnable(job->queue);
  } else if (state == core::JobState::scheduled) {
    c.notice.deadline(job->run_at);
  }
  return InsertOutcome{
      .id = core::format_job_id(id), .state = state, .debounced = job->debounce.has_value()};
}

}  // namespace

std::int64_t take_job_id(OpContext& c, core::TimePoint now) {
  c.last_job_id = core::next_job_id(c.last_job_id, now);
  return c.last_job_id;
}

core::Result<std::vector<InsertOutcome>> job_insert_many(OpContext& c,
                                                         const JobInsertManyParams& p) {
  return insert_jobs(c, p.jobs, p.now, std::nullopt);
}

core::Result<std::vector<InsertOutcome>> insert_jobs(OpContext& c,
                                                     const std::vector<core::NewJob>& jobs,
                                                     core::TimePoint now,
                                                     std::optional<std::int64_t> batch) {
  std::vector<InsertOutcome> outcomes;
  outcomes.reserve(jobs.size());
  std::vector<std::string> ids;  // for items that wait for earlier ones
  auto rows = job_row_writer(c.sql, now, batch);
  for (const auto& job : jobs) {
    auto outcome = insert_one(c, job, now, ids, batch, rows);
    if (!outcome) return outcome.error();  // the savepoint drops the whole batch
    ids.push_back(outcome->id);
    outcomes.push_back(std::move(*outcome));
  }
  if (auto written = rows.flush(); !written) return written.error();
  return outcomes;
}

}  // namespace errand::store::sqlite::ops
