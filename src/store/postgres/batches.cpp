// Batches (store/store.hpp "batches") on PostgreSQL: the batches table, the
// counts a batch job's end adds (under the batch row's lock, so every server
// counts each end once and fires each callback once), and the callback jobs
// fired in the same transaction.
#include "core/id.hpp"
#include "store/postgres/links.hpp"
#include "store/postgres/ops.hpp"

#include <fmt/format.h>

#include <limits>

namespace errand::store::postgres::ops {
namespace {

using core::JobState;

constexpr std::string_view kBatchColumns =
    "id, state, created_at, finished_at, total, succeeded, dead, cancelled, on_success,"
    " on_complete, on_death, success_job, complete_job, death_job";

const Statement kBatchInsert{
    "batch_insert",
    "INSERT INTO batches(id, state, created_at, on_success, on_complete,"
    " on_death) VALUES (next_job_id($1), $2, $1, $3, $4, $5) RETURNING id"};
const Statement kBatchGet{"batch_get",
                          "SELECT " + std::string(kBatchColumns) + " FROM batches WHERE id = $1"};
const Statement kBatchCount{
    "batch_count",
    "UPDATE batches SET total = total + $2, succeeded = succeeded + $3, dead = dead + $4,"
    " cancelled = cancelled + $5 WHERE id = $1 RETURNING " +
        std::string(kBatchColumns)};
const Statement kBatchLock{"batch_lock", "SELECT " + std::string(kBatchColumns) +
                                             " FROM batches WHERE id = $1 FOR UPDATE"};
const Statement kBatchSave{"batch_save",
                           "UPDATE batches SET state = $2, finished_at = $3, success_job = $4,"
                           " complete_job = $5, death_job = $6 WHERE id = $1"};
const Statement kJobsOfBatch{"jobs_of_batch", "SELECT " + std::string(kJobColumns) +
                                                  " FROM jobs WHERE batch_id = $1 AND id < $2"
                                                  " ORDER BY id DESC LIMIT $3"};
const Statement kBatchesPrune{
    "batches_prune",
    "DELETE FROM batches WHERE id = ANY (ARRAY(SELECT id FROM batches WHERE finished_at IS NOT"
    " NULL AND finished_at < $1 ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED))"};

core::Error batch_not_found(std::string_view id) {
  return core::make_error(core::errc::not_found, fmt::format("no batch {}", id), "id");
}

std::optional<std::string_view> callback_at(const Rows& r, int col) {
  if (r.is_null(0, col)) return std::nullopt;
  return r.text(0, col);
}

std::string job_at(const Rows& r, int col) {
  return r.is_null(0, col) ? std::string() : core::format_job_id(r.integer(0, col));
}

core::Result<core::Batch> read_batch(const Rows& r, std::string_view shown) {
  if (r.empty()) return batch_not_found(shown);
  core::Batch b;
  b.id = core::format_job_id(r.integer(0, 0));
  b.state = static_cast<core::BatchState>(r.integer(0, 1));
  b.created_at = r.time(0, 2);
  b.finished_at = r.opt_time(0, 3);
  b.counts = {r.integer(0, 4), r.integer(0, 5), r.integer(0, 6), r.integer(0, 7)};
  if (auto read = b.read_callbacks({callback_at(r, 8), callback_at(r, 9), callback_at(r, 10)});
      !read) {
    return read.error();
  }
  b.success_job = job_at(r, 11);
  b.complete_job = job_at(r, 12);
  b.death_job = job_at(r, 13);
  return b;
}

core::Result<core::Batch> run_batch(Conn& db, const Statement& s, Params p,
                                    std::string_view shown) {
  auto r = db.run(s, p);
  if (!r) return r.error();
  return read_batch(*r, shown);
}

core::Result<std::int64_t> batch_rowid(std::string_view id) {
  if (auto rowid = core::parse_job_id(id)) return *rowid;
  return batch_not_found(id);
}

Params& job_or_null(Params& p, const std::string& id) {
  return p.opt_integer(core::parse_job_id(id));
}

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
    auto out = insert_jobs(c, {std::move(job)}, now, std::nullopt);
    if (!out) return out.error();
    b.callback_job(kind) = out->front().id;
  }
  if (!firing.done && !firing.death) return {};
  Params p;
  p.integer(rowid).integer(static_cast<int>(b.state)).opt_time(b.finished_at);
  job_or_null(p, b.success_job);
  job_or_null(p, b.complete_job);
  job_or_null(p, b.death_job);
  if (auto r = c.db.run(kBatchSave, p); !r) return r.error();
  return {};
}

core::Result<core::Batch> add_counts(OpContext& c, std::int64_t rowid, const core::BatchCounts& d) {
  Params p;
  p.integer(rowid).integer(d.total).integer(d.succeeded).integer(d.dead).integer(d.cancelled);
  return run_batch(c.db, kBatchCount, p, core::format_job_id(rowid));
}

