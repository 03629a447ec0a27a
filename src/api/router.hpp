// Routes are a table: {method, pattern, access, handler}. The router matches
// the path (":name" segments capture), answers 404/405 for no match, checks
// access, and runs the handler inside a catch-all so no input can crash the
// server. Handlers parse, call the engine, render — nothing else. Matching
// and the Host and Origin checks are pure functions (api/routing.cpp).
// Immutable after construction: thread-safe.
#pragma once

#include "api/auth.hpp"
#include "api/cors.hpp"
#include "api/host_policy.hpp"
#include "api/http_types.hpp"
#include "api/login_throttle.hpp"
#include "api/session.hpp"
#include "api/stream_limits.hpp"
#include "core/job_json.hpp"
#include "engine/engine.hpp"

#include <boost/asio/awaitable.hpp>

namespace errand::core::metrics {
struct Metrics;
}

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace errand::api {

struct ApiLimits {
  std::size_t max_payload = 1 << 20;       // bytes of one job's serialized payload
  core::Millis token_ttl{7 * 86'400'000};  // lifetime of a job's read token
  std::size_t max_page_bytes =
      8 << 20;  // a job list page stops (partial) past this much client JSON
  std::size_t max_metrics_queues = 1000;  // queues with their own series in GET /metrics
};

// What handlers may use. Outlives every request.
struct Services {
  engine::Engine& engine;
  const Auth& auth;
  ApiLimits limits;
  CorsPolicy cors;
  Sessions& sessions;  // the dashboard's logins
  HostPolicy hosts;    // the Host names a server without keys answers
  StreamLimits& streams;
  LoginThrottle& logins;                      // failed dashboard logins per address
  LoginThrottle& key_failures;                // wrong API keys and job tokens per address
  core::metrics::Metrics* metrics = nullptr;  // what GET /metrics serves; null: none kept
  std::string_view commit = "unknown";        // the build's git commit (errand --version)
  // POST /v1/admin/reload: reads the configuration again and applies it
  // (cli/reload.hpp); the answer's JSON says what. Empty: not offered.
  std::function<boost::asio::awaitable<core::Result<boost::json::object>>()> reload;
};

struct Context {
  const Request& request;
  std::vector<std::string> params;  // captured ":name" segments, in order
  Services& services;
  Grant grant = Grant::full;
};

using Handler = boost::asio::awaitable<Response> (*)(Context&);

struct Route {
  std::string_view method;
  std::string_view pattern;  // e.g. "/v1/jobs/:id/cancel"
  Access access;
  Handler handler;
  std::size_t max_body = 0;  // bytes of the request body; 0: the server's --max-body
};

// Which route a request takes (api/routing.cpp, pure): a route of the table
// and the ":name" segments of the path it captured, percent-decoded, in order.
struct RouteMatch {
  const Route* route = nullptr;
  std::vector<std::string> captures;
};

// The route of `routes` that takes `request`: by its method (HEAD takes a
// GET route) and its path as sent (raw_path; path when that is empty),
// segment by segment. Literal patterns win over ones with captures:
// "/v1/jobs/batch" is never job "batch". Errors: not_found (no route has
// the path), method_not_allowed (routes have the path, none the method).
core::Result<RouteMatch> find_route(std::span<const Route> routes, const Request& request);
// The methods the routes of the request's path take, and HEAD where GET is
// (an OPTIONS answer's Allow); empty: no route has the path.
std::vector<std::string_view> route_methods(std::span<const Route> routes, const Request& request);

// What the router says of a request whose head has arrived and whose body
// has not: refused (with the answer to send before reading the body), or
// let in with the body limit of its route.
struct Admission {
  std::optional<Response> refusal;
  std::size_t max_body = 0;  // 0: the server's
  // What the request may do, when let in: dispatch() takes it instead of
  // checking the head (and reading its session) again.
  std::optional<Grant> grant;
  std::string_view route;  // the matched route's pattern; empty: none matched
};

class Router {
 public:
  explicit Router(std::vector<Route> routes);
  // Routes the request (OPTIONS: the preflight answer) and adds the CORS
  // headers services.cors calls for. `admitted`: the grant admit() gave the
  // request's head; without it the head is checked here.
  boost::asio::awaitable<Response> dispatch(const Request& request, Services& services,
                                            std::optional<Grant> admitted = std::nullopt) const;
  // Checks a request's head (Host, route, credentials, Origin) before its
  // body is read, so that a refused request costs no body's memory. A
  // session cookie is looked up in the store here.
  boost::asio::awaitable<Admission> admit(const Request& head, Services& services) const;

 private:
  // What the request may do on its route, or the error to answer.
  // `retry_after`: set when the client's address is locked out (429) for
  // too many wrong keys or tokens.
  boost::asio::awaitable<core::Result<Grant>> check(const Request& request, const RouteMatch& match,
                                                    const Services& services,
                                                    std::optional<core::Millis>& retry_after) const;
  boost::asio::awaitable<Response> route(const Request& request, Services& services,
                                         std::optional<Grant> admitted) const;

  std::vector<Route> routes_;
};

// The route tables of each resource.
std::vector<Route> job_routes();
std::vector<Route> worker_routes();
std::vector<Route> queue_routes();
std::vector<Route> schedule_routes();
std::vector<Route> event_routes();      // api/sse.cpp
std::vector<Route> asset_routes();      // api/assets.cpp
std::vector<Route> dashboard_routes();  // api/dashboard.cpp: the pages and /v1/session
std::vector<Route> stats_routes();      // api/stats.cpp
std::vector<Route> node_routes();       // api/nodes.cpp: /v1/nodes and /healthz
std::vector<Route> openapi_routes();    // api/openapi.cpp: /v1/openapi.json
std::vector<Route> workflow_routes();   // api/workflows.cpp: continue, signals
std::vector<Route> admin_routes();      // api/admin.cpp: /v1/admin/backup, /v1/admin/reload
// The signal URL (a path) of a job waiting for a signal; empty otherwise.
std::string signal_url_of(const Auth& auth, const core::Job& job);

// The session id a request stands on: its dashboard session cookie, when it
// comes with no key of its own (nor a job token) to a server with keys.
// Empty: none; the key checks apply, and the store is not asked.
std::string_view session_id_of(const Request& request, const Services& services);
// The grant of a request whose session id (session_id_of, not empty) is
// `id`: admin, when the session is current and (for a state-changing
// request) the X-CSRF-Token header matches it. Reads the store. Errors:
// unauthorized (field session), forbidden (field X-CSRF-Token), the store's.
boost::asio::awaitable<core::Result<Grant>> session_grant(const Request& request,
                                                          const Services& services, std::string id,
                                                          core::TimePoint now);
// GET, HEAD and OPTIONS: methods that change nothing, so need no CSRF token
// (a dashboard session) or Origin check.
bool is_safe_method(std::string_view method);
// Without keys a browser on another site could still make a loopback
// server change things (a cross-site form POST needs no CORS). So a
// state-changing request that names an Origin must come from the server's
// own origin or one `cors` allows (--cors-origin); with keys (`has_keys`)
// any may. Pure (api/routing.cpp). Errors: forbidden (field origin).
core::Result<void> check_origin(const Request& request, bool has_keys, const CorsPolicy& cors);
// Without keys, only Host values that name this server (`hosts`) are
// answered (DNS rebinding, api/host_policy.hpp). Pure (api/routing.cpp).
// Errors: forbidden (field host).
core::Result<void> check_host(const Request& request, bool has_keys, const HostPolicy& hosts);
std::vector<Route> all_routes();

// How a job's JSON is shown to a request with `grant`: a job token (the
// app's end users) sees the job's status, progress, result and errors, plus
// the payload when its scope holds it; not the worker's output or the app's
// own fields.
core::JobView job_view(Grant grant);

}  // namespace errand::api
