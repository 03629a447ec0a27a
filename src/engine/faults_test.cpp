// The engine when its store fails (store/faulty): no change is acknowledged
// that did not persist, waiting claims are neither lost nor leaked, answers
// the store holds back come after the work is durable, and everything works
// again once the store does. Over the real SQLite store, wrapped.
#include "engine/engine.hpp"

#include "store/faulty/faulty_store.hpp"
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

class FaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("errand-faults-test-" + std::to_string(std::random_device{}()));
    auto opened = store::SqliteStore::open({.dir = dir_.string(), .store = {}});
    ASSERT_TRUE(opened) << opened.error().message;
    sqlite_ = std::move(*opened);
    faulty_ = std::make_unique<store::FaultyStore>(*sqlite_);
    engine_ = std::make_unique<Engine>(io_.get_executor(), *faulty_, clock_,
                                       EngineOptions{.run_timer = false});
    io_thread_ = std::thread([this] {
      auto guard = asio::make_work_guard(io_);
      io_.run();
    });
  }

  void TearDown() override {
    faulty_->release();
    engine_->stop();
    faulty_->close();
    io_.stop();
    io_thread_.join();
    engine_.reset();
    faulty_.reset();
    sqlite_.reset();
    std::filesystem::remove_all(dir_);
  }

  template <class Awaitable>
  auto run(Awaitable a) {
    return asio::co_spawn(io_, std::move(a), asio::use_future).get();
  }
  template <class Awaitable>
  auto start(Awaitable a) {
    return asio::co_spawn(io_, std::move(a), asio::use_future);
  }

  static std::vector<EnqueueRequest> one_job(std::string queue) {
    EnqueueRequest r;
    r.queue = std::move(queue);
    r.max_attempts = 3;
    std::vector<EnqueueRequest> batch;
    batch.push_back(std::move(r));
    return batch;
  }

  // The ids of the jobs the store holds, read past the faults.
  std::vector<std::string> stored_ids() {
    std::promise<core::Result<store::JobPage>> promise;
    sqlite_->job_list({.limit = 100},
                      [&](core::Result<store::JobPage> r) { promise.set_value(std::move(r)); });
    auto page = promise.get_future().get();
    EXPECT_TRUE(page) << page.error().message;
    std::vector<std::string> ids;
    if (page) {
      for (const auto& j : page->jobs) ids.push_back(j.id);
    }
    return ids;
  }

  void wait_for_waiting_claims(std::size_t n) {
    for (int i = 0; i < 5000 && engine_->stats().waiting_claims != n; ++i) {
      std::this_thread::sleep_for(1ms);
    }
    ASSERT_EQ(engine_->stats().waiting_claims, n);
  }

  std::filesystem::path dir_;
  asio::io_context io_;
  std::thread io_thread_;
  core::FakeClock clock_;
  std::unique_ptr<store::Store> sqlite_;
  std::unique_ptr<store::FaultyStore> faulty_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(FaultsTest, AFailedEnqueueIsNotStoredAndTheNextOneIs) {
  faulty_->add({.verb = "job_insert_many", .nth = 1});
  auto failed = run(engine_->enqueue(one_job("mail")));
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, core::errc::unavailable);
  EXPECT_TRUE(stored_ids().empty());
  auto stored = run(engine_->enqueue(one_job("mail")));
  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_EQ(stored_ids(), std::vector<std::string>{stored->front().id});
  EXPECT_EQ(faulty_->calls("job_insert_many"), 2);
  EXPECT_EQ(faulty_->failures("job_insert_many"), 1);
}

TEST_F(FaultsTest, AnAnswerTheStoreHoldsComesAfterTheJobIsDurable) {
  faulty_->hold("job_insert_many");
  auto pending = start(engine_->enqueue(one_job("mail")));
  // The store did the work: the job is there, but the caller has not heard.
  for (int i = 0; i < 5000 && stored_ids().empty(); ++i) std::this_thread::sleep_for(1ms);
  ASSERT_EQ(stored_ids().size(), 1u);
  EXPECT_EQ(pending.wait_for(0s), std::future_status::timeout);
  faulty_->release();
  auto done = pending.get();
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(done->front().id, stored_ids().front());
}