core::Result<std::pair<std::vector<InsertOutcome>, core::Batch>> insert_into(
    OpContext& c, std::int64_t rowid, const std::vector<core::NewJob>& jobs, core::TimePoint now) {
  auto out = insert_jobs(c, jobs, now, rowid);
  if (!out) return out.error();
  const auto d = batch_added(*out);
  auto b = add_counts(c, rowid, d);
  if (!b) return b.error();
  return std::pair{std::move(*out), std::move(*b)};
}

}  // namespace

core::Result<void> batch_job_ended(OpContext& c, std::int64_t batch, JobState end,
                                   core::TimePoint now, bool undo) {
  if (!core::is_terminal(end)) return {};
  auto locked = run_batch(c.db, kBatchLock, Params().integer(batch), core::format_job_id(batch));
  if (!locked)
    return locked.error().code == core::errc::not_found ? core::Result<void>() : locked.error();
  if (locked->state == core::BatchState::done) return {};  // its callbacks fired: counts stay
  auto b = add_counts(c, batch, core::BatchCounts::ended_as(end, undo ? -1 : 1));
  if (!b) return b.error();
  if (undo) return {};
  return settle(c, batch, *b, now);
}

core::Result<BatchInsertOutcome> batch_create(OpContext& c, const BatchCreateParams& p) {
  const auto text = [](const std::optional<core::NewJob>& j) {
    return j ? core::callback_to_json(*j) : std::string();
  };
  Params params;
  params.time(p.now).integer(
      static_cast<int>(p.open ? core::BatchState::open : core::BatchState::sealed));
  params.text_or_null(text(p.on_success)).text_or_null(text(p.on_complete));
  params.text_or_null(text(p.on_death));
  auto r = c.db.run(kBatchInsert, params);
  if (!r) return r.error();
  const std::int64_t rowid = r->integer(0, 0);
  auto added = insert_into(c, rowid, p.jobs, p.now);
  if (!added) return added.error();
  if (auto settled = settle(c, rowid, added->second, p.now); !settled) return settled.error();
  return BatchInsertOutcome{.batch = std::move(added->second), .jobs = std::move(added->first)};
}

core::Result<BatchInsertOutcome> batch_add(OpContext& c, const BatchAddParams& p) {
  auto rowid = batch_rowid(p.id);
  if (!rowid) return rowid.error();
  auto b = run_batch(c.db, kBatchLock, Params().integer(*rowid), p.id);
  if (!b) return b.error();
  if (b->state != core::BatchState::open) {
    return core::make_error(
        core::errc::conflict,
        fmt::format("batch {} is {}: no more jobs can be added", p.id, core::to_string(b->state)),
        "batch");
  }
  auto added = insert_into(c, *rowid, p.jobs, p.now);
  if (!added) return added.error();
  if (auto settled = settle(c, *rowid, added->second, p.now); !settled) return settled.error();
  return BatchInsertOutcome{.batch = std::move(added->second), .jobs = std::move(added->first)};
}

core::Result<core::Batch> batch_seal(OpContext& c, const BatchSealParams& p) {
  auto rowid = batch_rowid(p.id);
  if (!rowid) return rowid.error();
  auto b = run_batch(c.db, kBatchLock, Params().integer(*rowid), p.id);
  if (!b) return b.error();
  if (b->state != core::BatchState::open) return b;
  b->state = core::BatchState::sealed;
  Params params;
  params.integer(*rowid).integer(static_cast<int>(b->state)).null().null().null();
  job_or_null(params, b->death_job);
  if (auto r = c.db.run(kBatchSave, params); !r) return r.error();
  if (auto settled = settle(c, *rowid, *b, p.now); !settled) return settled.error();
  return b;
}

core::Result<core::Batch> batch_get(OpContext& c, const BatchGetParams& p) {
  auto rowid = batch_rowid(p.id);
  if (!rowid) return rowid.error();
  return run_batch(c.db, kBatchGet, Params().integer(*rowid), p.id);
}

core::Result<JobPage> batch_jobs(OpContext& c, const JobListParams& p) {
  auto rowid = batch_rowid(p.batch);
  if (!rowid) return rowid.error();
  if (auto b = run_batch(c.db, kBatchGet, Params().integer(*rowid), p.batch); !b) return b.error();
  std::int64_t before = std::numeric_limits<std::int64_t>::max();
  if (!p.cursor.empty()) {
    auto cursor = core::parse_job_id(p.cursor);
    if (!cursor) return core::invalid("cursor", "cursor is not a job id");
    before = *cursor;
  }
  Params params;
  params.integer(*rowid).integer(before).integer(static_cast<std::int64_t>(p.limit + 1));
  auto r = c.db.run(kJobsOfBatch, params);
  if (!r) return r.error();
  JobPage page;
  for (auto& row : read_jobs(*r)) {
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

core::Result<void> prune_batches(OpContext& c, core::TimePoint finished_before, std::size_t limit) {
  auto r = c.db.run(kBatchesPrune,
                    Params().time(finished_before).integer(static_cast<std::int64_t>(limit)));
  if (!r) return r.error();
  return {};
}

}  // namespace errand::store::postgres::ops
