#include "api/session.hpp"

#include "core/id.hpp"
#include "engine/await_store.hpp"

#include <chrono>
#include <future>

namespace errand::api {
using boost::asio::awaitable;

namespace {

// Each login sweeps at most this many sessions: a login adds one, so the
// table never grows past the cap by more than the logins racing on other
// servers, and no login waits on a long delete.
constexpr std::size_t kSweepLimit = 1'000;

}  // namespace

Sessions::Sessions(store::Store& store, std::string_view key, SessionOptions options)
    : store_(store), options_(options), mac_(key) {}

std::string Sessions::digest(std::string_view id) const {
  return mac_.sign_hex(id);
}

awaitable<core::Result<Session>> Sessions::create(core::TimePoint now, std::string client) {
  Session session{.id = core::random_hex(32),
                  .csrf_token = core::random_hex(24),
                  .expires_at = now + options_.ttl,
                  .client = std::move(client)};
  // Room first, so the cap never drops the session being made.
  store::SessionDropExpiredParams sweep{
      .now = now,
      .keep = options_.max_sessions > 0 ? options_.max_sessions - 1 : 0,
      .limit = kSweepLimit};
  auto swept = co_await engine::await_store<std::int64_t>(
      [&](auto done) { store_.session_drop_expired(sweep, std::move(done)); });
  if (!swept) co_return swept.error();
  store::SessionPutParams put{.session = {.digest = digest(session.id),
                                          .csrf_token = session.csrf_token,
                                          .client = session.client,
                                          .expires_at = session.expires_at,
                                          .created_at = now}};
  auto stored = co_await engine::await_store<store::Unit>(
      [&](auto done) { store_.session_put(std::move(put), std::move(done)); });
  if (!stored) co_return stored.error();
  co_return session;
}

awaitable<core::Result<std::optional<Session>>> Sessions::find(std::string id, core::TimePoint now,
                                                               std::string client) const {
  if (!is_session_id(id)) co_return std::optional<Session>();
  store::SessionGetParams get{.digest = digest(id), .now = now};
  auto found = co_await engine::await_store<store::DashboardSession>(
      [&](auto done) { store_.session_get(std::move(get), std::move(done)); });
  if (!found) {
    if (found.error().code == core::errc::not_found) co_return std::optional<Session>();
    co_return found.error();
  }
  if (found->client != client) co_return std::optional<Session>();
  co_return std::optional<Session>(Session{.csrf_token = std::move(found->csrf_token),
                                           .expires_at = found->expires_at,
                                           .client = std::move(found->client)});
}

awaitable<core::Result<void>> Sessions::remove(std::string id) {
  if (!is_session_id(id)) co_return core::Result<void>();
  store::SessionDeleteParams gone{.digest = digest(id)};
  auto removed = co_await engine::await_store<store::Unit>(
      [&](auto done) { store_.session_delete(std::move(gone), std::move(done)); });
  if (!removed && removed.error().code != core::errc::not_found) co_return removed.error();
  co_return core::Result<void>();
}

awaitable<core::Result<std::vector<Sessions::Listed>>> Sessions::list(core::TimePoint now,
                                                                      std::size_t limit) const {
  store::SessionListParams params{.now = now, .limit = limit};
  auto stored = co_await engine::await_store<std::vector<store::DashboardSession>>(
      [&](auto done) { store_.session_list(std::move(params), std::move(done)); });
  if (!stored) co_return stored.error();
  std::vector<Listed> out;
  out.reserve(stored->size());
  for (auto& s : *stored) {
    out.push_back({.digest = std::move(s.digest),
                   .client = std::move(s.client),
                   .created_at = s.created_at,
                   .expires_at = s.expires_at});
  }
  co_return out;
}

awaitable<core::Result<void>> Sessions::revoke(std::string digest) {
  store::SessionDeleteParams gone{.digest = std::move(digest)};
  auto removed = co_await engine::await_store<store::Unit>(
      [&](auto done) { store_.session_delete(std::move(gone), std::move(done)); });
  if (!removed) co_return removed.error();
  co_return core::Result<void>();
}

core::Result<std::string> load_or_create_session_key(store::Store& store) {
  std::promise<core::Result<std::string>> promise;
  auto future = promise.get_future();
  store.setting_get_or_put(
      {.name = "session_key", .value = core::random_hex(32)},
      [&promise](core::Result<std::string> r) { promise.set_value(std::move(r)); });
  auto key = future.get();
  if (!key) return key.error();
  if (key->size() < 32) {
    return core::make_error(core::errc::internal,
                            "the store's session key is shorter than 32 bytes");
  }
  return key;
}

}  // namespace errand::api
