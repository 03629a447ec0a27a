// Dashboard sessions of the PostgreSQL store (see store/store.hpp): one row
// per login in `sessions`, keyed by the digest of its id, read by every
// server, so a logout on one is seen by all at their next lookup.
#include "store/postgres/ops.hpp"

namespace errand::store::postgres::ops {
namespace {

const Statement kPut{"session_put",
                     "INSERT INTO sessions(digest, csrf_token, client, expires_at, created_at)"
                     " VALUES ($1, $2, $3, $4, $5)"
                     " ON CONFLICT (digest) DO UPDATE SET csrf_token = excluded.csrf_token,"
                     " client = excluded.client, expires_at = excluded.expires_at,"
                     " created_at = excluded.created_at"};
const Statement kGet{"session_get",
                     "SELECT digest, csrf_token, client, expires_at, created_at FROM sessions"
                     " WHERE digest = $1 AND expires_at > $2"};
const Statement kDelete{"session_delete", "DELETE FROM sessions WHERE digest = $1"};
const Statement kList{"session_list",
                      "SELECT digest, csrf_token, client, expires_at, created_at FROM sessions"
                      " WHERE expires_at > $1 ORDER BY created_at DESC, digest DESC LIMIT $2"};
// $2 bounds the work of one call. Two servers sweeping at once may pick the
// same rows: the second skips those the first deleted.
const Statement kDropExpired{"sessions_drop_expired",
                             "DELETE FROM sessions WHERE digest IN (SELECT digest FROM sessions"
                             " WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2)"};
// The oldest $2 of the sessions past the newest $1.
const Statement kDropOldest{
    "sessions_drop_oldest",
    "DELETE FROM sessions WHERE digest IN (SELECT digest FROM (SELECT digest, created_at"
    " FROM sessions ORDER BY created_at DESC, digest DESC OFFSET $1) AS past"
    " ORDER BY created_at, digest LIMIT $2)"};

core::Error session_not_found() {
  return core::make_error(core::errc::not_found, "no such dashboard session", "session");
}

DashboardSession session_of(const Rows& r, int row) {
  return DashboardSession{.digest = std::string(r.text(row, 0)),
                          .csrf_token = std::string(r.text(row, 1)),
                          .client = std::string(r.text(row, 2)),
                          .expires_at = r.time(row, 3),
                          .created_at = r.time(row, 4)};
}

}  // namespace

core::Result<Unit> session_put(OpContext& c, const SessionPutParams& p) {
  const auto& s = p.session;
  auto r = c.db.run(kPut, Params()
                              .text(s.digest)
                              .text(s.csrf_token)
                              .text(s.client)
                              .time(s.expires_at)
                              .time(s.created_at));
  if (!r) return r.error();
  return Unit{};
}

core::Result<DashboardSession> session_get(OpContext& c, const SessionGetParams& p) {
  auto r = c.db.run(kGet, Params().text(p.digest).time(p.now));
  if (!r) return r.error();
  if (r->empty()) return session_not_found();
  return session_of(*r, 0);
}

core::Result<std::vector<DashboardSession>> session_list(OpContext& c, const SessionListParams& p) {
  auto r = c.db.run(kList, Params().time(p.now).integer(static_cast<std::int64_t>(p.limit)));
  if (!r) return r.error();
  std::vector<DashboardSession> out;
  out.reserve(static_cast<std::size_t>(r->size()));
  for (int row = 0; row < r->size(); ++row) out.push_back(session_of(*r, row));
  return out;
}

core::Result<Unit> session_delete(OpContext& c, const SessionDeleteParams& p) {
  auto r = c.db.run(kDelete, Params().text(p.digest));
  if (!r) return r.error();
  if (r->affected() == 0) return session_not_found();
  return Unit{};
}

core::Result<std::int64_t> session_drop_expired(OpContext& c, const SessionDropExpiredParams& p) {
  const auto limit = static_cast<std::int64_t>(p.limit);
  auto expired = c.db.run(kDropExpired, Params().time(p.now).integer(limit));
  if (!expired) return expired.error();
  const auto dropped = expired->affected();
  if (dropped >= limit) return dropped;
  auto oldest = c.db.run(
      kDropOldest, Params().integer(static_cast<std::int64_t>(p.keep)).integer(limit - dropped));
  if (!oldest) return oldest.error();
  return dropped + oldest->affected();
}

}  // namespace errand::store::postgres::ops
