#include "store/faulty/faulty_store.hpp"

#include <fmt/format.h>

#include <charconv>

namespace errand::store {

core::Result<std::vector<StoreFault>> parse_store_faults(std::string_view text,
                                                         std::string_view field) {
  std::vector<StoreFault> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    auto item = text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    start = comma == std::string_view::npos ? text.size() + 1 : comma + 1;
    if (item.empty()) continue;
    StoreFault f;
    const auto colon = item.find(':');
    auto verb = item.substr(0, colon);
    if (verb.empty() || verb.find_first_not_of("abcdefghijklmnopqrstuvwxyz_*") != verb.npos) {
      return core::invalid(
          std::string(field),
          fmt::format("{}: \"{}\" is not a store verb (job_insert_many, …, or *)", field, verb));
    }
    f.verb = verb == "*" ? std::string() : std::string(verb);
    if (colon != std::string_view::npos) {
      const auto n = item.substr(colon + 1);
      auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), f.nth);
      if (ec != std::errc{} || end != n.data() + n.size() || f.nth < 1) {
        return core::invalid(std::string(field),
                             fmt::format("{}: \"{}\" must be a call number from 1", field, n));
      }
    }
    out.push_back(std::move(f));
  }
  return out;
}

FaultyStore::FaultyStore(Store& inner) : inner_(inner) {}

FaultyStore::FaultyStore(std::unique_ptr<Store> inner)
    : owned_(std::move(inner)), inner_(*owned_) {}

void FaultyStore::add(StoreFault fault) {
  core::MutexLock lock(mutex_);
  rules_.push_back({.fault = std::move(fault)});
  armed_ = true;
}

void FaultyStore::hold(std::string verb) {
  core::MutexLock lock(mutex_);
  held_verbs_.push_back(std::move(verb));
  holding_ = true;
  armed_ = true;
}

void FaultyStore::release() {
  std::vector<std::function<void()>> due;
  {
    core::MutexLock lock(mutex_);
    holding_ = false;
    held_verbs_.clear();
    due.swap(held_);
    armed_ = !rules_.empty();
  }
  for (auto& answer : due) answer();
}

void FaultyStore::heal() {
  core::MutexLock lock(mutex_);
  rules_.clear();
  armed_ = holding_;
}

std::int64_t FaultyStore::calls(std::string_view verb) const {
  core::MutexLock lock(mutex_);
  const auto it = calls_.find(verb);
  return it == calls_.end() ? 0 : it->second;
}

std::int64_t FaultyStore::failures(std::string_view verb) const {
  core::MutexLock lock(mutex_);
  const auto it = failures_.find(verb);
  return it == failures_.end() ? 0 : it->second;
}

std::optional<core::Error> FaultyStore::fault(std::string_view verb) {
  core::MutexLock lock(mutex_);
  auto& count = calls_[std::string(verb)];
  ++count;
  // Every rule of the verb counts the call, whichever fails it: "job_get:2,
  // job_get:3" fails the 2nd and the 3rd.
  const Rule* failing = nullptr;
  for (auto& rule : rules_) {
    if (!rule.fault.verb.empty() && rule.fault.verb != verb) continue;
    ++rule.seen;
    if (rule.fault.nth != 0 && rule.seen != rule.fault.nth) continue;
    if (!failing) failing = &rule;
  }
  if (!failing) return std::nullopt;
  ++failures_[std::string(verb)];
  return core::make_error(failing->fault.code,
                          fmt::format("{} ({})", failing->fault.message, verb));
}

bool FaultyStore::holds(std::string_view verb) const {
  if (!armed_) return false;
  core::MutexLock lock(mutex_);
  if (!holding_) return false;
  for (const auto& v : held_verbs_) {
    if (v.empty() || v == verb) return true;
  }
  return false;
}

void FaultyStore::set_change_listener(std::function<void(const ChangeNotice&)> listener) {
  inner_.set_change_listener(std::move(listener));
}

void FaultyStore::job_insert_many(JobInsertManyParams p,
                                  Callback<std::vector<InsertOutcome>> done) {
  if (auto e = fault("job_insert_many")) return done(std::move(*e));
  inner_.job_insert_many(std::move(p),
                         answer<std::vector<InsertOutcome>>("job_insert_many", std::move(done)));
}

void FaultyStore::job_get(JobGetParams p, Callback<core::Job> done) {
  if (auto e = fault("job_get")) return done(std::move(*e));
  inner_.job_get(std::move(p), answer<core::Job>("job_get", std::move(done)));
}

void FaultyStore::job_list(JobListParams p, Callback<JobPage> done) {
  if (auto e = fault("job_list")) return done(std::move(*e));
  inner_.job_list(std::move(p), answer<JobPage>("job_list", std::move(done)));
}

