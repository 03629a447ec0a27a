// Applying errand.toml's queues and schedules through the engine
// (cli/config_file.hpp); apart from its parsing, which needs no engine.
#include "cli/config_file.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>

namespace errand::cli {
namespace {

// Sets each declared queue's concurrency and push, keeping the rest.
boost::asio::awaitable<core::Result<void>> apply_queues(engine::Engine& engine,
                                                        const std::vector<QueueDecl>& queues) {
  for (const auto& decl : queues) {
    store::QueueConfigureParams p{.queue = decl.name};
    auto current = co_await engine.queue(decl.name);
    if (current) {
      p.paused = current->paused;
      p.config = current->config;
    } else if (current.error().code != core::errc::not_found) {
      co_return current.error();
    }
    p.config.concurrency = decl.concurrency;
    p.config.push = decl.push;
    auto done = co_await engine.configure(std::move(p));
    if (!done) co_return done.error();
  }
  co_return core::Result<void>{};
}

}  // namespace

boost::asio::awaitable<core::Result<engine::ScheduleSync>> apply_config(engine::Engine& engine,
                                                                        const ConfigFile& config) {
  auto queues = co_await apply_queues(engine, config.queues);
  if (!queues) co_return queues.error();
  co_return co_await engine.schedules().sync(core::ScheduleSource::config, config.schedules);
}

core::Result<engine::ScheduleSync> apply_config_file(boost::asio::io_context& io,
                                                     engine::Engine& engine,
                                                     const ConfigFile& config) {
  auto done = boost::asio::co_spawn(io, apply_config(engine, config), boost::asio::use_future);
  io.run();
  io.restart();
  return done.get();
}

}  // namespace errand::cli
