// The node registry of the SQLite store (see store/store.hpp): one row per
// server start in `nodes`. A SQLite store has one server, so the registry
// holds this server and the starts before it (stopped, or gone after a crash).
#include "store/sqlite/ops.hpp"

#include "store/common/node_rows.hpp"

namespace errand::store::sqlite::ops {

core::Result<Unit> node_heartbeat(OpContext& c, const NodeHeartbeatParams& p) {
  const auto& n = p.node;
  Query save(c.sql[Sql::node_save]);
  save.bind_text(1, n.id)
      .bind_text(2, n.name)
      .bind_text(3, n.address)
      .bind_text(4, n.version)
      .bind_text(5, n.store)
      .bind_time(6, n.started_at)
      .bind_time(7, p.now)
      .bind_int(8, n.figures.waiting_claims)
      .bind_int(9, n.figures.event_streams)
      .bind_int(10, n.figures.workers_connected);
  if (auto done = save.run(); !done) return done.error();
  Query forget(c.sql[Sql::nodes_forget]);
  forget.bind_time(1, p.now - p.forget_after);
  if (auto done = forget.run(); !done) return done.error();
  return Unit{};
}

core::Result<Unit> node_stop(OpContext& c, const NodeStopParams& p) {
  Query stop(c.sql[Sql::node_stop]);
  stop.bind_text(1, p.id).bind_time(2, p.now);
  auto row = stop.step();
  if (!row) return row.error();
  // SQLite makes all of an UPDATE … RETURNING's changes at its first step.
  if (!*row) return core::make_error(core::errc::not_found, "no node " + p.id, "id");
  return Unit{};
}

core::Result<std::vector<core::Node>> node_list(OpContext& c) {
  Query q(c.sql[Sql::node_all]);
  std::vector<core::Node> out;
  for (;;) {
    auto row = q.step();
    if (!row) return row.error();
    if (!*row) break;
    out.push_back({.id = std::string(q.text_at(0)),
                   .name = std::string(q.text_at(1)),
                   .address = std::string(q.text_at(2)),
                   .version = std::string(q.text_at(3)),
                   .store = std::string(q.text_at(4)),
                   .started_at = q.time_at(5),
                   .last_seen = q.time_at(6),
                   .stopped_at = q.opt_time_at(7),
                   .figures = {.waiting_claims = q.int_at(8),
                               .event_streams = q.int_at(9),
                               .workers_connected = q.int_at(10)}});
  }
  sort_nodes(out);
  return out;
}

}  // namespace errand::store::sqlite::ops
