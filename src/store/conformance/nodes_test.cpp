// Conformance: node_heartbeat, node_stop and node_list — the registry of the
// servers sharing a store: a heartbeat creates or refreshes a node's row, a
// clean stop marks it, rows a day old are deleted by the next heartbeat.
#include "store/conformance/harness.hpp"

#include <algorithm>

namespace errand::store::conformance {
namespace {

core::Node node(std::string id, core::TimePoint started_at = kNow) {
  return {.id = std::move(id),
          .name = "host-a",
          .address = "http://10.0.0.1:8740",
          .version = "0.1.0",
          .store = "postgres",
          .started_at = started_at,
          .last_seen = {},
          .stopped_at = std::nullopt,
          .figures = {.waiting_claims = 3, .event_streams = 2, .workers_connected = 5}};
}

core::Result<Unit> heartbeat(Store& store, core::Node n, core::TimePoint now) {
  return call<Unit>([&](auto done) {
    store.node_heartbeat({.node = std::move(n), .now = now}, std::move(done));
  });
}

core::Result<Unit> stop(Store& store, std::string id, core::TimePoint now) {
  return call<Unit>(
      [&](auto done) { store.node_stop({.id = std::move(id), .now = now}, std::move(done)); });
}

std::vector<core::Node> list(Store& store) {
  auto got = call<std::vector<core::Node>>([&](auto done) { store.node_list(std::move(done)); });
  EXPECT_TRUE(got) << got.error().message;
  return got ? *got : std::vector<core::Node>{};
}

TEST_P(NodesTest, EmptyAtFirst) {
  EXPECT_TRUE(list(store()).empty());
}

TEST_P(NodesTest, AHeartbeatRegistersTheNodeWithEveryField) {
  ASSERT_TRUE(heartbeat(store(), node("a1", kNow - 1min), kNow));
  auto nodes = list(store());
  ASSERT_EQ(nodes.size(), 1u);
  const auto& n = nodes[0];
  EXPECT_EQ(n.id, "a1");
  EXPECT_EQ(n.name, "host-a");
  EXPECT_EQ(n.address, "http://10.0.0.1:8740");
  EXPECT_EQ(n.version, "0.1.0");
  EXPECT_EQ(n.store, "postgres");
  EXPECT_EQ(n.started_at, kNow - 1min);
  EXPECT_EQ(n.last_seen, kNow);
  EXPECT_FALSE(n.stopped_at);
  EXPECT_EQ(n.figures.waiting_claims, 3);
  EXPECT_EQ(n.figures.event_streams, 2);
  EXPECT_EQ(n.figures.workers_connected, 5);
  EXPECT_EQ(core::node_state(n, kNow), core::NodeState::up);
}

TEST_P(NodesTest, TheNextHeartbeatUpdatesTheSameRowAndSurvivesAReopen) {
  ASSERT_TRUE(heartbeat(store(), node("a1"), kNow));
  auto later = node("a1");
  later.address = "http://10.0.0.9:8740";
  later.figures = {.waiting_claims = 0, .event_streams = 7, .workers_connected = 1};
  ASSERT_TRUE(heartbeat(store(), later, kNow + 5s));
  reopen();
  auto nodes = list(store());
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0].last_seen, kNow + 5s);
  EXPECT_EQ(nodes[0].started_at, kNow);
  EXPECT_EQ(nodes[0].address, "http://10.0.0.9:8740");
  EXPECT_EQ(nodes[0].figures.waiting_claims, 0);
  EXPECT_EQ(nodes[0].figures.event_streams, 7);
  EXPECT_EQ(nodes[0].figures.workers_connected, 1);
}

TEST_P(NodesTest, ListedOldestStartFirstThenById) {
  ASSERT_TRUE(heartbeat(store(), node("c3", kNow), kNow));
  ASSERT_TRUE(heartbeat(store(), node("b2", kNow - 1h), kNow));
  ASSERT_TRUE(heartbeat(store(), node("a1", kNow), kNow));
  auto nodes = list(store());
  ASSERT_EQ(nodes.size(), 3u);
  EXPECT_EQ(nodes[0].id, "b2");
  EXPECT_EQ(nodes[1].id, "a1");
  EXPECT_EQ(nodes[2].id, "c3");
}

TEST_P(NodesTest, ANodeWithoutHeartbeatsIsGoneAfterFifteenSeconds) {
  ASSERT_TRUE(heartbeat(store(), node("a1"), kNow));
  ASSERT_TRUE(heartbeat(store(), node("b2"), kNow + 20s));
  auto nodes = list(store());
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_EQ(core::node_state(nodes[0], kNow + 20s), core::NodeState::gone);
  EXPECT_EQ(core::node_state(nodes[1], kNow + 20s), core::NodeState::up);
}

TEST_P(NodesTest, AStopMarksTheNodeStoppedAndAHeartbeatDoesNotUndoIt) {
  ASSERT_TRUE(heartbeat(store(), node("a1"), kNow));
  ASSERT_TRUE(stop(store(), "a1", kNow + 3s));
  auto nodes = list(store());
  ASSERT_EQ(nodes.size(), 1u);
  ASSERT_TRUE(nodes[0].stopped_at);
  EXPECT_EQ(*nodes[0].stopped_at, kNow + 3s);
  EXPECT_EQ(nodes[0].last_seen, kNow + 3s);
  EXPECT_EQ(core::node_state(nodes[0], kNow + 3s), core::NodeState::stopped);
  // A heartbeat already on its way when the server stopped.
  ASSERT_TRUE(heartbeat(store(), node("a1"), kNow + 4s));
  EXPECT_EQ(core::node_state(list(store())[0], kNow + 4s), core::NodeState::stopped);
}

TEST_P(NodesTest, StoppingAnUnknownNodeIsNotFound) {
  auto r = stop(store(), "nope", kNow);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::errc::not_found);
  EXPECT_EQ(r.error().field, "id");
}

TEST_P(NodesTest, AHeartbeatDeletesNodesNotSeenForADay) {
  ASSERT_TRUE(heartbeat(store(), node("old"), kNow));
  ASSERT_TRUE(heartbeat(store(), node("stopped"), kNow));
  ASSERT_TRUE(stop(store(), "stopped", kNow + 1h));
  ASSERT_TRUE(heartbeat(store(), node("recent"), kNow + 1h));
  // A day after "old" was last seen: not yet (it is deleted once more than a day has passed).
  ASSERT_TRUE(heartbeat(store(), node("self"), kNow + 24h));
  EXPECT_EQ(list(store()).size(), 4u);
  ASSERT_TRUE(heartbeat(store(), node("self"), kNow + 24h + 1ms));
  auto nodes = list(store());
  ASSERT_EQ(nodes.size(), 3u);
  std::vector<std::string> ids;
  for (const auto& n : nodes) ids.push_back(n.id);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), "old"), 0);
  // Stopped an hour after "old" was seen: kept until a day after its stop.
  ASSERT_TRUE(heartbeat(store(), node("self"), kNow + 25h + 1ms));
  nodes = list(store());
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0].id, "self");
}

TEST_P(NodesTest, ForgetAfterIsTheCallers) {
  ASSERT_TRUE(heartbeat(store(), node("a1"), kNow));
  ASSERT_TRUE(call<Unit>([&](auto done) {
    store().node_heartbeat({.node = node("b2"), .now = kNow + 2min, .forget_after = 1min},
                           std::move(done));
  }));
  auto nodes = list(store());
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0].id, "b2");
}

}  // namespace
}  // namespace errand::store::conformance
