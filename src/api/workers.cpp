// Worker endpoints: claim (long poll), heartbeat, progress, complete, fail, acks.
#include "api/errors.hpp"
#include "api/request.hpp"
#include "api/router.hpp"
#include "core/error_json.hpp"
#include "core/job_json.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>

namespace errand::api {
namespace json = boost::json;
using boost::asio::awaitable;

namespace {

constexpr std::size_t kMaxClaimQueues = 32;
constexpr std::size_t kMaxClaim = 1000;
constexpr std::size_t kMaxAcks = 10'000;
constexpr core::Millis kMaxWait{5 * 60'000};
constexpr core::Millis kMinLease{1000};
constexpr core::Millis kMaxLease{86'400'000};

core::Result<engine::ClaimRequest> parse_claim(const json::object& o) {
  const Fields f(o);
  if (auto ok = f.only({"queues", "worker", "max", "min", "wait", "lease"}); !ok) {
    return ok.error();
  }
  engine::ClaimRequest r;
  const auto* queues = f.raw("queues");
  if (!queues) return f.missing("queues");
  if (!queues->is_array() || queues->get_array().empty() ||
      queues->get_array().size() > kMaxClaimQueues) {
    return f.wrong_type("queues", fmt::format("an array of 1 to {} queue names", kMaxClaimQueues));
  }
  for (std::size_t i = 0; i < queues->get_array().size(); ++i) {
    const auto& q = queues->get_array()[i];
    const auto field = fmt::format("queues[{}]", i);
    if (!q.is_string()) return core::invalid(field, fmt::format("{} must be a string", field));
    if (auto ok = core::validate_queue_name(q.get_string(), field); !ok) return ok.error();
    r.queues.emplace_back(q.get_string());
  }
  ERRAND_TRY(worker, f.string("worker", 256));
  if (worker && !worker->empty()) r.worker = std::move(*worker);
  ERRAND_TRY(max, f.integer("max", 1, kMaxClaim));
  r.max = static_cast<std::size_t>(max.value_or(1));
  ERRAND_TRY(min, f.integer("min", 1, kMaxClaim));
  if (min && static_cast<std::size_t>(*min) > r.max) {
    return core::invalid("min",
                         fmt::format("min ({}) must not be more than max ({})", *min, r.max));
  }
  r.min = static_cast<std::size_t>(min.value_or(1));
  ERRAND_TRY(wait, f.duration("wait", core::Millis{0}, kMaxWait));
  r.wait = wait.value_or(core::Millis{0});
  ERRAND_TRY(lease, f.duration("lease", kMinLease, kMaxLease));
  r.lease = lease;
  return r;
}

void write_claimed(core::JsonWriter& w, const core::Job& j) {
  w.begin_object();
  w.key("id").string(j.id).key("queue").string(j.queue).key("type").string_or_null(j.type);
  w.key("payload").raw(j.payload);
  w.key("attempt").integer(j.attempt).key("max_attempts").integer(j.max_attempts);
  w.key("priority").integer(j.priority).key("key").string_or_null(j.key);
  w.key("lease_id").string(j.lease_id);
  w.key("lease_expires_at");
  if (j.lease_expires_at) {
    w.string(core::format_rfc3339(*j.lease_expires_at));
  } else {
    w.null();
  }
  w.key("tags").begin_array();
  for (const auto& t : j.tags) w.string(t);
  w.end_array();
  w.key("created_at").string(core::format_rfc3339(j.created_at));
  if (!j.traceparent.empty()) {
    w.key("trace").begin_object().key("traceparent").string(j.traceparent);
    if (!j.tracestate.empty()) w.key("tracestate").string(j.tracestate);
    w.end_object();
  }
  if (j.has_parents) {
    w.key("parents").begin_array();
    for (const auto& p : j.parents) {
      w.begin_object().key("id").string(p.id).key("state").string(core::to_string(p.state));
      w.key("result").raw(p.result).end_object();
    }
    w.end_array();
  }
  if (j.continued) {
    w.key("continuation").integer(j.push_continuations);
    w.key("state");
    if (j.push_state.empty()) {
      w.null();
    } else {
      w.raw_text(j.push_state);
    }
    if (j.signal_status == core::SignalStatus::received) {
      w.key("signal").raw(j.signal);
    } else if (j.signal_status == core::SignalStatus::timed_out) {
      w.key("signal").null();
    }
  }
  w.end_object();
}

json::object claim_warning(std::string_view queue, std::string_view code, std::string message) {
  return json::object{{"queue", queue}, {"code", code}, {"message", std::move(message)}};
}

// Why a claim gets nothing from a queue, however long it waits: the queue
// does not exist (often a typo), is a push queue, or is paused.
awaitable<json::array> claim_warnings(engine::Engine& engine,
                                      const std::vector<std::string>& queues) {
  json::array out;
  for (const auto& name : queues) {
    auto q = co_await engine.queue(name);
    if (!q) {
      if (q.error().code != core::errc::not_found) continue;
      out.emplace_back(claim_warning(
          name, "queue_not_found",
          fmt::format("queue \"{}\" does not exist yet: no job was ever enqueued to it and it "
                      "is not configured; the claim waits for its first job (check the name if "
                      "you expected jobs)",
                      name)));
    } else if (q->config.push) {
      out.emplace_back(claim_warning(
          name, "push_queue",
          fmt::format("queue \"{}\" is a push queue: the server delivers its jobs to its push URL "
                      "and never hands them to claims",
                      name)));
    } else if (q->paused) {
      out.emplace_back(
          claim_warning(name, "queue_paused",
                        fmt::format("queue \"{}\" is paused: claims get its jobs again after "
                                    "POST /v1/queues/{}/resume",
                                    name, name)));
    }
  }
  co_return out;
}

awaitable<Response> claim(Context& c) {
  auto body = parse_object(c.request.body);
  if (!body) co_return error_response(body.error());
  auto req = parse_claim(*body);
  if (!req) co_return error_response(req.error());
  const auto queues = req->queues;
  const auto max = req->max;
  auto jobs = co_await c.services.engine.claim(std::move(*req));
  if (!jobs) co_return error_response(jobs.error());
  core::JsonWriter w;
  w.begin_object().key("jobs").begin_array();
  for (const auto& j : *jobs) write_claimed(w, j);
  w.end_array();
  // Only a claim that got less than it asked for looks for a reason: a busy
  // worker's full claims cost no extra reads.
  if (jobs->size() < max) {
    auto warnings = co_await claim_warnings(c.services.engine, queues);
    if (!warnings.empty()) w.key("warnings").value(json::value(std::move(warnings)));
  }
  w.end_object();
  co_return json_response(200, w.take());
}

core::Result<std::string> lease_id_of(const Fields& f) {
  ERRAND_TRY(lease_id, f.string("lease_id", 128));
  if (!lease_id || lease_id->empty()) return f.missing("lease_id");
  return std::move(*lease_id);
}

awaitable<Response> heartbeat(Context& c) {
  auto body = parse_object(c.request.body);
  if (!body) co_return error_response(body.error());
  const Fields f(*body);
  if (auto ok = f.only({"lease_id", "extend"}); !ok) co_return error_response(ok.error());
  auto lease_id = lease_id_of(f);
  if (!lease_id) co_return error_response(lease_id.error());
  auto extend = f.duration("extend", kMinLease, kMaxLease);
  if (!extend) co_return error_response(extend.error());
  auto info = co_await c.services.engine.heartbeat(c.params[0], std::move(*lease_id), *extend);
  if (!info) co_return error_response(info.error());
  co_return json_response(
      200, json::serialize(
               json::object{{"lease_expires_at", core::format_rfc3339(info->lease_expires_at)},
                            {"cancel_requested", info->cancel_requested}}));
}

core::Result<core::Progress> parse_progress(const Fields& f) {
  if (auto ok = f.only({"lease_id", "percent", "message", "data"}); !ok) return ok.error();
  return core::progress_from_fields(f);
}

awaitable<Response> progress(Context& c) {
  auto body = parse_object(c.request.body);
  if (!body) co_return error_response(body.error());
  const Fields f(*body, {}, c.request.body);
  auto p = parse_progress(f);
  if (!p) co_return error_response(p.error());
  auto lease_id = lease_id_of(f);
  if (!lease_id) co_return error_response(lease_id.error());
  auto done = co_await c.services.engine.progress(c.params[0], std::move(*lease_id), std::move(*p));
  if (!done) co_return error_response(done.error());
  co_return json_response(200, R"({"ok":true})");
}

// The attempt's log: any length (the store keeps its tail), a string or absent.
core::Result<std::string> log_of(const Fields& f) {
  const auto* log = f.raw("log");
  if (!log || log->is_null()) return std::string();
  if (!log->is_string()) return f.wrong_type("log", "a string");
  return core::utf8_clip(log->get_string(), core::kMaxLogBytes, true);
}

core::Result<engine::CompleteRequest> parse_complete(const Fields& f, std::string id) {
  if (auto ok = f.only({"id", "lease_id", "result", "log"}); !ok) return ok.error();
  ERRAND_TRY(lease_id, lease_id_of(f));
  ERRAND_TRY(log, log_of(f));
  engine::CompleteRequest p{
      .id = std::move(id), .lease_id = std::move(lease_id), .log = std::move(log)};
  ERRAND_TRY(result, f.json("result"));
  if (result) p.result = std::move(*result);
  return p;
}

core::Result<engine::FailRequest> parse_fail(const Fields& f, std::string id) {
  if (auto ok = f.only({"id", "lease_id", "error", "retry", "retry_in", "log"}); !ok)
    return ok.error();
  ERRAND_TRY(lease_id, lease_id_of(f));
  ERRAND_TRY(log, log_of(f));
  engine::FailRequest p{
      .id = std::move(id), .lease_id = std::move(lease_id), .log = std::move(log)};
  const auto* error = f.raw("error");
  if (!error) return f.missing("error");
  if (!error->is_string()) return f.wrong_type("error", "a string");
  p.error = core::utf8_clip(error->get_string(), core::kMaxErrorMessage);
  ERRAND_TRY(retry, f.boolean("retry"));
  p.retry = retry.value_or(true);
  ERRAND_TRY(retry_in, f.duration("retry_in", core::Millis{0}, core::Millis{365LL * 86'400'000}));
  p.retry_in = retry_in;
  return p;
}

awaitable<Response> complete(Context& c) {
  auto body = parse_object(c.request.body, true);
  if (!body) co_return error_response(body.error());
  auto p = parse_complete(Fields(*body, {}, c.request.body), c.params[0]);
  if (!p) co_return error_response(p.error());
  auto job = co_await c.services.engine.complete(std::move(*p));
  if (!job) co_return error_response(job.error());
  co_return json_response(
      200, json::serialize(json::object{{"id", job->id}, {"state", core::to_string(job->state)}}));
}

awaitable<Response> fail(Context& c) {
  auto body = parse_object(c.request.body);
  if (!body) co_return error_response(body.error());
  auto p = parse_fail(Fields(*body), c.params[0]);
  if (!p) co_return error_response(p.error());
  auto job = co_await c.services.engine.fail(std::move(*p));
  if (!job) co_return error_response(job.error());
  co_return json_response(
      200, json::serialize(json::object{{"id", job->id},
                                        {"state", core::to_string(job->state)},
                                        {"run_at", core::format_rfc3339(job->run_at)}}));
}

core::Result<engine::AckRequest> parse_ack(const json::value& v, std::string_view source,
                                           std::size_t i) {
  const auto prefix = fmt::format("acks[{}]", i);
  if (!v.is_object()) return core::invalid(prefix, fmt::format("{} must be an object", prefix));
  const Fields f(v.get_object(), prefix, source);
  ERRAND_TRY(id, f.string("id", 64));
  if (!id || id->empty()) return f.missing("id");
  engine::AckRequest item;
  if (f.raw("error")) {
    ERRAND_TRY(failure, parse_fail(f, std::move(*id)));
    item.fail = true;
    item.failure = std::move(failure);
  } else {
    ERRAND_TRY(completion, parse_complete(f, std::move(*id)));
    item.complete = std::move(completion);
  }
  return item;
}

awaitable<Response> acks(Context& c) {
  auto body = parse_object(c.request.body);
  if (!body) co_return error_response(body.error());
  const Fields f(*body);
  if (auto ok = f.only({"acks"}); !ok) co_return error_response(ok.error());
  const auto* list = f.raw("acks");
  if (!list) co_return error_response(f.missing("acks"));
  if (!list->is_array() || list->get_array().empty() || list->get_array().size() > kMaxAcks) {
    co_return error_response(
        f.wrong_type("acks", fmt::format("an array of 1 to {} acks", kMaxAcks)));
  }
  std::vector<engine::AckRequest> items;
  std::vector<std::string> ids;
  const auto sources = core::json_elements(core::json_member(c.request.body, "acks").value_or(""));
  for (std::size_t i = 0; i < list->get_array().size(); ++i) {
    auto item = parse_ack(list->get_array()[i], i < sources.size() ? sources[i] : "", i);
    if (!item) co_return error_response(item.error());
    ids.push_back(item->fail ? item->failure.id : item->complete.id);
    items.push_back(std::move(*item));
  }
  auto results = co_await c.services.engine.ack_many(std::move(items));
  if (!results) co_return error_response(results.error());
  json::array out;
  out.reserve(results->size());
  for (std::size_t i = 0; i < results->size(); ++i) {
    const auto& r = (*results)[i];
    if (r) {
      out.emplace_back(json::object{{"id", ids[i]}, {"ok", true}, {"state", core::to_string(*r)}});
    } else {
      out.emplace_back(json::object{
          {"id", ids[i]},
          {"ok", false},
          {"error", core::error_to_json(r.error(), core::ErrorMembers::code_and_message)}});
    }
  }
  co_return json_response(200, json::serialize(json::object{{"results", std::move(out)}}));
}

}  // namespace

std::vector<Route> worker_routes() {
  return {
      {"POST", "/v1/claim", Access::worker, claim},
      {"POST", "/v1/acks", Access::worker, acks},
      {"POST", "/v1/jobs/:id/heartbeat", Access::worker, heartbeat},
      {"POST", "/v1/jobs/:id/progress", Access::worker_or_lease, progress},
      {"POST", "/v1/jobs/:id/complete", Access::worker, complete},
      {"POST", "/v1/jobs/:id/fail", Access::worker, fail},
  };
}

}  // namespace errand::api
