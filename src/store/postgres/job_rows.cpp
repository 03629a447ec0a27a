#include "store/postgres/job_rows.hpp"

#include "core/id.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include <mutex>
#include <set>

namespace errand::store::postgres {
namespace json = boost::json;
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
};

const Statement kJobById{"job_by_id",
                         "SELECT " + std::string(kJobColumns) + " FROM jobs WHERE id = $1"};
const Statement kJobByIdLocked{"job_by_id_locked", "SELECT " + std::string(kJobColumns) +
                                                       " FROM jobs WHERE id = $1 FOR UPDATE"};
const Statement kJobInsert{
    "job_insert",
    "INSERT INTO jobs(id, queue, type, payload, state, priority, run_at, created_at, attempt,"
    " max_attempts, timeout_ms, idempotency_key, tags)"
    " VALUES (coalesce($12::bigint, next_job_id($7)), $1, $2, $3, $4, $5, $6, $7, 0, $8, $9, $10,"
    " $11) ON CONFLICT (queue, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING"
    " RETURNING id"};
const Statement kTakeJobId{"job_take_id", "SELECT next_job_id($1)"};
const Statement kJobSave{
    "job_save",
    "UPDATE jobs SET state = $2, run_at = $3, started_at = $4, finished_at = $5, attempt = $6,"
    " max_attempts = $7, progress = $8, result = $9, errors = $10, lease_id = $11,"
    " worker = $12, lease_expires_at = $13, cancel_requested = $14 WHERE id = $1"};
const Statement kJobSetState{"job_set_state", "UPDATE jobs SET state = $2 WHERE id = $1"};
const Statement kJobPushGet{
    "job_push_get", "SELECT continuations, deferrals, state FROM job_push WHERE job_id = $1"};

core::RawJson stored_json(const Rows& r, int i, int col, std::string_view field) {
  if (r.is_null(i, col)) return {};
  const auto text = r.text(i, col);
  if (auto ok = core::check_json(text, field); !ok) throw std::runtime_error(ok.error().message);
  return core::RawJson::trusted(std::string(text));
}

std::mutex unreadable_mu;
std::set<std::string> unreadable_seen;

std::vector<std::string> parse_tags(std::string_view text) {
  if (text == "[]") return {};
  const json::value parsed = json::parse(text);
  std::vector<std::string> tags;
  for (const auto& t : parsed.as_array()) tags.emplace_back(t.as_string());
  return tags;
}

std::string tags_text(const std::vector<std::string>& tags) {
  if (tags.empty()) return "[]";
  json::array a;
  a.reserve(tags.size());
  for (const auto& t : tags) a.emplace_back(t);
  return json::serialize(a);
}

core::Progress parse_progress(std::string_view text, bool with_data) {
  if (auto ok = core::check_json(text, "progress", core::kMaxJsonDepth + 1); !ok) {
    throw std::runtime_error(ok.error().message);
  }
  core::Progress p;
  bool has_time = false;
  for (const auto& m : core::json_members(text)) {
    if (m.key == "data") {
      if (with_data && m.value != "null") p.data = core::RawJson::trusted(std::string(m.value));
      continue;
    }
    const auto v = json::parse(m.value);
    if (m.key == "percent" && !v.is_null())
      p.percent = static_cast<int>(v.to_number<std::int64_t>());
    if (m.key == "message") p.message = v.as_string();
    if (m.key == "updated_at") {
      p.updated_at = core::from_unix_ms(v.to_number<std::int64_t>());
      has_time = true;
    }
  }
  if (!has_time) throw std::runtime_error("progress has no updated_at");
  return p;
}

std::vector<core::AttemptError> parse_errors(std::string_view text) {
  if (text == "[]") return {};
  const json::value parsed = json::parse(text);
  std::vector<core::AttemptError> errors;
  for (const auto& e : parsed.as_array()) {
    const auto& o = e.as_object();
    errors.push_back({static_cast<int>(o.at("attempt").to_number<std::int64_t>()),
                      core::from_unix_ms(o.at("at").to_number<std::int64_t>()),
                      std::string(o.at("message").as_string())});
  }
  return errors;
}

std::string errors_text(const std::vector<core::AttemptError>& errors) {
  if (errors.empty()) return "[]";
  json::array a;
  a.reserve(errors.size());
  for (const auto& e : errors) {
    a.emplace_back(json::object{
        {"attempt", e.attempt}, {"at", core::to_unix_ms(e.at)}, {"message", e.message}});
  }
  return json::serialize(a);
}