void FaultyStore::job_claim(JobClaimParams p, Callback<std::vector<core::Job>> done) {
  if (auto e = fault("job_claim")) return done(std::move(*e));
  inner_.job_claim(std::move(p), answer<std::vector<core::Job>>("job_claim", std::move(done)));
}

void FaultyStore::lease_extend(LeaseExtendParams p, Callback<LeaseInfo> done) {
  if (auto e = fault("lease_extend")) return done(std::move(*e));
  inner_.lease_extend(std::move(p), answer<LeaseInfo>("lease_extend", std::move(done)));
}

void FaultyStore::job_progress(JobProgressParams p, Callback<Unit> done) {
  if (auto e = fault("job_progress")) return done(std::move(*e));
  inner_.job_progress(std::move(p), answer<Unit>("job_progress", std::move(done)));
}

void FaultyStore::job_complete(JobCompleteParams p, Callback<core::Job> done) {
  if (auto e = fault("job_complete")) return done(std::move(*e));
  inner_.job_complete(std::move(p), answer<core::Job>("job_complete", std::move(done)));
}

void FaultyStore::job_fail(JobFailParams p, Callback<core::Job> done) {
  if (auto e = fault("job_fail")) return done(std::move(*e));
  inner_.job_fail(std::move(p), answer<core::Job>("job_fail", std::move(done)));
}

void FaultyStore::job_requeue(JobRequeueParams p, Callback<core::Job> done) {
  if (auto e = fault("job_requeue")) return done(std::move(*e));
  inner_.job_requeue(std::move(p), answer<core::Job>("job_requeue", std::move(done)));
}

void FaultyStore::job_signal(JobSignalParams p, Callback<core::Job> done) {
  if (auto e = fault("job_signal")) return done(std::move(*e));
  inner_.job_signal(std::move(p), answer<core::Job>("job_signal", std::move(done)));
}

void FaultyStore::job_ack_many(std::vector<AckItem> items,
                               Callback<std::vector<core::Result<core::JobState>>> done) {
  if (auto e = fault("job_ack_many")) return done(std::move(*e));
  inner_.job_ack_many(std::move(items), answer<std::vector<core::Result<core::JobState>>>(
                                            "job_ack_many", std::move(done)));
}

void FaultyStore::job_cancel(JobCancelParams p, Callback<core::Job> done) {
  if (auto e = fault("job_cancel")) return done(std::move(*e));
  inner_.job_cancel(std::move(p), answer<core::Job>("job_cancel", std::move(done)));
}

void FaultyStore::job_retry(JobRetryParams p, Callback<core::Job> done) {
  if (auto e = fault("job_retry")) return done(std::move(*e));
  inner_.job_retry(std::move(p), answer<core::Job>("job_retry", std::move(done)));
}

void FaultyStore::job_delete(JobDeleteParams p, Callback<Unit> done) {
  if (auto e = fault("job_delete")) return done(std::move(*e));
  inner_.job_delete(std::move(p), answer<Unit>("job_delete", std::move(done)));
}

void FaultyStore::queue_list(Callback<std::vector<QueueInfo>> done) {
  if (auto e = fault("queue_list")) return done(std::move(*e));
  inner_.queue_list(answer<std::vector<QueueInfo>>("queue_list", std::move(done)));
}

void FaultyStore::queue_pause(QueuePauseParams p, Callback<QueueInfo> done) {
  if (auto e = fault("queue_pause")) return done(std::move(*e));
  inner_.queue_pause(std::move(p), answer<QueueInfo>("queue_pause", std::move(done)));
}

void FaultyStore::queue_configure(QueueConfigureParams p, Callback<QueueInfo> done) {
  if (auto e = fault("queue_configure")) return done(std::move(*e));
  inner_.queue_configure(std::move(p), answer<QueueInfo>("queue_configure", std::move(done)));
}

void FaultyStore::queue_rotate_secret(QueueRotateSecretParams p, Callback<QueueInfo> done) {
  if (auto e = fault("queue_rotate_secret")) return done(std::move(*e));
  inner_.queue_rotate_secret(std::move(p),
                             answer<QueueInfo>("queue_rotate_secret", std::move(done)));
}

void FaultyStore::queue_get(QueueGetParams p, Callback<QueueInfo> done) {
  if (auto e = fault("queue_get")) return done(std::move(*e));
  inner_.queue_get(std::move(p), answer<QueueInfo>("queue_get", std::move(done)));
}

void FaultyStore::key_put(KeyPutParams p, Callback<KeyInfo> done) {
  if (auto e = fault("key_put")) return done(std::move(*e));
  inner_.key_put(std::move(p), answer<KeyInfo>("key_put", std::move(done)));
}

