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

JobEvent event_of(store::JobEventNotice n) {
  JobEvent e{.kind = n.progress ? JobEventKind::progress : JobEventKind::state,
             .job_id = std::move(n.id),
             .state = n.state,
             .attempt = n.attempt,
             .result = std::move(n.result),
             .error = std::move(n.error),
             .seq = n.seq};
  if (n.progress_value) e.progress = std::move(*n.progress_value);
  return e;
}

// The store's change stream was down for a while: each watched job is read
// again and its state published under its current number (delivered only
// where it is newer than what the watchers have).
void Engine::resync_events() {
  for (const auto& id : events_.watched_ids()) {
    store_.job_get({.id = id}, [this](core::Result<core::Job> job) {
      if (!job) return;
      JobEvent event{.job_id = job->id,
                     .state = job->state,
                     .attempt = job->attempt,
                     .result = job->result,
                     .seq = job->event_seq};
      if (!job->errors.empty() && job->state != core::JobState::succeeded) {
        event.error = job->errors.back().message;
      }
      events_.publish(std::move(event));
    });
  }
}

// Shared numbering: subscribed first, so every change committed after the
// snapshot's read reaches the watcher; the snapshot's number then says
// which of the events it already shows.
Task<WatchStart> Engine::watch_shared(std::string id, std::function<void()> wake,
                                      std::optional<StreamPosition> resume) {
  auto sub = events_.subscribe(id, std::move(wake), resume);
  if (sub.resumed) co_return WatchStart{std::move(sub), std::nullopt};
  auto job = co_await await_store<core::Job>(
      [&](auto done) { store_.job_get({.id = id}, std::move(done)); });
  if (!job) {
    events_.unsubscribe(sub);
    co_return job.error();
  }
  events_.start_at(sub, job->event_seq);
  // The client saw everything up to now, on this server or another.
  if (resume && resume->epoch == kSharedEpoch && resume->seq == job->event_seq &&
      !core::is_terminal(job->state)) {
    sub.resumed = true;
    co_return WatchStart{std::move(sub), std::nullopt};
  }
  co_return WatchStart{std::move(sub), std::move(*job)};
}

Task<WatchStart> Engine::watch(std::string id, std::function<void()> wake,
                               std::optional<StreamPosition> resume) {
  if (events_.shared_sequence())
    co_return co_await watch_shared(std::move(id), std::move(wake), resume);
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
