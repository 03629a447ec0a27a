#include "store/postgres/job_rows.hpp"

#include "core/id.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>

namespace errand::store::postgres {
namespace {

const std::string kNull = "null";

enum Col {
  kId,
  kQueue,
  kType,
  kPayload,
  kState,
  kPriority,
  kRunAt,
  kCreatedAt,
  kStartedAt,
  kFinishedAt,
  kAttempt,
  kMaxAttempts,
  kTimeout,
  kIdempotencyKey,
  kTags,
  kProgress,
  kResult,
  kErrors,
  kLeaseId,
  kWorker,
  kLeaseExpiresAt,
  kCancelRequested,
  kEventSeq,
  kKey,
  kLinks,
  kBatchId,
  kOnDone,
  kTraceparent,
  kTracestate,
};

const Statement kJobById{"job_by_id",
                         "SELECT " + std::string(kJobColumns) + " FROM jobs WHERE id = $1"};
const Statement kJobByIdLocked{"job_by_id_locked", "SELECT " + std::string(kJobColumns) +
                                                       " FROM jobs WHERE id = $1 FOR UPDATE"};
constexpr std::string_view kJobInsertColumns =
    "INSERT INTO jobs(id, queue, type, payload, state, priority, run_at, created_at, attempt,"
    " max_attempts, timeout_ms, idempotency_key, tags, key, unique_key, debounce_key,"
    " debounce_until, batch_id, links, on_done, traceparent, tracestate)";
const Statement kJobInsert{
    "job_insert",
    std::string(kJobInsertColumns) +
        " VALUES (coalesce($12::bigint, next_job_id($7)), $1, $2, $3, $4, $5, $6, $7, 0, $8, $9,"
        " $10, $11, $13, $14, $15, $16, $17, $18, $19, $20, $21)"
        " ON CONFLICT (queue, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING"
        " RETURNING id"};
const Statement kTakeJobId{"job_take_id", "SELECT next_job_id($1)"};
const Statement kJobSave{
    "job_save",
    "UPDATE jobs SET state = $2, run_at = $3, started_at = $4, finished_at = $5, attempt = $6,"
    " max_attempts = $7, progress = $8, result = $9, errors = $10, lease_id = $11,"
    " worker = $12, lease_expires_at = $13, cancel_requested = $14, event_seq = event_seq + 1"
    " WHERE id = $1"};
const Statement kJobSetState{"job_set_state",
                             "UPDATE jobs SET state = $2, event_seq = event_seq + 1 WHERE id = $1"};
const Statement kJobPushGet{
    "job_push_get",
    "SELECT continuations, deferrals, state, signal, signal_nonce, signal_status FROM job_push"
    " WHERE job_id = $1"};

}  // namespace

JobRow read_job(const Rows& r, int i, bool client_json) {
  JobColumns c;
  c.rowid = r.integer(i, kId);
  c.id = core::format_job_id(c.rowid);
  c.queue = r.text(i, kQueue);
  c.type = r.text(i, kType);
  if (!r.is_null(i, kPayload)) c.payload = r.text(i, kPayload);
  c.state = r.integer(i, kState);
  c.priority = r.integer(i, kPriority);
  c.run_at = r.time(i, kRunAt);
  c.created_at = r.time(i, kCreatedAt);
  c.started_at = r.opt_time(i, kStartedAt);
  c.finished_at = r.opt_time(i, kFinishedAt);
  c.attempt = r.integer(i, kAttempt);
  c.max_attempts = r.integer(i, kMaxAttempts);
  c.timeout_ms = r.integer(i, kTimeout);
  c.idempotency_key = r.text(i, kIdempotencyKey);
  c.tags = r.text(i, kTags);
  if (!r.is_null(i, kProgress)) c.progress = r.text(i, kProgress);
  if (!r.is_null(i, kResult)) c.result = r.text(i, kResult);
  c.errors = r.text(i, kErrors);
  c.lease_id = r.text(i, kLeaseId);
  c.worker = r.text(i, kWorker);
  c.lease_expires_at = r.opt_time(i, kLeaseExpiresAt);
  c.cancel_requested = r.boolean(i, kCancelRequested);
  c.event_seq = r.integer(i, kEventSeq);
  c.key = r.text(i, kKey);
  c.links = r.integer(i, kLinks);
  c.batch_id = r.opt_integer(i, kBatchId);
  if (!r.is_null(i, kOnDone)) c.on_done = r.text(i, kOnDone);
  if (!r.is_null(i, kTraceparent)) c.traceparent = r.text(i, kTraceparent);
  if (!r.is_null(i, kTracestate)) c.tracestate = r.text(i, kTracestate);
  return decode_job(c, client_json);
}

std::vector<JobRow> read_jobs(const Rows& rows, std::vector<JobRow>* unreadable) {
  std::vector<JobRow> out;
  out.reserve(static_cast<std::size_t>(rows.size()));
  for (int i = 0; i < rows.size(); ++i) {
    auto job = read_job(rows, i);
    if (job.unreadable.empty()) {
      out.push_back(std::move(job));
    } else if (unreadable) {
      unreadable->push_back(std::move(job));
    }
  }
  return out;
}

core::Result<JobRow> load_job(Conn& db, std::string_view id, bool lock) {
  const auto rowid = core::parse_job_id(id);
  if (!rowid) return job_not_found(id);
  auto r = db.run(lock ? kJobByIdLocked : kJobById, Params().integer(*rowid));
  if (!r) return r.error();
  if (r->empty()) return job_not_found(id);
  auto job = read_job(*r, 0);
  if (!job.unreadable.empty()) return unreadable_error(job);
  return job;
}

namespace {

// Appends one new job's parameters in job_insert's order: $1 queue … $11
// idempotency key, $12 id (NULL: a fresh one), $13 key … $21 tracestate.
void add_job_params(Params& p, const core::NewJob& job, const core::JobSettings& settings,
                    core::JobState state, core::TimePoint now, std::optional<std::int64_t> id,
                    std::optional<std::int64_t> batch) {
  p.text(job.queue).text(job.type).text(job.payload.empty() ? kNull : job.payload.stored());
  p.integer(static_cast<int>(state)).integer(settings.priority).time(job.run_at).time(now);
  p.integer(settings.max_attempts).integer(settings.timeout.count());
  p.text_or_null(job.idempotency_key).text(tags_text(job.tags)).opt_integer(id).text(job.key);
  p.text_or_null(job.unique ? std::string_view(job.unique->key) : "");
  p.text_or_null(job.debounce ? std::string_view(job.debounce->key) : "");
  if (job.debounce && job.debounce->max_wait) {
    p.time(now + *job.debounce->max_wait);
  } else {
    p.null();
  }
  p.opt_integer(batch).integer((batch ? kLinkBatch : 0) |
                               (settings.on_done.empty() ? 0 : kLinkWebhook));
  p.text_or_null(settings.on_done).text_or_null(job.traceparent).text_or_null(job.tracestate);
}

constexpr int kJobParams = 21;
// Rows a statement at most (a power of two): one round trip for them all.
constexpr std::size_t kJobInsertRowsMax = 64;

// job_insert of `rows` rows whose ids are given ($12 of each row).
Statement job_insert_rows_statement(const char* name, std::size_t rows) {
  std::string sql = std::string(kJobInsertColumns) + " VALUES ";
  for (std::size_t r = 0; r < rows; ++r) {
    const std::size_t b = r * kJobParams;
    sql += fmt::format("{}(${}::bigint, ${}, ${}, ${}, ${}, ${}, ${}, ${}, 0", r == 0 ? "" : ", ",
                       b + 12, b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7);
    for (std::size_t i : {8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21}) {
      sql += fmt::format(", ${}", b + i);
    }
    sql += ')';
  }
  return Statement{name, std::move(sql)};
}

// Statements of 2, 4, … kJobInsertRowsMax rows.
const Statement& job_insert_rows(std::size_t rows) {
  static const std::array<Statement, 6> kRows{job_insert_rows_statement("job_insert_rows_2", 2),
                                              job_insert_rows_statement("job_insert_rows_4", 4),
                                              job_insert_rows_statement("job_insert_rows_8", 8),
                                              job_insert_rows_statement("job_insert_rows_16", 16),
                                              job_insert_rows_statement("job_insert_rows_32", 32),
                                              job_insert_rows_statement("job_insert_rows_64", 64)};
  static_assert(std::bit_width(kJobInsertRowsMax) - 1 == kRows.size());
  return kRows[std::bit_width(rows) - 2];
}

const Statement kTakeJobIds{"job_take_ids", "SELECT next_job_id($1) FROM generate_series(1, $2)"};

}  // namespace

core::Result<std::optional<std::int64_t>> insert_job(Conn& db, const core::NewJob& job,
                                                     const core::JobSettings& settings,
                                                     core::JobState state, core::TimePoint now,
                                                     std::optional<std::int64_t> id,
                                                     std::optional<std::int64_t> batch) {
  Params p;
  add_job_params(p, job, settings, state, now, id, batch);
  auto r = db.run(kJobInsert, p);
  if (!r) return r.error();
  if (r->empty()) return std::optional<std::int64_t>{};
  return std::optional<std::int64_t>{r->integer(0, 0)};
}

core::Result<std::vector<std::int64_t>> take_job_ids(Conn& db, core::TimePoint now, std::size_t n) {
  auto r = db.run(kTakeJobIds, Params().time(now).integer(static_cast<std::int64_t>(n)));
  if (!r) return r.error();
  std::vector<std::int64_t> ids;
  ids.reserve(n);
  for (int i = 0; i < r->size(); ++i) ids.push_back(r->integer(i, 0));
  std::sort(ids.begin(), ids.end());
  return ids;
}

NewJobRows job_row_writer(Conn& db, core::TimePoint now, std::optional<std::int64_t> batch) {
  return NewJobRows(
      kJobInsertRowsMax, [&db, now, batch](std::span<const NewJobRow> rows) -> core::Result<void> {
        Params p;
        for (const auto& row : rows) {
          add_job_params(p, *row.job, row.settings, row.state, now, row.id, batch);
        }
        auto done = db.run(rows.size() == 1 ? kJobInsert : job_insert_rows(rows.size()), p);
        if (!done) return done.error();
        return {};
      });
}

core::Result<std::int64_t> take_job_id(Conn& db, core::TimePoint now) {
  auto r = db.run(kTakeJobId, Params().time(now));
  if (!r) return r.error();
  return r->integer(0, 0);
}

core::Result<void> save_job(Conn& db, const JobRow& row) {
  const core::Job& j = row.job;
  Params p;
  p.integer(row.rowid).integer(static_cast<int>(j.state)).time(j.run_at);
  p.opt_time(j.started_at).opt_time(j.finished_at).integer(j.attempt).integer(j.max_attempts);
  p.text_or_null(j.progress ? progress_text(*j.progress) : std::string());
  p.text_or_null(j.result.stored()).text(errors_text(j.errors));
  p.text_or_null(j.lease_id).text_or_null(j.worker).opt_time(j.lease_expires_at);
  p.boolean(j.cancel_requested);
  auto r = db.run(kJobSave, p);
  if (!r) return r.error();
  return {};
}

core::Result<void> save_state(Conn& db, std::int64_t rowid, core::JobState state) {
  auto r = db.run(kJobSetState, Params().integer(rowid).integer(static_cast<int>(state)));
  if (!r) return r.error();
  return {};
}

core::Result<void> load_push_bookkeeping(Conn& db, JobRow& row) {
  auto r = db.run(kJobPushGet, Params().integer(row.rowid));
  if (!r) return r.error();
  if (r->empty()) return {};
  row.job.push_continuations = r->integer(0, 0);
  row.job.push_deferrals = static_cast<int>(r->integer(0, 1));
  if (!r->is_null(0, 2)) row.job.push_state = r->text(0, 2);
  read_signal_wait(row.job, r->is_null(0, 3) ? std::optional<std::string_view>() : r->text(0, 3),
                   r->text(0, 4), r->integer(0, 5));
  return {};
}

}  // namespace errand::store::postgres
