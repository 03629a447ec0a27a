#include "client/worker.hpp"

#include "client/worker_runtime.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <iostream>
#include <random>

namespace errand::client {
using Clock = std::chrono::steady_clock;

namespace {

std::string default_worker_name() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return fmt::format("{}:{}", host[0] ? host : "worker", getpid());
}

std::string message_or(const char* what, std::string_view fallback) {
  return what && *what ? std::string(what) : std::string(fallback);
}

core::Millis since(SteadyTime t) {
  return std::chrono::duration_cast<core::Millis>(Clock::now() - t);
}

}  // namespace

std::string_view to_string(StopReason r) noexcept {
  switch (r) {
    case StopReason::none:
      return "none";
    case StopReason::cancelled:
      return "cancelled";
    case StopReason::lease_lost:
      return "lease lost";
    case StopReason::shutdown:
      return "worker shutting down";
  }
  return "unknown";
}

// ---- RunningJob ----

RunningJob::RunningJob(std::shared_ptr<JobSlot> slot, WorkerRuntime* runtime)
    : slot_(std::move(slot)), runtime_(runtime) {}

const ClaimedJob& RunningJob::job() const noexcept {
  return slot_->job;
}

core::Millis RunningJob::lease() const noexcept {
  return slot_->lease;
}

bool RunningJob::progress(int percent, std::string_view message, const boost::json::value& data) {
  ProgressUpdate update;
  update.percent = std::clamp(percent, 0, 100);
  if (!message.empty()) update.message = std::string(message);
  update.data = data;
  return runtime_->progress(*slot_, update);
}

core::Result<Continued> RunningJob::continue_job(const ContinueOptions& options) {
  return runtime_->continue_job(*slot_, options);
}

void RunningJob::mark_continued() {
  slot_->continued = true;
}

void RunningJob::set_result_json(core::RawJson result) {
  slot_->result_json = std::move(result);
}

void RunningJob::set_log(std::string text) {
  slot_->log = std::move(text);
}

bool RunningJob::cancel_requested() const noexcept {
  return slot_->cancel_requested.load();
}

StopReason RunningJob::stop_reason() const noexcept {
  return slot_->stop.load();
}

// ---- Worker ----

Worker::Worker(Client& client, WorkerOptions options)
    : runtime_(std::make_unique<WorkerRuntime>(client, std::move(options))) {}
Worker::~Worker() = default;

void Worker::handle(std::string queue, Handler handler) {
  runtime_->add_handler(std::move(queue), {}, std::move(handler));
}

void Worker::handle(std::string queue, std::string type, Handler handler) {
  runtime_->add_handler(std::move(queue), std::move(type), std::move(handler));
}

void Worker::run() {
  runtime_->run();
}

void Worker::stop() {
  runtime_->stop();
}

// ---- WorkerRuntime: lifecycle ----

WorkerRuntime::WorkerRuntime(Client& client, WorkerOptions options)
    : client_(client), options_(std::move(options)) {
  options_.concurrency = std::max(1, options_.concurrency);
  options_.max_ack_batch = std::max<std::size_t>(1, options_.max_ack_batch);
  worker_name_ = options_.name.empty() ? default_worker_name() : options_.name;
}

WorkerRuntime::~WorkerRuntime() = default;

void WorkerRuntime::add_handler(std::string queue, std::string type, Handler handler) {
  handlers_.add(std::move(queue), std::move(type), std::move(handler));
}

void WorkerRuntime::run() {
  if (handlers_.empty()) return log(LogLevel::warn, "no handlers registered: nothing to run");
  std::vector<std::thread> pool;
  for (int i = 0; i < options_.concurrency; ++i) pool.emplace_back([this] { handler_thread(); });
  std::thread beats([this] { heartbeat_thread(); });
  std::thread acker([this] { ack_thread(); });
  claim_loop();
  wait_for_handlers();
  {
    core::MutexLock lock(mu_);
    handlers_quit_ = true;
    work_cv_.notify_all();
  }
  for (auto& t : pool) t.join();
  {
    core::MutexLock lock(mu_);
    acks_quit_ = true;
    ack_cv_.notify_all();
  }
  acker.join();
  {
    core::MutexLock lock(mu_);
    heartbeats_quit_ = true;
    heartbeat_cv_.notify_all();
  }
  beats.join();
}

