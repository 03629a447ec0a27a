#include "store/common/job_rows.hpp"

#include "core/id.hpp"
#include "core/mutex.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include <set>
#include <stdexcept>

namespace errand::store {
namespace json = boost::json;
namespace {

// Client JSON comes back as it was stored. It is checked on the way out
// too: a row written by an older version (which could store `Infinity`) or
// damaged on disk must be caught here, not by the client.
core::RawJson stored_json(std::optional<std::string_view> text, std::string_view field) {
  if (!text) return {};
  if (auto ok = core::check_json(*text, field); !ok) throw std::runtime_error(ok.error().message);
  return core::RawJson::trusted(std::string(*text));
}

// Unreadable jobs seen by this process, logged once each.
core::Mutex unreadable_mu;
std::set<std::string> unreadable_seen GUARDED_BY(unreadable_mu);

std::vector<std::string> parse_tags(std::string_view text) {
  if (text.empty() || text == "[]") return {};   // most jobs: no parse, no allocation
  const json::value parsed = json::parse(text);  // must outlive the loop over its array
  std::vector<std::string> tags;
  for (const auto& t : parsed.as_array()) tags.emplace_back(t.as_string());
  return tags;
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
  if (text.empty() || text == "[]") return {};
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

void decode_fields(const JobColumns& c, core::Job& j, bool client_json) {
  j.type = c.type;
  if (client_json) j.payload = stored_json(c.payload, "payload");
  if (c.state < 0 || c.state >= static_cast<std::int64_t>(std::size(core::kAllStates))) {
    throw std::runtime_error(fmt::format("unknown state {}", c.state));
  }
  j.state = static_cast<core::JobState>(c.state);
  j.priority = c.priority;
  j.run_at = c.run_at;
  j.created_at = c.created_at;
  j.started_at = c.started_at;
  j.finished_at = c.finished_at;
  j.attempt = static_cast<int>(c.attempt);
  j.max_attempts = static_cast<int>(c.max_attempts);
  j.timeout = core::Millis{c.timeout_ms};
  j.idempotency_key = c.idempotency_key;
  j.tags = parse_tags(c.tags);
  if (c.progress) j.progress = parse_progress(*c.progress, client_json);
  if (client_json) j.result = stored_json(c.result, "result");
  j.errors = parse_errors(c.errors);
  j.lease_id = c.lease_id;
  j.worker = c.worker;
  j.lease_expires_at = c.lease_expires_at;
  j.cancel_requested = c.cancel_requested;
  j.key = std::string(c.key);
  j.has_children = (c.links & kLinkChildren) != 0;
  j.has_parents = (c.links & kLinkParents) != 0;
  j.after_failure_run = (c.links & kLinkAfterFailure) != 0;
  j.continued = (c.links & kLinkContinued) != 0;
  if (c.batch_id) j.batch = core::format_job_id(*c.batch_id);
  j.on_done = std::string(c.on_done);
  j.traceparent = std::string(c.traceparent);
  j.tracestate = std::string(c.tracestate);
  j.event_seq = static_cast<std::uint64_t>(c.event_seq);
}

}  // namespace

JobRow decode_job(const JobColumns& c, bool client_json) {
  JobRow row;
  row.rowid = c.rowid;
  row.job.id = c.id;
  row.job.queue = c.queue;
  try {
    decode_fields(c, row.job, client_json);
  } catch (const std::exception& e) {
    row.unreadable = e.what();
    note_unreadable(row);
  }
  return row;
}

std::int64_t unreadable_jobs_seen() {
  core::MutexLock lock(unreadable_mu);
  return static_cast<std::int64_t>(unreadable_seen.size());
}

void note_unreadable(const JobRow& row) {
  core::MutexLock lock(unreadable_mu);
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

std::string tags_text(const std::vector<std::string>& tags) {
  if (tags.empty()) return "[]";
  json::array a;
  a.reserve(tags.size());
  for (const auto& t : tags) a.emplace_back(t);
  return json::serialize(a);
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

void read_signal_wait(core::Job& job, std::optional<std::string_view> signal,
                      std::string_view nonce, std::int64_t status) {
  job.signal_status = status >= 0 && status <= 3 ? static_cast<core::SignalStatus>(status)
                                                 : core::SignalStatus::none;
  job.signal_nonce = std::string(nonce);
  job.signal = signal ? core::RawJson::trusted(std::string(*signal)) : core::RawJson();
}

}  // namespace errand::store
