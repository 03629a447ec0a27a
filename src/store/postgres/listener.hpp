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
// The thread also measures how far the database's clock is ahead of the
// server's (clock_offset()): at start, after a reconnect and every
// kClockInterval, three readings of clock_timestamp(), keeping the one with
// the shortest round trip and taking the database's reading to be from the
// middle of it.
//
// Thread-safety: start() and stop() from one thread; clock_offset() and
// connected() from any; the rest is internal.
#pragma once

#include "core/mutex.hpp"
#include "core/time.hpp"
#include "store/postgres/conn.hpp"
#include "store/postgres/events.hpp"
#include "store/postgres/notifier.hpp"

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

namespace errand::store::postgres {

class ChangeListener {
 public:
  // `own_pid`: the writer session's backend pid (its notifications are
  // skipped). `on_restored`: called on the listener's thread when a lost
  // connection is back, before the announcement.
  // `clock`: the server's clock (null: the system clock).
  ChangeListener(std::string conninfo, std::string schema, Notifier& notifier,
                 std::function<int()> own_pid, std::function<void()> on_restored = {},
                 const core::Clock* clock = nullptr);
  ~ChangeListener();
  ChangeListener(const ChangeListener&) = delete;
  ChangeListener& operator=(const ChangeListener&) = delete;

  // Connects and LISTENs (errors: unavailable), then starts the thread.
  core::Result<void> start();
  void stop();
  bool connected() const { return connected_.load(); }
  std::optional<core::Millis> clock_offset() const;
  // Where job events go (store/postgres/events.hpp); any thread.
  void set_job_event_feed(JobEventFeed feed) EXCLUDES(feed_mutex_);

  static constexpr core::Millis kClockInterval{5'000};

 private:
  core::Result<std::unique_ptr<Conn>> connect();
  void loop();
  enum class Wake { input, timeout, stop };
  // Waits for input on the connection, for stop(), or until the clock is
  // due to be measured again.
  Wake wait_for_input();
  void measure_clock();
  // Waits `ms` unless stop() comes first; false when stopping.
  bool sleep_for(int ms);
  void deliver_notifications();
  // One pass over libpq's queue of notifications; true if it ran a query
  // (more may have queued meanwhile).
  bool deliver_queued();
  void announce_every_queue();
  void collect_events(std::string_view payload, std::vector<AnnouncedEvent>& out)
      EXCLUDES(feed_mutex_);
  void deliver_events(const std::vector<AnnouncedEvent>& events) EXCLUDES(feed_mutex_);

  const std::string conninfo_;
  const std::string schema_;
  const std::string channel_;
  Notifier& notifier_;
  std::function<int()> own_pid_;
  std::function<void()> on_restored_;
  std::unique_ptr<Conn> conn_;
  core::Mutex feed_mutex_;
  JobEventFeed feed_ GUARDED_BY(feed_mutex_);
  std::atomic<bool> connected_{false};
  const core::SystemClock system_clock_;
  const core::Clock& clock_;
  std::atomic<std::int64_t> clock_offset_ms_{0};
  std::atomic<bool> clock_measured_{false};
  core::TimePoint clock_due_{};
  std::optional<core::Millis> logged_offset_;
  int stop_fd_ = -1;  // an eventfd: written by stop()
  std::thread thread_;
};

}  // namespace errand::store::postgres
