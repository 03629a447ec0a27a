// Work that spans jobs and time (docs/API.md "Workflows"): a pull worker's
// continue (sleep, or wait for a signal) and the signal URLs that resume a
// waiting job.
#include "api/errors.hpp"
#include "api/request.hpp"
#include "api/router.hpp"
#include "core/id.hpp"
#include "core/job_json.hpp"
#include "core/json_text.hpp"
#include "core/push.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>

namespace errand::api {
namespace json = boost::json;
using boost::asio::awaitable;

namespace {

constexpr core::Millis kMaxSleep{365LL * 86'400'000};
constexpr core::Millis kMinSignalTimeout{1000};
constexpr std::size_t kMaxSignalBody = 1 << 20;

// {"lease_id", "state"?, "delay"? | "until"?, "signal"?: {"timeout"}, "progress"?}
// `source`: the body's text (the progress data is kept as written).
core::Result<engine::RequeueRequest> parse_continue(const Fields& f, std::string_view source,
                                                    std::string id, core::TimePoint now,
                                                    std::size_t max_state) {
  if (auto ok = f.only({"lease_id", "state", "delay", "until", "signal", "progress"}); !ok) {
    return ok.error();
  }
  engine::RequeueRequest r{.id = std::move(id), .continuation = true};
  ERRAND_TRY(lease_id, f.string("lease_id", 128));
  if (!lease_id || lease_id->empty()) return f.missing("lease_id");
  r.lease_id = std::move(*lease_id);
  ERRAND_TRY(state, f.json("state"));
  r.state = state ? std::string(state->text()) : std::string("null");
  if (r.state.size() > max_state) {
    return core::make_error(
        core::errc::payload_too_large,
        fmt::format("state is {} bytes, over the limit of {}", r.state.size(), max_state), "state");
  }
  ERRAND_TRY(delay, f.duration("delay", core::Millis{0}, kMaxSleep));
  ERRAND_TRY(until, f.time("until"));
  if (delay && until) return core::invalid("delay", "give either delay or until, not both");
  const auto* signal = f.raw("signal");
  if (signal && !signal->is_null()) {
    if (delay || until) {
      return core::invalid("signal",
                           "signal waits until the signal comes or its timeout: give no delay or "
                           "until with it");
    }
    if (!signal->is_object()) return f.wrong_type("signal", "an object: {\"timeout\": \"7d\"}");
    const Fields sf(signal->get_object(), "signal");
    if (auto ok = sf.only({"timeout"}); !ok) return ok.error();
    ERRAND_TRY(timeout, sf.duration("timeout", kMinSignalTimeout, kMaxSleep));
    if (!timeout) return sf.missing("timeout");
    r.run_at = now + *timeout;
    r.signal_nonce = core::random_hex(16);
  } else if (until) {
    if (*until > now + kMaxSleep) return core::invalid("until", "until is more than a year away");
    r.run_at = std::max(*until, now);
  } else {
    r.run_at = now + delay.value_or(core::Millis{0});
  }
  if (const auto* p = f.raw("progress"); p && !p->is_null()) {
    ERRAND_TRY(progress,
               core::progress_member(f, core::json_member(source, "progress").value_or("")));
    r.progress = std::move(progress);
  }
  return r;
}

std::string signal_path(const Auth& auth, std::string_view id, std::string_view nonce) {
  return "/v1/signals/" + auth.make_signal_token(id, nonce);
}

awaitable<Response> continue_job(Context& c) {
  auto body = parse_object(c.request.body, true);
  if (!body) co_return error_response(body.error());
  auto r = parse_continue(Fields(*body, {}, c.request.body), c.request.body, c.params[0],
                          c.services.engine.clock().now(), c.services.limits.max_payload);
  if (!r) co_return error_response(r.error());
  const std::string nonce = r->signal_nonce;
  auto job = co_await c.services.engine.requeue(std::move(*r));
  if (!job) co_return error_response(job.error());
  json::object out{{"id", job->id},
                   {"state", core::to_string(job->state)},
                   {"run_at", core::format_rfc3339(job->run_at)}};
  if (!nonce.empty()) {
    out["signal_url"] = signal_path(c.services.auth, job->id, nonce);
    out["signal_timeout_at"] = core::format_rfc3339(job->run_at);
  }
  co_return json_response(200, json::serialize(out));
}

awaitable<Response> post_signal(Context& c) {
  const auto ref = c.services.auth.verify_signal_token(c.params[0]);
  if (!ref) {
    co_return error_response(
        core::make_error(core::errc::unauthorized,
                         "this signal URL was not made by this Errand: check it whole", "signal"));
  }
  if (c.request.body.size() > kMaxSignalBody) {
    co_return error_response(
        core::make_error(core::errc::payload_too_large,
                         fmt::format("the signal's body is {} bytes, over the limit of {}",
                                     c.request.body.size(), kMaxSignalBody),
                         "body"));
  }
  core::RawJson body;
  if (c.request.body.find_first_not_of(" \t\r\n") != std::string::npos) {
    auto parsed = core::RawJson::parse(c.request.body, "body");
    if (!parsed) co_return error_response(parsed.error());
    body = std::move(*parsed);
  }
  auto job = co_await c.services.engine.signal(ref->job_id, ref->nonce, std::move(body));
  if (!job) co_return error_response(job.error());
  co_return json_response(
      200, json::serialize(json::object{{"id", job->id}, {"state", core::to_string(job->state)}}));
}

}  // namespace

std::string signal_url_of(const Auth& auth, const core::Job& job) {
  if (job.signal_status != core::SignalStatus::waiting || job.signal_nonce.empty()) return {};
  return signal_path(auth, job.id, job.signal_nonce);
}

std::vector<Route> workflow_routes() {
  return {
      {"POST", "/v1/jobs/:id/continue", Access::worker, continue_job},
      {"POST", "/v1/signals/:token", Access::open, post_signal},
  };
}

}  // namespace errand::api
