#include "engine/waiters.hpp"

#include <algorithm>

namespace errand::engine {

std::uint64_t Waiters::generation() const {
  core::MutexLock lock(mutex_);
  return generation_;
}

std::uint64_t Waiters::add(std::vector<std::string> queues, std::uint64_t seen_generation,
                           WakeFn wake) {
  core::MutexLock lock(mutex_);
  if (generation_ != seen_generation) return 0;
  const auto ticket = next_ticket_++;
  waiters_.emplace(ticket, Waiter{std::move(queues), std::move(wake)});
  return ticket;
}

void Waiters::remove(std::uint64_t ticket) {
  core::MutexLock lock(mutex_);
  waiters_.erase(ticket);
}

void Waiters::notify(const std::vector<std::string>& queues) {
  std::vector<WakeFn> to_wake;
  {
    core::MutexLock lock(mutex_);
    ++generation_;
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      const bool wants = std::any_of(
          it->second.queues.begin(), it->second.queues.end(), [&](const std::string& q) {
            return std::find(queues.begin(), queues.end(), q) != queues.end();
          });
      if (wants) {
        to_wake.push_back(std::move(it->second.wake));
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& wake : to_wake) wake();
}

void Waiters::notify_all() {
  std::vector<WakeFn> to_wake;
  {
    core::MutexLock lock(mutex_);
    ++generation_;
    for (auto& [ticket, waiter] : waiters_) to_wake.push_back(std::move(waiter.wake));
    waiters_.clear();
  }
  for (auto& wake : to_wake) wake();
}

std::size_t Waiters::size() const {
  core::MutexLock lock(mutex_);
  return waiters_.size();
}

}  // namespace errand::engine
