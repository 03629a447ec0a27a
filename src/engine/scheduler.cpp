// The engine's timer: promotion of due jobs, lease expiry and pruning, run at
// the next deadline and never on a fixed polling interval.
#include "engine/await_store.hpp"
#include "engine/engine.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cassert>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>

namespace errand::engine {
namespace asio = boost::asio;

asio::awaitable<std::optional<core::TimePoint>> Engine::tick(core::TimePoint now) {
  ticks_.fetch_add(1);
  auto promoted = co_await await_store<std::int64_t>(
      [&](auto done) { store_.job_promote_due({.now = now}, std::move(done)); });
  if (!promoted) spdlog::warn("promoting due jobs failed: {}", promoted.error().message);
  auto expired = co_await await_store<std::int64_t>([&](auto done) {
    store_.lease_expire({.now = now, .jitter = next_jitter()}, std::move(done));
  });
  if (!expired) {
    spdlog::warn("expiring leases failed: {}", expired.error().message);
  } else if (*expired > 0) {
    spdlog::info("{} lease(s) expired; their jobs will be retried", *expired);
  }
  if (now >= next_prune_) {
    next_prune_ = now + options_.prune_interval;
    auto pruned = co_await await_store<std::int64_t>([&](auto done) {
      store_.job_prune_finished({.finished_before = now - options_.retention}, std::move(done));
    });
    if (pruned && *pruned > 0) spdlog::info("pruned {} finished job(s)", *pruned);
  }
  auto next = co_await await_store<std::optional<core::TimePoint>>(
      [&](auto done) { store_.next_deadline(std::move(done)); });
  std::optional<core::TimePoint> deadline = next_prune_;
  if (next && *next && **next < *deadline) deadline = **next;
  co_return deadline;
}

void Engine::start() {
  if (!options_.run_timer || started_.exchange(true)) return;
  asio::co_spawn(timer_strand_, timer_loop(), asio::detached);
  asio::co_spawn(timer_strand_, stats_loop(), asio::detached);
  schedules().start();
  nodes_.start();
}

void Engine::stop() {
  if (stopping_.exchange(true)) return;
  schedules().stop();
  nodes_.stop();
  waiters_.notify_all();
  asio::post(timer_strand_, [this] {
    if (timer_) timer_->cancel();
    if (event_timer_) event_timer_->cancel();
    if (stats_timer_) stats_timer_->cancel();
  });
}

// Keeps the sample of `at` in the store and adds the store's new samples to
// the history: with several servers on the store, the first server's sample
// of an instant is the one kept, and every server charts the same samples.
// Without the store (a failed put or read) the chart goes on with this
// server's own reading.
asio::awaitable<void> Engine::keep_sample(core::TimePoint at,
                                          const std::vector<store::QueueInfo>& queues) {
  const auto span = history_.options().span;
  const auto since = history_.newest().value_or(at - span);
  store::StatsSamplePutParams params{.sample = StatsHistory::sample_of(at, queues),
                                     .keep_after = at - span};
  auto saved = co_await await_store<store::Unit>(
      [&](auto done) { store_.stats_sample_put(std::move(params), std::move(done)); });
  if (!saved) {
    if (!stopping_) spdlog::warn("keeping a throughput sample failed: {}", saved.error().message);
    history_.sample(at, queues);
    co_return;
  }
  auto kept = co_await await_store<std::vector<store::StatsSample>>(
      [&](auto done) { store_.stats_sample_list({.since = since}, std::move(done)); });
  if (kept) {
    history_.add(*kept);
  } else {
    history_.sample(at, queues);
  }
}

// Samples the queues' counters at the start of every step for the
// throughput history (see engine/stats.hpp for several servers), and keeps
// each sample in the store, so the history outlives a restart.
asio::awaitable<void> Engine::stats_loop() {
  stats_timer_ = std::make_shared<asio::steady_timer>(timer_strand_);
  const auto span = history_.options().span;
  const auto step = history_.options().step;
  auto kept = co_await await_store<std::vector<store::StatsSample>>([&](auto done) {
    store_.stats_sample_list({.since = clock_.now() - span}, std::move(done));
  });
  if (kept) {
    history_.restore(*kept);
  } else {
    spdlog::warn("reading the throughput history failed: {}", kept.error().message);
  }
  while (!stopping_) {
    auto queues = co_await this->queues();
    if (stopping_) break;
    if (queues) {
      co_await keep_sample(StatsHistory::sample_instant(clock_.now(), step), *queues);
      remember_queues(*queues);  // queues made by schedules count too
    }
    // stop() may have cancelled the timer while the sample was in the store:
    // arming it now would hold the shutdown for a whole step.
    if (stopping_) break;
    // Just after the next step starts (+1ms: the timer may fire a fraction
    // of a millisecond early), so each sample is read within its own step.
    const auto now = clock_.now();
    stats_timer_->expires_after(StatsHistory::sample_instant(now, step) + step - now +
                                core::Millis{1});
    boost::system::error_code ec;
    co_await stats_timer_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

void Engine::request_deadline(core::TimePoint deadline) {
  asio::post(timer_strand_, [this, deadline] {
    if (!pending_deadline_ || deadline < *pending_deadline_) pending_deadline_ = deadline;
    if (timer_ && (!armed_deadline_ || deadline < *armed_deadline_)) timer_->cancel();
  });
}

asio::awaitable<void> Engine::timer_loop() {
  timer_ = std::make_shared<asio::steady_timer>(timer_strand_);
  while (!stopping_) {
    // The timer state is the strand's: the loop must wake on it.
    assert(timer_strand_.running_in_this_thread());
    pending_deadline_.reset();
    auto next = co_await tick(clock_.now());
    if (stopping_) break;  // stop() may have run while the tick was in the store
    if (pending_deadline_ && (!next || *pending_deadline_ < *next)) next = pending_deadline_;
    armed_deadline_ = next;
    const auto wait =
        std::min(next ? *next - clock_.now() : options_.max_timer_wait, options_.max_timer_wait);
    // +1ms: a deadline is "due" when now >= it, and the timer may fire early
    // by a fraction of a millisecond.
    timer_->expires_after(std::max(wait, core::Millis{0}) + core::Millis{1});
    boost::system::error_code ec;
    co_await timer_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    armed_deadline_.reset();
  }
}

}  // namespace errand::engine
