// The LISTEN side of wake-ups across servers: a thread with its own
// connection LISTENing on `<schema>_jobs`, where every transaction that made
// jobs runnable NOTIFYs with the queue's name (store/postgres/writer.cpp).
// Each notification from another session becomes a ChangeNotice naming the
// queues (this store's own, sent by its writer's session, are skipped: the
// writer already announced them). Extra wake-ups are harmless.
//
// If the connection breaks, the thread reconnects with backoff (100 ms
// doubling to 5 s), LISTENs again, calls `on_restored` (the writer then
// reconnects too, without waiting out its own backoff) and then announces
// every queue as runnable, since notifications sent meanwhile are lost and
// waiters must check again.
//
// Thread-safety: start() and stop() from one thread; the rest is internal.
#pragma once

#include "store/postgres/conn.hpp"
#include "store/postgres/notifier.hpp"

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace errand::store::postgres {

class ChangeListener {
 public:
  // `own_pid`: the writer session's backend pid (its notifications are
  // skipped). `on_restored`: called on the listener's thread when a lost
  // connection is back, before the announcement.
  ChangeListener(std::string conninfo, std::string schema, Notifier& notifier,
                 std::function<int()> own_pid, std::function<void()> on_restored = {});
  ~ChangeListener();
  ChangeListener(const ChangeListener&) = delete;
  ChangeListener& operator=(const ChangeListener&) = delete;

  // Connects and LISTENs (errors: unavailable), then starts the thread.
  core::Result<void> start();
  void stop();
  bool connected() const { return connected_.load(); }

 private:
  core::Result<std::unique_ptr<Conn>> connect();
  void loop();
  // Waits for input on the connection or for stop(); false when stopping.
  bool wait_for_input();
  // Waits `ms` unless stop() comes first; false when stopping.
  bool sleep_for(int ms);
  void deliver_notifications();
  void announce_every_queue();

  const std::string conninfo_;
  const std::string schema_;
  const std::string channel_;
  Notifier& notifier_;
  std::function<int()> own_pid_;
  std::function<void()> on_restored_;
  std::unique_ptr<Conn> conn_;
  std::atomic<bool> connected_{false};
  int stop_fd_ = -1;  // an eventfd: written by stop()
  std::thread thread_;
};

}  // namespace errand::store::postgres
