// Conformance: queue_configure and queue_get — config read back and kept
// across a reopen, the concurrency limit under concurrent claimers, the rate
// limit's budget and refill (with a fixed `now`), wake-ups when a slot frees
// or the budget refills, and defaults applied to new jobs.
#include "store/conformance/harness.hpp"

#include <algorithm>
#include <atomic>
#include <thread>

namespace errand::store::conformance {
namespace {

const core::QueueConfig kFull{
    .concurrency = 4,
    .rate_limit = core::RateLimit{.limit = 100, .per = 1min},
    .defaults = {.priority = 5,
                 .max_attempts = 3,
                 .timeout = 30s,
                 .on_done = "https://app.example.com/done"},
};

core::Result<QueueInfo> configure(Store& store, std::string queue, core::QueueConfig config,
                                  bool paused = false) {
  return call<QueueInfo>([&](auto done) {
    store.queue_configure({.queue = std::move(queue), .paused = paused, .config = config}, done);
  });
}

core::Result<QueueInfo> get_queue(Store& store, std::string queue) {
  return call<QueueInfo>([&](auto done) { store.queue_get({.queue = std::move(queue)}, done); });
}

bool runnable_in(const std::vector<ChangeNotice>& notices, const std::string& queue) {
  return std::any_of(notices.begin(), notices.end(), [&](const ChangeNotice& n) {
    const auto& q = n.runnable_queues;
    return std::find(q.begin(), q.end(), queue) != q.end();
  });
}

TEST_P(QueueConfigTest, ConfigureReturnsListsAndReadsBackTheConfig) {
  auto info = configure(store(), "q", kFull, true);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->name, "q");
  EXPECT_TRUE(info->paused);
  EXPECT_EQ(info->config, kFull);
  EXPECT_EQ(info->counts, counts_of({}));
  EXPECT_EQ(queue("q").config, kFull);
  auto one = get_queue(store(), "q");
  ASSERT_TRUE(one) << one.error().message;
  EXPECT_EQ(one->config, kFull);
  EXPECT_TRUE(one->paused);
}

TEST_P(QueueConfigTest, ConfigureReplacesTheWholeConfig) {
  ASSERT_TRUE(configure(store(), "q", kFull, true));
  auto info = configure(store(), "q", {.concurrency = 2});
  ASSERT_TRUE(info);
  EXPECT_EQ(info->config, (core::QueueConfig{.concurrency = 2}));
  EXPECT_FALSE(info->paused);
}

TEST_P(QueueConfigTest, GetOfAnUnknownQueueIsNotFound) {
  auto info = get_queue(store(), "nope");
  ASSERT_FALSE(info);
  EXPECT_EQ(info.error().code, core::errc::not_found);
  EXPECT_EQ(info.error().field, "queue");
}

TEST_P(QueueConfigTest, GetSeesQueuesMadeByJobsWithNoConfig) {
  insert(job("q"));
  auto info = get_queue(store(), "q");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->config, core::QueueConfig{});
  EXPECT_EQ(info->counts, counts_of({{JobState::queued, 1}}));
}

TEST_P(QueueConfigTest, ReopenKeepsTheConfigAndCounts) {
  insert(job("q"));
  ASSERT_TRUE(configure(store(), "q", kFull, true));
  reopen();
  auto info = get_queue(store(), "q");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->config, kFull);
  EXPECT_TRUE(info->paused);
  EXPECT_EQ(info->counts, counts_of({{JobState::queued, 1}}));
}

TEST_P(QueueConfigTest, ConcurrencyCapsASingleClaim) {
  ASSERT_TRUE(configure(store(), "q", {.concurrency = 2}));
  for (int i = 0; i < 5; ++i) insert(job("q"));
  EXPECT_EQ(claim({"q"}, 10).size(), 2u);
  EXPECT_TRUE(claim({"q"}, 10).empty());
  insert(job("other"));
  EXPECT_EQ(claim({"q", "other"}, 10).size(), 1u);  // the limit skips only its own queue
}

