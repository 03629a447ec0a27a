#include "engine/nodes.hpp"

#include "engine/await_store.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>

#include <algorithm>
#include <future>

namespace errand::engine {
namespace asio = boost::asio;

Nodes::Nodes(asio::any_io_executor executor, store::Store& store, const core::Clock& clock,
             NodeOptions options)
    : strand_(asio::make_strand(executor)), store_(store), clock_(clock), options_(options) {}

Nodes::~Nodes() {
  stop();
}

void Nodes::announce(core::Node self, std::function<core::NodeFigures()> figures) {
  self_ = std::move(self);
  figures_ = std::move(figures);
}

void Nodes::start() {
  if (self_.id.empty() || started_.exchange(true)) return;
  asio::co_spawn(strand_, loop(), asio::detached);
}

void Nodes::stop() {
  if (stopping_.exchange(true)) return;
  asio::post(strand_, [this] {
    if (timer_) timer_->cancel();
  });
}

core::NodeFigures Nodes::own_figures() const {
  return figures_ ? figures_() : core::NodeFigures{};
}

std::optional<std::string> Nodes::heartbeat_failure() const {
  core::MutexLock lock(failure_mutex_);
  return failure_;
}

asio::awaitable<core::Result<store::Unit>> Nodes::heartbeat(core::TimePoint now) {
  auto node = self_;
  node.figures = own_figures();
  auto done = co_await await_store<store::Unit>([&](auto callback) {
    store_.node_heartbeat(
        {.node = std::move(node), .now = now, .forget_after = options_.forget_after},
        std::move(callback));
  });
  heartbeats_.fetch_add(1);
  core::MutexLock lock(failure_mutex_);
  if (done) {
    if (failure_) spdlog::info("node {}: heartbeats reach the store again", self_.id);
    failure_.reset();
  } else {
    if (!failure_) spdlog::warn("node {}: heartbeat failed: {}", self_.id, done.error().message);
    failure_ = done.error().message;
  }
  co_return done;
}

namespace {
// After a failed heartbeat the next comes sooner: /healthz says 503 until one
// succeeds, so a node whose database is back rejoins its load balancer
// within about a second of its store reconnecting.
constexpr core::Millis kRetryAfterFailure{1'000};
}  // namespace

asio::awaitable<void> Nodes::loop() {
  timer_ = std::make_shared<asio::steady_timer>(strand_);
  while (!stopping_) {
    const auto beat = co_await heartbeat(clock_.now());
    // stop() may have cancelled the timer while the heartbeat was in the store.
    if (stopping_) break;
    timer_->expires_after(beat ? options_.interval
                               : std::min(options_.interval, kRetryAfterFailure));
    boost::system::error_code ec;
    co_await timer_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

core::Result<void> Nodes::mark_stopped() {
  if (self_.id.empty()) return {};
  std::promise<core::Result<store::Unit>> answer;
  auto future = answer.get_future();
  store_.node_stop({.id = self_.id, .now = clock_.now()},
                   [&answer](core::Result<store::Unit> r) { answer.set_value(std::move(r)); });
  auto stopped = future.get();
  if (!stopped) return stopped.error();
  return {};
}

asio::awaitable<core::Result<std::vector<NodeView>>> Nodes::list() {
  auto nodes = co_await await_store<std::vector<core::Node>>(
      [&](auto done) { store_.node_list(std::move(done)); });
  if (!nodes) co_return nodes.error();
  const auto now = clock_.now();
  std::vector<NodeView> out;
  out.reserve(nodes->size());
  for (auto& n : *nodes) {
    const bool self = !self_.id.empty() && n.id == self_.id;
    if (self) n.figures = own_figures();
    const auto state = core::node_state(n, now, options_.gone_after);
    out.push_back({.node = std::move(n), .state = state, .self = self});
  }
  co_return out;
}

asio::awaitable<core::Result<core::ClusterFigures>> Nodes::cluster() {
  auto nodes = co_await await_store<std::vector<core::Node>>(
      [&](auto done) { store_.node_list(std::move(done)); });
  if (!nodes) co_return nodes.error();
  co_return core::cluster_figures(*nodes, self_.id, own_figures(), clock_.now(),
                                  options_.gone_after);
}

}  // namespace errand::engine