void FaultyStore::key_get(KeyRef p, Callback<KeyInfo> done) {
  if (auto e = fault("key_get")) return done(std::move(*e));
  inner_.key_get(std::move(p), answer<KeyInfo>("key_get", std::move(done)));
}

void FaultyStore::key_delete(KeyRef p, Callback<KeyInfo> done) {
  if (auto e = fault("key_delete")) return done(std::move(*e));
  inner_.key_delete(std::move(p), answer<KeyInfo>("key_delete", std::move(done)));
}

void FaultyStore::key_list(KeyListParams p, Callback<KeyPage> done) {
  if (auto e = fault("key_list")) return done(std::move(*e));
  inner_.key_list(std::move(p), answer<KeyPage>("key_list", std::move(done)));
}

void FaultyStore::queue_oldest_ready(Callback<std::map<std::string, core::TimePoint>> done) {
  if (auto e = fault("queue_oldest_ready")) return done(std::move(*e));
  inner_.queue_oldest_ready(
      answer<std::map<std::string, core::TimePoint>>("queue_oldest_ready", std::move(done)));
}

void FaultyStore::job_promote_due(JobPromoteDueParams p, Callback<std::int64_t> done) {
  if (auto e = fault("job_promote_due")) return done(std::move(*e));
  inner_.job_promote_due(std::move(p), answer<std::int64_t>("job_promote_due", std::move(done)));
}

void FaultyStore::lease_expire(LeaseExpireParams p, Callback<std::int64_t> done) {
  if (auto e = fault("lease_expire")) return done(std::move(*e));
  inner_.lease_expire(std::move(p), answer<std::int64_t>("lease_expire", std::move(done)));
}

void FaultyStore::next_deadline(Callback<std::optional<core::TimePoint>> done) {
  if (auto e = fault("next_deadline")) return done(std::move(*e));
  inner_.next_deadline(answer<std::optional<core::TimePoint>>("next_deadline", std::move(done)));
}

void FaultyStore::job_prune_finished(JobPruneFinishedParams p, Callback<std::int64_t> done) {
  if (auto e = fault("job_prune_finished")) return done(std::move(*e));
  inner_.job_prune_finished(std::move(p),
                            answer<std::int64_t>("job_prune_finished", std::move(done)));
}

void FaultyStore::batch_create(BatchCreateParams p, Callback<BatchInsertOutcome> done) {
  if (auto e = fault("batch_create")) return done(std::move(*e));
  inner_.batch_create(std::move(p), answer<BatchInsertOutcome>("batch_create", std::move(done)));
}

void FaultyStore::batch_add(BatchAddParams p, Callback<BatchInsertOutcome> done) {
  if (auto e = fault("batch_add")) return done(std::move(*e));
  inner_.batch_add(std::move(p), answer<BatchInsertOutcome>("batch_add", std::move(done)));
}

void FaultyStore::batch_seal(BatchSealParams p, Callback<core::Batch> done) {
  if (auto e = fault("batch_seal")) return done(std::move(*e));
  inner_.batch_seal(std::move(p), answer<core::Batch>("batch_seal", std::move(done)));
}

void FaultyStore::batch_get(BatchGetParams p, Callback<core::Batch> done) {
  if (auto e = fault("batch_get")) return done(std::move(*e));
  inner_.batch_get(std::move(p), answer<core::Batch>("batch_get", std::move(done)));
}

void FaultyStore::webhook_claim(WebhookClaimParams p, Callback<std::vector<WebhookDelivery>> done) {
  if (auto e = fault("webhook_claim")) return done(std::move(*e));
  inner_.webhook_claim(std::move(p),
                       answer<std::vector<WebhookDelivery>>("webhook_claim", std::move(done)));
}

void FaultyStore::webhook_result(WebhookResultParams p, Callback<Unit> done) {
  if (auto e = fault("webhook_result")) return done(std::move(*e));
  inner_.webhook_result(std::move(p), answer<Unit>("webhook_result", std::move(done)));
}

void FaultyStore::schedule_put(SchedulePutParams p, Callback<SchedulePutOutcome> done) {
  if (auto e = fault("schedule_put")) return done(std::move(*e));
  inner_.schedule_put(std::move(p), answer<SchedulePutOutcome>("schedule_put", std::move(done)));
}

void FaultyStore::schedule_get(ScheduleGetParams p, Callback<core::Schedule> done) {
  if (auto e = fault("schedule_get")) return done(std::move(*e));
  inner_.schedule_get(std::move(p), answer<core::Schedule>("schedule_get", std::move(done)));
}

void FaultyStore::schedule_list(Callback<std::vector<core::Schedule>> done) {
  if (auto e = fault("schedule_list")) return done(std::move(*e));
  inner_.schedule_list(answer<std::vector<core::Schedule>>("schedule_list", std::move(done)));
}