TEST_P(QueueConfigTest, ConcurrencyIsNeverExceededUnderConcurrentClaimers) {
  constexpr std::int64_t kLimit = 3;
  constexpr int kJobs = 60;
  ASSERT_TRUE(configure(store(), "q", {.concurrency = kLimit}));
  std::vector<core::NewJob> jobs;
  for (int i = 0; i < kJobs; ++i) jobs.push_back(job("q"));
  ASSERT_TRUE(insert_many(std::move(jobs)));
  std::atomic<int> done{0}, running{0}, peak{0}, over{0};
  auto worker = [&](int n) {
    while (done.load() < kJobs) {
      auto got = call<std::vector<core::Job>>([&](auto cb) {
        store().job_claim({.queues = {"q"}, .worker = "w", .max = 2, .now = kNow}, cb);
      });
      if (!got) return;
      const int now_running = running += static_cast<int>(got->size());
      peak = std::max(peak.load(), now_running);
      auto counted = get_queue(store(), "q");
      if (counted && counted->counts[JobState::running] > kLimit) ++over;
      for (const auto& j : *got) {
        --running;  // before the complete commits, so never above the store's count
        if (complete(j)) ++done;
      }
      if (got->empty()) std::this_thread::yield();
      (void)n;
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) threads.emplace_back(worker, i);
  for (auto& t : threads) t.join();
  EXPECT_EQ(done.load(), kJobs);
  EXPECT_LE(peak.load(), kLimit);
  EXPECT_EQ(over.load(), 0);
  EXPECT_EQ(counts("q"), counts_of({{JobState::succeeded, kJobs}}));
}

TEST_P(QueueConfigTest, EndingARunningJobOfALimitedQueueMakesItRunnable) {
  ASSERT_TRUE(configure(store(), "q", {.concurrency = 1}));
  for (int i = 0; i < 5; ++i) insert(job("q"));
  auto ends = std::vector<std::function<void(const core::Job&)>>{
      [&](const core::Job& j) { ASSERT_TRUE(complete(j)); },
      [&](const core::Job& j) { ASSERT_TRUE(fail(j)); },
      [&](const core::Job&) { EXPECT_EQ(expire_leases(kNow + 1h), 1); },
      [&](const core::Job& j) {
        ASSERT_TRUE(call<Unit>([&](auto done) { store().job_delete({.id = j.id}, done); }));
      },
  };
  for (auto& end : ends) {
    auto taken = claim({"q"}, 5);
    ASSERT_EQ(taken.size(), 1u);
    EXPECT_TRUE(claim({"q"}, 5).empty());
    clear_notices();
    end(taken[0]);
    EXPECT_TRUE(runnable_in(notices(), "q"));
  }
}

TEST_P(QueueConfigTest, EndingAJobOfAnUnlimitedQueueWakesNobody) {
  insert(job("q"));
  insert(job("q"));
  auto taken = claim({"q"});
  ASSERT_EQ(taken.size(), 1u);
  clear_notices();
  ASSERT_TRUE(complete(taken[0]));
  EXPECT_FALSE(runnable_in(notices(), "q"));
}

TEST_P(QueueConfigTest, RateLimitSpendsTheBudgetThenRefills) {
  ASSERT_TRUE(configure(store(), "q", {.rate_limit = core::RateLimit{.limit = 3, .per = 1min}}));
  for (int i = 0; i < 6; ++i) insert(job("q"));
  EXPECT_EQ(claim({"q"}, 10).size(), 3u);  // a full bucket: a burst of `limit`
  clear_notices();
  EXPECT_TRUE(claim({"q"}, 10).empty());
  auto seen = notices();
  ASSERT_FALSE(seen.empty());
  ASSERT_TRUE(seen.back().deadline);
  EXPECT_EQ(*seen.back().deadline, kNow + 20s);  // one token per 20s

  auto next = call<std::optional<core::TimePoint>>([&](auto d) { store().next_deadline(d); });
  ASSERT_TRUE(next && *next);
  EXPECT_LE(**next, kNow + 20s);

  clear_notices();
  promote_due(kNow + 19s);
  EXPECT_FALSE(runnable_in(notices(), "q"));
  EXPECT_TRUE(claim({"q"}, 10, kNow + 19s).empty());
  promote_due(kNow + 20s);
  EXPECT_TRUE(runnable_in(notices(), "q"));
  EXPECT_EQ(claim({"q"}, 10, kNow + 20s).size(), 1u);
  EXPECT_TRUE(claim({"q"}, 10, kNow + 20s).empty());
  EXPECT_EQ(claim({"q"}, 10, kNow + 1h).size(), 2u);  // the rest; refill is capped at 3
}

TEST_P(QueueConfigTest, RateLimitSkipsOnlyItsOwnQueue) {
  ASSERT_TRUE(configure(store(), "slow", {.rate_limit = core::RateLimit{.limit = 1, .per = 1h}}));
  insert(job("slow"));
  insert(job("slow"));
  insert(job("fast"));
  EXPECT_EQ(claim({"slow", "fast"}, 10).size(), 2u);
  insert(job("fast"));
  auto taken = claim({"slow", "fast"}, 10);
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0].queue, "fast");
}

