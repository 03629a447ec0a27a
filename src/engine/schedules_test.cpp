// The schedule timer's decisions over the real SQLite store, with a fake
// clock driving Schedules::tick (the timer itself is off): fires at the
// instant, re-arms, catch-up after a restart within the window and none
// beyond it, no backlog storm after a long downtime, daylight saving in
// Europe/Berlin, pause, trigger, and sync of config-file schedules.
#include "engine/engine.hpp"
#include "store/sqlite/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <filesystem>
#include <random>
#include <thread>

namespace errand::engine {
namespace {
namespace asio = boost::asio;
using namespace std::chrono_literals;

core::TimePoint utc(std::string_view text) {
  return core::parse_rfc3339(text).value();
}

class SchedulesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("errand-schedules-test-" + std::to_string(std::random_device{}()));
    open();
  }

  void TearDown() override {
    close();
    std::filesystem::remove_all(dir_);
  }

  void open() {
    auto opened = store::SqliteStore::open({.dir = dir_.string(), .store = {}});
    ASSERT_TRUE(opened) << opened.error().message;
    store_ = std::move(*opened);
    io_ = std::make_unique<asio::io_context>();
    engine_ = std::make_unique<Engine>(io_->get_executor(), *store_, clock_,
                                       EngineOptions{.run_timer = false});
    io_thread_ = std::thread([io = io_.get()] {
      auto guard = asio::make_work_guard(*io);
      io->run();
    });
  }

  void close() {
    engine_->stop();
    store_->close();  // before the engine goes: the store calls back into it
    io_->stop();
    io_thread_.join();
    engine_.reset();
    store_.reset();
    io_.reset();  // drops handlers that still point at the old engine
  }

  // The server stops and starts again on the same data (its schedule timer
  // then counts times before now as missed).
  void restart() {
    close();
    open();
  }

  template <class Awaitable>
  auto run(Awaitable a) {
    return asio::co_spawn(*io_, std::move(a), asio::use_future).get();
  }

  Schedules& schedules() { return engine_->schedules(); }

  void put(core::ScheduleSpec spec) {
    auto out = run(schedules().put(std::move(spec)));
    ASSERT_TRUE(out) << out.error().message;
  }

  std::optional<core::TimePoint> tick() { return run(schedules().tick(clock_.now())); }

  // Every job of `queue`, oldest first.
  std::vector<core::Job> jobs(std::string queue = "reports") {
    auto page = run(engine_->list({.queue = std::move(queue), .limit = 1000}));
    EXPECT_TRUE(page) << page.error().message;
    if (!page) return {};
    std::vector<core::Job> out(page->jobs.rbegin(), page->jobs.rend());
    return out;
  }

  // The fire times (from the idempotency keys) of the jobs of `queue`.
  std::vector<core::TimePoint> fired(std::string queue = "reports") {
    std::vector<core::TimePoint> out;
    for (const auto& j : jobs(std::move(queue))) {
      const auto colon = j.idempotency_key.rfind(':');
      out.push_back(core::from_unix_ms(std::stoll(j.idempotency_key.substr(colon + 1))));
    }
    return out;
  }

  std::filesystem::path dir_;
  std::unique_ptr<asio::io_context> io_;
  std::thread io_thread_;
  core::FakeClock clock_{utc("2027-01-15T08:00:00Z")};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Engine> engine_;
};

core::ScheduleSpec every(std::string cron, std::string name = "report") {
  return {.name = std::move(name), .cron = std::move(cron), .queue = "reports"};
}

TEST_F(SchedulesTest, FiresAtItsInstantAndReArmsForTheNext) {
  put(every("*/5 * * * *"));
  EXPECT_EQ(tick(), utc("2027-01-15T08:05:00Z"));
  EXPECT_TRUE(jobs().empty());

  clock_.set(utc("2027-01-15T08:04:59.999Z"));
  EXPECT_EQ(tick(), utc("2027-01-15T08:05:00Z"));
  EXPECT_TRUE(jobs().empty()) << "one millisecond early is too early";

  clock_.set(utc("2027-01-15T08:05:00Z"));
  EXPECT_EQ(tick(), utc("2027-01-15T08:10:00Z"));
  ASSERT_EQ(jobs().size(), 1u);
  EXPECT_EQ(jobs()[0].created_at, utc("2027-01-15T08:05:00Z"));
  EXPECT_EQ(jobs()[0].idempotency_key,
            "schedule:report:" + std::to_string(core::to_unix_ms(utc("2027-01-15T08:05:00Z"))));

  EXPECT_EQ(tick(), utc("2027-01-15T08:10:00Z"));
  EXPECT_EQ(jobs().size(), 1u) << "a second tick at the same instant fires nothing";

  auto schedule = run(schedules().get("report"));
  ASSERT_TRUE(schedule);
  EXPECT_EQ(schedule->last_fired_at, utc("2027-01-15T08:05:00Z"));
  EXPECT_EQ(schedule->last_job_id, jobs()[0].id);
}