void WorkerRuntime::stop() {
  int running = 0;
  {
    core::MutexLock lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    stop_requested_at_ = Clock::now();
    running = busy_;
  }
  claim_cv_.notify_all();
  log(LogLevel::info,
      fmt::format("stopping: no new claims; {} running job(s) get up to {} to finish", running,
                  detail::short_duration(options_.grace)));
}

void WorkerRuntime::log(LogLevel level, const std::string& line) {
  if (options_.log) return options_.log(level, line);
  static core::Mutex out;
  core::MutexLock lock(out);
  std::cerr << "errand worker: " << line << std::endl;
}

double WorkerRuntime::jitter() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

// ---- claims ----

void WorkerRuntime::claim_loop() {
  detail::ReconnectBackoff backoff(options_.max_backoff);
  for (;;) {
    {
      core::MutexLock lock(mu_);
      claim_cv_.wait(mu_,
                     [this]() REQUIRES(mu_) { return stopping_ || busy_ < options_.concurrency; });
      if (stopping_) return;
    }
    claim_once(backoff);
  }
}

bool WorkerRuntime::claim_once(detail::ReconnectBackoff& backoff) {
  int free = 0;
  {
    core::MutexLock lock(mu_);
    free = options_.concurrency - busy_;
  }
  ClaimOptions request{.queues = handlers_.queues(),
                       .worker = worker_name_,
                       .max = free,
                       .wait = options_.claim_wait,
                       .lease = options_.lease};
  auto got = client_.claim(request);
  if (!got) {
    const auto wait = backoff.next(jitter());
    log(LogLevel::warn, fmt::format("claim failed: {}; retrying in {}", got.error().message,
                                    detail::short_duration(wait)));
    wait_unless_stopping(wait);
    return false;
  }
  if (backoff.failures() > 0)
    log(LogLevel::info, "claiming from " + client_.current_url() + " again");
  backoff.reset();
  admit(std::move(*got));
  return true;
}

void WorkerRuntime::admit(std::vector<ClaimedJob> jobs) {
  if (jobs.empty()) return;
  const auto now = core::SystemClock{}.now();
  const auto steady = Clock::now();
  bool wake_heartbeats = false;
  {
    core::MutexLock lock(mu_);
    for (auto& job : jobs) {
      auto slot = std::make_shared<JobSlot>();
      slot->lease = detail::granted_lease(job.lease_expires_at, now, options_.lease);
      slot->started = steady;
      const auto next_heartbeat = steady + detail::heartbeat_interval(slot->lease);
      locked(*slot).next_heartbeat = next_heartbeat;
      wake_heartbeats = wake_heartbeats || next_heartbeat < heartbeat_wake_;
      slot->job = std::move(job);
      active_[slot->job.lease_id] = slot;
      ready_.push_back(std::move(slot));
      ++busy_;
    }
  }
  // One handler thread per job (waking every idle one would mostly wake
  // threads that find nothing); the heartbeat thread only when a new lease
  // is due before it would wake anyway.
  for (std::size_t i = 0; i < jobs.size(); ++i) work_cv_.notify_one();
  if (wake_heartbeats) heartbeat_cv_.notify_one();
}

void WorkerRuntime::wait_unless_stopping(core::Millis d) {
  core::MutexLock lock(mu_);
  claim_cv_.wait_for(mu_, d, [this]() REQUIRES(mu_) { return stopping_; });
}

// ---- handlers ----

void WorkerRuntime::handler_thread() {
  for (;;) {
    std::shared_ptr<JobSlot> slot;
    {
      core::MutexLock lock(mu_);
      work_cv_.wait(mu_, [this]() REQUIRES(mu_) { return handlers_quit_ || !ready_.empty(); });
      if (ready_.empty()) return;
      slot = std::move(ready_.front());
      ready_.pop_front();
      if (locked(*slot).handed_back) {  // the grace period ended before it started
        --busy_;
        idle_cv_.notify_all();
        continue;
      }
    }
    run_handler(slot);
  }
}

