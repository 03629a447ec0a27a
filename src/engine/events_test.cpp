// The event bus on its own: sequence numbers, resume, progress coalescing,
// slow watchers dropped, lingering channels — time driven by a FakeClock.
#include "engine/events.hpp"

#include <gtest/gtest.h>

#include <atomic>

namespace errand::engine {
namespace {
using namespace std::chrono_literals;
using core::JobState;

JobEvent state(std::string id, JobState s, int attempt = 1) {
  return {.job_id = std::move(id), .state = s, .attempt = attempt};
}

JobEvent progress(std::string id, int percent) {
  JobEvent e{.kind = JobEventKind::progress, .job_id = std::move(id)};
  e.progress.percent = percent;
  return e;
}

std::vector<std::uint64_t> seqs(const std::vector<SharedEvent>& events) {
  std::vector<std::uint64_t> out;
  for (const auto& e : events) out.push_back(e->seq);
  return out;
}

class EventBusTest : public ::testing::Test {
 protected:
  core::FakeClock clock_;
  EventBus bus_{clock_};
};

TEST_F(EventBusTest, UnwatchedJobsCostNothingAndGetNoChannel) {
  EXPECT_FALSE(bus_.watched());
  bus_.publish(state("a", JobState::running));
  EXPECT_EQ(bus_.stats().channels, 0u);
}

TEST_F(EventBusTest, WatcherGetsItsJobsEventsInOrderWithIncreasingSeq) {
  std::atomic<int> wakes{0};
  auto sub = bus_.subscribe("a", [&] { ++wakes; });
  EXPECT_TRUE(bus_.watched());
  EXPECT_EQ(sub.position.seq, 0u);
  EXPECT_FALSE(sub.resumed);
  bus_.publish(state("a", JobState::running));
  bus_.publish(state("b", JobState::running));  // another job
  bus_.publish(state("a", JobState::succeeded));
  auto got = sub.watcher->take();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0]->state, JobState::running);
  EXPECT_EQ(got[1]->state, JobState::succeeded);
  EXPECT_EQ(seqs(got), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(wakes.load(), 1);  // one wake per drained batch
}

TEST_F(EventBusTest, ProgressFasterThanTheIntervalIsCoalescedLatestWins) {
  auto sub = bus_.subscribe("a", {});
  bus_.publish(progress("a", 10));  // delivered at once
  clock_.advance(20ms);
  bus_.publish(progress("a", 20));  // held
  clock_.advance(20ms);
  bus_.publish(progress("a", 30));  // replaces the held one
  auto got = sub.watcher->take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]->progress.percent, 10);

  auto next = bus_.flush_due(clock_.now());
  ASSERT_TRUE(next);
  EXPECT_EQ(*next, clock_.now() - 40ms + 100ms);  // 100 ms after the last delivery
  EXPECT_TRUE(sub.watcher->take().empty());
  clock_.set(*next);
  EXPECT_FALSE(bus_.flush_due(clock_.now()));
  got = sub.watcher->take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]->progress.percent, 30);
  EXPECT_EQ(got[0]->seq, 2u);
}

TEST_F(EventBusTest, AStateChangeDeliversTheHeldProgressFirst) {
  auto sub = bus_.subscribe("a", {});
  bus_.publish(progress("a", 10));
  bus_.publish(progress("a", 99));  // held
  bus_.publish(state("a", JobState::succeeded));
  auto got = sub.watcher->take();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[1]->progress.percent, 99);
  EXPECT_EQ(got[2]->state, JobState::succeeded);
}

TEST_F(EventBusTest, ProgressAtTheIntervalIsNotHeld) {
  auto sub = bus_.subscribe("a", {});
  for (int i = 0; i < 5; ++i) {
    bus_.publish(progress("a", i));
    clock_.advance(100ms);
  }
  EXPECT_EQ(sub.watcher->take().size(), 5u);
}

TEST_F(EventBusTest, ASlowWatcherIsDroppedNotBuffered) {
  EventBus bus(clock_, {.watcher_buffer = 4});
  std::atomic<int> wakes{0};
  auto slow = bus.subscribe("a", [&] { ++wakes; });
  auto fast = bus.subscribe("a", {});
  for (int i = 0; i < 10; ++i) {
    bus.publish(state("a", JobState::running, i));
    if (i % 2 == 0) fast.watcher->take();
  }
  EXPECT_TRUE(slow.watcher->overflowed());
  EXPECT_TRUE(slow.watcher->take().empty());
  EXPECT_FALSE(fast.watcher->overflowed());
  EXPECT_EQ(bus.stats().dropped, 1u);
  EXPECT_EQ(bus.stats().watchers, 1u);
  EXPECT_EQ(wakes.load(), 2);  // the first event, and the drop
}

TEST_F(EventBusTest, ResumeReplaysExactlyTheEventsAfterThePosition) {
  auto first = bus_.subscribe("a", {});
  for (int i = 1; i <= 5; ++i) bus_.publish(state("a", JobState::running, i));
  bus_.unsubscribe(first);
  auto again = bus_.subscribe("a", {}, StreamPosition{first.position.epoch, 3});
  EXPECT_TRUE(again.resumed);
  EXPECT_EQ(seqs(again.watcher->take()), (std::vector<std::uint64_t>{4, 5}));
  bus_.publish(state("a", JobState::succeeded));
  EXPECT_EQ(seqs(again.watcher->take()), (std::vector<std::uint64_t>{6}));
}

