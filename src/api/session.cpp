#include "api/session.hpp"

#include "core/id.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>

#include <chrono>

namespace errand::api {

Sessions::Sessions(SessionOptions options) : options_(options), mac_(core::random_hex(32)) {}

std::string Sessions::digest(std::string_view id) const {
  const auto d = mac_.sign(id);
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

void Sessions::drop_expired(core::TimePoint now) {
  while (!by_expiry_.empty() && by_expiry_.begin()->first <= now) {
    by_digest_.erase(by_expiry_.begin()->second);
    by_expiry_.erase(by_expiry_.begin());
  }
}

Session Sessions::create(core::TimePoint now, std::string_view client) {
  Session session{.id = core::random_hex(32),
                  .csrf_token = core::random_hex(24),
                  .expires_at = now + options_.ttl,
                  .client = std::string(client)};
  auto key = digest(session.id);
  std::lock_guard lock(mutex_);
  drop_expired(now);
  // Full: the session closest to expiring (the oldest login) makes room.
  while (by_digest_.size() >= options_.max_sessions && !by_expiry_.empty()) {
    by_digest_.erase(by_expiry_.begin()->second);
    by_expiry_.erase(by_expiry_.begin());
  }
  by_digest_.emplace(key, Entry{session.csrf_token, session.expires_at, session.client});
  by_expiry_.emplace(session.expires_at, std::move(key));
  return session;
}

std::optional<Session> Sessions::find(std::string_view id, core::TimePoint now,
                                      std::string_view client) const {
  if (id.empty()) return std::nullopt;
  const auto key = digest(id);
  std::lock_guard lock(mutex_);
  const auto it = by_digest_.find(key);
  if (it == by_digest_.end() || it->second.expires_at <= now) return std::nullopt;
  if (it->second.client != client) return std::nullopt;
  return Session{.csrf_token = it->second.csrf_token,
                 .expires_at = it->second.expires_at,
                 .client = it->second.client};
}

void Sessions::remove(std::string_view id) {
  const auto key = digest(id);
  std::lock_guard lock(mutex_);
  const auto it = by_digest_.find(key);
  if (it == by_digest_.end()) return;
  auto [first, last] = by_expiry_.equal_range(it->second.expires_at);
  for (; first != last; ++first) {
    if (first->second == key) {
      by_expiry_.erase(first);
      break;
    }
  }
  by_digest_.erase(it);
}

std::size_t Sessions::size() const {
  std::lock_guard lock(mutex_);
  return by_digest_.size();
}

std::string_view cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const auto end = header.find(';');
    auto pair = header.substr(0, end);
    header = end == std::string_view::npos ? std::string_view{} : header.substr(end + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
      auto value = pair.substr(eq + 1);
      while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
      return value;
    }
  }
  return {};
}

std::string session_cookie(const Session& session, core::Millis ttl) {
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(ttl).count();
  return fmt::format("{}={}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict", kSessionCookie,
                     session.id, seconds);
}

std::string cleared_session_cookie() {
  return fmt::format("{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict", kSessionCookie);
}

bool same_secret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace errand::api
