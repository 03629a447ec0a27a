// The store's change listener, shared by the writer thread (notices of its
// own commits) and the LISTEN thread (other servers' commits, and the
// "re-check everything" notice after a reconnect). Deliveries are
// serialized, so the listener never runs on two threads at once.
#pragma once

#include "core/mutex.hpp"
#include "store/store.hpp"

#include <spdlog/spdlog.h>

#include <functional>

namespace errand::store::postgres {

class Notifier {
 public:
  using Listener = std::function<void(const ChangeNotice&)>;

  void set(Listener listener) EXCLUDES(mutex_) {
    core::MutexLock lock(mutex_);
    listener_ = std::move(listener);
  }
  void deliver(const ChangeNotice& notice) EXCLUDES(mutex_) {
    core::MutexLock lock(mutex_);
    if (!listener_) return;
    try {
      listener_(notice);
    } catch (const std::exception& e) {
      spdlog::error("store change listener threw: {}", e.what());
    }
  }

 private:
  core::Mutex mutex_;
  Listener listener_ GUARDED_BY(mutex_);
};

}  // namespace errand::store::postgres