TEST_F(EventBusTest, UnknownOrTooOldPositionsAreNotResumed) {
  EventBus bus(clock_, {.replay = 2});
  auto first = bus.subscribe("a", {});
  for (int i = 1; i <= 5; ++i) bus.publish(state("a", JobState::running, i));
  EXPECT_FALSE(bus.subscribe("a", {}, StreamPosition{first.position.epoch, 2}).resumed);
  EXPECT_FALSE(bus.subscribe("a", {}, StreamPosition{first.position.epoch + 1, 4}).resumed);
  EXPECT_FALSE(bus.subscribe("a", {}, StreamPosition{first.position.epoch, 9}).resumed);
  auto fresh = bus.subscribe("a", {}, StreamPosition{first.position.epoch, 3});
  EXPECT_TRUE(fresh.resumed);
  EXPECT_EQ(seqs(fresh.watcher->take()), (std::vector<std::uint64_t>{4, 5}));
}

TEST_F(EventBusTest, AChannelLingersAfterItsLastWatcherThenGoes) {
  std::vector<core::TimePoint> hooked;
  bus_.set_flush_hook([&](core::TimePoint t) { hooked.push_back(t); });
  auto sub = bus_.subscribe("a", {});
  bus_.unsubscribe(sub);
  ASSERT_EQ(hooked.size(), 1u);
  EXPECT_EQ(hooked[0], clock_.now() + 60s);
  bus_.publish(state("a", JobState::running));  // still recorded for a resume
  clock_.advance(59s);
  EXPECT_TRUE(bus_.flush_due(clock_.now()));
  EXPECT_TRUE(bus_.watched("a"));
  clock_.advance(1s);
  EXPECT_FALSE(bus_.flush_due(clock_.now()));
  EXPECT_FALSE(bus_.watched());
}

TEST_F(EventBusTest, PositionsFormatAndParse) {
  const StreamPosition p{0xabcdef0123456789ULL, 42};
  EXPECT_EQ(format_position(p), "abcdef0123456789-42");
  auto back = parse_position("abcdef0123456789-42");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->epoch, p.epoch);
  EXPECT_EQ(back->seq, 42u);
  for (const auto* bad : {"", "-", "12", "x-1", "1-", "-1", "1-2-3", "1-x"}) {
    EXPECT_FALSE(parse_position(bad)) << bad;
  }
}

// ---- shared numbering (a store several servers share numbers the events) ----

JobEvent numbered(JobEvent e, std::uint64_t seq) {
  e.seq = seq;
  return e;
}

class SharedEventBusTest : public ::testing::Test {
 protected:
  SharedEventBusTest() { bus_.use_shared_sequence(); }
  core::FakeClock clock_;
  EventBus bus_{clock_};
};

TEST_F(SharedEventBusTest, EventsKeepTheStoresNumbersAndRepeatsAreDropped) {
  auto sub = bus_.subscribe("a", {});
  bus_.start_at(sub, 4);
  EXPECT_EQ(sub.position.epoch, kSharedEpoch);
  EXPECT_EQ(sub.position.seq, 4u);
  bus_.publish(state("a", JobState::running));  // unnumbered: this server's own verb
  bus_.publish(numbered(state("a", JobState::running), 5));
  bus_.publish(numbered(state("a", JobState::running), 5));  // heard twice
  bus_.publish(numbered(state("a", JobState::succeeded), 9));
  EXPECT_EQ(seqs(sub.watcher->take()), (std::vector<std::uint64_t>{5, 9}));
}

// Events that arrive between the subscription and the snapshot's read are
// kept only when the snapshot does not already show them.
TEST_F(SharedEventBusTest, ASnapshotHidesTheEventsItAlreadyShows) {
  auto sub = bus_.subscribe("a", {});
  bus_.publish(numbered(state("a", JobState::running), 3));
  bus_.publish(numbered(progress("a", 10), 4));
  bus_.start_at(sub, 3);  // the snapshot was read after change 3
  clock_.advance(1s);
  bus_.publish(numbered(state("a", JobState::succeeded), 5));
  EXPECT_EQ(seqs(sub.watcher->take()), (std::vector<std::uint64_t>{4, 5}));
}

// A client reconnecting (here, or from another server) with a number the
// channel covers gets exactly the events after it; an older one is not
// resumed (the caller sends a snapshot).
TEST_F(SharedEventBusTest, ResumeWithinTheChannelsCoverage) {
  auto first = bus_.subscribe("a", {});
  bus_.start_at(first, 10);
  bus_.publish(numbered(state("a", JobState::running), 11));
  bus_.publish(numbered(state("a", JobState::failed), 12));
  bus_.publish(numbered(state("a", JobState::queued), 13));
  auto again = bus_.subscribe("a", {}, StreamPosition{kSharedEpoch, 11});
  ASSERT_TRUE(again.resumed);
  EXPECT_EQ(seqs(again.watcher->take()), (std::vector<std::uint64_t>{12, 13}));
  auto older = bus_.subscribe("a", {}, StreamPosition{kSharedEpoch, 9});
  EXPECT_FALSE(older.resumed);
  auto other_epoch = bus_.subscribe("a", {}, StreamPosition{0x1234, 11});
  EXPECT_FALSE(other_epoch.resumed);
  bus_.publish(numbered(state("a", JobState::running, 2), 14));
  EXPECT_EQ(seqs(again.watcher->take()), (std::vector<std::uint64_t>{14}));
}

}  // namespace
}  // namespace errand::engine
