#include "core/node.hpp"

#include "core/id.hpp"

namespace errand::core {

NodeState node_state(const Node& node, TimePoint now, Millis gone_after) noexcept {
  if (node.stopped_at) return NodeState::stopped;
  // A last_seen ahead of `now` (another node's clock runs fast) is up.
  if (now - node.last_seen >= gone_after) return NodeState::gone;
  return NodeState::up;
}

std::string_view to_string(NodeState s) noexcept {
  switch (s) {
    case NodeState::up:
      return "up";
    case NodeState::gone:
      return "gone";
    case NodeState::stopped:
      return "stopped";
  }
  return "up";
}

namespace {
void add(NodeFigures& to, const NodeFigures& f) {
  to.waiting_claims += f.waiting_claims;
  to.event_streams += f.event_streams;
  to.workers_connected += f.workers_connected;
}
}  // namespace

ClusterFigures cluster_figures(const std::vector<Node>& nodes, std::string_view self_id,
                               const NodeFigures& self_now, TimePoint now, Millis gone_after) {
  ClusterFigures out;
  out.this_node = self_now;
  out.total = self_now;
  out.up = 1;
  for (const auto& n : nodes) {
    if (n.id == self_id) continue;
    switch (node_state(n, now, gone_after)) {
      case NodeState::up:
        ++out.up;
        add(out.total, n.figures);
        break;
      case NodeState::gone:
        ++out.gone;
        break;
      case NodeState::stopped:
        ++out.stopped;
        break;
    }
  }
  return out;
}

std::string make_node_id() {
  return random_hex(8);
}

}  // namespace errand::core
