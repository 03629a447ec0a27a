// The worker runtime's machinery behind `Worker` (worker.hpp): one claim
// loop (on the thread that calls run()), a pool of handler threads, one
// heartbeat thread and one ack thread, sharing one mutex.
//
// A claimed job becomes a `JobSlot`, kept in `active_` from its claim until
// its outcome reached the server (so it is heartbeated while its ack waits),
// and counted in `busy_` until its handler returned (the claim loop claims
// only for free slots). Internal to the client library; the member functions
// are split by thread over worker.cpp, worker_leases.cpp and worker_acks.cpp.
#pragma once

#include "client/worker.hpp"
#include "client/worker_policy.hpp"
#include "core/mutex.hpp"

#include <chrono>
#include <deque>
#include <map>
#include <thread>
#include <vector>

namespace errand::client {

using SteadyTime = std::chrono::steady_clock::time_point;

struct JobSlot {
  ClaimedJob job;
  core::Millis lease{};       // as first granted (heartbeats extend by it)
  SteadyTime started{};       // when the claim returned it
  std::string log;            // set and read on its handler's thread only
  core::RawJson result_json;  // likewise: RunningJob::set_result_json
  std::atomic<bool> cancel_requested{false};
  std::atomic<StopReason> stop{StopReason::none};
  // Its handler continued it (RunningJob::continue_job): no outcome to send.
  bool continued = false;  // its handler's thread only

  // What WorkerRuntime::mu_ guards, reached only through
  // WorkerRuntime::locked(slot), which requires it held.
  struct Locked {
    SteadyTime next_heartbeat{};
    bool finished = false;           // its handler returned (or never will run: handed back)
    bool handed_back = false;        // failed by the runtime at the end of the grace period
    bool heartbeat_failing = false;  // for logging only the first of a run of failures
  };

 private:
  friend class WorkerRuntime;
  Locked locked_;
};

// One outcome waiting to be sent in a POST /v1/acks.
struct PendingAck {
  std::shared_ptr<JobSlot> slot;
  Ack ack;
  core::Millis elapsed{0};
};

class WorkerRuntime {
 public:
  WorkerRuntime(Client& client, WorkerOptions options);
  ~WorkerRuntime();

  void add_handler(std::string queue, std::string type, Handler handler);
  void run() EXCLUDES(mu_);
  void stop() EXCLUDES(mu_);

  // For RunningJob.
  bool progress(JobSlot& slot, const ProgressUpdate& update);
  core::Result<Continued> continue_job(JobSlot& slot, const ContinueOptions& options);
  void log(LogLevel level, const std::string& line);

 private:
  // worker.cpp: claims and handlers.
  void claim_loop();
  bool claim_once(detail::ReconnectBackoff& backoff);
  void admit(std::vector<ClaimedJob> jobs);
  void handler_thread();
  void run_handler(const std::shared_ptr<JobSlot>& slot);
  void finish(const std::shared_ptr<JobSlot>& slot, Ack ack, core::Millis elapsed);
  // A continued job's handler returned: its slot is free and its lease gone.
  void finish_continued(const std::shared_ptr<JobSlot>& slot, core::Millis elapsed);
  void wait_for_handlers();
  void hand_back_running();
  void wait_unless_stopping(core::Millis d);

  // The part of `slot` that mu_ guards.
  JobSlot::Locked& locked(JobSlot& slot) REQUIRES(mu_) { return slot.locked_; }

  // worker_leases.cpp: the heartbeat thread.
  void heartbeat_thread();
  // The slots whose heartbeat is due; when none is, waits (letting go of mu_
  // meanwhile) until one may be, and returns none.
  std::vector<std::shared_ptr<JobSlot>> due_heartbeats() REQUIRES(mu_);
  void heartbeat(JobSlot& slot);
  void lose_lease(JobSlot& slot, const core::Error& why);

  // worker_acks.cpp: the ack thread.
  void ack_thread();
  bool send_acks(std::vector<PendingAck>& batch);
  void report(const PendingAck& item, const AckResult* result, const std::string& error);
  // Drops the leases of outcomes that are done with (delivered or given up).
  void forget(const std::vector<PendingAck>& batch);

  static double jitter();

  Client& client_;
  WorkerOptions options_;
  detail::HandlerTable handlers_;
  std::string worker_name_;

  core::Mutex mu_;
  core::CondVar claim_cv_;      // a free slot, or stop
  core::CondVar work_cv_;       // a job for a handler thread, or quit
  core::CondVar heartbeat_cv_;  // a lease due before heartbeat_wake_, or quit
  // When the heartbeat thread wakes next (max: it waits for a lease).
  SteadyTime heartbeat_wake_ GUARDED_BY(mu_) = SteadyTime::max();
  core::CondVar ack_cv_;   // an outcome to send, or quit
  core::CondVar idle_cv_;  // busy_ fell, or acks drained
  std::deque<std::shared_ptr<JobSlot>> ready_ GUARDED_BY(mu_);
  std::map<std::string, std::shared_ptr<JobSlot>> active_ GUARDED_BY(mu_);  // by lease id
  std::deque<PendingAck> acks_ GUARDED_BY(mu_);
  int busy_ GUARDED_BY(mu_) = 0;
  bool stopping_ GUARDED_BY(mu_) = false;
  SteadyTime stop_requested_at_ GUARDED_BY(mu_);
  bool handlers_quit_ GUARDED_BY(mu_) = false;
  bool acks_quit_ GUARDED_BY(mu_) = false;
  bool heartbeats_quit_ GUARDED_BY(mu_) = false;
};

}  // namespace errand::client