void read_fields(const Rows& r, int i, core::Job& j, bool client_json) {
  j.type = r.text(i, kType);
  if (client_json) j.payload = stored_json(r, i, kPayload, "payload");
  const auto state = r.integer(i, kState);
  if (state < 0 || state >= static_cast<std::int64_t>(std::size(core::kAllStates))) {
    throw std::runtime_error(fmt::format("unknown state {}", state));
  }
  j.state = static_cast<core::JobState>(state);
  j.priority = r.integer(i, kPriority);
  j.run_at = r.time(i, kRunAt);
  j.created_at = r.time(i, kCreatedAt);
  j.started_at = r.opt_time(i, kStartedAt);
  j.finished_at = r.opt_time(i, kFinishedAt);
  j.attempt = static_cast<int>(r.integer(i, kAttempt));
  j.max_attempts = static_cast<int>(r.integer(i, kMaxAttempts));
  j.timeout = core::Millis{r.integer(i, kTimeout)};
  j.idempotency_key = r.text(i, kIdempotencyKey);
  j.tags = parse_tags(r.text(i, kTags));
  if (!r.is_null(i, kProgress)) j.progress = parse_progress(r.text(i, kProgress), client_json);
  if (client_json) j.result = stored_json(r, i, kResult, "result");
  j.errors = parse_errors(r.text(i, kErrors));
  j.lease_id = r.text(i, kLeaseId);
  j.worker = r.text(i, kWorker);
  j.lease_expires_at = r.opt_time(i, kLeaseExpiresAt);
  j.cancel_requested = r.boolean(i, kCancelRequested);
}

}  // namespace

std::string progress_text(const core::Progress& p) {
  core::JsonWriter w;
  w.begin_object().key("percent");
  if (p.percent) {
    w.integer(*p.percent);
  } else {
    w.null();
  }
  w.key("message").string(p.message).key("data").raw(p.data);
  w.key("updated_at").integer(core::to_unix_ms(p.updated_at)).end_object();
  return w.take();
}

JobRow read_job(const Rows& r, int i, bool client_json) {
  JobRow row;
  row.rowid = r.integer(i, kId);
  core::Job& j = row.job;
  j.id = core::format_job_id(row.rowid);
  j.queue = r.text(i, kQueue);
  try {
    read_fields(r, i, j, client_json);
  } catch (const std::exception& e) {
    row.unreadable = e.what();
    note_unreadable(row);
  }
  return row;
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

std::int64_t unreadable_jobs_seen() {
  std::lock_guard lock(unreadable_mu);
  return static_cast<std::int64_t>(unreadable_seen.size());
}

void note_unreadable(const JobRow& row) {
  std::lock_guard lock(unreadable_mu);
  if (!unreadable_seen.insert(row.job.id).second) return;
  spdlog::error(
      "job {} of queue {} cannot be read ({}): lists and claims skip it; delete it with "
      "DELETE /v1/jobs/{}",
      row.job.id, row.job.queue, row.unreadable, row.job.id);
}

core::Error unreadable_error(const JobRow& row) {
  return core::make_error(
      core::errc::internal,
      fmt::format("job {} is stored in a form this server cannot read ({}); delete it with "
                  "DELETE /v1/jobs/{}",
                  row.job.id, row.unreadable, row.job.id),
      "id");
}

core::Error job_not_found(std::string_view id) {
  return core::make_error(core::errc::not_found, fmt::format("no job with id \"{}\"", id), "id");
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

core::Result<std::optional<std::int64_t>> insert_job(Conn& db, const core::NewJob& job,
                                                     const core::JobSettings& settings,
                                                     core::JobState state, core::TimePoint now,
                                                     std::optional<std::int64_t> id) {
  Params p;
  p.text(job.queue).text(job.type).text(job.payload.empty() ? kNull : job.payload.stored());
  p.integer(static_cast<int>(state)).integer(settings.priority).time(job.run_at).time(now);
  p.integer(settings.max_attempts).integer(settings.timeout.count());
  p.text_or_null(job.idempotency_key).text(tags_text(job.tags)).opt_integer(id);
  auto r = db.run(kJobInsert, p);
  if (!r) return r.error();
  if (r->empty()) return std::optional<std::int64_t>{};
  return std::optional<std::int64_t>{r->integer(0, 0)};
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
  return {};
}

}  // namespace errand::store::postgres
