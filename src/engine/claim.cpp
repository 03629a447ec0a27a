// Claims, with long-poll waiting.
#include "engine/await_store.hpp"
#include "engine/engine.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>

namespace errand::engine {
namespace asio = boost::asio;

Task<std::vector<core::Job>> Engine::claim_once(const ClaimRequest& r) {
  store::JobClaimParams params{.queues = r.queues,
                               .worker = r.worker,
                               .max = r.max,
                               .lease = r.lease,
                               .now = clock_.now(),
                               .push = r.push};
  using Jobs = std::vector<core::Job>;
  co_return co_await await_store<Jobs>([&](auto done) {
    store_.job_claim(std::move(params), publishing<Jobs>(std::move(done), [this](const Jobs& jobs) {
                       for (const auto& job : jobs) publish_state(job);
                     }));
  });
}

// A worker's claim: it counts as connected; the jobs it got waited from
// their run_at (when they became ready) until now.
void Engine::note_claim(const std::string& worker, const std::vector<core::Job>& jobs) {
  std::vector<core::TimePoint> ready;
  ready.reserve(jobs.size());
  for (const auto& job : jobs) ready.push_back(job.run_at);
  history_.record_claim(worker, clock_.now(), ready);
}

Task<std::vector<core::Job>> Engine::claim(ClaimRequest request) {
  // Deadlines of the wait use the steady clock: a long poll must not stretch
  // or shrink when the wall clock is adjusted.
  const auto deadline = std::chrono::steady_clock::now() + request.wait;
  auto executor = co_await asio::this_coro::executor;
  for (;;) {
    const auto generation = waiters_.generation();
    auto jobs = co_await claim_once(request);
    if (jobs && !request.push) note_claim(request.worker, *jobs);
    if (!jobs || !jobs->empty() || stopping_) co_return jobs;
    if (std::chrono::steady_clock::now() >= deadline) co_return jobs;

    auto timer = std::make_shared<asio::steady_timer>(executor, deadline);
    auto woken = std::make_shared<std::atomic<bool>>(false);
    const auto ticket = waiters_.add(request.queues, generation, [timer, woken, executor] {
      woken->store(true);
      asio::post(executor, [timer] { timer->cancel(); });
    });
    if (ticket == 0) continue;  // work arrived between our claim and registering
    if (!woken->load()) {
      boost::system::error_code ec;
      co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    waiters_.remove(ticket);
  }
}

}  // namespace errand::engine
