// A node: one `errand server` process among those sharing a store. Each
// registers itself in the store at start and heartbeats every few seconds
// (engine/nodes.hpp); this is what the registry holds of it, and the one
// decision made about it — whether it is up, gone or stopped — as a pure
// function of its row and `now`.
#pragma once

#include "core/time.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace errand::core {

// What a node reports of itself at each heartbeat: figures that are cheap
// to count and only that node knows.
struct NodeFigures {
  std::int64_t waiting_claims = 0;     // long-poll claims waiting for work now
  std::int64_t event_streams = 0;      // job event streams (SSE) open now
  std::int64_t workers_connected = 0;  // worker names that claimed in the last minute
};

struct Node {
  std::string id;       // random, new at every start of the process
  std::string name;     // the host's name
  std::string address;  // the URL it is reached at (--advertise-url, else its --listen)
  std::string version;  // errand's version
  std::string store;    // "sqlite" or "postgres"
  TimePoint started_at;
  TimePoint last_seen;                  // its last heartbeat
  std::optional<TimePoint> stopped_at;  // set by a clean shutdown
  NodeFigures figures;                  // as of last_seen
};

enum class NodeState : std::uint8_t {
  up,       // heartbeating
  gone,     // no heartbeat for `gone_after` (killed, hung, or cut off from the store)
  stopped,  // shut down cleanly
};

inline constexpr Millis kNodeHeartbeatInterval{5'000};
inline constexpr Millis kNodeGoneAfter{15'000};
inline constexpr Millis kNodeForgetAfter{86'400'000};

// stopped when stopped_at is set; else gone when `now - last_seen` is
// `gone_after` or more; else up.
NodeState node_state(const Node& node, TimePoint now, Millis gone_after = kNodeGoneAfter) noexcept;
std::string_view to_string(NodeState s) noexcept;

// What the servers sharing a store are doing now, for /v1/stats.
struct ClusterFigures {
  NodeFigures total;      // this node's, plus every other node's that is up
  NodeFigures this_node;  // this node's own, counted now
  std::size_t up = 0;     // nodes by state (this node counts as up)
  std::size_t gone = 0;
  std::size_t stopped = 0;
};

// Sums the figures of the nodes that are up (as of their last heartbeat)
// with this node's own, counted now (`self_now`): a node that is gone or
// stopped counts for nothing, whatever its last figures said. `nodes` is
// the registry (node_list); this node's row in it, if any, is replaced by
// `self_now`, and this node counts as up even before its first heartbeat
// is in the registry.
ClusterFigures cluster_figures(const std::vector<Node>& nodes, std::string_view self_id,
                               const NodeFigures& self_now, TimePoint now,
                               Millis gone_after = kNodeGoneAfter);

// A new node id: 16 random hex digits.
std::string make_node_id();

}  // namespace errand::core