void WorkerRuntime::run_handler(const std::shared_ptr<JobSlot>& slot) {
  const auto started = Clock::now();
  const auto& job = slot->job;
  Ack ack{.id = job.id, .lease_id = job.lease_id};
  const Handler* handler = handlers_.find(job.queue, job.type);
  if (!handler) {
    ack.error = fmt::format("no handler for type \"{}\" of queue {} on worker {}", job.type,
                            job.queue, worker_name_);
    return finish(slot, std::move(ack), since(started));
  }
  RunningJob running(slot, this);
  try {
    ack.result = (*handler)(running);
    if (slot->continued) return finish_continued(slot, since(started));
    ack.result_json = std::move(slot->result_json);
  } catch (const NoRetry& e) {
    ack.error = message_or(e.what(), "the handler gave up (NoRetry)");
    ack.retry = false;
  } catch (const std::exception& e) {
    ack.error = message_or(e.what(), "the handler threw an exception");
  } catch (...) {
    ack.error = "the handler threw an exception that is not a std::exception";
  }
  ack.log = std::move(slot->log);
  finish(slot, std::move(ack), since(started));
}

void WorkerRuntime::finish(const std::shared_ptr<JobSlot>& slot, Ack ack, core::Millis elapsed) {
  bool lease_lost = false;
  {
    core::MutexLock lock(mu_);
    --busy_;
    locked(*slot).finished = true;
    claim_cv_.notify_one();
    idle_cv_.notify_all();
    lease_lost = slot->stop.load() == StopReason::lease_lost;
    if (!locked(*slot).handed_back && !lease_lost) {
      acks_.push_back({slot, std::move(ack), elapsed});
      ack_cv_.notify_one();
      return;
    }
    if (lease_lost) active_.erase(slot->job.lease_id);
  }
  if (lease_lost) {
    // Its outcome would only get 409: the job is someone else's now, or gone.
    report({slot, std::move(ack), elapsed}, nullptr, "its lease was lost");
  } else {
    log(LogLevel::warn, fmt::format("job {}: its handler returned after the grace period; the job "
                                    "had already been handed back",
                                    slot->job.id));
  }
}

core::Result<Continued> WorkerRuntime::continue_job(JobSlot& slot, const ContinueOptions& options) {
  auto done = client_.continue_job(slot.job.id, slot.job.lease_id, options);
  if (done) {
    slot.continued = true;
  } else if (done.error().code == core::errc::conflict ||
             done.error().code == core::errc::not_found) {
    lose_lease(slot, done.error());
  }
  return done;
}

void WorkerRuntime::finish_continued(const std::shared_ptr<JobSlot>& slot, core::Millis elapsed) {
  {
    core::MutexLock lock(mu_);
    --busy_;
    locked(*slot).finished = true;
    active_.erase(slot->job.lease_id);
    claim_cv_.notify_one();
    idle_cv_.notify_all();
  }
  log(LogLevel::info, fmt::format("job {}: continued after {} (it runs again later)", slot->job.id,
                                  detail::short_duration(elapsed)));
}

bool WorkerRuntime::progress(JobSlot& slot, const ProgressUpdate& update) {
  auto sent = client_.progress(slot.job.id, slot.job.lease_id, update);
  if (sent) return true;
  const auto code = sent.error().code;
  if (code == core::errc::conflict || code == core::errc::not_found) {
    lose_lease(slot, sent.error());
  } else {
    log(LogLevel::warn,
        fmt::format("job {}: progress not sent: {}", slot.job.id, sent.error().message));
  }
  return false;
}

// ---- stopping ----

void WorkerRuntime::wait_for_handlers() {
  core::MutexLock lock(mu_);
  const auto deadline = stop_requested_at_ + options_.grace;
  if (idle_cv_.wait_until(mu_, deadline, [this]() REQUIRES(mu_) { return busy_ == 0; })) return;
  lock.unlock();
  hand_back_running();
}

void WorkerRuntime::hand_back_running() {
  const auto error = fmt::format("the worker stopped and its grace period of {} ran out",
                                 detail::short_duration(options_.grace));
  std::vector<std::string> ids;
  {
    core::MutexLock lock(mu_);
    for (auto& [lease_id, slot] : active_) {
      auto& state = locked(*slot);
      if (state.finished || state.handed_back) continue;
      state.handed_back = true;
      slot->stop.store(StopReason::shutdown);
      Ack ack{.id = slot->job.id, .lease_id = lease_id, .error = error};
      acks_.push_back({slot, std::move(ack), since(slot->started)});
      ids.push_back(slot->job.id);
    }
    ack_cv_.notify_one();
    work_cv_.notify_all();
  }
  for (const auto& id : ids)
    log(LogLevel::warn, fmt::format("job {}: {}; failing it so it is retried", id, error));
}

}  // namespace errand::client
