// /v1/jobs: enqueue (single and batch), read, list, cancel, retry, delete;
// /v1/batches. Their bodies are read by api/job_bodies.
#include "api/errors.hpp"
#include "api/job_bodies.hpp"
#include "api/router.hpp"
#include "core/batch.hpp"
#include "core/error_json.hpp"
#include "core/job_json.hpp"

#include <boost/json.hpp>

namespace errand::api {
namespace json = boost::json;
using boost::asio::awaitable;

namespace {

json::object outcome_json(const store::InsertOutcome& o, TokenScope scope, Services& s) {
  const auto expires = s.engine.clock().now() + s.limits.token_ttl;
  json::object out{{"id", o.id},
                   {"state", core::to_string(o.state)},
                   {"token", s.auth.make_token(o.id, expires, scope)}};
  if (o.duplicate) out["duplicate"] = true;
  if (o.replaced) out["replaced"] = true;
  if (o.debounced) out["debounced"] = true;
  return out;
}

awaitable<Response> enqueue(Context& c) {
  auto req = parse_enqueue_body(c.request, c.services.limits);
  if (!req) co_return error_response(req.error());
  const auto scope = req->token_scope;
  std::vector<engine::EnqueueRequest> batch;
  batch.push_back(std::move(req->request));
  auto outcomes = co_await c.services.engine.enqueue(std::move(batch));
  if (!outcomes) co_return error_response(outcomes.error());
  const auto& o = outcomes->front();
  co_return json_response(o.duplicate ? 200 : 202,
                          json::serialize(outcome_json(o, scope, c.services)));
}

awaitable<Response> enqueue_batch(Context& c) {
  auto batch = parse_enqueue_batch(c.request, c.services.limits);
  if (!batch) co_return error_response(batch.error());
  auto outcomes = co_await c.services.engine.enqueue(std::move(batch->request.jobs));
  if (!outcomes) co_return error_response(outcomes.error());
  json::array out;
  out.reserve(outcomes->size());
  for (std::size_t i = 0; i < outcomes->size(); ++i) {
    out.emplace_back(outcome_json((*outcomes)[i], batch->scopes[i], c.services));
  }
  co_return json_response(202, json::serialize(json::object{{"jobs", std::move(out)}}));
}

json::object batch_answer(const store::BatchInsertOutcome& out,
                          const std::vector<TokenScope>& scopes, Services& s) {
  json::array jobs;
  jobs.reserve(out.jobs.size());
  for (std::size_t i = 0; i < out.jobs.size(); ++i) {
    jobs.emplace_back(outcome_json(out.jobs[i], i < scopes.size() ? scopes[i] : TokenScope{}, s));
  }
  return json::object{
      {"id", out.batch.id}, {"state", core::to_string(out.batch.state)}, {"jobs", std::move(jobs)}};
}

awaitable<Response> create_batch(Context& c) {
  auto batch = parse_create_batch(c.request, c.services.limits);
  if (!batch) co_return error_response(batch.error());
  auto out = co_await c.services.engine.create_batch(std::move(batch->request));
  if (!out) co_return error_response(out.error());
  co_return json_response(202, json::serialize(batch_answer(*out, batch->scopes, c.services)));
}

awaitable<Response> add_batch_jobs(Context& c) {
  auto batch = parse_add_batch_jobs(c.request, c.services.limits);
  if (!batch) co_return error_response(batch.error());
  auto out = co_await c.services.engine.add_to_batch(c.params[0], std::move(batch->request.jobs));
  if (!out) co_return error_response(out.error());
  co_return json_response(202, json::serialize(batch_answer(*out, batch->scopes, c.services)));
}

awaitable<Response> seal_batch(Context& c) {
  auto b = co_await c.services.engine.seal_batch(c.params[0]);
  if (!b) co_return error_response(b.error());
  co_return json_response(200, core::batch_json(*b));
}

awaitable<Response> get_batch(Context& c) {
  auto b = co_await c.services.engine.batch(c.params[0]);
  if (!b) co_return error_response(b.error());
  co_return json_response(200, core::batch_json(*b));
}

awaitable<Response> get_job(Context& c) {
  auto job = co_await c.services.engine.get(c.params[0]);
  if (!job) co_return error_response(job.error());
  auto view = job_view(c.grant);
  if (c.grant == Grant::full) view.signal_url = signal_url_of(c.services.auth, *job);
  co_return json_response(200, core::job_json(*job, view));
}

awaitable<Response> get_job_logs(Context& c) {
  auto job = co_await c.services.engine.get(c.params[0]);
  if (!job) co_return error_response(job.error());
  co_return json_response(200, json::serialize(core::logs_to_json(*job)));
}

awaitable<Response> list_jobs(Context& c) {
  auto params = parse_list(c.request);
  if (!params) co_return error_response(params.error());
  const core::JobView view{.client_json = params->client_json};
  params->max_bytes = c.services.limits.max_page_bytes;
  auto page = co_await c.services.engine.list(std::move(*params));
  if (!page) co_return error_response(page.error());
  // The store already stopped the page at max_bytes of client JSON.
  co_return json_response(200,
                          core::job_page_json(page->jobs, page->next_cursor, page->partial, view));
}

json::object bulk_result(const std::string& id, const core::Result<core::Job>& job) {
  if (!job) {
    return {{"id", id},
            {"ok", false},
            {"error", core::error_to_json(job.error(), core::ErrorMembers::code_and_message)}};
  }
  return {{"id", id}, {"ok", true}, {"state", core::to_string(job->state)}};
}

awaitable<Response> bulk_jobs(Context& c) {
  auto parsed = parse_bulk(c.request);
  if (!parsed) co_return error_response(parsed.error());
  auto& [action, ids] = *parsed;
  auto& engine = c.services.engine;
  json::array results;
  results.reserve(ids.size());
  for (const auto& id : ids) {
    if (action == "delete") {
      auto done = co_await engine.remove(id);
      if (done) {
        results.emplace_back(json::object{{"id", id}, {"ok", true}, {"state", nullptr}});
        continue;
      }
      results.emplace_back(bulk_result(id, core::Result<core::Job>(done.error())));
      continue;
    }
    // Not a conditional expression: GCC 12 mis-destroys a co_await inside one.
    core::Result<core::Job> job = core::make_error(core::errc::internal, "not run");
    if (action == "retry") {
      job = co_await engine.retry(id);
    } else {
      job = co_await engine.cancel(id);
    }
    results.emplace_back(bulk_result(id, job));
  }
  co_return json_response(200, json::serialize(json::object{{"results", std::move(results)}}));
}

awaitable<Response> render_job(core::Result<core::Job> job) {
  if (!job) co_return error_response(job.error());
  co_return json_response(200, core::job_json(*job));
}

awaitable<Response> cancel_job(Context& c) {
  co_return co_await render_job(co_await c.services.engine.cancel(c.params[0]));
}

awaitable<Response> retry_job(Context& c) {
  co_return co_await render_job(co_await c.services.engine.retry(c.params[0]));
}

awaitable<Response> delete_job(Context& c) {
  auto done = co_await c.services.engine.remove(c.params[0]);
  if (!done) co_return error_response(done.error());
  co_return json_response(200,
                          json::serialize(json::object{{"id", c.params[0]}, {"deleted", true}}));
}

}  // namespace

std::vector<Route> job_routes() {
  return {
      {"POST", "/v1/jobs", Access::producer, enqueue},
      {"POST", "/v1/jobs/batch", Access::producer, enqueue_batch},
      {"POST", "/v1/jobs/bulk", Access::admin, bulk_jobs},
      {"GET", "/v1/jobs", Access::producer, list_jobs},
      {"GET", "/v1/jobs/:id", Access::read_job, get_job},
      {"GET", "/v1/jobs/:id/logs", Access::producer, get_job_logs},
      {"DELETE", "/v1/jobs/:id", Access::admin, delete_job},
      {"POST", "/v1/jobs/:id/cancel", Access::producer, cancel_job},
      {"POST", "/v1/jobs/:id/retry", Access::producer, retry_job},
      {"POST", "/v1/batches", Access::producer, create_batch},
      {"GET", "/v1/batches/:id", Access::producer, get_batch},
      {"POST", "/v1/batches/:id/jobs", Access::producer, add_batch_jobs},
      {"POST", "/v1/batches/:id/seal", Access::producer, seal_batch},
  };
}

}  // namespace errand::api
