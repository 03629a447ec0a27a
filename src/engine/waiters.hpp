// Long-poll claim waiters.
//
// A claim that found nothing registers here with the queues it wants and a
// wake-up function, then sleeps. When a commit makes jobs runnable in a queue,
// `notify` wakes every waiter of that queue at once (the woken claims race
// for the jobs in the store, which hands each job out once). A generation
// counter closes the gap between "my claim found nothing" and "I registered":
// `add` refuses if any notification happened since the caller's snapshot.
// Thread-safe; wake functions are called without the lock held.
#pragma once

#include "core/mutex.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

namespace errand::engine {

class Waiters {
 public:
  using WakeFn = std::function<void()>;

  // The generation to pass to `add`; take it before trying to claim.
  std::uint64_t generation() const EXCLUDES(mutex_);

  // Registers a waiter; returns 0 (not registered) if a notification happened
  // after `seen_generation`, so the caller should claim again at once.
  std::uint64_t add(std::vector<std::string> queues, std::uint64_t seen_generation, WakeFn wake)
      EXCLUDES(mutex_);
  void remove(std::uint64_t ticket) EXCLUDES(mutex_);

  // Wakes every waiter of any of `queues` (each at most once) and forgets it.
  void notify(const std::vector<std::string>& queues) EXCLUDES(mutex_);
  // Wakes everyone (shutdown).
  void notify_all() EXCLUDES(mutex_);

  std::size_t size() const EXCLUDES(mutex_);

 private:
  struct Waiter {
    std::vector<std::string> queues;
    WakeFn wake;
  };
  mutable core::Mutex mutex_;
  std::uint64_t generation_ GUARDED_BY(mutex_) = 0;
  std::uint64_t next_ticket_ GUARDED_BY(mutex_) = 1;
  std::unordered_map<std::uint64_t, Waiter> waiters_ GUARDED_BY(mutex_);
};

}  // namespace errand::engine
