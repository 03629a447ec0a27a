// Conformance: schedules — put/get/list/delete/pause, and schedule_fire's
// exactly-once per fire time (also across a reopen and from many threads at
// once), overlap "skip", pause, re-arming on a changed cron, manual triggers.
#include "store/conformance/harness.hpp"

#include <fmt/format.h>

#include <atomic>
#include <thread>

namespace errand::store::conformance {
namespace {

core::ScheduleSpec spec(std::string name = "nightly", std::string cron = "0 3 * * *") {
  return {.name = std::move(name),
          .cron = std::move(cron),
          .timezone = "Europe/Berlin",
          .queue = "reports",
          .type = "report",
          .payload = core::RawJson::trusted(R"({"kind":"daily"})"),
          .priority = 7,
          .max_attempts = 2};
}

class Schedules {
 public:
  explicit Schedules(Store& store) : store_(store) {}

  core::Result<SchedulePutOutcome> put(core::ScheduleSpec s, core::TimePoint now = kNow) {
    return call<SchedulePutOutcome>(
        [&](auto done) { store_.schedule_put({.spec = std::move(s), .now = now}, done); });
  }
  core::Result<core::Schedule> get(std::string name) {
    return call<core::Schedule>(
        [&](auto done) { store_.schedule_get({.name = std::move(name)}, done); });
  }
  std::vector<core::Schedule> list() {
    auto all = call<std::vector<core::Schedule>>([&](auto done) { store_.schedule_list(done); });
    EXPECT_TRUE(all) << all.error().message;
    return all ? *all : std::vector<core::Schedule>{};
  }
  core::Result<Unit> remove(std::string name) {
    return call<Unit>([&](auto done) { store_.schedule_delete({.name = std::move(name)}, done); });
  }
  core::Result<core::Schedule> pause(std::string name, bool paused, core::TimePoint now = kNow) {
    return call<core::Schedule>([&](auto done) {
      store_.schedule_pause({.name = std::move(name), .paused = paused, .now = now}, done);
    });
  }
  core::Result<ScheduleFireOutcome> fire(std::string name, std::optional<core::TimePoint> at,
                                         core::TimePoint now = kNow) {
    return call<ScheduleFireOutcome>([&](auto done) {
      store_.schedule_fire({.name = std::move(name), .fire_at = at, .now = now}, done);
    });
  }

 private:
  Store& store_;
};

TEST_P(SchedulesTest, PutCreatesThenReplacesAndReadsBack) {
  Schedules s(store());
  auto created = s.put(spec());
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_TRUE(created->created);
  EXPECT_EQ(created->schedule.fired_through, kNow);
  EXPECT_EQ(created->schedule.created_at, kNow);

  auto changed = spec();
  changed.payload = {};
  changed.priority.reset();
  changed.overlap = core::Overlap::skip;
  changed.catch_up = 5min;
  changed.source = core::ScheduleSource::config;
  auto replaced = s.put(changed, kNow + 1s);
  ASSERT_TRUE(replaced);
  EXPECT_FALSE(replaced->created);
  EXPECT_EQ(replaced->schedule.created_at, kNow);
  EXPECT_EQ(replaced->schedule.updated_at, kNow + 1s);

  auto got = s.get("nightly");
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(got->spec.cron, "0 3 * * *");
  EXPECT_EQ(got->spec.timezone, "Europe/Berlin");
  EXPECT_EQ(got->spec.queue, "reports");
  EXPECT_EQ(got->spec.type, "report");
  EXPECT_TRUE(got->spec.payload.is_null());
  EXPECT_FALSE(got->spec.priority);
  EXPECT_EQ(got->spec.max_attempts, 2);
  EXPECT_EQ(got->spec.overlap, core::Overlap::skip);
  EXPECT_EQ(got->spec.catch_up, 5min);
  EXPECT_EQ(got->spec.source, core::ScheduleSource::config);
  EXPECT_EQ(got->fired_through, kNow) << "same cron and zone: nothing re-armed";
  EXPECT_TRUE(got->last_job_id.empty());
  EXPECT_FALSE(got->last_fired_at);
}

TEST_P(SchedulesTest, ListIsSortedByNameAndSurvivesAReopen) {
  Schedules s(store());
  ASSERT_TRUE(s.put(spec("b")));
  ASSERT_TRUE(s.put(spec("a")));
  reopen();
  Schedules again(store());
  auto all = again.list();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].spec.name, "a");
  EXPECT_EQ(all[1].spec.name, "b");
  EXPECT_EQ(all[1].spec.payload.text(), R"({"kind":"daily"})");
}

TEST_P(SchedulesTest, UnknownScheduleIsNotFoundEverywhere) {
  Schedules s(store());
  const std::vector<core::Error> errors{s.get("nope").error(), s.remove("nope").error(),
                                        s.pause("nope", true).error(),
                                        s.fire("nope", kNow).error()};
  for (const auto& e : errors) {
    EXPECT_EQ(e.code, core::errc::not_found) << e.message;
    EXPECT_EQ(e.field, "name");
  }
}

