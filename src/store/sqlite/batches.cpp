// Batches (store/store.hpp "batches") on SQLite: the batches table, the
// counts a batch job's end adds, and the callback jobs fired in the same
// transaction.
#include "core/id.hpp"
#include "store/sqlite/links.hpp"
#include "store/sqlite/ops.hpp"

#include <fmt/format.h>

namespace errand::store::sqlite::ops {
namespace {

using core::JobState;

core::Error batch_not_found(std::string_view id) {
  return core::make_error(core::errc::not_found, fmt::format("no batch {}", id), "id");
}

std::optional<std::string_view> callback_at(const Query& q, int col) {
  if (q.is_null(col)) return std::nullopt;
  return q.text_at(col);
}

std::string job_at(const Query& q, int col) {
  return q.is_null(col) ? std::string() : core::format_job_id(q.int_at(col));
}

core::Result<core::Batch> read_batch(Statements& sql, std::int64_t id, std::string_view shown) {
  Query q(sql[Sql::batch_by_id]);
  q.bind_int(1, id);
  auto found = q.step();
  if (!found) return found.error();
  if (!*found) return batch_not_found(shown);
  core::Batch b;
  b.id = core::format_job_id(q.int_at(0));
  b.state = static_cast<core::BatchState>(q.int_at(1));
  b.created_at = q.time_at(2);
  b.finished_at = q.opt_time_at(3);
  b.counts = {q.int_at(4), q.int_at(5), q.int_at(6), q.int_at(7)};
  if (auto read = b.read_callbacks({callback_at(q, 8), callback_at(q, 9), callback_at(q, 10)});
      !read) {
    return read.error();
  }
  b.success_job = job_at(q, 11);
  b.complete_job = job_at(q, 12);
  b.death_job = job_at(q, 13);
  return b;
}

core::Result<std::int64_t> batch_rowid(std::string_view id) {
  if (auto rowid = core::parse_job_id(id)) return *rowid;
  return batch_not_found(id);
}

void bind_job_or_null(Query& q, int index, const std::string& id) {
  if (auto rowid = core::parse_job_id(id)) {
    q.bind_int(index, *rowid);
  } else {
    q.bind_null(index);
  }
}

// Fires what the batch owes now (core::batch_firing) and saves its state.
core::Result<void> settle(OpContext& c, std::int64_t rowid, core::Batch& b, core::TimePoint now) {
  const auto firing = core::batch_firing(b);
  if (firing.done) {
    b.state = core::BatchState::done;
    b.finished_at = now;
  }
  for (auto kind : core::kBatchCallbacks) {
    if (!firing.due(kind)) continue;
    core::NewJob job = *b.callback(kind);
    job.payload = core::callback_payload(job.payload, b);
    auto out = job_insert_many(c, {.jobs = {std::move(job)}, .now = now});
    if (!out) return out.error();
    b.callback_job(kind) = out->front().id;
  }
  if (!firing.done && !firing.death) return {};
  Query q(c.sql[Sql::batch_save]);
  q.bind_int(1, rowid).bind_int(2, static_cast<int>(b.state)).bind_opt_time(3, b.finished_at);
  bind_job_or_null(q, 4, b.success_job);
  bind_job_or_null(q, 5, b.complete_job);
  bind_job_or_null(q, 6, b.death_job);
  return q.run();
}

core::Result<void> add_counts(Statements& sql, std::int64_t rowid, const core::BatchCounts& d) {
  Query q(sql[Sql::batch_count]);
  q.bind_int(1, rowid).bind_int(2, d.total).bind_int(3, d.succeeded).bind_int(4, d.dead);
  q.bind_int(5, d.cancelled);
  return q.run();
}

// Inserts jobs into batch `rowid` and counts the new ones (those that ended
// at once, cancelled by a failed parent, as ended).
core::Result<std::vector<InsertOutcome>> insert_into(OpContext& c, std::int64_t rowid,
                                                     std::vector<core::NewJob> jobs,
                                                     core::TimePoint now) {
  auto out = insert_jobs(c, jobs, now, rowid);
  if (!out) return out.error();
  const auto d = batch_added(*out);
  if (auto added = add_counts(c.sql, rowid, d); !added) return added.error();
  return out;
}

}  // namespace

core::Result<void> batch_job_ended(OpContext& c, std::int64_t batch, JobState end,
                                   core::TimePoint now, bool undo) {
  if (!core::is_terminal(end)) return {};
  auto b = read_batch(c.sql, batch, core::format_job_id(batch));
  if (!b) return b.error().code == core::errc::not_found ? core::Result<void>() : b.error();
  if (b->state == core::BatchState::done) return {};  // its callbacks fired: counts stay
  const auto d = core::BatchCounts::ended_as(end, undo ? -1 : 1);
  if (auto added = add_counts(c.sql, batch, d); !added) return added;
  b->counts += d;
  if (undo) return {};
  return settle(c, batch, *b, now);
}

core::Result<BatchInsertOutcome> batch_create(OpContext& c, const BatchCreateParams& p) {
  const std::int64_t rowid = take_job_id(c, p.now);
  const auto text = [](const std::optional<core::NewJob>& j) {
    return j ? core::callback_to_json(*j) : std::string();
  };
  const std::string success = text(p.on_success), complete = text(p.on_complete),
                    death = text(p.on_death);
  {
    Query q(c.sql[Sql::batch_insert]);
    q.bind_int(1, rowid).bind_int(
        2, static_cast<int>(p.open ? core::BatchState::open : core::BatchState::sealed));
    q.bind_time(3, p.now).bind_text_or_null(4, success).bind_text_or_null(5, complete);
    q.bind_text_or_null(6, death);
    if (auto done = q.run(); !done) return done.error();
  }
  auto jobs = insert_into(c, rowid, p.jobs, p.now);
  if (!jobs) return jobs.error();
  auto b = read_batch(c.sql, rowid, core::format_job_id(rowid));
  if (!b) return b.error();
  if (auto settled = settle(c, rowid, *b, p.now); !settled) return settled.error();
  return BatchInsertOutcome{.batch = std::move(*b), .jobs = std::move(*jobs)};
}

core::Result<BatchInsertOutcome> batch_add(OpContext& c, const BatchAddParams& p) {
  auto rowid = batch_rowid(p.id);
  if (!rowid) return rowid.error();
  auto b = read_batch(c.sql, *rowid, p.id);
  if (!b) return b.error();
  if (b->state != core::BatchState::open) {
    return core::make_error(
        core::errc::conflict,
        fmt::format("batch {} is {}: no more jobs can be added", p.id, core::to_string(b->state)),
        "batch");
  }
  auto jobs = insert_into(c, *rowid, p.jobs, p.now);
  if (!jobs) return jobs.error();
  auto after = read_batch(c.sql, *rowid, p.id);
  if (!after) return after.error();
  if (auto settled = settle(c, *rowid, *after, p.now); !settled) return settled.error();
  return BatchInsertOutcome{.batch = std::move(*after), .jobs = std::move(*jobs)};
}

core::Result<core::Batch> batch_seal(OpContext& c, const BatchSealParams& p) {
  auto rowid = batch_rowid(p.id);
  if (!rowid) return rowid.error();
  auto b = read_batch(c.sql, *rowid, p.id);
  if (!b) return b.error();
  if (b->state != core::BatchState::open) return b;
  b->state = core::BatchState::sealed;
  {
    Query q(c.sql[Sql::batch_save]);
    q.bind_int(1, *rowid).bind_int(2, static_cast<int>(b->state)).bind_null(3);
    q.bind_null(4).bind_null(5);
    bind_job_or_null(q, 6, b->death_job);
    if (auto done = q.run(); !done) return done.error();
  }
  if (auto settled = settle(c, *rowid, *b, p.now); !settled) return settled.error();
  return b;
}

core::Result<core::Batch> batch_get(OpContext& c, const BatchGetParams& p) {
  auto rowid = batch_rowid(p.id);
  if (!rowid) return rowid.error();
  return read_batch(c.sql, *rowid, p.id);
}

core::Result<JobPage> batch_jobs(OpContext& c, const JobListParams& p) {
  auto rowid = batch_rowid(p.batch);
  if (!rowid) return rowid.error();
  if (auto b = read_batch(c.sql, *rowid, p.batch); !b) return b.error();
  std::int64_t before = std::numeric_limits<std::int64_t>::max();
  if (!p.cursor.empty()) {
    auto cursor = find_rowid(c.sql, p.cursor);
    if (!cursor) return cursor.error();
    before = *cursor;
  }
  Query q(c.sql[Sql::jobs_of_batch]);
  q.bind_int(1, *rowid).bind_int(2, before).bind_int(3, static_cast<std::int64_t>(p.limit + 1));
  auto rows = read_jobs(q);
  if (!rows) return rows.error();
  JobPage page;
  for (auto& row : *rows) {
    if (page.jobs.size() == p.limit) {
      page.next_cursor = page.jobs.back().id;
      break;
    }
    if (!p.client_json) {
      row.job.payload = {};
      row.job.result = {};
      if (row.job.progress) row.job.progress->data = {};
    }
    page.jobs.push_back(std::move(row.job));
  }
  return page;
}

core::Result<std::int64_t> prune_batches(OpContext& c, core::TimePoint finished_before,
                                         std::size_t limit) {
  Query q(c.sql[Sql::batches_prune]);
  q.bind_time(1, finished_before).bind_int(2, static_cast<std::int64_t>(limit));
  if (auto done = q.run(); !done) return done.error();
  return 0;
}

}  // namespace errand::store::sqlite::ops