TEST_F(FaultsTest, AFailedCompleteLeavesTheJobRunningForTheNextTry) {
  auto queued = run(engine_->enqueue(one_job("mail")));
  ASSERT_TRUE(queued);
  auto claimed = run(engine_->claim({.queues = {"mail"}}));
  ASSERT_TRUE(claimed);
  ASSERT_EQ(claimed->size(), 1u);
  const auto& job = claimed->front();
  faulty_->add({.verb = "job_complete"});
  auto failed = run(engine_->complete({.id = job.id, .lease_id = job.lease_id}));
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, core::errc::unavailable);
  auto still = run(engine_->get(job.id));
  ASSERT_TRUE(still);
  EXPECT_EQ(still->state, core::JobState::running);
  faulty_->heal();
  auto done = run(engine_->complete({.id = job.id, .lease_id = job.lease_id}));
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(done->state, core::JobState::succeeded);
}

TEST_F(FaultsTest, AWaitingClaimWhoseClaimFailsIsAnsweredAndNotLeaked) {
  auto waiting = start(engine_->claim({.queues = {"mail"}, .wait = core::Millis{60'000}}));
  wait_for_waiting_claims(1);
  faulty_->add({.verb = "job_claim"});
  auto queued = run(engine_->enqueue(one_job("mail")));
  ASSERT_TRUE(queued);
  ASSERT_EQ(waiting.wait_for(30s), std::future_status::ready);
  auto answer = waiting.get();
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().code, core::errc::unavailable);
  wait_for_waiting_claims(0);
  // The store is back: the job is there for the next claim.
  faulty_->heal();
  auto again = start(engine_->claim({.queues = {"mail"}, .wait = core::Millis{60'000}}));
  ASSERT_EQ(again.wait_for(30s), std::future_status::ready);
  auto claimed = again.get();
  ASSERT_TRUE(claimed) << claimed.error().message;
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ(claimed->front().id, queued->front().id);
}

TEST_F(FaultsTest, EveryVerbFailingLeavesTheEngineUsableOnceTheStoreIsBack) {
  faulty_->add({.verb = ""});
  EXPECT_FALSE(run(engine_->enqueue(one_job("mail"))));
  EXPECT_FALSE(run(engine_->queues()));
  EXPECT_FALSE(run(engine_->claim({.queues = {"mail"}})));
  faulty_->heal();
  auto queued = run(engine_->enqueue(one_job("mail")));
  ASSERT_TRUE(queued) << queued.error().message;
  auto claimed = run(engine_->claim({.queues = {"mail"}}));
  ASSERT_TRUE(claimed);
  EXPECT_EQ(claimed->size(), 1u);
}

TEST(StoreFaultsTest, ParsesTheEnvironmentsList) {
  auto faults = store::parse_store_faults("job_insert_many:3,job_claim,*:2", "F");
  ASSERT_TRUE(faults) << faults.error().message;
  ASSERT_EQ(faults->size(), 3u);
  EXPECT_EQ((*faults)[0].verb, "job_insert_many");
  EXPECT_EQ((*faults)[0].nth, 3);
  EXPECT_EQ((*faults)[1].verb, "job_claim");
  EXPECT_EQ((*faults)[1].nth, 0);
  EXPECT_EQ((*faults)[2].verb, "");
  EXPECT_EQ((*faults)[2].nth, 2);
  for (const auto* bad : {"Job", "job_claim:0", "job_claim:x", "job_claim:-1"}) {
    auto r = store::parse_store_faults(bad, "F");
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().field, "F");
  }
}

}  // namespace
}  // namespace errand::engine
