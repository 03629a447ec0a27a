#include "engine/events.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <random>

namespace errand::engine {

// ---- Watcher ------------------------------------------------------------------

std::vector<SharedEvent> Watcher::take() {
  core::MutexLock lock(mutex_);
  return std::exchange(pending_, {});
}

bool Watcher::overflowed() const {
  core::MutexLock lock(mutex_);
  return overflowed_;
}

void Watcher::push(SharedEvent event, std::size_t limit) {
  bool wake = false;
  {
    core::MutexLock lock(mutex_);
    if (overflowed_ || event->seq <= after_) return;
    if (pending_.size() >= limit) {
      // Dropped, not buffered: what it holds is released at once.
      overflowed_ = true;
      std::vector<SharedEvent>().swap(pending_);
    } else {
      pending_.push_back(std::move(event));
    }
    // One wake per drained batch: the stream takes everything pending.
    wake = overflowed_ || pending_.size() == 1;
  }
  if (wake && wake_) wake_();
}

// ---- EventBus -----------------------------------------------------------------

EventBus::EventBus(const core::Clock& clock, EventBusOptions options)
    : clock_(clock), options_(options), epoch_base_(std::random_device{}()) {
  epoch_base_ = (epoch_base_ << 32) ^ std::random_device{}();
}

bool EventBus::watched(const std::string& job_id) const {
  if (!watched()) return false;
  core::MutexLock lock(mutex_);
  return channels_.count(job_id) > 0;
}

std::vector<std::string> EventBus::watched_ids() const {
  core::MutexLock lock(mutex_);
  std::vector<std::string> ids;
  ids.reserve(channels_.size());
  for (const auto& [id, channel] : channels_) ids.push_back(id);
  return ids;
}

void EventBus::publish(JobEvent event) {
  if (!watched() || (shared_ && event.seq == 0)) return;
  core::MutexLock lock(mutex_);
  auto it = channels_.find(event.job_id);
  if (it == channels_.end()) return;
  Channel& channel = it->second;
  if (event.kind == JobEventKind::state) {
    release_held(channel);
    return deliver(channel, std::move(event));
  }
  const auto now = clock_.now();
  const bool due =
      !channel.last_progress_at || now >= *channel.last_progress_at + options_.progress_interval;
  if (due && !channel.held_progress) {
    channel.last_progress_at = now;
    return deliver(channel, std::move(event));
  }
  const bool was_held = channel.held_progress.has_value();
  channel.held_progress = std::move(event);
  if (!was_held) schedule(*channel.last_progress_at + options_.progress_interval, it->first);
}

void EventBus::release_held(Channel& channel) {
  if (!channel.held_progress) return;
  auto event = std::move(*channel.held_progress);
  channel.held_progress.reset();
  channel.last_progress_at = clock_.now();
  deliver(channel, std::move(event));
}

void EventBus::deliver(Channel& channel, JobEvent event) {
  if (shared_) {
    if (event.seq <= channel.seq) return;  // already delivered
    channel.seq = event.seq;
  } else {
    event.seq = ++channel.seq;
  }
  if (event.kind == JobEventKind::state) {
    if (event.attempt < 0) event.attempt = channel.attempt;
    channel.attempt = event.attempt;
  }
  auto shared = std::make_shared<const JobEvent>(std::move(event));
  if (channel.recent.size() >= options_.replay) {
    if (channel.complete_after) {
      channel.complete_after = std::max(*channel.complete_after, channel.recent.front()->seq);
    }
    channel.recent.erase(channel.recent.begin());
  }
  channel.recent.push_back(shared);
  auto& watchers = channel.watchers;
  for (auto& watcher : watchers) watcher->push(shared, options_.watcher_buffer);
  const auto before = watchers.size();
  std::erase_if(watchers, [](const auto& w) { return w->overflowed(); });
  if (watchers.size() == before) return;
  dropped_ += before - watchers.size();
  watcher_count_ -= before - watchers.size();
  if (watchers.empty()) {
    channel.idle_since = clock_.now();
    schedule(*channel.idle_since + options_.linger, shared->job_id);
  }
}

Subscription EventBus::subscribe(const std::string& job_id, std::function<void()> wake,
                                 std::optional<StreamPosition> resume, int attempt) {
  core::MutexLock lock(mutex_);
  auto [it, created] = channels_.try_emplace(job_id);
  Channel& channel = it->second;
  if (created) {
    channel.epoch = shared_ ? kSharedEpoch : next_epoch();
    channel_count_.fetch_add(1, std::memory_order_relaxed);
  }
  if (attempt >= 0) channel.attempt = attempt;
  auto watcher = std::make_shared<Watcher>(std::move(wake));
  Subscription sub{watcher, job_id, {channel.epoch, channel.seq}, false};
  {
    // No other thread sees the watcher yet: its lock is free, and taken for
    // the rule's sake.
    core::MutexLock watcher_lock(watcher->mutex_);
    if (shared_) {
      if (resume && resume->epoch == kSharedEpoch && channel.complete_after &&
          resume->seq >= *channel.complete_after && resume->seq <= channel.seq) {
        for (const auto& event : channel.recent) {
          if (event->seq > resume->seq) watcher->pending_.push_back(event);
        }
        watcher->after_ = resume->seq;
        sub.position = *resume;
        sub.resumed = true;
      }
    } else if (resume && resume->epoch == channel.epoch && resume->seq <= channel.seq) {
      const auto oldest = channel.recent.empty() ? channel.seq + 1 : channel.recent.front()->seq;
      if (resume->seq + 1 >= oldest) {
        for (const auto& event : channel.recent) {
          if (event->seq > resume->seq) watcher->pending_.push_back(event);
        }
        sub.position = *resume;
        sub.resumed = true;
      }
    }
  }
  channel.watchers.push_back(std::move(watcher));
  channel.idle_since.reset();
  ++watcher_count_;
  return sub;
}

void EventBus::unsubscribe(const Subscription& sub) {
  core::MutexLock lock(mutex_);
  auto it = channels_.find(sub.job_id);
  if (it == channels_.end()) return;
  auto& watchers = it->second.watchers;
  const auto found = std::find(watchers.begin(), watchers.end(), sub.watcher);
  if (found == watchers.end()) return;
  watchers.erase(found);
  --watcher_count_;
  if (!watchers.empty()) return;
  it->second.idle_since = clock_.now();
  schedule(*it->second.idle_since + options_.linger, it->first);
}

void EventBus::start_at(Subscription& sub, std::uint64_t seq) {
  core::MutexLock lock(mutex_);
  {
    core::MutexLock watcher_lock(sub.watcher->mutex_);
    sub.watcher->after_ = seq;
    std::erase_if(sub.watcher->pending_, [seq](const auto& e) { return e->seq <= seq; });
  }
  sub.position = {kSharedEpoch, seq};
  auto it = channels_.find(sub.job_id);
  if (it != channels_.end() && !it->second.complete_after) it->second.complete_after = seq;
}

std::optional<core::TimePoint> EventBus::flush_due(core::TimePoint now) {
  core::MutexLock lock(mutex_);
  while (!due_.empty() && due_.begin()->first <= now) {
    const auto job_id = due_.begin()->second;
    due_.erase(due_.begin());
    auto it = channels_.find(job_id);
    if (it == channels_.end()) continue;
    Channel& channel = it->second;
    if (channel.held_progress && now >= *channel.last_progress_at + options_.progress_interval) {
      release_held(channel);
    }
    if (channel.watchers.empty() && channel.idle_since &&
        now >= *channel.idle_since + options_.linger) {
      erase(it);
    }
  }
  if (due_.empty()) return std::nullopt;
  return due_.begin()->first;
}

void EventBus::set_flush_hook(std::function<void(core::TimePoint)> hook) {
  core::MutexLock lock(mutex_);
  flush_hook_ = std::move(hook);
}

void EventBus::schedule(core::TimePoint due, const std::string& job_id) {
  const bool earliest = due_.empty() || due < due_.begin()->first;
  due_.emplace(due, job_id);
  if (earliest && flush_hook_) flush_hook_(due);
}

void EventBus::erase(Channels::iterator it) {
  channels_.erase(it);
  channel_count_.fetch_sub(1, std::memory_order_relaxed);
}

std::uint64_t EventBus::next_epoch() {
  return epoch_base_ + ++epoch_counter_;
}

EventBusStats EventBus::stats() const {
  core::MutexLock lock(mutex_);
  return {channels_.size(), watcher_count_, dropped_};
}

std::string format_position(StreamPosition position) {
  return fmt::format("{:x}-{}", position.epoch, position.seq);
}

std::optional<StreamPosition> parse_position(std::string_view text) {
  const auto dash = text.find('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == text.size()) return std::nullopt;
  StreamPosition p;
  const auto epoch = text.substr(0, dash);
  const auto seq = text.substr(dash + 1);
  auto [e_end, e_ec] = std::from_chars(epoch.data(), epoch.data() + epoch.size(), p.epoch, 16);
  auto [s_end, s_ec] = std::from_chars(seq.data(), seq.data() + seq.size(), p.seq);
  if (e_ec != std::errc{} || e_end != epoch.data() + epoch.size()) return std::nullopt;
  if (s_ec != std::errc{} || s_end != seq.data() + seq.size()) return std::nullopt;
  return p;
}

}  // namespace errand::engine
