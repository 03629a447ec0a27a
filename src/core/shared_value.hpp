// A value one thread replaces while others read it (the API keys and CORS
// origins a configuration reload swaps). A reader takes a snapshot that stays
// whole and valid for as long as it holds it, whatever is stored meanwhile.
//
// A mutex rather than std::atomic<std::shared_ptr>: libstdc++ 12's load
// releases its internal lock with relaxed order, so a later store's write of
// the pointer is not ordered after the load's read of it (ThreadSanitizer
// reports it, and the memory model agrees). The critical sections copy one
// shared_ptr; an old value is destroyed outside the lock.
#pragma once

#include "core/mutex.hpp"

#include <memory>
#include <utility>

namespace errand::core {

template <class T>
class SharedValue {
 public:
  SharedValue() : value_(std::make_shared<const T>()) {}
  explicit SharedValue(std::shared_ptr<const T> value) : value_(std::move(value)) {}

  std::shared_ptr<const T> load() const EXCLUDES(mutex_) {
    MutexLock lock(mutex_);
    return value_;
  }

  void store(std::shared_ptr<const T> value) EXCLUDES(mutex_) {
    MutexLock lock(mutex_);
    std::swap(value_, value);
    lock.unlock();  // the old value (now in `value`) goes here, unlocked
  }

 private:
  mutable Mutex mutex_;
  std::shared_ptr<const T> value_ GUARDED_BY(mutex_);
};

}  // namespace errand::core
