#include "engine/schedules.hpp"

#include "engine/await_store.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>

#include <algorithm>
#include <map>
#include <set>

namespace errand::engine {
namespace asio = boost::asio;

namespace {

// After a failed read of the schedules, try again this soon.
constexpr core::Millis kRetryAfterError{1'000};

}  // namespace

Schedules::Schedules(asio::any_io_executor executor, store::Store& store, const core::Clock& clock,
                     core::Millis recheck)
    : strand_(asio::make_strand(executor)),
      store_(store),
      clock_(clock),
      recheck_(recheck),
      online_since_(clock.now()) {}

Schedules::~Schedules() {
  stop();
}

ScheduleStats Schedules::stats() const {
  return {fired_.load(), skipped_.load(), ticks_.load()};
}

void Schedules::start() {
  if (started_.exchange(true)) return;
  online_since_ = clock_.now();
  spdlog::info("schedule timer started at {}: fire times missed before it fire at most once",
               core::format_rfc3339(online_since_));
  asio::co_spawn(strand_, timer_loop(), asio::detached);
}

void Schedules::stop() {
  if (stopping_.exchange(true)) return;
  asio::post(strand_, [this] {
    if (timer_) timer_->cancel();
  });
}

void Schedules::rearm() {
  asio::post(strand_, [this] {
    changed_ = true;
    if (timer_) timer_->cancel();
  });
}

ScheduleTask<store::SchedulePutOutcome> Schedules::put(core::ScheduleSpec spec) {
  if (auto compiled = core::compile_schedule(spec); !compiled) co_return compiled.error();
  store::SchedulePutParams params{.spec = std::move(spec), .now = clock_.now()};
  auto out = co_await await_store<store::SchedulePutOutcome>(
      [&](auto done) { store_.schedule_put(std::move(params), std::move(done)); });
  if (out) rearm();
  co_return out;
}

ScheduleTask<core::Schedule> Schedules::get(std::string name) {
  store::ScheduleGetParams params{.name = std::move(name)};
  co_return co_await await_store<core::Schedule>(
      [&](auto done) { store_.schedule_get(std::move(params), std::move(done)); });
}

ScheduleTask<std::vector<core::Schedule>> Schedules::list() {
  co_return co_await await_store<std::vector<core::Schedule>>(
      [&](auto done) { store_.schedule_list(std::move(done)); });
}

ScheduleTask<store::Unit> Schedules::remove(std::string name) {
  store::ScheduleDeleteParams params{.name = std::move(name)};
  auto out = co_await await_store<store::Unit>(
      [&](auto done) { store_.schedule_delete(std::move(params), std::move(done)); });
  if (out) rearm();
  co_return out;
}

ScheduleTask<core::Schedule> Schedules::pause(std::string name, bool paused) {
  store::SchedulePauseParams params{.name = std::move(name), .paused = paused, .now = clock_.now()};
  auto out = co_await await_store<core::Schedule>(
      [&](auto done) { store_.schedule_pause(std::move(params), std::move(done)); });
  if (out) rearm();
  co_return out;
}

ScheduleTask<store::ScheduleFireOutcome> Schedules::trigger(std::string name) {
  const auto now = clock_.now();
  store::ScheduleFireParams params{.name = std::move(name), .now = now};
  co_return co_await await_store<store::ScheduleFireOutcome>(
      [&](auto done) { store_.schedule_fire(std::move(params), std::move(done)); });
}

namespace {

// Whether putting `b` over `a` would change nothing.
bool same_spec(const core::ScheduleSpec& a, const core::ScheduleSpec& b) {
  return a.name == b.name && a.cron == b.cron && a.timezone == b.timezone && a.queue == b.queue &&
         a.type == b.type && a.payload == b.payload && a.priority == b.priority &&
         a.max_attempts == b.max_attempts && a.overlap == b.overlap && a.paused == b.paused &&
         a.catch_up == b.catch_up && a.source == b.source;
}

}  // namespace

ScheduleTask<ScheduleSync> Schedules::sync(core::ScheduleSource source,
                                           std::vector<core::ScheduleSpec> specs) {
  ScheduleSync out;
  auto all = co_await list();
  if (!all) co_return all.error();
  std::map<std::string, const core::ScheduleSpec*, std::less<>> current;
  for (const auto& s : *all) current.emplace(s.spec.name, &s.spec);
  std::set<std::string> named;
  for (auto& spec : specs) {
    spec.source = source;
    named.insert(spec.name);
    const auto it = current.find(spec.name);
    if (it != current.end() && same_spec(*it->second, spec)) continue;  // unchanged
    const std::string name = spec.name;
    auto put_one = co_await put(std::move(spec));
    if (!put_one) co_return put_one.error();
    (put_one->created ? out.created : out.updated).push_back(name);
  }
  for (const auto& s : *all) {
    if (s.spec.source != source || named.count(s.spec.name) > 0) continue;
    auto removed = co_await remove(s.spec.name);
    if (!removed && removed.error().code != core::errc::not_found) co_return removed.error();
    out.removed.push_back(s.spec.name);
  }
  co_return out;
}

asio::awaitable<void> Schedules::fire(const core::Schedule& schedule, core::TimePoint at) {
  const auto now = clock_.now();
  store::ScheduleFireParams params{.name = schedule.spec.name, .fire_at = at, .now = now};
  auto out = co_await await_store<store::ScheduleFireOutcome>(
      [&](auto done) { store_.schedule_fire(std::move(params), std::move(done)); });
  const auto late = (now - at).count();
  if (!out) {
    spdlog::warn("schedule {}: firing for {} failed: {}", schedule.spec.name,
                 core::format_rfc3339(at), out.error().message);
  } else if (out->result == store::FireResult::enqueued && at < online_since_) {
    fired_.fetch_add(1);
    spdlog::info("schedule {}: caught up {}, missed while the server was down: job {}",
                 schedule.spec.name, core::format_rfc3339(at), out->job_id);
  } else if (out->result == store::FireResult::enqueued) {
    fired_.fetch_add(1);
    spdlog::debug("schedule {}: fired for {} ({} ms late), job {}", schedule.spec.name,
                  core::format_rfc3339(at), late, out->job_id);
  } else if (out->result == store::FireResult::skipped_overlap) {
    skipped_.fetch_add(1);
    spdlog::info("schedule {}: skipped {}: its previous job {} has not finished (overlap skip)",
                 schedule.spec.name, core::format_rfc3339(at), schedule.last_job_id);
  }
}

asio::awaitable<std::optional<core::TimePoint>> Schedules::tick(core::TimePoint now) {
  ticks_.fetch_add(1);
  auto all = co_await list();
  if (!all) {
    spdlog::warn("reading the schedules failed: {}", all.error().message);
    co_return now + kRetryAfterError;
  }
  std::optional<core::TimePoint> next;
  for (const auto& s : *all) {
    if (s.spec.paused) continue;
    auto compiled = core::compile_schedule(s.spec);
    if (!compiled) {
      spdlog::warn("schedule {} is not valid and does not fire: {}", s.spec.name,
                   compiled.error().message);
      continue;
    }
    const auto due =
        core::due_fire(*compiled, s.fired_through, online_since_, now, s.spec.catch_up);
    if (due.fire) co_await fire(s, *due.fire);
    if (due.next && (!next || *due.next < *next)) next = due.next;
  }
  co_return next;
}

asio::awaitable<void> Schedules::timer_loop() {
  timer_ = std::make_shared<asio::steady_timer>(strand_);
  while (!stopping_) {
    changed_ = false;
    auto next = co_await tick(clock_.now());
    if (stopping_) break;  // stop() may have run while the tick was in the store
    if (changed_) continue;
    // See the header: the steady timer and the wall clock may drift apart,
    // and other servers may change the schedules.
    const auto wait = next ? std::min(*next - clock_.now(), recheck_) : recheck_;
    // +1ms: a time is due when now >= it, and the timer may fire early by a
    // fraction of a millisecond.
    timer_->expires_after(std::max(wait, core::Millis{0}) + core::Millis{1});
    boost::system::error_code ec;
    co_await timer_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

}  // namespace errand::engine
