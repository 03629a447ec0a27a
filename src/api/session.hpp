// Dashboard sessions: what logging in to the dashboard with an admin key (or
// the dashboard password) gives the browser.
//
// A session is a random 256-bit id kept by the browser in an HttpOnly,
// SameSite=Strict cookie, plus a random CSRF token the page holds in memory
// and sends as `X-CSRF-Token` with every state-changing request. Sessions
// live in this server's memory for `ttl` from login (a restart logs everyone
// out); the table holds at most `max_sessions`, dropping the oldest first.
// Ids are kept only as HMAC digests under a per-process key, so a lookup
// leaks no timing about stored ids. A session is bound to the client
// address that logged in: its cookie presented from another address is no
// session (cookies are shared by every port of a host name, so another
// service on the dashboard's host name receives it). Thread-safe.
#pragma once

#include "core/hmac.hpp"
#include "core/time.hpp"

#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace errand::api {

inline constexpr std::string_view kSessionCookie = "errand_session";

struct SessionOptions {
  core::Millis ttl{12 * 3'600'000};
  std::size_t max_sessions = 10'000;
};

struct Session {
  std::string id;  // the cookie's value: only create() returns it
  std::string csrf_token;
  core::TimePoint expires_at;
  std::string client;  // the address that logged in
};

class Sessions {
 public:
  explicit Sessions(SessionOptions options = {});

  // A new session of `client` (its address) from `now`.
  Session create(core::TimePoint now, std::string_view client = {});
  // The session with this id, unless unknown, expired at `now`, or made by
  // another client address than `client` (its `id` is left empty).
  std::optional<Session> find(std::string_view id, core::TimePoint now,
                              std::string_view client = {}) const;
  void remove(std::string_view id);
  std::size_t size() const;

  core::Millis ttl() const { return options_.ttl; }

 private:
  struct Entry {
    std::string csrf_token;
    core::TimePoint expires_at;
    std::string client;
  };
  std::string digest(std::string_view id) const;
  void drop_expired(core::TimePoint now);

  const SessionOptions options_;
  const core::HmacSha256 mac_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> by_digest_;
  std::multimap<core::TimePoint, std::string> by_expiry_;
};

// The value of cookie `name` in a Cookie header ("" when absent).
std::string_view cookie_value(std::string_view cookie_header, std::string_view name);

// Set-Cookie values that set and clear the session cookie.
std::string session_cookie(const Session& session, core::Millis ttl);
std::string cleared_session_cookie();

// Equal strings, compared in time independent of where they differ.
bool same_secret(std::string_view a, std::string_view b);

}  // namespace errand::api