void FaultyStore::schedule_delete(ScheduleDeleteParams p, Callback<Unit> done) {
  if (auto e = fault("schedule_delete")) return done(std::move(*e));
  inner_.schedule_delete(std::move(p), answer<Unit>("schedule_delete", std::move(done)));
}

void FaultyStore::schedule_pause(SchedulePauseParams p, Callback<core::Schedule> done) {
  if (auto e = fault("schedule_pause")) return done(std::move(*e));
  inner_.schedule_pause(std::move(p), answer<core::Schedule>("schedule_pause", std::move(done)));
}

void FaultyStore::schedule_fire(ScheduleFireParams p, Callback<ScheduleFireOutcome> done) {
  if (auto e = fault("schedule_fire")) return done(std::move(*e));
  inner_.schedule_fire(std::move(p), answer<ScheduleFireOutcome>("schedule_fire", std::move(done)));
}

void FaultyStore::setting_get_or_put(SettingGetOrPutParams p, Callback<std::string> done) {
  if (auto e = fault("setting_get_or_put")) return done(std::move(*e));
  inner_.setting_get_or_put(std::move(p),
                            answer<std::string>("setting_get_or_put", std::move(done)));
}

void FaultyStore::stats_sample_put(StatsSamplePutParams p, Callback<Unit> done) {
  if (auto e = fault("stats_sample_put")) return done(std::move(*e));
  inner_.stats_sample_put(std::move(p), answer<Unit>("stats_sample_put", std::move(done)));
}

void FaultyStore::stats_sample_list(StatsSampleListParams p,
                                    Callback<std::vector<StatsSample>> done) {
  if (auto e = fault("stats_sample_list")) return done(std::move(*e));
  inner_.stats_sample_list(std::move(p),
                           answer<std::vector<StatsSample>>("stats_sample_list", std::move(done)));
}

void FaultyStore::session_put(SessionPutParams p, Callback<Unit> done) {
  if (auto e = fault("session_put")) return done(std::move(*e));
  inner_.session_put(std::move(p), answer<Unit>("session_put", std::move(done)));
}

void FaultyStore::session_get(SessionGetParams p, Callback<DashboardSession> done) {
  if (auto e = fault("session_get")) return done(std::move(*e));
  inner_.session_get(std::move(p), answer<DashboardSession>("session_get", std::move(done)));
}

void FaultyStore::session_delete(SessionDeleteParams p, Callback<Unit> done) {
  if (auto e = fault("session_delete")) return done(std::move(*e));
  inner_.session_delete(std::move(p), answer<Unit>("session_delete", std::move(done)));
}

void FaultyStore::session_list(SessionListParams p, Callback<std::vector<DashboardSession>> done) {
  if (auto e = fault("session_list")) return done(std::move(*e));
  inner_.session_list(std::move(p),
                      answer<std::vector<DashboardSession>>("session_list", std::move(done)));
}

void FaultyStore::session_drop_expired(SessionDropExpiredParams p, Callback<std::int64_t> done) {
  if (auto e = fault("session_drop_expired")) return done(std::move(*e));
  inner_.session_drop_expired(std::move(p),
                              answer<std::int64_t>("session_drop_expired", std::move(done)));
}

void FaultyStore::node_heartbeat(NodeHeartbeatParams p, Callback<Unit> done) {
  if (auto e = fault("node_heartbeat")) return done(std::move(*e));
  inner_.node_heartbeat(std::move(p), answer<Unit>("node_heartbeat", std::move(done)));
}

void FaultyStore::node_stop(NodeStopParams p, Callback<Unit> done) {
  if (auto e = fault("node_stop")) return done(std::move(*e));
  inner_.node_stop(std::move(p), answer<Unit>("node_stop", std::move(done)));
}

void FaultyStore::node_list(Callback<std::vector<core::Node>> done) {
  if (auto e = fault("node_list")) return done(std::move(*e));
  inner_.node_list(answer<std::vector<core::Node>>("node_list", std::move(done)));
}

bool FaultyStore::set_job_event_feed(JobEventFeed feed) {
  return inner_.set_job_event_feed(std::move(feed));
}

std::optional<core::Millis> FaultyStore::clock_offset() const {
  return inner_.clock_offset();
}

bool FaultyStore::writable() const {
  return inner_.writable();
}

std::int64_t FaultyStore::unreadable_jobs() const {
  return inner_.unreadable_jobs();
}

void FaultyStore::database_backup(DatabaseBackupParams p, Callback<DatabaseBackup> done) {
  if (auto e = fault("database_backup")) return done(std::move(*e));
  inner_.database_backup(std::move(p), answer<DatabaseBackup>("database_backup", std::move(done)));
}

void FaultyStore::close() {
  release();
  inner_.close();
}

}  // namespace errand::store
