// This server as one node of those sharing a store: it registers itself and
// heartbeats (store::Store::node_heartbeat) every `interval` with the
// injected clock's `now` — the first heartbeat as it starts — carrying its
// live figures, marks itself stopped at a clean shutdown, and reads the
// registry for GET /v1/nodes and the cluster's figures in /v1/stats. A node
// is up, gone or stopped as core::node_state judges its row by this
// server's clock.
//
// A failed heartbeat (the store cannot be reached or written) is remembered
// until one succeeds: /healthz answers 503 meanwhile, so a load balancer
// drops the node. The loop runs on a strand of its own; every other method
// is thread-safe. `start` before `announce` does nothing (tests that drive
// the engine by hand); `stop` is safe before `start` and twice.
#pragma once

#include "core/mutex.hpp"
#include "core/node.hpp"
#include "store/store.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace errand::engine {

struct NodeOptions {
  core::Millis interval = core::kNodeHeartbeatInterval;
  core::Millis gone_after = core::kNodeGoneAfter;
  core::Millis forget_after = core::kNodeForgetAfter;
};

// A registry row as GET /v1/nodes shows it.
struct NodeView {
  core::Node node;
  core::NodeState state = core::NodeState::up;
  bool self = false;  // the answering server
};

class Nodes {
 public:
  Nodes(boost::asio::any_io_executor executor, store::Store& store, const core::Clock& clock,
        NodeOptions options = {});
  ~Nodes();
  Nodes(const Nodes&) = delete;
  Nodes& operator=(const Nodes&) = delete;

  // Who this server is (id, name, address, version, store, started_at; the
  // rest is the heartbeat's) and how to count its figures at each
  // heartbeat (any thread). Call once, before start().
  void announce(core::Node self, std::function<core::NodeFigures()> figures);
  // Heartbeats at once, then every options.interval, until stop().
  void start();
  // Ends the loop (a heartbeat already in the store completes first).
  void stop();
  // Marks this node stopped in the store and waits for the store's answer.
  // Call after the loop has ended (the io_context has returned), never on a
  // store thread. Errors: the store's; without announce(), nothing is done.
  core::Result<void> mark_stopped();

  // One heartbeat at `now` (the loop's, and tests'). Errors: the store's,
  // also remembered for heartbeat_failure().
  boost::asio::awaitable<core::Result<store::Unit>> heartbeat(core::TimePoint now);
  // The registry, each node judged at the clock's now, this one marked self.
  boost::asio::awaitable<core::Result<std::vector<NodeView>>> list();
  // The figures of every node that is up, with this one's counted now.
  boost::asio::awaitable<core::Result<core::ClusterFigures>> cluster();

  // Why the last heartbeat failed, while none has succeeded since.
  std::optional<std::string> heartbeat_failure() const EXCLUDES(failure_mutex_);
  // This server's figures, counted now (zero before announce()).
  core::NodeFigures own_figures() const;
  // This server's identity (empty before announce()).
  const core::Node& self() const { return self_; }
  std::uint64_t heartbeats() const { return heartbeats_.load(); }

 private:
  boost::asio::awaitable<void> loop();

  boost::asio::strand<boost::asio::any_io_executor> strand_;
  store::Store& store_;
  const core::Clock& clock_;
  NodeOptions options_;
  core::Node self_;  // set by announce(), then only read
  std::function<core::NodeFigures()> figures_;
  std::atomic<bool> started_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> heartbeats_{0};
  mutable core::Mutex failure_mutex_;
  std::optional<std::string> failure_ GUARDED_BY(failure_mutex_);
  std::shared_ptr<boost::asio::steady_timer> timer_;  // touched only on strand_
};

}  // namespace errand::engine
