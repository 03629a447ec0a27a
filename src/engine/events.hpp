// The job event bus: the engine publishes every committed change of a job
// here, and watchers (the SSE streams of /v1/jobs/{id}/events) subscribe to
// the jobs they follow.
//
// A job with watchers has a channel: a per-job sequence number (each event
// gets the next one), the last kReplay events for resuming watchers, and the
// progress update held back by coalescing. A channel outlives its last
// watcher by `linger` so a reconnecting client resumes where it stopped; its
// `epoch` (random per channel) tells a resume point of this channel from one
// of an earlier channel or an earlier server.
//
// Progress faster than one update per `progress_interval` per job is
// coalesced: the latest update wins and is delivered at most
// `progress_interval` after the one before it. A state event first delivers
// the progress held back, so order is kept.
//
// Each watcher has a bounded buffer (`watcher_buffer` events); a watcher that
// falls that far behind is marked overflowed and gets nothing more — its
// stream ends and the client resumes or starts again. Memory is bounded per
// watcher and per channel whatever the readers do.
//
// Shared numbering (use_shared_sequence(), for a store several servers
// share: store::Store::set_job_event_feed): events are numbered by the store,
// the same on every server, and published with that number; the epoch is
// kSharedEpoch everywhere, so a client resumes on any server. publish()
// ignores unnumbered events and events at or below the channel's last
// number (each job's events arrive in order from the store's feed). A
// watcher starts after the number of the snapshot it was shown (start_at).
//
// Cost when nobody watches: watched() is one relaxed atomic load, and the
// engine builds no event unless it is true.
//
// Thread-safety: every method may be called from any thread. publish() must
// be called in the order the changes were committed (the engine calls it from
// the store's callbacks, which run in commit order). Wake callbacks run with
// the bus's lock held: they must only post work elsewhere.
#pragma once

#include "core/job.hpp"
#include "core/mutex.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace errand::engine {

enum class JobEventKind { state, progress };

struct JobEvent {
  JobEventKind kind = JobEventKind::state;
  std::string job_id;
  core::JobState state = core::JobState::queued;  // state events: the state after the change
  int attempt = 0;          // -1: unknown, the bus fills in the job's last known attempt
  core::RawJson result;     // succeeded: the job's result
  std::string error;        // failed, dead, cancelled: the error of the attempt, if any
  core::Progress progress;  // progress events
  std::uint64_t seq = 0;    // assigned by the bus: 1, 2, ... per channel
};
using SharedEvent = std::shared_ptr<const JobEvent>;

struct EventBusOptions {
  core::Millis progress_interval{100};  // at most one progress event per job per interval
  std::size_t watcher_buffer = 32;      // events a watcher may fall behind before it is dropped
  std::size_t replay = 64;              // events a channel keeps for resuming watchers
  core::Millis linger{60'000};          // a channel outlives its last watcher this long
};

// Where a watcher stands in a channel: the channel's epoch and the last
// sequence number it has seen (an SSE event id is "<epoch>-<seq>").
struct StreamPosition {
  std::uint64_t epoch = 0;
  std::uint64_t seq = 0;
};
inline constexpr std::uint64_t kSharedEpoch = 0;

// One subscriber's buffer. Filled by the bus, drained by its stream.
class Watcher {
 public:
  explicit Watcher(std::function<void()> wake) : wake_(std::move(wake)) {}
  // The events delivered since the last call, oldest first.
  std::vector<SharedEvent> take() EXCLUDES(mutex_);
  // Fell `watcher_buffer` events behind: it gets nothing more.
  bool overflowed() const EXCLUDES(mutex_);

 private:
  friend class EventBus;
  void push(SharedEvent event, std::size_t limit) EXCLUDES(mutex_);

  // Taken after the bus's lock, never before it.
  mutable core::Mutex mutex_;
  std::vector<SharedEvent> pending_ GUARDED_BY(mutex_);
  // Shared numbering: events at or below it are not for it.
  std::uint64_t after_ GUARDED_BY(mutex_) = 0;
  bool overflowed_ GUARDED_BY(mutex_) = false;
  const std::function<void()> wake_;
};

struct Subscription {
  std::shared_ptr<Watcher> watcher;
  std::string job_id;
  StreamPosition position;  // the point the watcher's events follow
  // A resume: the watcher already holds the events after the resume point,
  // and no snapshot is needed. False: the caller sends a snapshot taken at
  // `position` (see Engine::watch).
  bool resumed = false;
};

struct EventBusStats {
  std::size_t channels = 0;
  std::size_t watchers = 0;
  std::uint64_t dropped = 0;  // watchers dropped for falling behind, ever
};

class EventBus {
 public:
  explicit EventBus(const core::Clock& clock, EventBusOptions options = {});
  EventBus(const EventBus&) = delete;
  EventBus& operator=(const EventBus&) = delete;

