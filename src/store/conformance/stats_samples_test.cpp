// Conformance: stats_sample_put and stats_sample_list — the throughput
// history is kept across a reopen, listed oldest first, and trimmed.
#include "store/conformance/harness.hpp"

namespace errand::store::conformance {
namespace {

core::Result<Unit> put(Store& store, core::TimePoint at, std::map<std::string, QueueTotals> queues,
                       core::TimePoint keep_after) {
  return call<Unit>([&](auto done) {
    store.stats_sample_put(
        {.sample = {.at = at, .queues = std::move(queues)}, .keep_after = keep_after}, done);
  });
}

std::vector<StatsSample> list(Store& store, core::TimePoint since) {
  auto got = call<std::vector<StatsSample>>(
      [&](auto done) { store.stats_sample_list({.since = since}, done); });
  EXPECT_TRUE(got) << got.error().message;
  return got ? *got : std::vector<StatsSample>{};
}

TEST_P(StatsSamplesTest, EmptyAtFirst) {
  EXPECT_TRUE(list(store(), kNow - 1h).empty());
}

TEST_P(StatsSamplesTest, SamplesSurviveAReopenOldestFirst) {
  ASSERT_TRUE(put(store(), kNow, {{"emails", {3, 1}}, {"imports", {0, 0}}}, kNow - 1h));
  ASSERT_TRUE(put(store(), kNow + 10s, {{"emails", {7, 2}}}, kNow - 1h));
  reopen();
  auto samples = list(store(), kNow - 1h);
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_EQ(samples[0].at, kNow);
  EXPECT_EQ(samples[0].queues.size(), 2u);
  EXPECT_EQ(samples[0].queues.at("emails").processed, 3);
  EXPECT_EQ(samples[0].queues.at("emails").failed, 1);
  EXPECT_EQ(samples[1].at, kNow + 10s);
  EXPECT_EQ(samples[1].queues.at("emails").processed, 7);
}

TEST_P(StatsSamplesTest, ListStartsAfterSince) {
  ASSERT_TRUE(put(store(), kNow, {}, kNow - 1h));
  ASSERT_TRUE(put(store(), kNow + 10s, {}, kNow - 1h));
  auto samples = list(store(), kNow);
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].at, kNow + 10s);
}

TEST_P(StatsSamplesTest, APutDeletesSamplesAtOrBeforeKeepAfter) {
  ASSERT_TRUE(put(store(), kNow, {{"q", {1, 0}}}, kNow - 1h));
  ASSERT_TRUE(put(store(), kNow + 10s, {{"q", {2, 0}}}, kNow - 1h));
  ASSERT_TRUE(put(store(), kNow + 20s, {{"q", {3, 0}}}, kNow + 10s));
  auto samples = list(store(), kNow - 1h);
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].queues.at("q").processed, 3);
}

// Two servers sampling the same step: the store keeps the first sample.
TEST_P(StatsSamplesTest, ASampleAtTheSameInstantKeepsTheFirst) {
  ASSERT_TRUE(put(store(), kNow, {{"q", {1, 0}}}, kNow - 1h));
  ASSERT_TRUE(put(store(), kNow, {{"q", {5, 0}}}, kNow - 1h));
  auto samples = list(store(), kNow - 1h);
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].queues.at("q").processed, 1);
}

}  // namespace
}  // namespace errand::store::conformance
