// Engine behaviour over the real SQLite store, with a fake clock driving
// tick() (the engine's own timer is off) and an io_context run by the test.
#include "engine/engine.hpp"

#include "core/id.hpp"
#include "store/sqlite/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <filesystem>
#include <future>
#include <random>
#include <thread>

namespace errand::engine {
namespace {
namespace asio = boost::asio;
using namespace std::chrono_literals;

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("errand-engine-test-" + std::to_string(std::random_device{}()));
    auto opened = store::SqliteStore::open({.dir = dir_.string(), .store = {}});
    ASSERT_TRUE(opened) << opened.error().message;
    store_ = std::move(*opened);
    engine_ = std::make_unique<Engine>(io_.get_executor(), *store_, clock_,
                                       EngineOptions{.run_timer = false});
    io_thread_ = std::thread([this] {
      auto guard = asio::make_work_guard(io_);
      io_.run();
    });
  }

  void TearDown() override {
    engine_->stop();
    store_->close();  // before the engine goes: the store calls back into it
    io_.stop();
    io_thread_.join();
    engine_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Runs an engine coroutine to completion from the test thread.
  template <class Awaitable>
  auto run(Awaitable a) {
    return asio::co_spawn(io_, std::move(a), asio::use_future).get();
  }

  // Starts a long-poll claim on `queue` and returns once the engine has
  // registered it as a waiter (polled with a deadline, never a fixed sleep).
  std::future<core::Result<std::vector<core::Job>>> start_waiting_claim(std::string queue) {
    const auto before = engine_->stats().waiting_claims;
    auto waiting = asio::co_spawn(
        io_, engine_->claim({.queues = {std::move(queue)}, .wait = core::Millis{60'000}}),
        asio::use_future);
    wait_for_waiting_claims(before + 1);
    return waiting;
  }

  // Polls (with a deadline) until `n` claims wait.
  void wait_for_waiting_claims(std::size_t n) {
    for (int i = 0; i < 5000 && engine_->stats().waiting_claims != n; ++i) {
      std::this_thread::sleep_for(1ms);
    }
  }

  // Waits for a claim's answer and checks that it is the one job `id`.
  static void expect_one_job(std::future<core::Result<std::vector<core::Job>>>& claim,
                             const std::string& id) {
    ASSERT_EQ(claim.wait_for(30s), std::future_status::ready);
    auto claimed = claim.get();
    ASSERT_TRUE(claimed);
    ASSERT_EQ(claimed->size(), 1u);
    EXPECT_EQ(claimed->front().id, id);
  }

  std::string enqueue(std::string queue, std::optional<core::Millis> delay = {}) {
    EnqueueRequest r;
    r.queue = std::move(queue);
    r.delay = delay;
    r.max_attempts = 3;
    std::vector<EnqueueRequest> batch;
    batch.push_back(std::move(r));
    auto out = run(engine_->enqueue(std::move(batch)));
    EXPECT_TRUE(out);
    return out ? out->front().id : std::string();
  }

  std::filesystem::path dir_;
  asio::io_context io_;
  std::thread io_thread_;
  core::FakeClock clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(EngineTest, DelayedJobIsRunnableOnlyAfterTickAtItsTime) {
  const auto id = enqueue("mail", core::Millis{10'000});
  auto claimed = run(engine_->claim({.queues = {"mail"}}));
  ASSERT_TRUE(claimed);
  EXPECT_TRUE(claimed->empty());

  auto next = run(engine_->tick(clock_.now()));
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(*next, clock_.now() + core::Millis{10'000});

  clock_.advance(core::Millis{10'000});
  run(engine_->tick(clock_.now()));
  claimed = run(engine_->claim({.queues = {"mail"}}));
  ASSERT_TRUE(claimed);
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ(claimed->front().id, id);
}

TEST_F(EngineTest, ExpiredLeaseFailsTheAttemptAndTheJobComesBack) {
  const auto id = enqueue("mail");
  auto claimed = run(engine_->claim({.queues = {"mail"}, .lease = core::Millis{2000}}));
  ASSERT_TRUE(claimed && claimed->size() == 1u);
  const auto old_lease = claimed->front().lease_id;

  clock_.advance(core::Millis{2000});
  run(engine_->tick(clock_.now()));
  auto job = run(engine_->get(id));
  ASSERT_TRUE(job);
  EXPECT_EQ(job->state, core::JobState::failed);
  ASSERT_EQ(job->errors.size(), 1u);
  EXPECT_EQ(job->errors[0].message, "lease expired");

  auto late = run(engine_->complete({.id = id, .lease_id = old_lease}));
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, core::errc::conflict);

  clock_.set(job->run_at);
  run(engine_->tick(clock_.now()));
  claimed = run(engine_->claim({.queues = {"mail"}}));
  ASSERT_TRUE(claimed && claimed->size() == 1u);
  EXPECT_EQ(claimed->front().attempt, 2);
}

TEST_F(EngineTest, WaitingClaimIsWokenByAnEnqueue) {
  auto waiting = start_waiting_claim("mail");
  ASSERT_EQ(engine_->stats().waiting_claims, 1u);
  const auto id = enqueue("mail");
  expect_one_job(waiting, id);
}

// Both sleepers claim when the job arrives; the one that finds nothing goes
// back to sleep and gets the next job.
TEST_F(EngineTest, TwoWaitingClaimsShareOneJobAndTheLoserWaitsForTheNext) {
  auto a = start_waiting_claim("mail");
  auto b = start_waiting_claim("mail");
  ASSERT_EQ(engine_->stats().waiting_claims, 2u);

  const auto first = enqueue("mail");
  const auto ready = [](auto& f) { return f.wait_for(0ms) == std::future_status::ready; };
  for (int i = 0; i < 30'000 && !ready(a) && !ready(b); ++i) std::this_thread::sleep_for(1ms);
  auto& winner = ready(a) ? a : b;
  auto& loser = ready(a) ? b : a;
  expect_one_job(winner, first);
  wait_for_waiting_claims(1);
  ASSERT_EQ(engine_->stats().waiting_claims, 1u);  // the loser sleeps again
  EXPECT_FALSE(ready(loser));

  expect_one_job(loser, enqueue("mail"));
}

TEST_F(EngineTest, WaitingClaimIgnoresOtherQueues) {
  auto waiting = start_waiting_claim("mail");
  enqueue("reports");
  EXPECT_EQ(waiting.wait_for(50ms), std::future_status::timeout);
  engine_->stop();  // wakes the waiter, which answers empty
  ASSERT_EQ(waiting.wait_for(30s), std::future_status::ready);
  auto claimed = waiting.get();
  ASSERT_TRUE(claimed);
  EXPECT_TRUE(claimed->empty());
}

TEST_F(EngineTest, ClaimHeldBackByTheRateLimitIsWokenByTheTickAtTheRefill) {
  store::QueueConfigureParams limit{
      .queue = "mail", .config = {.rate_limit = core::RateLimit{.limit = 1, .per = 10s}}};
  ASSERT_TRUE(run(engine_->configure(std::move(limit))));
  enqueue("mail");
  const auto second = enqueue("mail");
  auto first = run(engine_->claim({.queues = {"mail"}}));
  ASSERT_TRUE(first && first->size() == 1u);

  auto waiting = start_waiting_claim("mail");
  ASSERT_EQ(engine_->stats().waiting_claims, 1u);
  clock_.advance(9s);
  auto next = run(engine_->tick(clock_.now()));
  ASSERT_TRUE(next);
  EXPECT_EQ(*next, clock_.now() + 1s);  // the refill instant
  EXPECT_EQ(waiting.wait_for(20ms), std::future_status::timeout);

  clock_.advance(1s);
  run(engine_->tick(clock_.now()));
  ASSERT_EQ(waiting.wait_for(30s), std::future_status::ready);
  auto claimed = waiting.get();
  ASSERT_TRUE(claimed);
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ(claimed->front().id, second);
}

TEST_F(EngineTest, ClaimWithoutWaitAnswersEmptyAtOnce) {
  auto claimed = run(engine_->claim({.queues = {"empty"}}));
  ASSERT_TRUE(claimed);
  EXPECT_TRUE(claimed->empty());
}

TEST_F(EngineTest, TickPrunesFinishedJobsPastRetention) {
  const auto id = enqueue("mail");
  auto claimed = run(engine_->claim({.queues = {"mail"}}));
  ASSERT_TRUE(claimed && claimed->size() == 1u);
  ASSERT_TRUE(run(engine_->complete({.id = id, .lease_id = claimed->front().lease_id})));
  run(engine_->tick(clock_.now()));  // first tick prunes; the job is fresh
  ASSERT_TRUE(run(engine_->get(id)));
  clock_.advance(core::Millis{8LL * 86'400'000});
  run(engine_->tick(clock_.now()));
  auto gone = run(engine_->get(id));
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, core::errc::not_found);
}

TEST_F(EngineTest, EnqueueAssignsIncreasingIds) {
  const auto a = enqueue("mail");
  const auto b = enqueue("mail");
  EXPECT_LT(a, b);
  // The creation millisecond is in the id: the fake clock's now.
  EXPECT_EQ(core::parse_job_id(a), core::job_id_floor(clock_.now()));
}

// ---- events -----------------------------------------------------------------

std::vector<std::string> describe(const std::vector<SharedEvent>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) {
    if (e->kind == JobEventKind::progress) {
      out.push_back("progress " + std::to_string(e->progress.percent.value_or(-1)));
    } else {
      out.push_back(std::string(core::to_string(e->state)) + " " + std::to_string(e->attempt) +
                    (e->error.empty() ? "" : " " + e->error));
    }
  }
  return out;
}

TEST_F(EngineTest, WatcherSeesEveryChangeOfItsJobInOrder) {
  const auto id = enqueue("mail");
  auto start = run(engine_->watch(id, {}, std::nullopt));
  ASSERT_TRUE(start);
  ASSERT_TRUE(start->snapshot);
  EXPECT_EQ(start->snapshot->state, core::JobState::queued);
  auto& watcher = *start->subscription.watcher;

  auto claimed = run(engine_->claim({.queues = {"mail"}, .lease = core::Millis{2000}}));
  ASSERT_TRUE(claimed && claimed->size() == 1u);
  core::Progress half;
  half.percent = 50;
  ASSERT_TRUE(run(engine_->progress(id, claimed->front().lease_id, half)));
  ASSERT_TRUE(run(engine_->fail({.id = id,
                                 .lease_id = claimed->front().lease_id,
                                 .error = "boom",
                                 .retry_in = core::Millis{1000}})));
  clock_.advance(core::Millis{1000});
  run(engine_->tick(clock_.now()));  // promotion, from the store's notice
  claimed = run(engine_->claim({.queues = {"mail"}, .lease = core::Millis{2000}}));
  ASSERT_TRUE(claimed && claimed->size() == 1u);
  clock_.advance(core::Millis{2000});
  run(engine_->tick(clock_.now()));  // lease expiry, from the store's notice
  clock_.advance(core::Millis{600'000});
  run(engine_->tick(clock_.now()));
  claimed = run(engine_->claim({.queues = {"mail"}}));
  ASSERT_TRUE(claimed && claimed->size() == 1u);
  ASSERT_TRUE(run(engine_->complete({.id = id,
                                     .lease_id = claimed->front().lease_id,
                                     .result = core::RawJson::trusted(R"({"rows":7})")})));

  auto events = watcher.take();
  EXPECT_EQ(describe(events),
            (std::vector<std::string>{"running 1", "progress 50", "failed 1 boom", "queued 1",
                                      "running 2", "failed 2 lease expired", "queued 2",
                                      "running 3", "succeeded 3"}));
  for (std::size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i]->seq, i + 1);
  EXPECT_EQ(events.back()->result.text(), R"({"rows":7})");
  engine_->events().unsubscribe(start->subscription);
}

TEST_F(EngineTest, WatchOfAnUnknownJobIsNotFound) {
  auto start = run(engine_->watch("nope", {}, std::nullopt));
  ASSERT_FALSE(start);
  EXPECT_EQ(start.error().code, core::errc::not_found);
}

TEST_F(EngineTest, WatchResumesAfterAKnownPositionWithoutASnapshot) {
  const auto id = enqueue("mail");
  auto first = run(engine_->watch(id, {}, std::nullopt));
  ASSERT_TRUE(first);
  auto claimed = run(engine_->claim({.queues = {"mail"}}));
  ASSERT_TRUE(claimed && claimed->size() == 1u);
  auto seen = first->subscription.watcher->take();
  ASSERT_EQ(seen.size(), 1u);
  engine_->events().unsubscribe(first->subscription);
  ASSERT_TRUE(run(engine_->complete({.id = id, .lease_id = claimed->front().lease_id})));

  const StreamPosition last{first->subscription.position.epoch, seen.back()->seq};
  auto again = run(engine_->watch(id, {}, last));
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->snapshot);
  EXPECT_EQ(describe(again->subscription.watcher->take()),
            (std::vector<std::string>{"succeeded 1"}));

  auto unknown = run(engine_->watch(id, {}, StreamPosition{last.epoch + 1, 1}));
  ASSERT_TRUE(unknown);
  ASSERT_TRUE(unknown->snapshot);
  EXPECT_EQ(unknown->snapshot->state, core::JobState::succeeded);
}

TEST_F(EngineTest, CancelAndRetryArePublished) {
  const auto id = enqueue("mail");
  auto start = run(engine_->watch(id, {}, std::nullopt));
  ASSERT_TRUE(start);
  ASSERT_TRUE(run(engine_->cancel(id)));
  ASSERT_TRUE(run(engine_->retry(id)));
  EXPECT_EQ(describe(start->subscription.watcher->take()),
            (std::vector<std::string>{"cancelled 0", "queued 0"}));
}

TEST_F(EngineTest, BatchedAcksArePublished) {
  const auto id = enqueue("mail");
  auto start = run(engine_->watch(id, {}, std::nullopt));
  ASSERT_TRUE(start);
  auto claimed = run(engine_->claim({.queues = {"mail"}}));
  ASSERT_TRUE(claimed && claimed->size() == 1u);
  std::vector<AckRequest> items(1);
  items[0].complete = {.id = id,
                       .lease_id = claimed->front().lease_id,
                       .result = core::RawJson::trusted(R"("done")")};
  ASSERT_TRUE(run(engine_->ack_many(std::move(items))));
  auto events = start->subscription.watcher->take();
  EXPECT_EQ(describe(events), (std::vector<std::string>{"running 1", "succeeded 1"}));
  EXPECT_EQ(events.back()->result.text(), R"("done")");
}

}  // namespace
}  // namespace errand::engine
