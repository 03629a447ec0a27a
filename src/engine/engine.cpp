#include "engine/engine.hpp"

#include "engine/await_store.hpp"

#include <fmt/format.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>

namespace errand::engine {
namespace asio = boost::asio;
using core::Result;

Engine::Engine(asio::any_io_executor executor, store::Store& store, const core::Clock& clock,
               EngineOptions options)
    : executor_(executor),
      timer_strand_(asio::make_strand(executor)),
      store_(store),
      clock_(clock),
      options_(options),
      rng_(std::random_device{}()),
      schedules_(std::make_unique<Schedules>(executor, store, clock, options.schedule_recheck)),
      events_(clock, options.events),
      history_(options.stats),
      job_metrics_(options.metrics),
      nodes_(executor, store, clock, options.nodes) {
  store_.set_change_listener([this](const store::ChangeNotice& n) { on_store_change(n); });
  events_.set_flush_hook([this](core::TimePoint due) { arm_event_flush(due); });
  const bool shared = store_.set_job_event_feed(
      {.wanted = [this](const std::string& id) { return events_.watched(id); },
       .deliver =
           [this](std::vector<store::JobEventNotice> notices) {
             for (auto& n : notices) events_.publish(event_of(std::move(n)));
           },
       .resync = [this] { resync_events(); }});
  if (shared) events_.use_shared_sequence();
}

Engine::~Engine() {
  stop();
  store_.set_job_event_feed({});  // no delivery reaches this engine after it is gone
}

double Engine::next_jitter() {
  core::MutexLock lock(rng_mutex_);
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
}

EngineStats Engine::stats() const {
  return {waiters_.size(), ticks_.load(), store_.unreadable_jobs()};
}

bool Engine::store_writable() const {
  return store_.writable();
}

void Engine::on_store_change(const store::ChangeNotice& notice) {
  if (!notice.runnable_queues.empty()) waiters_.notify(notice.runnable_queues);
  if (notice.deadline) request_deadline(*notice.deadline);
  if (notice.job_changes.empty() || !events_.watched()) return;
  for (const auto& change : notice.job_changes) {
    events_.publish({.job_id = change.id,
                     .state = change.state,
                     .attempt = change.attempt,
                     .error = change.error});
  }
}

Task<store::Unit> Engine::admit_queues(std::vector<std::pair<std::string, std::string>> names) {
  if (!queue_names_loaded_) {
    auto all = co_await queues();
    if (!all) co_return all.error();
    remember_queues(*all);
  }
  core::MutexLock lock(queue_names_mutex_);
  std::unordered_set<std::string_view> fresh;
  for (const auto& [name, field] : names) {
    if (queue_names_.contains(name) || fresh.contains(name)) continue;
    if (queue_names_.size() + fresh.size() >= options_.max_queues) {
      co_return core::make_error(
          core::errc::too_many_requests,
          fmt::format("this server has {} queues, its limit (--max-queues): queue \"{}\" would "
                      "be a new one; use an existing queue or raise --max-queues",
                      queue_names_.size(), name),
          field);
    }
    fresh.insert(name);
  }
  for (const auto name : fresh) queue_names_.emplace(name);
  co_return store::Unit{};
}

void Engine::remember_queues(const std::vector<store::QueueInfo>& queues) {
  core::MutexLock lock(queue_names_mutex_);
  for (const auto& q : queues) queue_names_.insert(q.name);
  queue_names_loaded_ = true;
}

Task<std::vector<store::InsertOutcome>> Engine::enqueue(std::vector<EnqueueRequest> requests) {
  std::vector<std::pair<std::string, std::string>> names;
  names.reserve(requests.size());
  for (const auto& r : requests) names.emplace_back(r.queue, r.queue_field);
  auto admitted = co_await admit_queues(std::move(names));
  if (!admitted) co_return admitted.error();
  const auto now = clock_.now();
  store::JobInsertManyParams params{.jobs = new_jobs(std::move(requests), now), .now = now};
  std::vector<std::string> queues;
  queues.reserve(params.jobs.size());
  for (const auto& job : params.jobs) queues.push_back(job.queue);
  // What the transition lines name, kept only when they are written.
  std::vector<std::pair<std::string, std::string>> logged;  // type, traceparent
  if (job_log_enabled()) {
    for (const auto& job : params.jobs) logged.emplace_back(job.type, job.traceparent);
  }
  auto out = co_await await_store<std::vector<store::InsertOutcome>>(
      [&](auto done) { store_.job_insert_many(std::move(params), std::move(done)); });
  if (out) {
    for (std::size_t i = 0; i < out->size() && i < queues.size(); ++i) {
      if ((*out)[i].duplicate) continue;
      job_metrics_.enqueued(queues[i]);
      if (i < logged.size()) {
        log_job(options_.json_logs, "enqueued", (*out)[i].id, queues[i], logged[i].first, 0,
                logged[i].second);
      }
    }
  }
  co_return out;
}

std::vector<core::NewJob> Engine::new_jobs(std::vector<EnqueueRequest> requests,
                                           core::TimePoint now) {
  std::vector<core::NewJob> jobs;
  jobs.reserve(requests.size());
  for (auto& r : requests) {
    core::NewJob job;
    job.queue = std::move(r.queue);
    job.type = std::move(r.type);
    job.payload = std::move(r.payload);
    job.priority = r.priority;
    job.run_at = r.run_at ? *r.run_at : now + r.delay.value_or(core::Millis{0});
    job.max_attempts = r.max_attempts;
    job.timeout = r.timeout;
    job.idempotency_key = std::move(r.idempotency_key);
    job.key = std::move(r.key);
    job.tags = std::move(r.tags);
    job.unique = std::move(r.unique);
    job.debounce = std::move(r.debounce);
    job.after = std::move(r.after);
    job.after_items = std::move(r.after_items);
    job.after_failure_run = r.after_failure_run;
    job.on_done = std::move(r.on_done);
    job.traceparent = std::move(r.traceparent);
    job.tracestate = std::move(r.tracestate);
    jobs.push_back(std::move(job));
  }
  return jobs;
}

Task<store::BatchInsertOutcome> Engine::create_batch(BatchRequest r) {
  std::vector<std::pair<std::string, std::string>> names;
  for (const auto& j : r.jobs) names.emplace_back(j.queue, j.queue_field);
  for (const auto* cb : {&r.on_success, &r.on_complete, &r.on_death}) {
    if (*cb) names.emplace_back((*cb)->queue, (*cb)->queue_field);
  }
  auto admitted = co_await admit_queues(std::move(names));
  if (!admitted) co_return admitted.error();
  const auto now = clock_.now();
  store::BatchCreateParams params{
      .jobs = new_jobs(std::move(r.jobs), now), .open = r.open, .now = now};
  const auto callback = [&](std::optional<EnqueueRequest>& cb) -> std::optional<core::NewJob> {
    if (!cb) return std::nullopt;
    std::vector<EnqueueRequest> one;
    one.push_back(std::move(*cb));
    return std::move(new_jobs(std::move(one), now).front());
  };
  params.on_success = callback(r.on_success);
  params.on_complete = callback(r.on_complete);
  params.on_death = callback(r.on_death);
  co_return co_await await_store<store::BatchInsertOutcome>(
      [&](auto done) { store_.batch_create(std::move(params), std::move(done)); });
}

Task<store::BatchInsertOutcome> Engine::add_to_batch(std::string id,
                                                     std::vector<EnqueueRequest> jobs) {
  std::vector<std::pair<std::string, std::string>> names;
  for (const auto& j : jobs) names.emplace_back(j.queue, j.queue_field);
  auto admitted = co_await admit_queues(std::move(names));
  if (!admitted) co_return admitted.error();
  const auto now = clock_.now();
  store::BatchAddParams params{
      .id = std::move(id), .jobs = new_jobs(std::move(jobs), now), .now = now};
  co_return co_await await_store<store::BatchInsertOutcome>(
      [&](auto done) { store_.batch_add(std::move(params), std::move(done)); });
}

Task<core::Batch> Engine::seal_batch(std::string id) {
  store::BatchSealParams params{.id = std::move(id), .now = clock_.now()};
  co_return co_await await_store<core::Batch>(
      [&](auto done) { store_.batch_seal(std::move(params), std::move(done)); });
}

Task<std::vector<store::WebhookDelivery>> Engine::webhooks_due(std::size_t max,
                                                               core::Millis lease) {
  store::WebhookClaimParams params{.now = clock_.now(), .max = max, .lease = lease};
  co_return co_await await_store<std::vector<store::WebhookDelivery>>(
      [&](auto done) { store_.webhook_claim(std::move(params), std::move(done)); });
}

Task<store::Unit> Engine::webhook_result(store::WebhookResultParams params) {
  params.now = clock_.now();
  co_return co_await await_store<store::Unit>(
      [&](auto done) { store_.webhook_result(std::move(params), std::move(done)); });
}

Task<core::Batch> Engine::batch(std::string id) {
  co_return co_await await_store<core::Batch>(
      [&](auto done) { store_.batch_get({.id = std::move(id)}, std::move(done)); });
}

Task<core::Job> Engine::get(std::string id) {
  co_return co_await await_store<core::Job>(
      [&](auto done) { store_.job_get({.id = std::move(id)}, std::move(done)); });
}

Task<store::JobPage> Engine::list(store::JobListParams params) {
  co_return co_await await_store<store::JobPage>(
      [&](auto done) { store_.job_list(std::move(params), std::move(done)); });
}

Task<core::Job> Engine::cancel(std::string id) {
  auto job = co_await await_store<core::Job>([&](auto done) {
    // A running job only has cancel requested: its state changes when its
    // worker answers.
    store_.job_cancel({.id = std::move(id), .now = clock_.now()},
                      publishing<core::Job>(std::move(done), [this](const core::Job& job) {
                        if (job.state == core::JobState::cancelled) publish_state(job);
                      }));
  });
  if (job && job->state == core::JobState::cancelled)
    log_job(options_.json_logs, "cancelled", *job);
  co_return job;
}

void Engine::attempt_ended(std::string_view lease_id, std::string_view id, std::string_view queue,
                           core::JobState state, core::TimePoint now, const core::Job* job,
                           std::string_view error) {
  auto claimed = job_metrics_.ended(lease_id, queue, state, now);
  const bool known = claimed && !claimed->job_id.empty();
  if (job_log_enabled()) {
    if (known) {  // what a complete or fail answers may lack the type and trace
      log_job(options_.json_logs, end_event(state), claimed->job_id, claimed->queue, claimed->type,
              claimed->attempt, claimed->traceparent);
    } else if (job) {
      log_job(options_.json_logs, end_event(state), *job);
    } else {
      log_job(options_.json_logs, end_event(state), id, queue, {}, 0, {});
    }
  }
  if (!span_sink_ || !known) return;
  span_sink_(AttemptSpan{.attempt = std::move(*claimed),
                         .ended_at = now,
                         .outcome = std::string(core::to_string(state)),
                         .error = std::string(error)});
}

void Engine::set_span_sink(std::function<void(AttemptSpan)> sink) {
  span_sink_ = std::move(sink);
  job_metrics_.keep_attempts(static_cast<bool>(span_sink_));
}

Task<core::Job> Engine::retry(std::string id) {
  co_return co_await await_store<core::Job>([&](auto done) {
    store_.job_retry({.id = std::move(id), .now = clock_.now()},
                     publishing<core::Job>(std::move(done),
                                           [this](const core::Job& job) { publish_state(job); }));
  });
}

Task<store::Unit> Engine::remove(std::string id) {
  co_return co_await await_store<store::Unit>([&](auto done) {
    store_.job_delete({.id = std::move(id), .now = clock_.now()}, std::move(done));
  });
}

Task<store::LeaseInfo> Engine::heartbeat(std::string id, std::string lease_id,
                                         std::optional<core::Millis> extend) {
  store::LeaseExtendParams params{
      .id = std::move(id), .lease_id = std::move(lease_id), .extend = extend, .now = clock_.now()};
  co_return co_await await_store<store::LeaseInfo>(
      [&](auto done) { store_.lease_extend(std::move(params), std::move(done)); });
}

Task<store::Unit> Engine::progress(std::string id, std::string lease_id, core::Progress progress) {
  const auto now = clock_.now();
  progress.updated_at = now;
  JobEvent event{.kind = JobEventKind::progress, .job_id = id, .progress = progress};
  store::JobProgressParams params{.id = std::move(id),
                                  .lease_id = std::move(lease_id),
                                  .progress = std::move(progress),
                                  .now = now};
  co_return co_await await_store<store::Unit>([&](auto done) {
    store_.job_progress(std::move(params),
                        publishing<store::Unit>(
                            std::move(done), [this, event = std::move(event)](const store::Unit&) {
                              events_.publish(event);
                            }));
  });
}

namespace {

store::JobCompleteParams complete_params(CompleteRequest r, core::TimePoint now) {
  return {.id = std::move(r.id),
          .lease_id = std::move(r.lease_id),
          .result = std::move(r.result),
          .log = std::move(r.log),
          .now = now};
}

store::JobFailParams fail_params(FailRequest r, core::TimePoint now, double jitter) {
  return {.id = std::move(r.id),
          .lease_id = std::move(r.lease_id),
          .error = std::move(r.error),
          .retry = r.retry,
          .retry_in = r.retry_in,
          .log = std::move(r.log),
          .now = now,
          .jitter = jitter};
}

}  // namespace

Task<core::Job> Engine::complete(CompleteRequest request) {
  auto params = complete_params(std::move(request), clock_.now());
  const std::string lease_id = params.lease_id;
  const auto now = params.now;
  auto job = co_await await_store<core::Job>([&](auto done) {
    store_.job_complete(std::move(params),
                        publishing<core::Job>(
                            std::move(done), [this](const core::Job& job) { publish_state(job); }));
  });
  if (job) attempt_ended(lease_id, job->id, job->queue, job->state, now, &*job, {});
  co_return job;
}

Task<core::Job> Engine::fail(FailRequest r) {
  auto params = fail_params(std::move(r), clock_.now(), next_jitter());
  const std::string lease_id = params.lease_id;
  const std::string error = span_sink_ ? params.error : std::string();
  const auto now = params.now;
  auto job = co_await await_store<core::Job>([&](auto done) {
    store_.job_fail(std::move(params),
                    publishing<core::Job>(std::move(done),
                                          [this](const core::Job& job) { publish_state(job); }));
  });
  if (job) attempt_ended(lease_id, job->id, job->queue, job->state, now, &*job, error);
  co_return job;
}

Task<std::vector<Result<core::JobState>>> Engine::ack_many(std::vector<AckRequest> requests) {
  const auto now = clock_.now();
  // What the events need of each item, kept before the items move into the
  // store (a result only while someone watches: the bus drops the rest).
  std::vector<JobEvent> events;
  events.reserve(requests.size());
  std::vector<store::AckItem> items;
  items.reserve(requests.size());
  for (auto& request : requests) {
    auto& item = items.emplace_back();
    item.fail = request.fail;
    if (request.fail) {
      item.failure = fail_params(std::move(request.failure), now, next_jitter());
    } else {
      item.complete = complete_params(std::move(request.complete), now);
    }
    const auto& id = item.fail ? item.failure.id : item.complete.id;
    // The answer has the new state only: the bus knows the attempt.
    auto& event = events.emplace_back(JobEvent{.job_id = id, .attempt = -1});
    if (events_.watched(id)) {
      if (item.fail)
        event.error = item.failure.error;
      else
        event.result = item.complete.result;
    }
  }
  std::vector<std::string> leases, ids, errors;
  leases.reserve(items.size());
  ids.reserve(items.size());
  for (const auto& item : items) {
    leases.push_back(item.fail ? item.failure.lease_id : item.complete.lease_id);
    ids.push_back(item.fail ? item.failure.id : item.complete.id);
    if (span_sink_) errors.push_back(item.fail ? item.failure.error : std::string());
  }
  using Acks = std::vector<Result<core::JobState>>;
  auto acks = co_await await_store<Acks>([&](auto done) {
    store_.job_ack_many(std::move(items),
                        publishing<Acks>(std::move(done), [this, events = std::move(events)](
                                                              const Acks& acks) mutable {
                          for (std::size_t i = 0; i < acks.size() && i < events.size(); ++i) {
                            if (!acks[i]) continue;
                            events[i].state = *acks[i];
                            events_.publish(std::move(events[i]));
                          }
                        }));
  });
  if (acks) {
    for (std::size_t i = 0; i < acks->size() && i < leases.size(); ++i) {
      if (!(*acks)[i]) continue;
      attempt_ended(leases[i], ids[i], {}, *(*acks)[i], now, nullptr,
                    i < errors.size() ? std::string_view(errors[i]) : std::string_view());
    }
  }
  co_return acks;
}

Task<core::Job> Engine::requeue(RequeueRequest r) {
  store::JobRequeueParams params{.id = std::move(r.id),
                                 .lease_id = std::move(r.lease_id),
                                 .run_at = r.run_at,
                                 .continuation = r.continuation,
                                 .state = std::move(r.state),
                                 .progress = std::move(r.progress),
                                 .signal_nonce = std::move(r.signal_nonce),
                                 .now = clock_.now()};
  std::optional<core::Progress> progress = params.progress;
  if (progress) progress->updated_at = params.now;
  auto job = co_await await_store<core::Job>([&](auto done) {
    store_.job_requeue(
        std::move(params),
        publishing<core::Job>(
            std::move(done), [this, progress = std::move(progress)](const core::Job& job) {
              publish_state(job);
              if (progress) {
                events_.publish(
                    {.kind = JobEventKind::progress, .job_id = job.id, .progress = *progress});
              }
            }));
  });
  if (job) log_job(options_.json_logs, "continued", *job);
  co_return job;
}

Task<core::Job> Engine::signal(std::string id, std::string nonce, core::RawJson body) {
  store::JobSignalParams params{
      .id = std::move(id), .nonce = std::move(nonce), .body = std::move(body), .now = clock_.now()};
  co_return co_await await_store<core::Job>([&](auto done) {
    store_.job_signal(std::move(params),
                      publishing<core::Job>(std::move(done),
                                            [this](const core::Job& job) { publish_state(job); }));
  });
}

Task<std::vector<store::QueueInfo>> Engine::queues() {
  co_return co_await await_store<std::vector<store::QueueInfo>>(
      [&](auto done) { store_.queue_list(std::move(done)); });
}

Task<store::DatabaseBackup> Engine::backup(store::DatabaseBackupParams params) {
  co_return co_await await_store<store::DatabaseBackup>(
      [&](auto done) { store_.database_backup(std::move(params), std::move(done)); });
}

Task<std::map<std::string, core::TimePoint>> Engine::oldest_ready() {
  co_return co_await await_store<std::map<std::string, core::TimePoint>>(
      [&](auto done) { store_.queue_oldest_ready(std::move(done)); });
}

Task<store::QueueInfo> Engine::pause(std::string queue, bool paused) {
  std::vector<std::pair<std::string, std::string>> names{{queue, "queue"}};
  auto admitted = co_await admit_queues(std::move(names));
  if (!admitted) co_return admitted.error();
  co_return co_await await_store<store::QueueInfo>([&](auto done) {
    store_.queue_pause({.queue = std::move(queue), .paused = paused}, std::move(done));
  });
}

Task<store::QueueInfo> Engine::configure(store::QueueConfigureParams params) {
  if (params.config.push && push_check_) {
    if (auto ok = push_check_(*params.config.push); !ok) co_return ok.error();
  }
  std::vector<std::pair<std::string, std::string>> names{{params.queue, "queue"}};
  auto admitted = co_await admit_queues(std::move(names));
  if (!admitted) co_return admitted.error();
  auto info = co_await await_store<store::QueueInfo>(
      [&](auto done) { store_.queue_configure(std::move(params), std::move(done)); });
  if (info && queue_listener_) queue_listener_(*info);
  co_return info;
}

Task<store::QueueInfo> Engine::rotate_push_secret(std::string queue, core::Millis keep_previous) {
  store::QueueRotateSecretParams params{
      .queue = std::move(queue), .keep_previous = keep_previous, .now = clock_.now()};
  auto info = co_await await_store<store::QueueInfo>(
      [&](auto done) { store_.queue_rotate_secret(std::move(params), std::move(done)); });
  if (info && queue_listener_) queue_listener_(*info);
  co_return info;
}

Task<store::SchedulePutOutcome> Engine::put_schedule(core::ScheduleSpec spec) {
  std::vector<std::pair<std::string, std::string>> names{{spec.queue, "queue"}};
  auto admitted = co_await admit_queues(std::move(names));
  if (!admitted) co_return admitted.error();
  co_return co_await schedules_->put(std::move(spec));
}

void Engine::set_queue_listener(std::function<void(const store::QueueInfo&)> listener) {
  queue_listener_ = std::move(listener);
}

void Engine::set_push_check(std::function<core::Result<void>(const core::PushConfig&)> check) {
  push_check_ = std::move(check);
}

void Engine::wake_claims(const std::vector<std::string>& queues) {
  waiters_.notify(queues);
}

Task<store::KeyInfo> Engine::put_key(store::KeyPutParams params) {
  std::vector<std::pair<std::string, std::string>> names{{params.queue, "queue"}};
  auto admitted = co_await admit_queues(std::move(names));
  if (!admitted) co_return admitted.error();
  co_return co_await await_store<store::KeyInfo>(
      [&](auto done) { store_.key_put(std::move(params), std::move(done)); });
}

Task<store::KeyInfo> Engine::key(store::KeyRef ref) {
  co_return co_await await_store<store::KeyInfo>(
      [&](auto done) { store_.key_get(std::move(ref), std::move(done)); });
}

Task<store::KeyInfo> Engine::delete_key(store::KeyRef ref) {
  co_return co_await await_store<store::KeyInfo>(
      [&](auto done) { store_.key_delete(std::move(ref), std::move(done)); });
}

Task<store::KeyPage> Engine::keys(store::KeyListParams params) {
  co_return co_await await_store<store::KeyPage>(
      [&](auto done) { store_.key_list(std::move(params), std::move(done)); });
}

Task<store::QueueInfo> Engine::queue(std::string name) {
  store::QueueGetParams params{.queue = std::move(name)};
  co_return co_await await_store<store::QueueInfo>(
      [&](auto done) { store_.queue_get(std::move(params), std::move(done)); });
}

}  // namespace errand::engine
