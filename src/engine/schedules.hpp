// The engine's cron schedules: CRUD over the store, and the schedule timer.
//
// The timer computes each schedule's next fire time with core::due_fire (its
// cron in its time zone), sleeps on an Asio steady timer until the earliest
// one, fires what is due through store::schedule_fire (which makes each fire
// time enqueue at most once, whatever restarts or other servers do), and
// re-arms. It never wakes on a fixed interval, except that one sleep lasts at
// most `recheck` (a minute): fire times are wall-clock instants and the timer
// runs on the steady clock, which a clock step or a suspended machine moves
// apart. Any change made through this class (put, remove, pause, sync)
// re-arms the timer at once; a change another server sharing the store makes
// is seen at the next tick, so servers on PostgreSQL pass a `recheck` of a
// second, and a schedule another server created keeps firing when that
// server dies.
//
// Missed fire times: a time that fell due before start() (or, without the
// timer, before construction: the server was down) fires once — only the most recent one — if it is
// at most the schedule's `catch_up` old; times that fall due while it runs always fire, late ones
// once. `tick(now)` does what is due at `now` and returns the next fire time; tests drive it with a
// FakeClock and leave the timer off.
//
// Every coroutine may be awaited from any executor and resumes on it.
// Thread-safe. Durability is the store's: a call completes after its change
// is fsync'd.
#pragma once

#include "core/schedule.hpp"
#include "store/store.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace errand::engine {

// The longest sleep of the schedule timer (see above).
inline constexpr core::Millis kDefaultScheduleRecheck{60'000};

template <class T>
using ScheduleTask = boost::asio::awaitable<core::Result<T>>;

struct ScheduleStats {
  std::uint64_t fired = 0;    // jobs enqueued by fire times (not triggers)
  std::uint64_t skipped = 0;  // fire times skipped for overlap
  std::uint64_t ticks = 0;
};

// What `sync` changed.
struct ScheduleSync {
  std::vector<std::string> created, updated, removed;
};

class Schedules {
 public:
  Schedules(boost::asio::any_io_executor executor, store::Store& store, const core::Clock& clock,
            core::Millis recheck = kDefaultScheduleRecheck);
  ~Schedules();
  Schedules(const Schedules&) = delete;
  Schedules& operator=(const Schedules&) = delete;

  // Starts the timer; stop() stops it. stop() is safe before start() and twice.
  void start();
  void stop();

  // Validates `spec` (core::compile_schedule; errors name the field) and
  // creates or replaces the schedule. Errors: invalid_argument, unavailable.
  ScheduleTask<store::SchedulePutOutcome> put(core::ScheduleSpec spec);
  // Errors: not_found.
  ScheduleTask<core::Schedule> get(std::string name);
  ScheduleTask<std::vector<core::Schedule>> list();
  ScheduleTask<store::Unit> remove(std::string name);
  ScheduleTask<core::Schedule> pause(std::string name, bool paused);
  // Enqueues the schedule's job now, whatever its cron, pause and overlap say.
  ScheduleTask<store::ScheduleFireOutcome> trigger(std::string name);
  // Makes the schedules of `source` exactly `specs` (each put, with its
  // source set), removing the other schedules of that source; schedules of
  // other sources are left alone unless `specs` names them (then they are
  // taken over). Stops at the first error (specs should be validated first).
  ScheduleTask<ScheduleSync> sync(core::ScheduleSource source,
                                  std::vector<core::ScheduleSpec> specs);

  // Fires what is due at `now`; returns the earliest next fire time.
  boost::asio::awaitable<std::optional<core::TimePoint>> tick(core::TimePoint now);

  ScheduleStats stats() const;

 private:
  boost::asio::awaitable<void> fire(const core::Schedule& schedule, core::TimePoint at);
  boost::asio::awaitable<void> timer_loop();
  void rearm();

  boost::asio::strand<boost::asio::any_io_executor> strand_;
  store::Store& store_;
  const core::Clock& clock_;
  const core::Millis recheck_;
  core::TimePoint online_since_;  // set before the timer runs, then only read

  // Timer state, touched only on strand_.
  std::shared_ptr<boost::asio::steady_timer> timer_;
  bool changed_ = false;  // schedules changed during a tick: tick again at once
  std::atomic<bool> started_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> fired_{0}, skipped_{0}, ticks_{0};
};

}  // namespace errand::engine
