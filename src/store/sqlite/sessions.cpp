// Dashboard sessions of the SQLite store (see store/store.hpp): one row per
// login in `sessions`, keyed by the digest of its id.
#include "store/sqlite/ops.hpp"

namespace errand::store::sqlite::ops {
namespace {

core::Error session_not_found() {
  return core::make_error(core::errc::not_found, "no such dashboard session", "session");
}

// Runs a DELETE … RETURNING; returns how many rows it deleted.
core::Result<std::int64_t> count_deleted(Query& q) {
  std::int64_t n = 0;
  for (;;) {
    auto row = q.step();
    if (!row) return row.error();
    if (!*row) return n;
    ++n;
  }
}

DashboardSession session_of(Query& q) {
  return DashboardSession{.digest = std::string(q.text_at(0)),
                          .csrf_token = std::string(q.text_at(1)),
                          .client = std::string(q.text_at(2)),
                          .expires_at = q.time_at(3),
                          .created_at = q.time_at(4)};
}

}  // namespace

core::Result<Unit> session_put(OpContext& c, const SessionPutParams& p) {
  const auto& s = p.session;
  Query q(c.sql[Sql::session_put]);
  q.bind_text(1, s.digest).bind_text(2, s.csrf_token).bind_text(3, s.client);
  q.bind_time(4, s.expires_at).bind_time(5, s.created_at);
  if (auto done = q.run(); !done) return done.error();
  return Unit{};
}

core::Result<DashboardSession> session_get(OpContext& c, const SessionGetParams& p) {
  Query q(c.sql[Sql::session_get]);
  q.bind_text(1, p.digest).bind_time(2, p.now);
  auto row = q.step();
  if (!row) return row.error();
  if (!*row) return session_not_found();
  return session_of(q);
}

core::Result<std::vector<DashboardSession>> session_list(OpContext& c, const SessionListParams& p) {
  Query q(c.sql[Sql::session_list]);
  q.bind_time(1, p.now).bind_int(2, static_cast<std::int64_t>(p.limit));
  std::vector<DashboardSession> out;
  for (;;) {
    auto row = q.step();
    if (!row) return row.error();
    if (!*row) return out;
    out.push_back(session_of(q));
  }
}

core::Result<Unit> session_delete(OpContext& c, const SessionDeleteParams& p) {
  Query q(c.sql[Sql::session_delete]);
  q.bind_text(1, p.digest);
  auto deleted = count_deleted(q);
  if (!deleted) return deleted.error();
  if (*deleted == 0) return session_not_found();
  return Unit{};
}

core::Result<std::int64_t> session_drop_expired(OpContext& c, const SessionDropExpiredParams& p) {
  const auto limit = static_cast<std::int64_t>(p.limit);
  Query expired(c.sql[Sql::sessions_drop_expired]);
  expired.bind_time(1, p.now).bind_int(2, limit);
  auto dropped = count_deleted(expired);
  if (!dropped || *dropped >= limit) return dropped;
  Query oldest(c.sql[Sql::sessions_drop_oldest]);
  oldest.bind_int(1, static_cast<std::int64_t>(p.keep)).bind_int(2, limit - *dropped);
  auto over = count_deleted(oldest);
  if (!over) return over.error();
  return *dropped + *over;
}

}  // namespace errand::store::sqlite::ops
