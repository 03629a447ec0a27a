// Dashboard sessions: what logging in to the dashboard with an admin key (or
// the dashboard password) gives the browser.
//
// A session is a random 256-bit id kept by the browser in an HttpOnly,
// SameSite=Strict cookie, plus a random CSRF token the page holds in memory
// and sends as `X-CSRF-Token` with every state-changing request. Sessions
// live in the store (store::Store's session_* verbs) for `ttl` from login,
// so every server on the store shares them: a login on one server is valid
// on all of them and outlives a restart, and a logout on one ends the
// session on all of them at once — nothing is cached, every lookup reads the
// store (a request without a session cookie, or with one that cannot be an
// id, reads nothing). The store holds at most `max_sessions`: a login drops
// the expired ones and, past the cap, the oldest.
//
// Ids are kept only as HMAC digests, under a key every server on the store
// shares (load_or_create_session_key), so the store never holds a usable
// cookie value. A session is bound to the client address that logged in:
// its cookie presented from another address is no session (cookies are
// shared by every port of a host name, so another service on the
// dashboard's host name receives it).
//
// Thread-safe: the methods are coroutines that may run on any executor;
// each resumes on its caller's.
#pragma once

#include "core/error.hpp"
#include "core/hmac.hpp"
#include "core/time.hpp"
#include "store/store.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

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
  // `key`: the digest key every server on `store` shares
  // (load_or_create_session_key). `store` outlives this.
  Sessions(store::Store& store, std::string_view key, SessionOptions options = {});

  // A new session of `client` (its address) from `now`, stored before this
  // returns (durable). Errors: the store's (unavailable, internal).
  boost::asio::awaitable<core::Result<Session>> create(core::TimePoint now, std::string client);
  // The session with this id, unless unknown, expired at `now`, or made by
  // another client address than `client` (nullopt; its `id` is left empty).
  // Errors: the store's (unavailable, internal), never for an unknown id.
  boost::asio::awaitable<core::Result<std::optional<Session>>> find(std::string id,
                                                                    core::TimePoint now,
                                                                    std::string client) const;
  // Ends the session with this id on every server (nothing when there is
  // none). Errors: the store's (unavailable, internal).
  boost::asio::awaitable<core::Result<void>> remove(std::string id);

  // The current sessions, newest first, at most `limit`: an admin's view
  // (GET /v1/sessions), named by their digests, never their ids or CSRF
  // tokens. Errors: the store's.
  struct Listed {
    std::string digest;
    std::string client;
    core::TimePoint created_at;
    core::TimePoint expires_at;
  };
  boost::asio::awaitable<core::Result<std::vector<Listed>>> list(core::TimePoint now,
                                                                 std::size_t limit) const;
  // Ends the session with this digest on every server (DELETE
  // /v1/sessions/{digest}). Errors: not_found (field "session"), the store's.
  boost::asio::awaitable<core::Result<void>> revoke(std::string digest);

  core::Millis ttl() const { return options_.ttl; }
  // The digest the store keeps for `id` (hex).
  std::string digest(std::string_view id) const;

 private:
  store::Store& store_;
  const SessionOptions options_;
  const core::HmacSha256 mac_;
};

// The digest key every server on `store` shares: the store's "session_key"
// setting, made (32 random bytes, hex) by the first server to start.
// Blocking: for start-up. Errors: the store's; internal when the stored key
// is shorter than 32 bytes.
core::Result<std::string> load_or_create_session_key(store::Store& store);

// The functions below read no store (api/session_cookie.cpp).

// Whether `id` has the shape of a session id (64 lowercase hex digits):
// anything else is no session, without asking the store.
bool is_session_id(std::string_view id);

// The value of cookie `name` in a Cookie header ("" when absent).
std::string_view cookie_value(std::string_view cookie_header, std::string_view name);

// Set-Cookie values that set and clear the session cookie.
std::string session_cookie(const Session& session, core::Millis ttl);
std::string cleared_session_cookie();

// Equal strings, compared in time independent of where they differ.
bool same_secret(std::string_view a, std::string_view b);

}  // namespace errand::api
