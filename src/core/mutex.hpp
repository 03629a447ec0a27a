// The mutex every Errand class locks, annotated for clang's thread-safety
// analysis (core/thread_annotations.hpp), so that "guarded by mutex_" is a
// rule the compiler checks and not a comment. leveldb's port::Mutex and
// abseil's Mutex are the model: a thin std::mutex with the annotations
// libstdc++'s lacks.
//
//   core::Mutex mutex_;
//   int pending_ GUARDED_BY(mutex_) = 0;
//   core::CondVar wake_;  // pending_ > 0
//
//   core::MutexLock lock(mutex_);
//   wake_.wait(mutex_, [this]() REQUIRES(mutex_) { return pending_ > 0; });
//
// CondVar waits on a Mutex the caller holds (like std::condition_variable
// with the std::unique_lock the lock holds). Its predicate runs with the
// mutex held; say so with REQUIRES on the lambda, or the analysis reports
// its reads of guarded members.
//
// Thread-safety: a Mutex and a CondVar are shared by the threads that lock
// them; a MutexLock belongs to the thread that made it.
#pragma once

#include "core/thread_annotations.hpp"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <utility>

namespace errand::core {

class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() ACQUIRE() { mutex_.lock(); }
  void unlock() RELEASE() { mutex_.unlock(); }
  bool try_lock() TRY_ACQUIRE(true) { return mutex_.try_lock(); }

 private:
  friend class CondVar;
  std::mutex mutex_;
};

struct AdoptLock {
  explicit AdoptLock() = default;
};
inline constexpr AdoptLock adopt_lock{};

// Holds `mutex` from construction to destruction. unlock() and lock() let go
// of it and take it again within the scope (the destructor unlocks only if
// held).
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mutex) ACQUIRE(mutex) : mutex_(mutex) { mutex_.lock(); }
  // Takes over `mutex`, which this thread holds already (a try_lock that
  // succeeded), to let go of it at the end of the scope.
  MutexLock(Mutex& mutex, AdoptLock) REQUIRES(mutex) : mutex_(mutex) {}
  ~MutexLock() RELEASE() {
    if (held_) mutex_.unlock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void unlock() RELEASE() {
    mutex_.unlock();
    held_ = false;
  }
  void lock() ACQUIRE() {
    mutex_.lock();
    held_ = true;
  }

 private:
  Mutex& mutex_;
  bool held_ = true;
};

// std::condition_variable over a core::Mutex. Every wait requires `mutex`
// held; it is let go while waiting and held again when the wait returns (or
// throws). The predicate forms return as std::condition_variable's do.
class CondVar {
 public:
  void notify_one() noexcept { cv_.notify_one(); }
  void notify_all() noexcept { cv_.notify_all(); }

  void wait(Mutex& mutex) REQUIRES(mutex) {
    Adopted held(mutex);
    cv_.wait(held.lock);
  }
  template <class Predicate>
  void wait(Mutex& mutex, Predicate stop_waiting) REQUIRES(mutex) {
    Adopted held(mutex);
    cv_.wait(held.lock, std::move(stop_waiting));
  }

  template <class Clock, class Duration>
  std::cv_status wait_until(Mutex& mutex, const std::chrono::time_point<Clock, Duration>& deadline)
      REQUIRES(mutex) {
    Adopted held(mutex);
    return cv_.wait_until(held.lock, deadline);
  }
  template <class Clock, class Duration, class Predicate>
  bool wait_until(Mutex& mutex, const std::chrono::time_point<Clock, Duration>& deadline,
                  Predicate stop_waiting) REQUIRES(mutex) {
    Adopted held(mutex);
    return cv_.wait_until(held.lock, deadline, std::move(stop_waiting));
  }

  template <class Rep, class Period>
  std::cv_status wait_for(Mutex& mutex, const std::chrono::duration<Rep, Period>& timeout)
      REQUIRES(mutex) {
    Adopted held(mutex);
    return cv_.wait_for(held.lock, timeout);
  }
  template <class Rep, class Period, class Predicate>
  bool wait_for(Mutex& mutex, const std::chrono::duration<Rep, Period>& timeout,
                Predicate stop_waiting) REQUIRES(mutex) {
    Adopted held(mutex);
    return cv_.wait_for(held.lock, timeout, std::move(stop_waiting));
  }

 private:
  // The caller's hold of the mutex, lent to std::condition_variable for one
  // wait and handed back (not unlocked) after it, however the wait ends.
  struct Adopted {
    explicit Adopted(Mutex& mutex) : lock(mutex.mutex_, std::adopt_lock) {}
    ~Adopted() { lock.release(); }
    std::unique_lock<std::mutex> lock;
  };

  std::condition_variable cv_;
};

}  // namespace errand::core
