#include "store/postgres/ops.hpp"

#include "store/postgres/links.hpp"

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

const Statement kJobByUniqueKey{
    "job_by_unique_key",
    "SELECT id, state FROM jobs WHERE queue = $1 AND unique_key = $2"
    " AND ((1 << state::int) & $3::int) <> 0 AND created_at >= $4 ORDER BY id DESC LIMIT 1"};
const Statement kJobByDebounceKey{
    "job_by_debounce_key",
    "SELECT id, state, debounce_until FROM jobs WHERE queue = $1 AND debounce_key = $2"
    " AND state = 0 ORDER BY id DESC LIMIT 1"};
const Statement kJobReplace{
    "job_replace",
    "UPDATE jobs SET payload = $2, run_at = $3, priority = coalesce($4::bigint, priority),"
    " state = $5, event_seq = event_seq + CASE WHEN state <> $5 THEN 1 ELSE 0 END"
    " WHERE id = $1 RETURNING key, attempt"};
// Enqueues with the same unique or debounce key, on any server, take turns:
// each looks for the other's job only after the other committed.
const Statement kDedupLock{"dedup_lock", "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"};

const Statement kQueueDefaults{"queue_defaults",
                               "SELECT default_priority, default_max_attempts,"
                               " default_timeout_ms, flow::jsonb ->> 'on_done'"
                               " FROM queues WHERE name = $1"};

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

core::Result<void> lock_dedup_key(Conn& db, std::string_view kind, const core::NewJob& job,
                                  std::string_view key) {
  auto r = db.run(kDedupLock, Params().text(fmt::format("{}:{}:{}", kind, job.queue, key)));
  if (!r) return r.error();
  return {};
}

