// engine::Nodes over the real SQLite store, with a fake clock: the
// heartbeat registers this server, the registry is judged by the clock, a
// clean stop marks it, and a failed heartbeat is remembered for /healthz.
#include "engine/nodes.hpp"

#include "store/sqlite/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <filesystem>
#include <future>
#include <random>
#include <thread>

namespace errand::engine {
namespace {
namespace asio = boost::asio;
using namespace std::chrono_literals;

class NodesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("errand-nodes-test-" + std::to_string(std::random_device{}()));
    auto opened = store::SqliteStore::open({.dir = dir_.string(), .store = {}});
    ASSERT_TRUE(opened) << opened.error().message;
    store_ = std::move(*opened);
    nodes_ = std::make_unique<Nodes>(io_.get_executor(), *store_, clock_);
    io_thread_ = std::thread([this] {
      auto guard = asio::make_work_guard(io_);
      io_.run();
    });
  }

  void TearDown() override {
    nodes_->stop();
    store_->close();
    io_.stop();
    io_thread_.join();
    nodes_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  template <class Awaitable>
  auto run(Awaitable a) {
    return asio::co_spawn(io_, std::move(a), asio::use_future).get();
  }

  void announce(std::string id) {
    nodes_->announce({.id = std::move(id),
                      .name = "host-a",
                      .address = "http://127.0.0.1:8740",
                      .version = "0.1.0",
                      .store = "sqlite",
                      .started_at = clock_.now(),
                      .last_seen = clock_.now(),
                      .stopped_at = std::nullopt,
                      .figures = {}},
                     [this] { return figures_; });
  }

  std::vector<NodeView> list() {
    auto listed = run(nodes_->list());
    EXPECT_TRUE(listed) << listed.error().message;
    return listed ? *listed : std::vector<NodeView>{};
  }

  std::filesystem::path dir_;
  core::FakeClock clock_;
  asio::io_context io_;
  std::thread io_thread_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Nodes> nodes_;
  core::NodeFigures figures_{.waiting_claims = 2, .event_streams = 1, .workers_connected = 3};
};

TEST_F(NodesTest, AHeartbeatRegistersThisServerWithItsFigures) {
  announce("a1");
  ASSERT_TRUE(run(nodes_->heartbeat(clock_.now())));
  auto nodes = list();
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_TRUE(nodes[0].self);
  EXPECT_EQ(nodes[0].state, core::NodeState::up);
  EXPECT_EQ(nodes[0].node.last_seen, clock_.now());
  EXPECT_EQ(nodes[0].node.figures.waiting_claims, 2);
  // This node's figures are counted at the read, not at its last heartbeat.
  figures_.waiting_claims = 5;
  EXPECT_EQ(list()[0].node.figures.waiting_claims, 5);
  EXPECT_FALSE(nodes_->heartbeat_failure());
  EXPECT_EQ(nodes_->heartbeats(), 1u);
}

TEST_F(NodesTest, TheRegistryIsJudgedByTheClock) {
  announce("a1");
  ASSERT_TRUE(run(nodes_->heartbeat(clock_.now())));
  clock_.advance(14'999ms);
  EXPECT_EQ(list()[0].state, core::NodeState::up);
  clock_.advance(1ms);
  EXPECT_EQ(list()[0].state, core::NodeState::gone);
  ASSERT_TRUE(run(nodes_->heartbeat(clock_.now())));
  EXPECT_EQ(list()[0].state, core::NodeState::up);
}

TEST_F(NodesTest, TheClusterSumsThisNodeNowWithTheOthersUp) {
  announce("a1");
  ASSERT_TRUE(run(nodes_->heartbeat(clock_.now())));
  core::Node other{.id = "b2",
                   .name = "host-b",
                   .address = "http://10.0.0.2:8740",
                   .version = "0.1.0",
                   .store = "sqlite",
                   .started_at = clock_.now(),
                   .last_seen = {},
                   .stopped_at = std::nullopt,
                   .figures = {.waiting_claims = 4, .event_streams = 0, .workers_connected = 1}};
  std::promise<core::Result<store::Unit>> put;
  store_->node_heartbeat({.node = other, .now = clock_.now()},
                         [&](core::Result<store::Unit> r) { put.set_value(std::move(r)); });
  ASSERT_TRUE(put.get_future().get());
  auto cluster = run(nodes_->cluster());
  ASSERT_TRUE(cluster) << cluster.error().message;
  EXPECT_EQ(cluster->total.waiting_claims, 6);
  EXPECT_EQ(cluster->this_node.waiting_claims, 2);
  EXPECT_EQ(cluster->up, 2u);
  clock_.advance(20s);  // b2 sent no heartbeat since: gone, and counts for nothing
  cluster = run(nodes_->cluster());
  ASSERT_TRUE(cluster);
  EXPECT_EQ(cluster->total.waiting_claims, 2);
  EXPECT_EQ(cluster->gone, 1u);
}

TEST_F(NodesTest, MarkStoppedLeavesTheNodeStopped) {
  announce("a1");
  ASSERT_TRUE(run(nodes_->heartbeat(clock_.now())));
  clock_.advance(2s);
  ASSERT_TRUE(nodes_->mark_stopped());
  auto nodes = list();
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0].state, core::NodeState::stopped);
  EXPECT_EQ(nodes[0].node.stopped_at, clock_.now());
}

TEST_F(NodesTest, AFailedHeartbeatIsRemembered) {
  announce("a1");
  ASSERT_TRUE(run(nodes_->heartbeat(clock_.now())));
  EXPECT_FALSE(nodes_->heartbeat_failure());
  store_->close();  // every later verb fails
  EXPECT_FALSE(run(nodes_->heartbeat(clock_.now())));
  ASSERT_TRUE(nodes_->heartbeat_failure());
  EXPECT_FALSE(nodes_->heartbeat_failure()->empty());
}

TEST_F(NodesTest, WithoutAnnounceNothingRuns) {
  nodes_->start();
  EXPECT_TRUE(nodes_->mark_stopped());
  EXPECT_TRUE(list().empty());
  EXPECT_EQ(nodes_->heartbeats(), 0u);
}

}  // namespace
}  // namespace errand::engine