TEST_F(SchedulesTest, TheEarliestOfManySchedulesIsTheNextDeadline) {
  put(every("0 9 * * *", "daily"));
  put(every("*/10 * * * * *", "often"));
  EXPECT_EQ(tick(), utc("2027-01-15T08:00:10Z"));
  ASSERT_TRUE(run(schedules().remove("often")));
  EXPECT_EQ(tick(), utc("2027-01-15T09:00:00Z"));
}

TEST_F(SchedulesTest, ARestartWithinTheCatchUpWindowFiresTheMissedTimeOnce) {
  put(every("0 * * * *"));  // hourly, catch_up 1h by default
  clock_.set(utc("2027-01-15T09:40:00Z"));
  restart();
  EXPECT_EQ(tick(), utc("2027-01-15T10:00:00Z"));
  EXPECT_EQ(fired(), std::vector{utc("2027-01-15T09:00:00Z")});
  EXPECT_EQ(jobs()[0].created_at, utc("2027-01-15T09:40:00Z"));

  restart();
  tick();
  EXPECT_EQ(fired().size(), 1u) << "a second restart does not fire it again";
}

TEST_F(SchedulesTest, ALongDowntimeFiresOnlyTheMostRecentMissedTimeNeverABacklog) {
  put(every("* * * * *"));                  // every minute
  clock_.set(utc("2027-01-20T08:00:30Z"));  // five days (7200 fire times) later
  restart();
  EXPECT_EQ(tick(), utc("2027-01-20T08:01:00Z"));
  EXPECT_EQ(fired(), std::vector{utc("2027-01-20T08:00:00Z")});
  tick();
  EXPECT_EQ(fired().size(), 1u);
}

TEST_F(SchedulesTest, AMissedTimeOlderThanTheCatchUpWindowDoesNotFire) {
  auto spec = every("0 3 * * *");
  spec.catch_up = 30min;
  put(spec);
  clock_.set(utc("2027-01-16T03:31:00Z"));
  restart();
  EXPECT_EQ(tick(), utc("2027-01-17T03:00:00Z"));
  EXPECT_TRUE(jobs().empty());

  clock_.set(utc("2027-01-17T03:00:00Z"));
  tick();
  EXPECT_EQ(fired(), std::vector{utc("2027-01-17T03:00:00Z")});
}

TEST_F(SchedulesTest, CatchUpZeroNeverFiresTimesMissedWhileDown) {
  auto spec = every("0 * * * *");
  spec.catch_up = 0ms;
  put(spec);
  clock_.set(utc("2027-01-15T09:00:01Z"));
  restart();
  tick();
  EXPECT_TRUE(jobs().empty());
}

TEST_F(SchedulesTest, ALateTickWhileRunningStillFiresOnceWhateverTheCatchUp) {
  auto spec = every("0 * * * *");
  spec.catch_up = 0ms;
  put(spec);
  clock_.set(utc("2027-01-15T11:30:00Z"));  // the timer stalled for hours
  EXPECT_EQ(tick(), utc("2027-01-15T12:00:00Z"));
  EXPECT_EQ(fired(), std::vector{utc("2027-01-15T11:00:00Z")});
}

TEST_F(SchedulesTest, BerlinSpringForwardFiresTheSkippedTimeOnceAfterTheGap) {
  clock_.set(utc("2026-03-28T12:00:00Z"));
  auto spec = every("30 2 * * *");
  spec.timezone = "Europe/Berlin";
  put(spec);
  // 02:30 does not exist on 2026-03-29: it fires at 03:00 CEST (01:00 UTC).
  EXPECT_EQ(tick(), utc("2026-03-29T01:00:00Z"));
  clock_.set(utc("2026-03-29T01:00:00Z"));
  EXPECT_EQ(tick(), utc("2026-03-30T00:30:00Z"));
  EXPECT_EQ(fired(), std::vector{utc("2026-03-29T01:00:00Z")});
}

