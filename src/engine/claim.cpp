// Claims, with long-poll waiting.
#include "engine/await_store.hpp"
#include "engine/engine.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>

namespace errand::engine {
namespace asio = boost::asio;
using Jobs = std::vector<core::Job>;

void Engine::start_claim(const ClaimRequest& r, store::Callback<Jobs> done) {
  store::JobClaimParams params{.queues = r.queues,
                               .worker = r.worker,
                               .max = r.max,
                               .lease = r.lease,
                               .now = clock_.now(),
                               .push = r.push};
  store_.job_claim(std::move(params), publishing<Jobs>(std::move(done), [this](const Jobs& jobs) {
                     for (const auto& job : jobs) publish_state(job);
                   }));
}

Task<Jobs> Engine::claim_once(const ClaimRequest& r) {
  co_return co_await await_store<Jobs>([&](auto done) { start_claim(r, std::move(done)); });
}

// A worker's claim: it counts as connected; the jobs it got waited from
// their run_at (when they became ready) until now.
void Engine::note_claim(const std::string& worker, const std::vector<core::Job>& jobs) {
  std::vector<core::TimePoint> ready;
  ready.reserve(jobs.size());
  for (const auto& job : jobs) ready.push_back(job.run_at);
  const auto now = clock_.now();
  history_.record_claim(worker, now, ready);
  job_metrics_.claimed(jobs, now);
  if (job_log_enabled()) {
    for (const auto& job : jobs) log_job(options_.json_logs, "claimed", job);
  }
}

// One sleeping claim, shared by its coroutine and its wake-up. The wake-up
// claims again right where the store's notice arrives (the writer or settler
// thread: the claim joins the writer's queue without a trip through the
// claim's own thread) and hands the answer over. Once that claim is in
// flight the coroutine waits for its answer even past its deadline: the
// jobs it takes are leased and must reach the worker.
struct Engine::Sleeper {
  core::Mutex mutex;
  // The coroutine stopped waiting: a wake-up claims nothing.
  bool gave_up GUARDED_BY(mutex) = false;
  bool claiming GUARDED_BY(mutex) = false;  // a wake-up's claim is in flight
  // The waiters' generation before that claim.
  std::uint64_t generation GUARDED_BY(mutex) = 0;
  std::optional<core::Result<Jobs>> claimed GUARDED_BY(mutex);  // its answer
};

void Engine::wake_sleeper(const std::shared_ptr<Sleeper>& sleeper, const ClaimRequest& request,
                          const std::shared_ptr<asio::steady_timer>& timer,
                          const asio::any_io_executor& executor) {
  const auto ring = [timer, executor] { asio::post(executor, [timer] { timer->cancel(); }); };
  {
    core::MutexLock lock(sleeper->mutex);
    if (sleeper->gave_up) return;
    if (stopping_) return ring();  // it answers empty
    sleeper->claiming = true;
    // Taken before the claim runs: a notice after it makes the coroutine
    // claim again instead of sleeping if this claim comes back empty.
    sleeper->generation = waiters_.generation();
  }
  start_claim(request, [sleeper, ring](core::Result<Jobs> r) {
    {
      core::MutexLock lock(sleeper->mutex);
      sleeper->claimed = std::move(r);
    }
    ring();
  });
}

Task<Jobs> Engine::claim(ClaimRequest request) {
  if (request.min <= 1) co_return co_await claim_some(std::move(request));
  // Batch claims: long polls one after another, each for the rest of `max`
  // and of the wait, until `min` jobs are in hand.
  const auto deadline = std::chrono::steady_clock::now() + request.wait;
  Jobs all;
  for (;;) {
    ClaimRequest part = request;
    part.max = request.max - all.size();
    part.wait = std::chrono::duration_cast<core::Millis>(std::max(
        deadline - std::chrono::steady_clock::now(), std::chrono::steady_clock::duration{}));
    auto got = co_await claim_some(std::move(part));
    if (!got) {
      if (all.empty()) co_return got.error();
      co_return all;  // the jobs in hand are leased: they go to the worker
    }
    all.insert(all.end(), std::make_move_iterator(got->begin()),
               std::make_move_iterator(got->end()));
    if (all.size() >= request.min || got->empty() || stopping_) co_return all;
    if (std::chrono::steady_clock::now() >= deadline) co_return all;
  }
}

Task<Jobs> Engine::claim_some(ClaimRequest request) {
  // Deadlines of the wait use the steady clock: a long poll must not stretch
  // or shrink when the wall clock is adjusted.
  const auto deadline = std::chrono::steady_clock::now() + request.wait;
  auto executor = co_await asio::this_coro::executor;
  auto generation = waiters_.generation();
  std::optional<core::Result<Jobs>> woken;  // a claim a wake-up ran
  for (;;) {
    core::Result<Jobs> jobs = Jobs{};
    if (woken) {
      jobs = std::move(*woken);
      woken.reset();
    } else {
      jobs = co_await claim_once(request);  // GCC 12: no co_await inside ?:
    }
    if (jobs && !request.push) note_claim(request.worker, *jobs);
    if (jobs && request.push) {
      job_metrics_.claimed(*jobs, clock_.now());
      if (job_log_enabled()) {
        for (const auto& job : *jobs) log_job(options_.json_logs, "claimed", job);
      }
    }
    if (!jobs || !jobs->empty() || stopping_) co_return jobs;
    if (std::chrono::steady_clock::now() >= deadline) co_return jobs;

    auto timer = std::make_shared<asio::steady_timer>(executor, deadline);
    auto sleeper = std::make_shared<Sleeper>();
    const auto ticket =
        waiters_.add(request.queues, generation, [this, sleeper, request, timer, executor] {
          wake_sleeper(sleeper, request, timer, executor);
        });
    if (ticket == 0) {  // work arrived between our claim and registering
      generation = waiters_.generation();
      continue;
    }
    for (;;) {
      {
        core::MutexLock lock(sleeper->mutex);
        if (sleeper->claimed) {
          woken = std::move(sleeper->claimed);
          generation = sleeper->generation;
          break;
        }
        if (!sleeper->claiming && (stopping_ || std::chrono::steady_clock::now() >= deadline)) {
          sleeper->gave_up = true;
          break;
        }
        // Past the deadline with a claim in flight: its answer cancels this wait.
        if (sleeper->claiming) timer->expires_at(asio::steady_timer::time_point::max());
      }
      boost::system::error_code ec;
      co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    waiters_.remove(ticket);
    if (!woken) co_return Jobs{};
  }
}

}  // namespace errand::engine