  // Events are numbered by the store (see above). Call before use.
  void use_shared_sequence() { shared_ = true; }
  bool shared_sequence() const { return shared_; }

  // Whether any job has a channel: when false, publish() would do nothing.
  bool watched() const noexcept { return channel_count_.load(std::memory_order_relaxed) > 0; }
  // Whether `job_id` has a channel.
  bool watched(const std::string& job_id) const EXCLUDES(mutex_);
  // The jobs that have a channel.
  std::vector<std::string> watched_ids() const EXCLUDES(mutex_);

  // Delivers `event` to the job's watchers (nothing if it has no channel).
  void publish(JobEvent event) EXCLUDES(mutex_);

  // Adds a watcher of `job_id`. With `resume` naming this channel and a
  // point its replay still covers, the events after it are queued at once
  // and `resumed` is true; otherwise the watcher starts at the channel's
  // current position (a snapshot read right now is consistent with it).
  // `attempt`: the job's attempt when known (from a snapshot).
  Subscription subscribe(const std::string& job_id, std::function<void()> wake,
                         std::optional<StreamPosition> resume = std::nullopt, int attempt = -1)
      EXCLUDES(mutex_);
  void unsubscribe(const Subscription& subscription) EXCLUDES(mutex_);
  // Shared numbering: the watcher's snapshot showed the job as of event
  // `seq`: it gets only the events after it, and its position is there.
  void start_at(Subscription& subscription, std::uint64_t seq) EXCLUDES(mutex_);

  // Delivers coalesced progress that is due at `now` and drops channels
  // that lingered long enough; returns when to call again, if ever.
  std::optional<core::TimePoint> flush_due(core::TimePoint now) EXCLUDES(mutex_);
  // Called (with the bus's lock held: only post from it) when flush_due
  // should run at the given time. Set before use.
  void set_flush_hook(std::function<void(core::TimePoint)> hook) EXCLUDES(mutex_);

  EventBusStats stats() const EXCLUDES(mutex_);

 private:
  struct Channel {
    std::uint64_t epoch = 0;
    std::uint64_t seq = 0;
    int attempt = 0;  // of the last state event, or of a subscriber's snapshot
    std::vector<std::shared_ptr<Watcher>> watchers;
    std::vector<SharedEvent> recent;  // the last `replay` events, oldest first
    std::optional<JobEvent> held_progress;
    std::optional<core::TimePoint> last_progress_at;
    std::optional<core::TimePoint> idle_since;  // no watchers since then
    // Shared numbering: the channel holds every event after this number (set
    // by its first snapshot, raised as the replay drops its oldest events).
    std::optional<std::uint64_t> complete_after;
  };
  using Channels = std::unordered_map<std::string, Channel>;

  void deliver(Channel& channel, JobEvent event) REQUIRES(mutex_);
  void release_held(Channel& channel) REQUIRES(mutex_);
  void schedule(core::TimePoint due, const std::string& job_id) REQUIRES(mutex_);
  void erase(Channels::iterator it) REQUIRES(mutex_);
  std::uint64_t next_epoch() REQUIRES(mutex_);

  const core::Clock& clock_;
  const EventBusOptions options_;
  mutable core::Mutex mutex_;
  Channels channels_ GUARDED_BY(mutex_);
  std::atomic<std::size_t> channel_count_{0};
  // Held progress and lingering channels.
  std::set<std::pair<core::TimePoint, std::string>> due_ GUARDED_BY(mutex_);
  std::function<void(core::TimePoint)> flush_hook_ GUARDED_BY(mutex_);
  std::uint64_t epoch_base_;  // set by the constructor
  std::uint64_t epoch_counter_ GUARDED_BY(mutex_) = 0;
  std::size_t watcher_count_ GUARDED_BY(mutex_) = 0;
  bool shared_ = false;  // set before use
  std::uint64_t dropped_ GUARDED_BY(mutex_) = 0;
};

// "<epoch hex>-<seq>": the SSE event id of a position; parse_position is its
// inverse (nullopt for anything else).
std::string format_position(StreamPosition position);
std::optional<StreamPosition> parse_position(std::string_view text);

}  // namespace errand::engine