// A waiting job found by a unique or debounce key takes the new payload,
// run_at (and priority, when the enqueue gave one): its state follows run_at.
core::Result<core::JobState> replace_waiting(OpContext& c, std::int64_t rowid,
                                             const std::string& id, core::JobState from,
                                             const core::NewJob& job, core::TimePoint run_at,
                                             core::TimePoint now) {
  const core::JobState to = core::initial_state(run_at, now);
  Params p;
  p.integer(rowid).text(job.payload.empty() ? std::string_view("null") : job.payload.stored());
  p.time(run_at).opt_integer(job.priority).integer(static_cast<int>(to));
  auto r = c.db.run(kJobReplace, p);
  if (!r) return r.error();
  const std::string key(r->empty() ? std::string_view() : r->text(0, 0));
  c.queues.move(job.queue, from, to);
  c.keys.move(job.queue, key, from, to);
  if (from != to) {
    c.notice.job_event(
        {.id = id, .state = to, .attempt = r->empty() ? 0 : static_cast<int>(r->integer(0, 1))});
  }
  if (to == core::JobState::queued) {
    c.notice.runnable(job.queue);
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
  if (auto locked = lock_dedup_key(c.db, "unique", job, u.key); !locked) return locked.error();
  Params p;
  p.text(job.queue).text(u.key).integer(u.states).time(unique_since(u, now));
  auto r = c.db.run(kJobByUniqueKey, p);
  if (!r) return r.error();
  if (r->empty()) return std::optional<InsertOutcome>{};
  const std::int64_t rowid = r->integer(0, 0);
  InsertOutcome out{.id = core::format_job_id(rowid),
                    .state = static_cast<core::JobState>(r->integer(0, 1)),
                    .duplicate = true};
  if (u.replace && replaceable(out.state)) {
    auto to = replace_waiting(c, rowid, out.id, out.state, job, job.run_at, now);
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
  if (auto locked = lock_dedup_key(c.db, "debounce", job, d.key); !locked) return locked.error();
  auto r = c.db.run(kJobByDebounceKey, Params().text(job.queue).text(d.key));
  if (!r) return r.error();
  if (r->empty()) return std::optional<InsertOutcome>{};
  const std::int64_t rowid = r->integer(0, 0);
  InsertOutcome out{.id = core::format_job_id(rowid),
                    .state = static_cast<core::JobState>(r->integer(0, 1)),
                    .debounced = true};
  const auto run_at = debounce_run_at(d, now, r->opt_time(0, 2));
  auto to = replace_waiting(c, rowid, out.id, out.state, job, run_at, now);
  if (!to) return to.error();
  out.state = *to;
  return std::optional(std::move(out));
}

// `id`: the job's id when taken ahead (a batch's ids are taken at once).
core::Result<InsertOutcome> insert_one(OpContext& c, const core::NewJob& asked, core::TimePoint now,
                                       std::map<std::string, core::JobDefaults>& defaults,
                                       const std::vector<std::string>& item_ids,
                                       std::optional<std::int64_t> batch,
                                       std::optional<std::int64_t> id, NewJobRows& rows) {
  const bool linked = !asked.after.empty() || !asked.after_items.empty();
  // What reads the jobs table must see the batch's earlier rows.
  if (reads_jobs_table(asked)) {
    if (auto written = rows.flush(); !written) return written.error();
  }
  if (!asked.idempotency_key.empty()) {
    auto duplicate = find_duplicate(c.db, asked);
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
  auto known = defaults.find(job->queue);
  if (known == defaults.end()) {
    auto read = queue_defaults(c, job->queue);
    if (!read) return read.error();
    known = defaults.emplace(job->queue, *read).first;
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
  const auto settings = core::resolve_settings(*job, known->second);
  std::int64_t inserted_id = 0;
  if (id && !linked && job == &asked && asked.idempotency_key.empty()) {
    // Written with the batch's next rows: nothing here reads it back.
    if (auto kept = rows.add({.id = *id, .job = job, .settings = settings, .state = state});
        !kept) {
      return kept.error();
    }
    inserted_id = *id;
  } else {
    auto inserted = insert_job(c.db, *job, settings, state, now, id, batch);
    if (!inserted) return inserted.error();
    if (!*inserted) return taken_meanwhile(c.db, *job);
    inserted_id = **inserted;
  }
  if (linked) {
    if (auto done = link_child(c, inserted_id, parents, links, job->after_failure_run, now);
        !done) {
      return done.error();
    }
    if (state == core::JobState::cancelled && !settings.on_done.empty()) {  // ended at once
      if (auto told = webhook_job_ended(c, inserted_id, now); !told) return told.error();
    }
  }
  c.queues.move(job->queue, std::nullopt, state);
  c.keys.move(job->queue, job->key, std::nullopt, state);
  if (state == core::JobState::queued) {
    c.notice.runnable(job->queue);
  } else if (state == core::JobState::scheduled) {
    c.notice.deadline(job->run_at);
  }
  return InsertOutcome{.id = core::format_job_id(inserted_id),
                       .state = state,
                       .debounced = job->debounce.has_value()};
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
  if (!r->is_null(0, 3)) d.on_done = r->text(0, 3);
  return d;
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
  std::map<std::string, core::JobDefaults> defaults;  // per queue, read once per verb
  std::vector<std::string> ids;                       // for items that wait for earlier ones
  // A batch's ids in one round trip, so that its rows can be written many
  // to a statement (NewJobRows); a lone job takes its id as it is written.
  std::vector<std::int64_t> taken;
  if (jobs.size() > 1) {
    auto got = take_job_ids(c.db, now, jobs.size());
    if (!got) return got.error();
    taken = std::move(*got);
  }
  auto rows = job_row_writer(c.db, now, batch);
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const auto id = i < taken.size() ? std::optional(taken[i]) : std::nullopt;
    auto outcome = insert_one(c, jobs[i], now, defaults, ids, batch, id, rows);
    if (!outcome) return outcome.error();  // the savepoint drops the whole batch
    ids.push_back(outcome->id);
    outcomes.push_back(std::move(*outcome));
  }
  if (auto written = rows.flush(); !written) return written.error();
  return outcomes;
}

}  // namespace ops
}  // namespace errand::store::postgres
