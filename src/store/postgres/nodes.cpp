// The node registry (see store/store.hpp): one row per server start in
// `nodes`, written by that server's heartbeats. Each server writes only its
// own row, so the upsert takes no lock another server waits on for long.
#include "store/postgres/ops.hpp"

#include "store/common/node_rows.hpp"

#include <fmt/format.h>

namespace errand::store::postgres::ops {

namespace {
const Statement kSave{
    "node_save",
    "INSERT INTO nodes(id, name, address, version, store, started_at, last_seen,"
    " waiting_claims, event_streams, workers_connected)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO UPDATE SET"
    " name = excluded.name, address = excluded.address, version = excluded.version,"
    " store = excluded.store, started_at = excluded.started_at, last_seen = excluded.last_seen,"
    " waiting_claims = excluded.waiting_claims, event_streams = excluded.event_streams,"
    " workers_connected = excluded.workers_connected"};
const Statement kStop{
    "node_stop", "UPDATE nodes SET stopped_at = $2, last_seen = $2 WHERE id = $1 RETURNING id"};
const Statement kForget{"nodes_forget", "DELETE FROM nodes WHERE last_seen < $1"};
const Statement kAll{"node_all", fmt::format("SELECT {} FROM nodes", kNodeColumns)};

}  // namespace

core::Result<Unit> node_heartbeat(OpContext& c, const NodeHeartbeatParams& p) {
  const auto& n = p.node;
  auto saved = c.db.run(kSave, Params()
                                   .text(n.id)
                                   .text(n.name)
                                   .text(n.address)
                                   .text(n.version)
                                   .text(n.store)
                                   .time(n.started_at)
                                   .time(p.now)
                                   .integer(n.figures.waiting_claims)
                                   .integer(n.figures.event_streams)
                                   .integer(n.figures.workers_connected));
  if (!saved) return saved.error();
  if (auto forgot = c.db.run(kForget, Params().time(p.now - p.forget_after)); !forgot) {
    return forgot.error();
  }
  return Unit{};
}

core::Result<Unit> node_stop(OpContext& c, const NodeStopParams& p) {
  auto r = c.db.run(kStop, Params().text(p.id).time(p.now));
  if (!r) return r.error();
  if (r->empty()) return core::make_error(core::errc::not_found, "no node " + p.id, "id");
  return Unit{};
}

core::Result<std::vector<core::Node>> node_list(OpContext& c) {
  auto r = c.db.run(kAll);
  if (!r) return r.error();
  std::vector<core::Node> out;
  for (int i = 0; i < r->size(); ++i) {
    out.push_back({.id = std::string(r->text(i, 0)),
                   .name = std::string(r->text(i, 1)),
                   .address = std::string(r->text(i, 2)),
                   .version = std::string(r->text(i, 3)),
                   .store = std::string(r->text(i, 4)),
                   .started_at = r->time(i, 5),
                   .last_seen = r->time(i, 6),
                   .stopped_at = r->opt_time(i, 7),
                   .figures = {.waiting_claims = r->integer(i, 8),
                               .event_streams = r->integer(i, 9),
                               .workers_connected = r->integer(i, 10)}});
  }
  sort_nodes(out);
  return out;
}

}  // namespace errand::store::postgres::ops
