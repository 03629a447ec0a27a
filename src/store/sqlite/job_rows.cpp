#include "store/sqlite/job_rows.hpp"

#include "core/id.hpp"

#include <fmt/format.h>

#include <array>

namespace errand::store::sqlite {
namespace {

const std::string kNull = "null";

enum Col {
  kId,
  kLegacyId,
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
  kKey,
  kLinks,
  kBatchId,
  kOnDone,
  kTraceparent,
  kTracestate,
};

}  // namespace

JobRow read_job(const Query& q, bool client_json) {
  JobColumns c;
  c.rowid = q.int_at(kId);
  c.id = public_id(q, kId, kLegacyId);
  c.queue = q.text_at(kQueue);
  c.type = q.text_at(kType);
  if (!q.is_null(kPayload)) c.payload = q.text_at(kPayload);
  c.state = q.int_at(kState);
  c.priority = q.int_at(kPriority);
  c.run_at = q.time_at(kRunAt);
  c.created_at = q.time_at(kCreatedAt);
  c.started_at = q.opt_time_at(kStartedAt);
  c.finished_at = q.opt_time_at(kFinishedAt);
  c.attempt = q.int_at(kAttempt);
  c.max_attempts = q.int_at(kMaxAttempts);
  c.timeout_ms = q.int_at(kTimeout);
  c.idempotency_key = q.text_at(kIdempotencyKey);
  c.tags = q.text_at(kTags);
  if (!q.is_null(kProgress)) c.progress = q.text_at(kProgress);
  if (!q.is_null(kResult)) c.result = q.text_at(kResult);
  c.errors = q.text_at(kErrors);
  c.lease_id = q.text_at(kLeaseId);
  c.worker = q.text_at(kWorker);
  c.lease_expires_at = q.opt_time_at(kLeaseExpiresAt);
  c.cancel_requested = q.int_at(kCancelRequested) != 0;
  c.key = q.text_at(kKey);
  c.links = q.int_at(kLinks);
  if (!q.is_null(kBatchId)) c.batch_id = q.int_at(kBatchId);
  if (!q.is_null(kOnDone)) c.on_done = q.text_at(kOnDone);
  if (!q.is_null(kTraceparent)) c.traceparent = q.text_at(kTraceparent);
  if (!q.is_null(kTracestate)) c.tracestate = q.text_at(kTracestate);
  return decode_job(c, client_json);
}

core::Result<std::vector<JobRow>> read_jobs(Query& q, std::vector<JobRow>* unreadable) {
  std::vector<JobRow> rows;
  for (;;) {
    auto row = q.step();
    if (!row) return row.error();
    if (!*row) return rows;
    auto job = read_job(q);
    if (job.unreadable.empty()) {
      rows.push_back(std::move(job));
    } else if (unreadable) {
      unreadable->push_back(std::move(job));
    }
  }
}

std::string public_id(const Query& q, int id_col, int legacy_col) {
  if (q.is_null(legacy_col)) return core::format_job_id(q.int_at(id_col));
  return std::string(q.text_at(legacy_col));
}

core::Result<std::int64_t> find_rowid(Statements& sql, std::string_view id) {
  if (auto parsed = core::parse_job_id(id)) return *parsed;
  if (!core::is_legacy_id(id)) return 0;
  Query q(sql[Sql::job_by_legacy_id]);
  q.bind_text(1, id);
  auto row = q.step();
  if (!row) return row.error();
  return *row ? q.int_at(0) : 0;
}

core::Result<JobRow> load_job(Statements& sql, std::string_view id) {
  auto rowid = find_rowid(sql, id);
  if (!rowid) return rowid.error();
  Query q(sql[Sql::job_by_id]);
  q.bind_int(1, *rowid);
  auto row = q.step();
  if (!row) return row.error();
  if (!*row) return job_not_found(id);
  auto job = read_job(q);
  if (!job.unreadable.empty()) return unreadable_error(job);
  return job;
}

namespace {

// Binds one row of job_insert from parameter `first` (`tags` is the job's
// tags as stored, kept alive by the caller until the statement is done).
void bind_new_job(Query& q, int first, const NewJobRow& row, const std::string& tags,
                  core::TimePoint now, std::optional<std::int64_t> batch) {
  const core::NewJob& job = *row.job;
  const core::JobSettings& settings = row.settings;
  const int p = first - 1;
  const std::string& payload = job.payload.empty() ? kNull : job.payload.stored();
  q.bind_int(p + 1, row.id).bind_text(p + 2, job.queue).bind_text(p + 3, job.type);
  q.bind_text(p + 4, payload).bind_int(p + 5, static_cast<int>(row.state));
  q.bind_int(p + 6, settings.priority).bind_time(p + 7, job.run_at).bind_time(p + 8, now);
  q.bind_int(p + 9, settings.max_attempts).bind_int(p + 10, settings.timeout.count());
  q.bind_text_or_null(p + 11, job.idempotency_key).bind_text(p + 12, tags);
  q.bind_text(p + 13, job.key);
  q.bind_text_or_null(p + 14, job.unique ? std::string_view(job.unique->key) : "");
  q.bind_text_or_null(p + 15, job.debounce ? std::string_view(job.debounce->key) : "");
  if (job.debounce && job.debounce->max_wait) {
    q.bind_time(p + 16, now + *job.debounce->max_wait);
  } else {
    q.bind_null(p + 16);
  }
  const std::int64_t links =
      (batch ? kLinkBatch : 0) | (settings.on_done.empty() ? 0 : kLinkWebhook);
  if (batch) {
    q.bind_int(p + 17, *batch);
  } else {
    q.bind_null(p + 17);
  }
  q.bind_int(p + 18, links).bind_text_or_null(p + 19, settings.on_done);
  q.bind_text_or_null(p + 20, job.traceparent).bind_text_or_null(p + 21, job.tracestate);
}

// A tag or error list as stored: an empty one as '' rather than '[]' (most
// jobs have neither, and the two bytes saved on each are 2 MB a million
// jobs). parse_tags and parse_errors read both forms.
std::string stored_list(std::string list) {
  return list == "[]" ? std::string() : list;
}

}  // namespace

core::Result<void> insert_job(Statements& sql, std::int64_t id, const core::NewJob& job,
                              const core::JobSettings& settings, core::JobState state,
                              core::TimePoint now, std::optional<std::int64_t> batch) {
  const std::string tags = stored_list(tags_text(job.tags));
  Query q(sql[Sql::job_insert]);
  const NewJobRow row{.id = id, .job = &job, .settings = settings, .state = state};
  bind_new_job(q, 1, row, tags, now, batch);  // bound text must outlive run()
  return q.run();
}

NewJobRows job_row_writer(Statements& sql, core::TimePoint now, std::optional<std::int64_t> batch) {
  return NewJobRows(
      kJobInsertRowsMax, [&sql, now, batch](std::span<const NewJobRow> rows) -> core::Result<void> {
        std::array<std::string, kJobInsertRowsMax> tags;  // bound: outlive run()
        Query q(sql.job_insert_rows(rows.size()));
        for (std::size_t r = 0; r < rows.size(); ++r) {
          tags[r] = stored_list(tags_text(rows[r].job->tags));
          bind_new_job(q, static_cast<int>(r * kJobInsertParams + 1), rows[r], tags[r], now, batch);
        }
        return q.run();
      });
}

core::Result<void> save_job(Statements& sql, const JobRow& row) {
  const core::Job& j = row.job;
  const std::string progress = j.progress ? progress_text(*j.progress) : std::string();
  const std::string& result = j.result.stored();
  const std::string errors = stored_list(errors_text(j.errors));
  Query q(sql[Sql::job_save]);
  q.bind_int(1, row.rowid).bind_int(2, static_cast<int>(j.state)).bind_time(3, j.run_at);
  q.bind_opt_time(4, j.started_at).bind_opt_time(5, j.finished_at).bind_int(6, j.attempt);
  q.bind_int(7, j.max_attempts).bind_text_or_null(8, progress).bind_text_or_null(9, result);
  q.bind_text(10, errors).bind_text_or_null(11, j.lease_id).bind_text_or_null(12, j.worker);
  q.bind_opt_time(13, j.lease_expires_at).bind_int(14, j.cancel_requested ? 1 : 0);
  return q.run();
}

core::Result<void> load_push_bookkeeping(Statements& sql, JobRow& row) {
  core::Job& job = row.job;
  Query q(sql[Sql::job_push_get]);
  q.bind_int(1, row.rowid);
  auto found = q.step();
  if (!found) return found.error();
  if (!*found) return {};
  job.push_continuations = q.int_at(0);
  job.push_deferrals = static_cast<int>(q.int_at(1));
  if (!q.is_null(2)) job.push_state = q.text_at(2);
  read_signal_wait(job, q.is_null(3) ? std::optional<std::string_view>() : q.text_at(3),
                   q.text_at(4), q.int_at(5));
  return {};
}

}  // namespace errand::store::sqlite
