// The dashboard: its pages (compiled-in assets at / and /dashboard/*) and
// its login (/v1/session: a session cookie standing for the admin role, with
// a CSRF token for writes). See api/session.hpp.
#include "api/embedded.hpp"
#include "api/errors.hpp"
#include "api/request.hpp"
#include "api/router.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <string>

namespace errand::api {
namespace json = boost::json;
using boost::asio::awaitable;

namespace {

// A login is a key or a password: its body is never large.
constexpr std::size_t kSessionBodyLimit = 64 << 10;
constexpr std::size_t kMaxListedSessions = 1000;  // GET /v1/sessions: the newest

constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

std::string_view content_type_of(std::string_view name) {
  const auto dot = name.rfind('.');
  const auto ext = dot == std::string_view::npos ? std::string_view{} : name.substr(dot);
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "application/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".json") return "application/json";
  return "application/octet-stream";
}

const EmbeddedAsset* find_asset(std::string_view name) {
  for (const auto& asset : dashboard_assets()) {
    if (asset.name == name) return &asset;
  }
  return nullptr;
}

// Without keys the server answers loopback clients only: its pages too.
core::Result<void> check_page_access(const Context& ctx) {
  if (ctx.services.auth.has_keys() || ctx.services.auth.open_to(ctx.request)) return {};
  return core::make_error(core::errc::forbidden,
                          "this server has no API keys configured and shows its dashboard only "
                          "to loopback clients; start it with --key admin:SECRET");
}

Response asset_response(const Request& request, const EmbeddedAsset& asset) {
  Response r{.status = 200, .content_type = std::string(content_type_of(asset.name))};
  if (request.if_none_match == asset.etag) {
    r.status = 304;
  } else {
    r.body = std::string(asset.bytes);
  }
  r.headers.emplace_back("ETag", std::string(asset.etag));
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Content-Security-Policy", std::string(kContentSecurityPolicy));
  r.headers.emplace_back("Referrer-Policy", "same-origin");
  return r;
}

awaitable<Response> page(Context& ctx, std::string_view name) {
  if (auto ok = check_page_access(ctx); !ok) co_return error_response(ok.error());
  const auto* asset = find_asset(name);
  if (!asset) {
    co_return error_response(
        core::make_error(core::errc::not_found, fmt::format("no such file: {}", name)));
  }
  co_return asset_response(ctx.request, *asset);
}

awaitable<Response> index_page(Context& ctx) {
  co_return co_await page(ctx, "index.html");
}
awaitable<Response> dashboard_file(Context& ctx) {
  co_return co_await page(ctx, ctx.params[0]);
}

std::string_view cookie_session_id(const Request& request) {
  return cookie_value(request.cookie, kSessionCookie);
}

json::object session_json(const Services& s, const std::optional<Session>& session,
                          bool authenticated) {
  json::array methods{"key"};
  if (s.auth.has_dashboard_password()) methods.emplace_back("password");
  return json::object{
      {"authenticated", authenticated},
      {"mode", s.auth.has_keys() ? "keys" : "loopback"},
      {"methods", std::move(methods)},
      {"csrf_token", session ? json::value(session->csrf_token) : json::value(nullptr)},
      {"expires_at",
       session ? json::value(core::format_rfc3339(session->expires_at)) : json::value(nullptr)}};
}

// GET /v1/session: whether this browser is logged in (and its CSRF token).
awaitable<Response> get_session(Context& ctx) {
  auto& s = ctx.services;
  if (!s.auth.has_keys()) {
    if (auto ok = check_page_access(ctx); !ok) co_return error_response(ok.error());
    co_return json_response(200, json::serialize(session_json(s, std::nullopt, true)));
  }
  std::string id(cookie_session_id(ctx.request));
  auto session =
      co_await s.sessions.find(std::move(id), s.engine.clock().now(), ctx.request.remote_address);
  if (!session) co_return error_response(session.error());
  co_return json_response(200, json::serialize(session_json(s, *session, session->has_value())));
}

core::Result<bool> check_login(const Context& ctx) {
  ERRAND_TRY(body, parse_object(ctx.request.body));
  const Fields f(body);
  if (auto ok = f.only({"key", "password"}); !ok) return ok.error();
  ERRAND_TRY(key, f.string("key", 4096));
  ERRAND_TRY(password, f.string("password", 4096));
  const auto& auth = ctx.services.auth;
  if (key && password) return core::invalid("password", "send either key or password, not both");
  if (password) {
    if (!auth.has_dashboard_password()) {
      return core::invalid("password",
                           "this server has no dashboard password; log in with an admin key");
    }
    if (!auth.is_dashboard_password(*password)) {
      return core::make_error(core::errc::unauthorized, "wrong dashboard password", "password");
    }
    return true;
  }
  if (!key) return f.missing("key");
  const auto role = auth.role_of(*key);
  if (!role) return core::make_error(core::errc::unauthorized, "wrong key", "key");
  if (*role != Role::admin) {
    return core::make_error(
        core::errc::forbidden,
        fmt::format("a {} key may not use the dashboard: it needs an admin key", to_string(*role)),
        "key");
  }
  return true;
}

// POST /v1/session {"key"} or {"password"}: logs in; sets the session cookie.
awaitable<Response> create_session(Context& ctx) {
  auto& s = ctx.services;
  if (!s.auth.has_keys()) {
    co_return error_response(core::make_error(
        core::errc::conflict,
        "this server has no API keys: the dashboard needs no login (loopback clients only)"));
  }
  const auto now = s.engine.clock().now();
  const auto& client = ctx.request.remote_address;
  if (const auto wait = s.logins.refused_for(client, now)) {
    auto r = error_response(
        core::make_error(core::errc::too_many_requests,
                         fmt::format("too many failed logins from {}: try again in {} s", client,
                                     std::chrono::ceil<std::chrono::seconds>(*wait).count())));
    r.headers.emplace_back("Retry-After",
                           std::to_string(std::chrono::ceil<std::chrono::seconds>(*wait).count()));
    co_return r;
  }
  if (auto ok = check_login(ctx); !ok) {
    if (ok.error().code == core::errc::unauthorized) {
      if (auto line = s.logins.failed(client, now)) spdlog::warn("{}", *line);
    }
    co_return error_response(ok.error());
  }
  auto session = co_await s.sessions.create(now, client);
  if (!session) co_return error_response(session.error());
  auto r = json_response(200, json::serialize(session_json(s, *session, true)));
  r.headers.emplace_back("Set-Cookie", session_cookie(*session, s.sessions.ttl()));
  co_return r;
}

// DELETE /v1/session: logs out (needs the session's CSRF token).
awaitable<Response> delete_session(Context& ctx) {
  auto& s = ctx.services;
  const std::string id(cookie_session_id(ctx.request));
  auto session = co_await s.sessions.find(id, s.engine.clock().now(), ctx.request.remote_address);
  if (!session) co_return error_response(session.error());
  if (*session && !same_secret(ctx.request.csrf_token, (*session)->csrf_token)) {
    co_return error_response(core::make_error(
        core::errc::forbidden, "logging out needs the session's X-CSRF-Token", "X-CSRF-Token"));
  }
  if (*session) {
    auto removed = co_await s.sessions.remove(id);
    if (!removed) co_return error_response(removed.error());
  }
  auto r = json_response(200, json::serialize(session_json(s, std::nullopt, false)));
  r.headers.emplace_back("Set-Cookie", cleared_session_cookie());
  co_return r;
}

}  // namespace

std::string_view session_id_of(const Request& request, const Services& services) {
  if (!request.authorization.empty() || !services.auth.has_keys()) return {};
  if (request.query.contains("token")) return {};  // a job token speaks for itself
  return cookie_session_id(request);
}

awaitable<core::Result<Grant>> session_grant(const Request& request, const Services& services,
                                             std::string id, core::TimePoint now) {
  auto session = co_await services.sessions.find(std::move(id), now, request.remote_address);
  if (!session) co_return session.error();
  if (!*session) {
    co_return core::make_error(
        core::errc::unauthorized,
        "the dashboard session has expired or was made from another address: log in again",
        "session");
  }
  if (!is_safe_method(request.method) && !same_secret(request.csrf_token, (*session)->csrf_token)) {
    co_return core::make_error(
        core::errc::forbidden,
        "a change made from the dashboard must carry its session's X-CSRF-Token header",
        "X-CSRF-Token");
  }
  co_return Grant::full;
}

namespace {

// GET /v1/sessions: the dashboard's current sessions, newest first (admin).
awaitable<Response> list_sessions(Context& ctx) {
  auto& s = ctx.services;
  const auto now = s.engine.clock().now();
  auto listed = co_await s.sessions.list(now, kMaxListedSessions);
  if (!listed) co_return error_response(listed.error());
  const std::string_view own_id = cookie_session_id(ctx.request);
  const std::string own = is_session_id(own_id) ? s.sessions.digest(own_id) : std::string();
  json::array out;
  for (const auto& l : *listed) {
    out.push_back(json::object{{"id", l.digest},
                               {"client", l.client},
                               {"created_at", core::format_rfc3339(l.created_at)},
                               {"expires_at", core::format_rfc3339(l.expires_at)},
                               {"current", !own.empty() && same_secret(own, l.digest)}});
  }
  co_return json_response(200, json::serialize(json::object{{"sessions", std::move(out)}}));
}

// DELETE /v1/sessions/{id}: ends that session on every server (admin).
awaitable<Response> revoke_session(Context& ctx) {
  const auto& id = ctx.params[0];
  const bool digest_shaped = id.size() == 64 && std::all_of(id.begin(), id.end(), [](char c) {
                               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                             });
  if (!digest_shaped) {
    co_return error_response(
        core::invalid("id", "a session id is the 64 hex digits GET /v1/sessions lists"));
  }
  auto done = co_await ctx.services.sessions.revoke(id);
  if (!done) co_return error_response(done.error());
  spdlog::info("dashboard session {}… revoked", id.substr(0, 8));
  co_return json_response(200, json::serialize(json::object{{"id", id}, {"revoked", true}}));
}

}  // namespace

std::vector<Route> dashboard_routes() {
  return {
      {"GET", "/", Access::open, index_page},
      {"GET", "/dashboard/:file", Access::open, dashboard_file},
      {"GET", "/v1/session", Access::open, get_session},
      {"POST", "/v1/session", Access::open, create_session, kSessionBodyLimit},
      {"DELETE", "/v1/session", Access::open, delete_session, kSessionBodyLimit},
      {"GET", "/v1/sessions", Access::admin, list_sessions},
      {"DELETE", "/v1/sessions/:id", Access::admin, revoke_session},
  };
}

}  // namespace errand::api