TEST_P(SchedulesTest, AFireEnqueuesTheJobWithTheScheduleSettings) {
  Schedules s(store());
  ASSERT_TRUE(s.put(spec()));
  auto fired = s.fire("nightly", kNow + 1h, kNow + 1h + 3ms);
  ASSERT_TRUE(fired) << fired.error().message;
  ASSERT_EQ(fired->result, FireResult::enqueued);
  EXPECT_EQ(fired->state, JobState::queued);
  auto job = get(fired->job_id);
  ASSERT_TRUE(job) << job.error().message;
  EXPECT_EQ(job->queue, "reports");
  EXPECT_EQ(job->type, "report");
  EXPECT_EQ(job->priority, 7);
  EXPECT_EQ(job->max_attempts, 2);
  EXPECT_EQ(job->payload.text(), R"({"kind":"daily"})");
  EXPECT_EQ(job->created_at, kNow + 1h + 3ms);
  EXPECT_EQ(job->idempotency_key, core::schedule_fire_key("nightly", kNow + 1h));
  EXPECT_EQ(counts("reports"), counts_of({{JobState::queued, 1}}));

  auto after = s.get("nightly");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->fired_through, kNow + 1h);
  EXPECT_EQ(after->last_fired_at, kNow + 1h);
  EXPECT_EQ(after->last_job_id, fired->job_id);
  EXPECT_EQ(after->last_job_state, JobState::queued);
}

TEST_P(SchedulesTest, AFireTimeEnqueuesOnceEvenAfterAReopen) {
  Schedules s(store());
  ASSERT_TRUE(s.put(spec()));
  auto first = s.fire("nightly", kNow + 1h);
  ASSERT_TRUE(first && first->result == FireResult::enqueued);
  auto second = s.fire("nightly", kNow + 1h);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->result, FireResult::already_fired);
  auto earlier = s.fire("nightly", kNow + 30min);
  ASSERT_TRUE(earlier);
  EXPECT_EQ(earlier->result, FireResult::already_fired) << "times before the last fire are done";

  reopen();
  Schedules again(store());
  auto third = again.fire("nightly", kNow + 1h);
  ASSERT_TRUE(third);
  EXPECT_EQ(third->result, FireResult::already_fired);
  EXPECT_EQ(counts("reports"), counts_of({{JobState::queued, 1}}));
}

TEST_P(SchedulesTest, ManyConcurrentFiresOfOneTimeEnqueueOneJob) {
  Schedules s(store());
  ASSERT_TRUE(s.put(spec()));
  std::atomic<int> enqueued{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto r = s.fire("nightly", kNow + 1h);
      if (r && r->result == FireResult::enqueued) ++enqueued;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(enqueued.load(), 1);
  EXPECT_EQ(counts("reports"), counts_of({{JobState::queued, 1}}));
}

TEST_P(SchedulesTest, TimesAtOrBeforeTheCreationNeverFire) {
  Schedules s(store());
  ASSERT_TRUE(s.put(spec()));
  auto at_creation = s.fire("nightly", kNow);
  ASSERT_TRUE(at_creation);
  EXPECT_EQ(at_creation->result, FireResult::already_fired);
  EXPECT_TRUE(queues().empty()) << "no job, so no queue";
}

TEST_P(SchedulesTest, OverlapSkipWaitsForThePreviousRunToFinish) {
  Schedules s(store());
  auto sp = spec();
  sp.overlap = core::Overlap::skip;
  ASSERT_TRUE(s.put(sp));
  auto first = s.fire("nightly", kNow + 1h);
  ASSERT_TRUE(first && first->result == FireResult::enqueued);

  auto while_queued = s.fire("nightly", kNow + 2h);
  ASSERT_TRUE(while_queued);
  EXPECT_EQ(while_queued->result, FireResult::skipped_overlap);
  EXPECT_EQ(while_queued->schedule.last_job_id, first->job_id);
  EXPECT_EQ(while_queued->schedule.fired_through, kNow + 2h);
  auto again = s.fire("nightly", kNow + 2h);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->result, FireResult::already_fired) << "a skipped time is done too";

  auto job = claim({"reports"}, 1, kNow + 2h);
  ASSERT_EQ(job.size(), 1u);
  auto while_running = s.fire("nightly", kNow + 3h, kNow + 3h);
  ASSERT_TRUE(while_running);
  EXPECT_EQ(while_running->result, FireResult::skipped_overlap);

  ASSERT_TRUE(complete(job[0], kNow + 3h));
  auto after = s.fire("nightly", kNow + 4h, kNow + 4h);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->result, FireResult::enqueued);
}

TEST_P(SchedulesTest, OverlapAllowEnqueuesWhileThePreviousRunWaits) {
  Schedules s(store());
  ASSERT_TRUE(s.put(spec()));
  ASSERT_EQ(s.fire("nightly", kNow + 1h)->result, FireResult::enqueued);
  ASSERT_EQ(s.fire("nightly", kNow + 2h)->result, FireResult::enqueued);
  EXPECT_EQ(counts("reports"), counts_of({{JobState::queued, 2}}));
}