TEST_F(SchedulesTest, BerlinFallBackFiresTheRepeatedTimeOnlyOnce) {
  clock_.set(utc("2026-10-24T12:00:00Z"));
  auto spec = every("30 2 * * *");
  spec.timezone = "Europe/Berlin";
  put(spec);
  EXPECT_EQ(tick(), utc("2026-10-25T00:30:00Z"));  // 02:30 CEST
  clock_.set(utc("2026-10-25T00:30:00Z"));
  EXPECT_EQ(tick(), utc("2026-10-26T01:30:00Z"));  // 02:30 CET, the next day
  clock_.set(utc("2026-10-25T01:30:00Z"));         // 02:30 CET, the repeat
  tick();
  EXPECT_EQ(fired(), std::vector{utc("2026-10-25T00:30:00Z")});
}

TEST_F(SchedulesTest, APausedScheduleDoesNotFireAndResumingDoesNotCatchUp) {
  put(every("*/5 * * * *"));
  ASSERT_TRUE(run(schedules().pause("report", true)));
  EXPECT_EQ(tick(), std::nullopt);
  clock_.set(utc("2027-01-15T08:06:00Z"));
  tick();
  EXPECT_TRUE(jobs().empty());
  ASSERT_TRUE(run(schedules().pause("report", false)));
  EXPECT_EQ(tick(), utc("2027-01-15T08:10:00Z"));
  EXPECT_TRUE(jobs().empty());
}

TEST_F(SchedulesTest, TriggerEnqueuesNowWithoutTouchingTheCron) {
  put(every("0 0 1 1 *"));
  auto out = run(schedules().trigger("report"));
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->result, store::FireResult::enqueued);
  ASSERT_EQ(jobs().size(), 1u);
  EXPECT_EQ(jobs()[0].id, out->job_id);
  EXPECT_EQ(jobs()[0].created_at, clock_.now());
  EXPECT_EQ(tick(), utc("2028-01-01T00:00:00Z"));
  auto missing = run(schedules().trigger("nope"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, core::errc::not_found);
}

TEST_F(SchedulesTest, PutRefusesAnInvalidSpecNamingTheField) {
  auto bad_cron = run(schedules().put(every("0 25 * * *")));
  ASSERT_FALSE(bad_cron);
  EXPECT_EQ(bad_cron.error().field, "cron");
  EXPECT_EQ(bad_cron.error().message, "cron: field 2 (hour): 25 is out of range 0-23");
  auto zone = every("0 * * * *");
  zone.timezone = "Mars/Base";
  auto bad_zone = run(schedules().put(zone));
  ASSERT_FALSE(bad_zone);
  EXPECT_EQ(bad_zone.error().field, "timezone");
  auto list = run(schedules().list());
  ASSERT_TRUE(list);
  EXPECT_TRUE(list->empty());
}

TEST_F(SchedulesTest, SyncCreatesUpdatesAndRemovesOnlyItsOwnSource) {
  put(every("0 * * * *", "by-api"));
  auto first = run(schedules().sync(core::ScheduleSource::config,
                                    {every("0 1 * * *", "a"), every("0 2 * * *", "b")}));
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->created, (std::vector<std::string>{"a", "b"}));

  auto second = run(schedules().sync(core::ScheduleSource::config, {every("0 3 * * *", "a")}));
  ASSERT_TRUE(second);
  EXPECT_EQ(second->updated, std::vector<std::string>{"a"});
  EXPECT_EQ(second->removed, std::vector<std::string>{"b"});

  auto all = run(schedules().list());
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].spec.name, "a");
  EXPECT_EQ((*all)[0].spec.cron, "0 3 * * *");
  EXPECT_EQ((*all)[0].spec.source, core::ScheduleSource::config);
  EXPECT_EQ((*all)[1].spec.name, "by-api");
  EXPECT_EQ((*all)[1].spec.source, core::ScheduleSource::api);
}

TEST_F(SchedulesTest, SyncLeavesUnchangedSchedulesAlone) {
  auto first = run(schedules().sync(core::ScheduleSource::config,
                                    {every("0 1 * * *", "a"), every("0 2 * * *", "b")}));
  ASSERT_TRUE(first) << first.error().message;
  auto before = run(schedules().list());
  ASSERT_TRUE(before);
  clock_.set(clock_.now() + core::Millis{5'000});
  auto again = run(schedules().sync(core::ScheduleSource::config,
                                    {every("0 1 * * *", "a"), every("0 4 * * *", "b")}));
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE(again->created.empty());
  EXPECT_EQ(again->updated, std::vector<std::string>{"b"});
  EXPECT_TRUE(again->removed.empty());
  auto after = run(schedules().list());
  ASSERT_TRUE(after);
  EXPECT_EQ((*after)[0].updated_at, (*before)[0].updated_at);  // "a": not written again
  EXPECT_NE((*after)[1].updated_at, (*before)[1].updated_at);
}

}  // namespace
}  // namespace errand::engine
