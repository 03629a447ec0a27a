#include "core/batch.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>

namespace errand::core {
namespace json = boost::json;

std::string_view to_string(BatchState s) noexcept {
  switch (s) {
    case BatchState::open:
      return "open";
    case BatchState::sealed:
      return "sealed";
    case BatchState::done:
      return "done";
  }
  return "open";
}

std::string_view callback_field(BatchCallbackKind k) noexcept {
  switch (k) {
    case BatchCallbackKind::success:
      return "on_success";
    case BatchCallbackKind::complete:
      return "on_complete";
    case BatchCallbackKind::death:
      return "on_death";
  }
  return "on_complete";
}

std::optional<NewJob>& Batch::callback(BatchCallbackKind k) {
  return k == BatchCallbackKind::success    ? on_success
         : k == BatchCallbackKind::complete ? on_complete
                                            : on_death;
}
const std::optional<NewJob>& Batch::callback(BatchCallbackKind k) const {
  return const_cast<Batch*>(this)->callback(k);
}
std::string& Batch::callback_job(BatchCallbackKind k) {
  return k == BatchCallbackKind::success    ? success_job
         : k == BatchCallbackKind::complete ? complete_job
                                            : death_job;
}
const std::string& Batch::callback_job(BatchCallbackKind k) const {
  return const_cast<Batch*>(this)->callback_job(k);
}

std::string callback_to_json(const NewJob& job) {
  JsonWriter w;
  w.begin_object().key("queue").string(job.queue);
  if (!job.type.empty()) w.key("type").string(job.type);
  if (!job.payload.empty()) w.key("payload").raw(job.payload);
  if (job.priority) w.key("priority").integer(*job.priority);
  if (job.max_attempts) w.key("max_attempts").integer(*job.max_attempts);
  if (job.timeout) w.key("timeout_ms").integer(job.timeout->count());
  if (!job.key.empty()) w.key("key").string(job.key);
  if (!job.tags.empty()) {
    w.key("tags").begin_array();
    for (const auto& t : job.tags) w.string(t);
    w.end_array();
  }
  w.end_object();
  return w.take();
}

NewJob callback_from_json(std::string_view text) {
  const json::object o = json::parse(text).as_object();
  NewJob job;
  job.queue = std::string(o.at("queue").as_string());
  if (const auto* v = o.if_contains("type")) job.type = std::string(v->as_string());
  if (auto payload = json_member(text, "payload")) {
    job.payload = RawJson::trusted(std::string(*payload));
  }
  if (const auto* v = o.if_contains("priority")) job.priority = v->to_number<std::int64_t>();
  if (const auto* v = o.if_contains("max_attempts")) {
    job.max_attempts = static_cast<int>(v->to_number<std::int64_t>());
  }
  if (const auto* v = o.if_contains("timeout_ms"))
    job.timeout = Millis{v->to_number<std::int64_t>()};
  if (const auto* v = o.if_contains("key")) job.key = std::string(v->as_string());
  if (const auto* v = o.if_contains("tags")) {
    for (const auto& t : v->as_array()) job.tags.emplace_back(t.as_string());
  }
  return job;
}

BatchCounts BatchCounts::ended_as(JobState end, std::int64_t by) {
  BatchCounts d;
  if (end == JobState::succeeded) d.succeeded = by;
  if (end == JobState::dead) d.dead = by;
  if (end == JobState::cancelled) d.cancelled = by;
  return d;
}

BatchCounts& BatchCounts::operator+=(const BatchCounts& d) {
  total += d.total;
  succeeded += d.succeeded;
  dead += d.dead;
  cancelled += d.cancelled;
  return *this;
}

Result<void> Batch::read_callbacks(const std::optional<std::string_view> (&stored)[3]) {
  try {
    for (std::size_t i = 0; i < std::size(kBatchCallbacks); ++i) {
      if (stored[i]) callback(kBatchCallbacks[i]) = callback_from_json(*stored[i]);
    }
  } catch (const std::exception& e) {
    return make_error(errc::internal,
                      fmt::format("batch {}: a stored callback cannot be read: {}", id, e.what()));
  }
  return {};
}

bool BatchFiring::due(BatchCallbackKind k) const {
  switch (k) {
    case BatchCallbackKind::success:
      return success;
    case BatchCallbackKind::complete:
      return complete;
    case BatchCallbackKind::death:
      return death;
  }
  return false;
}

BatchFiring batch_firing(const Batch& b) {
  BatchFiring f;
  if (b.counts.dead > 0 && b.on_death && b.death_job.empty()) f.death = true;
  if (b.state == BatchState::sealed && b.counts.ended() >= b.counts.total) {
    f.done = true;
    f.complete = b.on_complete.has_value() && b.complete_job.empty();
    f.success =
        b.on_success.has_value() && b.success_job.empty() && b.counts.succeeded == b.counts.total;
  }
  return f;
}

namespace {

void write_batch_summary(JsonWriter& w, const Batch& b) {
  w.begin_object().key("id").string(b.id).key("state").string(to_string(b.state));
  w.key("total").integer(b.counts.total).key("succeeded").integer(b.counts.succeeded);
  w.key("dead").integer(b.counts.dead).key("cancelled").integer(b.counts.cancelled);
  w.end_object();
}

}  // namespace

RawJson callback_payload(const RawJson& own, const Batch& b) {
  JsonWriter w;
  w.begin_object();
  if (!own.is_null()) {
    const auto members = json_members(own.text());
    if (own.text().front() == '{') {
      for (const auto& m : members) {
        if (m.key == "batch") continue;
        w.key(m.key).raw_text(m.value);
      }
    } else {
      w.key("payload").raw(own);
    }
  }
  w.key("batch");
  write_batch_summary(w, b);
  w.end_object();
  return RawJson::trusted(w.take());
}

std::string batch_json(const Batch& b) {
  JsonWriter w;
  w.begin_object().key("id").string(b.id).key("state").string(to_string(b.state));
  w.key("counts").begin_object();
  w.key("total").integer(b.counts.total).key("succeeded").integer(b.counts.succeeded);
  w.key("dead").integer(b.counts.dead).key("cancelled").integer(b.counts.cancelled);
  w.key("pending").integer(b.counts.total - b.counts.ended());
  w.end_object();
  w.key("created_at").string(format_rfc3339(b.created_at));
  w.key("finished_at");
  if (b.finished_at) {
    w.string(format_rfc3339(*b.finished_at));
  } else {
    w.null();
  }
  w.key("callbacks").begin_object();
  for (auto k : kBatchCallbacks) {
    const auto& cb = b.callback(k);
    if (!cb) continue;
    w.key(callback_field(k).substr(3)).begin_object().key("queue").string(cb->queue);
    w.key("job_id").string_or_null(b.callback_job(k)).end_object();
  }
  w.end_object().end_object();
  return w.take();
}

}  // namespace errand::core
