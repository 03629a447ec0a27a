// Watching jobs: the engine's side of the event bus — events built from the
// store's answers, snapshots consistent with subscriptions, and the timer
// that delivers coalesced progress.
#include "engine/await_store.hpp"
#include "engine/engine.hpp"

#include <boost/asio/post.hpp>

namespace errand::engine {
namespace asio = boost::asio;

void Engine::publish_state(const core::Job& job) {
  JobEvent event{.job_id = job.id, .state = job.state, .attempt = job.attempt};
  if (job.state == core::JobState::succeeded) event.result = job.result;
  if ((job.state == core::JobState::failed || job.state == core::JobState::dead ||
       job.state == core::JobState::cancelled) &&
      !job.errors.empty()) {
    event.error = job.errors.back().message;
  }
  events_.publish(std::move(event));
}

Task<WatchStart> Engine::watch(std::string id, std::function<void()> wake,
                               std::optional<StreamPosition> resume) {
  if (resume) {
    auto sub = events_.subscribe(id, wake, resume);
    if (sub.resumed) co_return WatchStart{std::move(sub), std::nullopt};
    events_.unsubscribe(sub);
  }
  // Subscribing in the read's callback, on the store's thread, orders it
  // among the publishing callbacks: changes the read saw were published
  // before it, later ones after.
  co_return co_await await_store<WatchStart>([&](auto done) {
    store_.job_get({.id = id}, [this, id, wake = std::move(wake),
                                done = std::move(done)](core::Result<core::Job> job) mutable {
      if (!job) return done(job.error());
      auto sub = events_.subscribe(id, std::move(wake), std::nullopt, job->attempt);
      done(WatchStart{std::move(sub), std::move(*job)});
    });
  });
}

void Engine::arm_event_flush(core::TimePoint due) {
  if (!options_.run_timer || stopping_) return;
  asio::post(timer_strand_, [this, due] {
    if (stopping_ || (event_flush_at_ && *event_flush_at_ <= due)) return;
    event_flush_at_ = due;
    if (!event_timer_) event_timer_ = std::make_shared<asio::steady_timer>(timer_strand_);
    // +1ms: as the deadline timer, so the flush never runs a hair early.
    event_timer_->expires_after(std::max(due - clock_.now(), core::Millis{0}) + core::Millis{1});
    event_timer_->async_wait([this](boost::system::error_code ec) {
      if (ec) return;  // re-armed (the newer wait flushes) or stopped
      event_flush_at_.reset();
      if (stopping_) return;
      if (auto next = events_.flush_due(clock_.now())) arm_event_flush(*next);
    });
  });
}

}  // namespace errand::engine
