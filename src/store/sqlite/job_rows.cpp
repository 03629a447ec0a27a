#include "store/sqlite/job_rows.hpp"

#include "core/id.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include <atomic>
#include <mutex>
#include <set>

namespace errand::store::sqlite {
namespace json = boost::json;
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
};

// Client JSON comes back as it was stored. It is checked on the way out
// too: a row written by an older version (which could store `Infinity`) or
// damaged on disk must be caught here, not by the client.
core::RawJson stored_json(const Query& q, int col, std::string_view field) {
  if (q.is_null(col)) return {};
  const auto text = q.text_at(col);
  if (auto ok = core::check_json(text, field); !ok) throw std::runtime_error(ok.error().message);
  return core::RawJson::trusted(std::string(text));
}

// Unreadable jobs seen by this process, logged once each.
std::mutex unreadable_mu;
std::set<std::string> unreadable_seen;

std::vector<std::string> parse_tags(std::string_view text) {
  if (text == "[]") return {};                   // most jobs: no parse, no allocation
  const json::value parsed = json::parse(text);  // must outlive the loop over its array
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

JobRow read_job(const Query& q, bool client_json) {
  JobRow row;
  row.rowid = q.int_at(kId);
  core::Job& j = row.job;
  j.id = public_id(q, kId, kLegacyId);
  j.queue = q.text_at(kQueue);
  try {
    read_fields(q, j, client_json);
  } catch (const std::exception& e) {
    row.unreadable = e.what();
    note_unreadable(row);
  }
  return row;
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

void read_fields(const Query& q, core::Job& j, bool client_json) {
  j.type = q.text_at(kType);
  if (client_json) j.payload = stored_json(q, kPayload, "payload");
  const auto state = q.int_at(kState);
  if (state < 0 || state >= static_cast<std::int64_t>(std::size(core::kAllStates))) {
    throw std::runtime_error(fmt::format("unknown state {}", state));
  }
  j.state = static_cast<core::JobState>(state);
  j.priority = q.int_at(kPriority);
  j.run_at = q.time_at(kRunAt);
  j.created_at = q.time_at(kCreatedAt);
  j.started_at = q.opt_time_at(kStartedAt);
  j.finished_at = q.opt_time_at(kFinishedAt);
  j.attempt = static_cast<int>(q.int_at(kAttempt));
  j.max_attempts = static_cast<int>(q.int_at(kMaxAttempts));
  j.timeout = core::Millis{q.int_at(kTimeout)};
  j.idempotency_key = q.text_at(kIdempotencyKey);
  j.tags = parse_tags(q.text_at(kTags));
  if (!q.is_null(kProgress)) j.progress = parse_progress(q.text_at(kProgress), client_json);
  if (client_json) j.result = stored_json(q, kResult, "result");
  j.errors = parse_errors(q.text_at(kErrors));
  j.lease_id = q.text_at(kLeaseId);
  j.worker = q.text_at(kWorker);
  j.lease_expires_at = q.opt_time_at(kLeaseExpiresAt);
  j.cancel_requested = q.int_at(kCancelRequested) != 0;
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
  if (!*row) {
    return core::make_error(core::errc::not_found, fmt::format("no job with id \"{}\"", id), "id");
  }
  auto job = read_job(q);
  if (!job.unreadable.empty()) return unreadable_error(job);
  return job;
}

core::Result<void> insert_job(Statements& sql, std::int64_t id, const core::NewJob& job,
                              const core::JobSettings& settings, core::JobState state,
                              core::TimePoint now) {
  const std::string& payload = job.payload.empty() ? kNull : job.payload.stored();
  const std::string tags = tags_text(job.tags);
  Query q(sql[Sql::job_insert]);
  q.bind_int(1, id).bind_text(2, job.queue).bind_text(3, job.type).bind_text(4, payload);
  q.bind_int(5, static_cast<int>(state)).bind_int(6, settings.priority).bind_time(7, job.run_at);
  q.bind_time(8, now).bind_int(9, settings.max_attempts).bind_int(10, settings.timeout.count());
  q.bind_text_or_null(11, job.idempotency_key).bind_text(12, tags);
  return q.run();
}

core::Result<void> save_job(Statements& sql, const JobRow& row) {
  const core::Job& j = row.job;
  const std::string progress = j.progress ? progress_text(*j.progress) : std::string();
  const std::string& result = j.result.stored();
  const std::string errors = errors_text(j.errors);
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
  return {};
}

}  // namespace errand::store::sqlite