TEST_P(QueueConfigTest, ChangingTheRateLimitStartsAFullBucket) {
  const auto one_per_hour = core::RateLimit{.limit = 1, .per = 1h};
  ASSERT_TRUE(configure(store(), "q", {.rate_limit = one_per_hour}));
  for (int i = 0; i < 4; ++i) insert(job("q"));
  EXPECT_EQ(claim({"q"}, 10).size(), 1u);
  ASSERT_TRUE(configure(store(), "q", {.rate_limit = one_per_hour}));  // unchanged: same bucket
  EXPECT_TRUE(claim({"q"}, 10).empty());
  ASSERT_TRUE(configure(store(), "q", {.rate_limit = core::RateLimit{.limit = 2, .per = 1h}}));
  EXPECT_EQ(claim({"q"}, 10).size(), 2u);
}

TEST_P(QueueConfigTest, ConfiguringAQueueWithQueuedJobsMakesItRunnable) {
  ASSERT_TRUE(configure(store(), "q", {.concurrency = 1}));
  insert(job("q"));
  insert(job("q"));
  ASSERT_EQ(claim({"q"}).size(), 1u);
  clear_notices();
  ASSERT_TRUE(configure(store(), "q", {.concurrency = 1}, true));
  EXPECT_FALSE(runnable_in(notices(), "q"));  // paused: nothing to wake for
  EXPECT_TRUE(claim({"q"}).empty());
  ASSERT_TRUE(configure(store(), "q", {.concurrency = 2}));
  EXPECT_TRUE(runnable_in(notices(), "q"));
  EXPECT_EQ(claim({"q"}).size(), 1u);
}

TEST_P(QueueConfigTest, DefaultsApplyToJobsThatDoNotSayAndAreOverridable) {
  ASSERT_TRUE(
      configure(store(), "q", {.defaults = {.priority = 5, .max_attempts = 2, .timeout = 30s}}));
  core::NewJob plain = job("q");
  plain.priority.reset();
  plain.timeout.reset();
  core::NewJob own = job("q");
  own.priority = 0;
  own.max_attempts = 7;
  own.timeout = 10s;
  core::NewJob elsewhere = job("other");
  elsewhere.priority.reset();
  elsewhere.timeout.reset();

  auto a = get(insert(plain));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->priority, 5);
  EXPECT_EQ(a->max_attempts, 2);
  EXPECT_EQ(a->timeout, 30s);
  auto b = get(insert(own));
  ASSERT_TRUE(b);
  EXPECT_EQ(b->priority, 0);
  EXPECT_EQ(b->max_attempts, 7);
  EXPECT_EQ(b->timeout, 10s);
  auto c = get(insert(elsewhere));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->priority, 0);
  EXPECT_EQ(c->max_attempts, core::kDefaultMaxAttempts);
  EXPECT_EQ(c->timeout, core::kDefaultTimeout);
}

TEST_P(QueueConfigTest, DefaultsAreReadAtInsertNotAtClaim) {
  core::NewJob plain = job("q");
  plain.priority.reset();
  const auto id = insert(plain);
  ASSERT_TRUE(configure(store(), "q", {.defaults = {.priority = 9}}));
  auto got = get(id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->priority, 0);
}

}  // namespace
}  // namespace errand::store::conformance
