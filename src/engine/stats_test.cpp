#include "engine/stats.hpp"

#include <gtest/gtest.h>

namespace errand::engine {
namespace {
using namespace std::chrono_literals;

const core::TimePoint kT0 = core::from_unix_ms(1'790'000'000'000);

store::QueueInfo queue(std::string name, std::int64_t processed, std::int64_t failed) {
  return {.name = std::move(name), .processed = processed, .failed = failed};
}

TEST(StatsHistory, SeriesIsRatesPerSecondBetweenSamples) {
  StatsHistory h({.step = 10s});
  h.sample(kT0, {queue("a", 0, 0), queue("b", 100, 5)});
  h.sample(kT0 + 10s, {queue("a", 50, 0), queue("b", 150, 15)});  // +100 processed, +10 failed
  h.sample(kT0 + 20s, {queue("a", 50, 0), queue("b", 150, 15)});
  const auto s = h.series(kT0 + 20s, 1h);
  ASSERT_EQ(s.at.size(), 2u);
  EXPECT_EQ(s.at[0], kT0);
  EXPECT_DOUBLE_EQ(s.processed[0], 10.0);
  EXPECT_DOUBLE_EQ(s.failed[0], 1.0);
  EXPECT_DOUBLE_EQ(s.processed[1], 0.0);
}

TEST(StatsHistory, ACounterThatWentBackCountsAsNoWorkNotNegative) {
  StatsHistory h({.step = 10s});
  h.sample(kT0, {queue("a", 100, 0)});
  h.sample(kT0 + 10s, {});  // the queue is gone
  EXPECT_DOUBLE_EQ(h.series(kT0 + 10s, 1h).processed[0], 0.0);
}

TEST(StatsHistory, WindowAndSpanLimitTheSeries) {
  StatsHistory h({.step = 10s, .span = 1min});
  for (int i = 0; i <= 12; ++i) h.sample(kT0 + i * 10s, {queue("a", i * 10, 0)});
  const auto now = kT0 + 120s;
  EXPECT_EQ(h.series(now, 1min).at.size(), 6u);
  EXPECT_EQ(h.series(now, 1h).at.size(), 6u);  // only a minute is kept
  EXPECT_EQ(h.series(now, 30s).at.size(), 3u);
}

TEST(StatsHistory, QueueRatesAverageOverTheWindow) {
  StatsHistory h({.step = 10s});
  h.sample(kT0, {queue("a", 0, 0)});
  h.sample(kT0 + 10s, {queue("a", 100, 10), queue("new", 5, 0)});
  h.sample(kT0 + 20s, {queue("a", 100, 10), queue("new", 5, 0)});
  const auto rates = h.queue_rates(kT0 + 20s, 1h);
  EXPECT_DOUBLE_EQ(rates.at("a").processed_per_s, 5.0);  // 100 in 20 s
  EXPECT_DOUBLE_EQ(rates.at("a").failed_per_s, 0.5);
  EXPECT_DOUBLE_EQ(rates.at("new").processed_per_s, 0.25);  // absent before: counted from 0
  EXPECT_TRUE(StatsHistory().queue_rates(kT0, 1h).empty());
}

TEST(StatsHistory, IdleQueuesCostNothingAndQueueCountersStayUnderTheirBound) {
  // 20,000 queues that never ran anything: no per-queue counters at all.
  std::vector<store::QueueInfo> idle;
  for (int i = 0; i < 20'000; ++i) idle.push_back(queue("q" + std::to_string(i), 0, 0));
  StatsHistory empty({.step = 10s});
  for (int i = 0; i < 10; ++i) empty.sample(kT0 + i * 10s, idle);
  EXPECT_EQ(empty.queue_bytes(), 0u);

  // 1,000 busy queues a sample, about 100 KB: a 300 KB bound keeps the newest few.
  StatsHistory h({.step = 10s, .max_queue_bytes = 300'000});
  for (int i = 0; i <= 60; ++i) {
    std::vector<store::QueueInfo> busy;
    for (int q = 0; q < 1'000; ++q) busy.push_back(queue("q" + std::to_string(q), i * 10, 0));
    h.sample(kT0 + i * 10s, busy);
    EXPECT_LE(h.queue_bytes(), 300'000u);
  }
  const auto now = kT0 + 600s;
  EXPECT_EQ(h.series(now, 1h).at.size(), 60u);  // the totals are all kept
  EXPECT_DOUBLE_EQ(h.series(now, 1h).processed[0], 1'000.0);
  // Per-queue rates reach back as far as the kept samples: still right.
  const auto rates = h.queue_rates(now, 1h);
  ASSERT_EQ(rates.size(), 1'000u);
  EXPECT_DOUBLE_EQ(rates.at("q7").processed_per_s, 1.0);
}

TEST(StatsHistory, LatencyPercentilesOfClaimsInTheWindow) {
  StatsHistory h;
  EXPECT_FALSE(h.latency(kT0, 1h).p50_ms);
  std::vector<core::TimePoint> ready;
  for (int ms = 1; ms <= 100; ++ms) ready.push_back(kT0 - core::Millis{ms});
  h.record_claim("w1", kT0, ready);
  auto l = h.latency(kT0, 1h);
  EXPECT_EQ(l.samples, 100u);
  EXPECT_DOUBLE_EQ(*l.p50_ms, 50.0);
  EXPECT_DOUBLE_EQ(*l.p95_ms, 95.0);
  EXPECT_EQ(h.latency(kT0 + 2h, 1h).samples, 0u);
}

TEST(StatsHistory, LatencyKeepsOnlyTheMostRecentSamples) {
  StatsHistory h({.latency_samples = 10});
  h.record_claim("w", kT0, std::vector<core::TimePoint>(20, kT0 - 5ms));
  EXPECT_EQ(h.latency(kT0, 1h).samples, 10u);
}

TEST(StatsHistory, WorkersAreConnectedWhileTheyClaimedRecently) {
  StatsHistory h({.worker_seen_within = 60s});
  h.record_claim("w1", kT0, {});
  h.record_claim("w2", kT0 + 30s, {});
  h.record_claim("w1", kT0 + 40s, {});
  EXPECT_EQ(h.workers_seen(kT0 + 50s), 2u);
  EXPECT_EQ(h.workers_seen(kT0 + 95s), 1u);
  EXPECT_EQ(h.workers_seen(kT0 + 200s), 0u);
}

TEST(StatsHistory, TheSampleInstantIsTheStartOfItsStep) {
  const auto step_start = core::from_unix_ms(1'790'000'000'000);
  EXPECT_EQ(StatsHistory::sample_instant(step_start, 10s), step_start);
  EXPECT_EQ(StatsHistory::sample_instant(step_start + 9'999ms, 10s), step_start);
  EXPECT_EQ(StatsHistory::sample_instant(step_start + 10s, 10s), step_start + 10s);
  EXPECT_EQ(StatsHistory::sample_instant(core::from_unix_ms(-1), 10s), core::from_unix_ms(-10'000));
}

// Two servers sampling the shared counters: each adds the store's samples,
// so both hold the same series, one bucket per step.
TEST(StatsHistory, AddAppendsOnlySamplesNewerThanTheNewest) {
  StatsHistory h({.step = 10s});
  EXPECT_FALSE(h.newest());
  const auto at = [](int step, std::int64_t processed) {
    return StatsHistory::sample_of(kT0 + step * 10s, {queue("a", processed, 0)});
  };
  h.add({at(0, 0), at(1, 100)});
  h.add({at(1, 150), at(2, 200)});  // step 1 again (another server's): skipped
  h.add({});
  ASSERT_TRUE(h.newest());
  EXPECT_EQ(*h.newest(), kT0 + 20s);
  const auto s = h.series(kT0 + 20s, 1h);
  ASSERT_EQ(s.at.size(), 2u);
  EXPECT_EQ(s.at[0], kT0);
  EXPECT_EQ(s.at[1], kT0 + 10s);
  EXPECT_DOUBLE_EQ(s.processed[0], 10.0);
  EXPECT_DOUBLE_EQ(s.processed[1], 10.0);
  EXPECT_DOUBLE_EQ(h.queue_rates(kT0 + 20s, 1h).at("a").processed_per_s, 10.0);
}

TEST(StatsHistory, AddedSamplesCountAgainstTheQueueBound) {
  StatsHistory h({.step = 10s, .max_queue_bytes = 1000});
  std::vector<store::StatsSample> kept;
  for (int i = 0; i < 50; ++i) {
    kept.push_back(StatsHistory::sample_of(kT0 + i * 10s, {queue("a", i, 0), queue("b", i, 0)}));
  }
  h.add(kept);
  EXPECT_LE(h.queue_bytes(), 1000u);
  EXPECT_GT(h.queue_bytes(), 0u);
  EXPECT_EQ(h.series(kT0 + 490s, 1h).at.size(), 49u);
}

}  // namespace
}  // namespace errand::engine

namespace errand::engine {
namespace {

TEST(StatsHistory, RestoredSamplesContinueTheSeriesAfterARestart) {
  StatsHistory before({.step = 10s});
  before.sample(kT0, {queue("a", 0, 0)});
  before.sample(kT0 + 10s, {queue("a", 100, 10)});
  std::vector<store::StatsSample> kept{StatsHistory::sample_of(kT0, {queue("a", 0, 0)}),
                                       StatsHistory::sample_of(kT0 + 10s, {queue("a", 100, 10)})};

  StatsHistory after({.step = 10s});
  after.restore(kept);
  after.sample(kT0 + 40s, {queue("a", 100, 10)});  // down for 30 s: nothing processed
  const auto s = after.series(kT0 + 40s, 1h);
  ASSERT_EQ(s.at.size(), 2u);
  EXPECT_DOUBLE_EQ(s.processed[0], 10.0);
  EXPECT_DOUBLE_EQ(s.failed[0], 1.0);
  EXPECT_DOUBLE_EQ(s.processed[1], 0.0);
  EXPECT_DOUBLE_EQ(after.queue_rates(kT0 + 40s, 1h).at("a").processed_per_s, 2.5);
}

TEST(StatsHistory, RestoreDropsSamplesOlderThanTheSpan) {
  StatsHistory h({.step = 10s, .span = 1min});
  std::vector<store::StatsSample> kept;
  for (int i = 0; i <= 12; ++i) kept.push_back(StatsHistory::sample_of(kT0 + i * 10s, {}));
  h.restore(kept);
  EXPECT_EQ(h.series(kT0 + 120s, 1h).at.size(), 6u);
}

}  // namespace
}  // namespace errand::engine
