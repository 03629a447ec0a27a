// Worker endpoints: claim (long poll), heartbeat, progress, complete, fail,
// acks. Their bodies are read by api/worker_bodies.
#include "api/errors.hpp"
#include "api/router.hpp"
#include "api/worker_bodies.hpp"
#include "core/error_json.hpp"
#include "core/job_json.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <algorithm>

namespace errand::api {
namespace json = boost::json;
using boost::asio::awaitable;

namespace {

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
  auto req = parse_claim_body(c.request);
  if (!req) co_return error_response(req.error());
  const auto queues = req->queues;
  const auto max = req->max;
  auto jobs = co_await c.services.engine.claim(std::move(*req));
  if (!jobs) co_return error_response(jobs.error());
  core::JsonWriter w;
  w.begin_object().key("jobs").begin_array();
  for (const auto& j : *jobs) write_claimed(w, j);
  w.end_array();
  // Only a claim that got less than it asked for looks for a reason, and
  // only in the queues that gave it nothing: a queue that just handed out a
  // job exists, is not paused and is not a push queue. So a busy worker's
  // claims cost no extra reads, and one that gets a job from its only queue
  // is answered without waiting for one (a read answers after the claim's
  // own fsync).
  if (jobs->size() < max) {
    std::vector<std::string> silent;
    for (const auto& q : queues) {
      if (std::none_of(jobs->begin(), jobs->end(), [&](const auto& j) { return j.queue == q; }))
        silent.push_back(q);
    }
    auto warnings = co_await claim_warnings(c.services.engine, silent);
    if (!warnings.empty()) w.key("warnings").value(json::value(std::move(warnings)));
  }
  w.end_object();
  co_return json_response(200, w.take());
}

awaitable<Response> heartbeat(Context& c) {
  auto body = parse_heartbeat_body(c.request);
  if (!body) co_return error_response(body.error());
  auto info =
      co_await c.services.engine.heartbeat(c.params[0], std::move(body->lease_id), body->extend);
  if (!info) co_return error_response(info.error());
  co_return json_response(
      200, json::serialize(
               json::object{{"lease_expires_at", core::format_rfc3339(info->lease_expires_at)},
                            {"cancel_requested", info->cancel_requested}}));
}

awaitable<Response> progress(Context& c) {
  auto body = parse_progress_body(c.request);
  if (!body) co_return error_response(body.error());
  auto done = co_await c.services.engine.progress(c.params[0], std::move(body->lease_id),
                                                  std::move(body->progress));
  if (!done) co_return error_response(done.error());
  co_return json_response(200, R"({"ok":true})");
}

awaitable<Response> complete(Context& c) {
  auto p = parse_complete_body(c.request, c.params[0]);
  if (!p) co_return error_response(p.error());
  auto job = co_await c.services.engine.complete(std::move(*p));
  if (!job) co_return error_response(job.error());
  co_return json_response(
      200, json::serialize(json::object{{"id", job->id}, {"state", core::to_string(job->state)}}));
}

awaitable<Response> fail(Context& c) {
  auto p = parse_fail_body(c.request, c.params[0]);
  if (!p) co_return error_response(p.error());
  auto job = co_await c.services.engine.fail(std::move(*p));
  if (!job) co_return error_response(job.error());
  co_return json_response(
      200, json::serialize(json::object{{"id", job->id},
                                        {"state", core::to_string(job->state)},
                                        {"run_at", core::format_rfc3339(job->run_at)}}));
}

awaitable<Response> acks(Context& c) {
  auto items = parse_acks_body(c.request);
  if (!items) co_return error_response(items.error());
  std::vector<std::string> ids;
  ids.reserve(items->size());
  for (const auto& item : *items) ids.push_back(item.fail ? item.failure.id : item.complete.id);
  auto results = co_await c.services.engine.ack_many(std::move(*items));
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
