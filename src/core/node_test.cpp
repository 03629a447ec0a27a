#include "core/node.hpp"

#include <gtest/gtest.h>

#include <array>

namespace errand::core {
namespace {

const TimePoint kNow = from_unix_ms(1'800'000'000'000);

Node seen_at(TimePoint last_seen) {
  Node n;
  n.id = "a1";
  n.started_at = last_seen - Millis{60'000};
  n.last_seen = last_seen;
  return n;
}

TEST(NodeState, UpUntilFifteenSecondsWithoutAHeartbeat) {
  EXPECT_EQ(node_state(seen_at(kNow), kNow), NodeState::up);
  EXPECT_EQ(node_state(seen_at(kNow - Millis{14'999}), kNow), NodeState::up);
  EXPECT_EQ(node_state(seen_at(kNow - Millis{15'000}), kNow), NodeState::gone);
  EXPECT_EQ(node_state(seen_at(kNow - Millis{3'600'000}), kNow), NodeState::gone);
}

TEST(NodeState, ALastSeenAheadOfNowIsUp) {
  EXPECT_EQ(node_state(seen_at(kNow + Millis{2'000}), kNow), NodeState::up);
}

TEST(NodeState, StoppedWinsWhateverLastSeen) {
  auto n = seen_at(kNow);
  n.stopped_at = kNow;
  EXPECT_EQ(node_state(n, kNow), NodeState::stopped);
  n.last_seen = kNow - Millis{86'400'000};
  EXPECT_EQ(node_state(n, kNow), NodeState::stopped);
}

TEST(NodeState, GoneAfterIsTheCallers) {
  EXPECT_EQ(node_state(seen_at(kNow - Millis{2'000}), kNow, Millis{1'000}), NodeState::gone);
}

TEST(NodeState, Names) {
  EXPECT_EQ(to_string(NodeState::up), "up");
  EXPECT_EQ(to_string(NodeState::gone), "gone");
  EXPECT_EQ(to_string(NodeState::stopped), "stopped");
}

TEST(ClusterFigures, SumsThisNodeNowAndTheOthersThatAreUp) {
  auto self = seen_at(kNow - Millis{4'000});
  self.id = "self";
  self.figures = {.waiting_claims = 100, .event_streams = 100, .workers_connected = 100};
  auto other = seen_at(kNow - Millis{3'000});
  other.id = "other";
  other.figures = {.waiting_claims = 2, .event_streams = 3, .workers_connected = 4};
  auto gone = seen_at(kNow - Millis{20'000});
  gone.id = "gone";
  gone.figures = {.waiting_claims = 50, .event_streams = 50, .workers_connected = 50};
  auto stopped = seen_at(kNow);
  stopped.id = "stopped";
  stopped.stopped_at = kNow;
  stopped.figures = {.waiting_claims = 70, .event_streams = 70, .workers_connected = 70};
  const NodeFigures mine{.waiting_claims = 1, .event_streams = 1, .workers_connected = 1};
  const auto c = cluster_figures({self, other, gone, stopped}, "self", mine, kNow);
  EXPECT_EQ(c.total.waiting_claims, 3);
  EXPECT_EQ(c.total.event_streams, 4);
  EXPECT_EQ(c.total.workers_connected, 5);
  EXPECT_EQ(c.this_node.waiting_claims, 1);
  EXPECT_EQ((std::array{c.up, c.gone, c.stopped}), (std::array<std::size_t, 3>{2, 1, 1}));
}

TEST(ClusterFigures, ThisNodeCountsBeforeItsFirstHeartbeatIsListed) {
  const NodeFigures mine{.waiting_claims = 2, .event_streams = 0, .workers_connected = 1};
  const auto c = cluster_figures({}, "self", mine, kNow);
  EXPECT_EQ(c.total.waiting_claims, 2);
  EXPECT_EQ(c.up, 1u);
}

TEST(NodeId, SixteenHexDigitsNewEachTime) {
  const auto a = make_node_id();
  const auto b = make_node_id();
  EXPECT_EQ(a.size(), 16u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace errand::core