TEST_P(SchedulesTest, APausedScheduleDoesNotFireAndResumeSkipsThePausedTimes) {
  Schedules s(store());
  ASSERT_TRUE(s.put(spec()));
  auto paused = s.pause("nightly", true, kNow + 1min);
  ASSERT_TRUE(paused) << paused.error().message;
  EXPECT_TRUE(paused->spec.paused);
  auto fired = s.fire("nightly", kNow + 1h);
  ASSERT_TRUE(fired);
  EXPECT_EQ(fired->result, FireResult::paused);

  auto resumed = s.pause("nightly", false, kNow + 2h);
  ASSERT_TRUE(resumed);
  EXPECT_FALSE(resumed->spec.paused);
  EXPECT_EQ(resumed->fired_through, kNow + 2h);
  EXPECT_EQ(s.fire("nightly", kNow + 1h)->result, FireResult::already_fired);
  EXPECT_EQ(s.fire("nightly", kNow + 3h)->result, FireResult::enqueued);
}

TEST_P(SchedulesTest, AChangedCronRearmsButOtherChangesDoNot) {
  Schedules s(store());
  ASSERT_TRUE(s.put(spec()));
  auto payload_only = spec();
  payload_only.payload = core::RawJson::trusted("1");
  auto same = s.put(payload_only, kNow + 1h);
  ASSERT_TRUE(same);
  EXPECT_EQ(same->schedule.fired_through, kNow);
  auto new_cron = s.put(spec("nightly", "0 4 * * *"), kNow + 2h);
  ASSERT_TRUE(new_cron);
  EXPECT_EQ(new_cron->schedule.fired_through, kNow + 2h);
}

TEST_P(SchedulesTest, DeleteRemovesTheScheduleButKeepsItsJobs) {
  Schedules s(store());
  ASSERT_TRUE(s.put(spec()));
  auto fired = s.fire("nightly", kNow + 1h);
  ASSERT_TRUE(fired && fired->result == FireResult::enqueued);
  ASSERT_TRUE(s.remove("nightly"));
  EXPECT_EQ(s.get("nightly").error().code, core::errc::not_found);
  EXPECT_TRUE(s.list().empty());
  EXPECT_TRUE(get(fired->job_id));
  EXPECT_EQ(s.remove("nightly").error().code, core::errc::not_found);

  // Re-created under the same name, the old job's time is not fired again.
  ASSERT_TRUE(s.put(spec(), kNow));
  EXPECT_EQ(s.fire("nightly", kNow + 1h)->result, FireResult::already_fired);
  EXPECT_EQ(s.fire("nightly", kNow + 2h)->result, FireResult::enqueued);
}

TEST_P(SchedulesTest, ATriggerEnqueuesAtOnceWhateverPauseAndOverlapSay) {
  Schedules s(store());
  auto sp = spec();
  sp.overlap = core::Overlap::skip;
  sp.paused = true;
  ASSERT_TRUE(s.put(sp));
  auto first = s.fire("nightly", std::nullopt, kNow + 5s);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->result, FireResult::enqueued);
  auto second = s.fire("nightly", std::nullopt, kNow + 6s);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->result, FireResult::enqueued);
  EXPECT_EQ(second->schedule.last_job_id, second->job_id);
  EXPECT_EQ(second->schedule.last_fired_at, kNow + 6s);
  EXPECT_EQ(second->schedule.fired_through, kNow) << "a trigger is not a scheduled time";
  auto job = get(second->job_id);
  ASSERT_TRUE(job);
  EXPECT_TRUE(job->idempotency_key.empty());
  EXPECT_EQ(counts("reports"), counts_of({{JobState::queued, 2}}));
}

TEST_P(SchedulesTest, AFireNotifiesTheQueueAsRunnable) {
  Schedules s(store());
  ASSERT_TRUE(s.put(spec()));
  clear_notices();
  ASSERT_EQ(s.fire("nightly", kNow + 1h)->result, FireResult::enqueued);
  bool runnable = false;
  for (const auto& n : notices()) {
    for (const auto& q : n.runnable_queues) runnable = runnable || q == "reports";
  }
  EXPECT_TRUE(runnable);
}

TEST_P(SchedulesTest, OnlyTheLatestThousandFireRecordsAreKept) {
  Schedules s(store());
  auto sp = spec("often", "* * * * * *");
  sp.overlap = core::Overlap::allow;
  ASSERT_TRUE(s.put(sp));
  for (int i = 1; i <= 1005; ++i) {
    auto r = s.fire("often", kNow + std::chrono::seconds(i));
    ASSERT_TRUE(r && r->result == FireResult::enqueued) << i;
  }
  EXPECT_EQ(s.fire("often", kNow + 1s)->result, FireResult::already_fired);
  EXPECT_EQ(counts("reports"), counts_of({{JobState::queued, 1005}}));
}

}  // namespace
}  // namespace errand::store::conformance
