// Conformance: push queues — a push config and its signing secret read back
// (also after a reopen), secret rotation, push jobs claimed only by push
// claims (with their bookkeeping), and job_requeue for continuations and
// deferrals: the attempt is not counted, state and progress are kept, a
// failure clears the deferrals in a row, and a stale lease is refused.
#include "store/conformance/harness.hpp"

namespace errand::store::conformance {
namespace {

const core::PushConfig kPush{.url = "https://app.example.com/api/errand",
                             .timeout = 20s,
                             .concurrency = 4,
                             .headers = {{"x-token", "abc"}, {"x-other", "d e"}}};

core::Result<QueueInfo> configure(Store& store, std::string queue,
                                  std::optional<core::PushConfig> push) {
  return call<QueueInfo>([&](auto done) {
    store.queue_configure({.queue = std::move(queue), .config = {.push = std::move(push)}}, done);
  });
}

core::Result<QueueInfo> rotate(Store& store, std::string queue, core::Millis keep) {
  return call<QueueInfo>([&](auto done) {
    store.queue_rotate_secret({.queue = std::move(queue), .keep_previous = keep, .now = kNow},
                              done);
  });
}

std::vector<core::Job> push_claim(Store& store, std::string queue, core::TimePoint now = kNow) {
  auto jobs = call<std::vector<core::Job>>([&](auto done) {
    store.job_claim(
        {.queues = {std::move(queue)}, .worker = "push", .max = 1, .now = now, .push = true}, done);
  });
  EXPECT_TRUE(jobs) << jobs.error().message;
  return jobs ? *jobs : std::vector<core::Job>{};
}

core::Result<core::Job> requeue(Store& store, const core::Job& job, JobRequeueParams p) {
  p.id = job.id;
  if (p.lease_id.empty()) p.lease_id = job.lease_id;
  return call<core::Job>([&](auto done) { store.job_requeue(std::move(p), done); });
}

TEST_P(PushTest, PushConfigAndSecretReadBackAndSurviveAReopen) {
  auto info = configure(store(), "hooks", kPush);
  ASSERT_TRUE(info) << info.error().message;
  ASSERT_TRUE(info->config.push);
  EXPECT_EQ(*info->config.push, kPush);
  const std::string secret = info->push_secrets.current;
  EXPECT_EQ(secret.rfind("whsec_", 0), 0u) << secret;
  EXPECT_EQ(secret.size(), 6u + 64u);
  reopen();
  const auto again = queue("hooks");
  ASSERT_TRUE(again.config.push);
  EXPECT_EQ(*again.config.push, kPush);
  EXPECT_EQ(again.push_secrets.current, secret);
}

TEST_P(PushTest, TheSecretOutlivesThePushConfig) {
  const auto first = configure(store(), "hooks", kPush)->push_secrets.current;
  auto pull = configure(store(), "hooks", std::nullopt);
  ASSERT_TRUE(pull);
  EXPECT_FALSE(pull->config.push);
  EXPECT_EQ(pull->push_secrets.current, first);
  EXPECT_EQ(configure(store(), "hooks", kPush)->push_secrets.current, first);
}

TEST_P(PushTest, RotationKeepsThePreviousSecretForAWhile) {
  const auto first = configure(store(), "hooks", kPush)->push_secrets.current;
  auto rotated = rotate(store(), "hooks", 1h);
  ASSERT_TRUE(rotated) << rotated.error().message;
  const auto& s = rotated->push_secrets;
  EXPECT_NE(s.current, first);
  EXPECT_EQ(s.previous, first);
  ASSERT_TRUE(s.previous_until);
  EXPECT_EQ(*s.previous_until, kNow + 1h);
  EXPECT_EQ(s.previous_at(kNow + 59min), first);
  EXPECT_TRUE(s.previous_at(kNow + 1h).empty());
  reopen();
  EXPECT_EQ(queue("hooks").push_secrets, s);
}

TEST_P(PushTest, RotatingAQueueWithoutASecretIsNotFound) {
  auto missing = rotate(store(), "nothing", 1h);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, core::errc::not_found);
  EXPECT_EQ(missing.error().field, "queue");
  ASSERT_TRUE(configure(store(), "pull", std::nullopt));
  EXPECT_FALSE(rotate(store(), "pull", 1h));
}

TEST_P(PushTest, PushJobsGoOnlyToPushClaims) {
  ASSERT_TRUE(configure(store(), "hooks", kPush));
  const auto id = insert(job("hooks"));
  const auto pull_id = insert(job("pull"));
  EXPECT_TRUE(claim({"hooks"}).empty());
  auto pushed = push_claim(store(), "hooks");
  ASSERT_EQ(pushed.size(), 1u);
  EXPECT_EQ(pushed[0].id, id);
  EXPECT_EQ(pushed[0].push_continuations, 0);
  EXPECT_TRUE(pushed[0].push_state.empty());
  EXPECT_TRUE(push_claim(store(), "pull").empty());
  ASSERT_EQ(claim({"pull"}).size(), 1u);
  (void)pull_id;
}

TEST_P(PushTest, AContinuationIsNotAnAttemptAndCarriesItsState) {
  ASSERT_TRUE(configure(store(), "hooks", kPush));
  const auto id = insert(job("hooks"));
  auto first = push_claim(store(), "hooks");
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].attempt, 1);
  core::Progress progress{.percent = 40, .message = "step 1"};
  auto later = requeue(store(), first[0],
                       {.run_at = kNow + 10s,
                        .continuation = true,
                        .state = R"({"offset":100})",
                        .progress = progress,
                        .now = kNow});
  ASSERT_TRUE(later) << later.error().message;
  EXPECT_EQ(later->state, JobState::scheduled);
  EXPECT_EQ(later->attempt, 0);
  EXPECT_EQ(later->push_continuations, 1);
  EXPECT_EQ(counts("hooks"), counts_of({{JobState::scheduled, 1}}));
  EXPECT_EQ(get(id)->push_continuations, 1);
  ASSERT_TRUE(get(id)->progress);
  EXPECT_EQ(get(id)->progress->percent, 40);

  EXPECT_TRUE(push_claim(store(), "hooks").empty());  // not due yet
  EXPECT_EQ(promote_due(kNow + 10s), 1);
  auto second = push_claim(store(), "hooks", kNow + 10s);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].attempt, 1);
  EXPECT_EQ(second[0].push_continuations, 1);
  EXPECT_EQ(second[0].push_state, R"({"offset":100})");
  EXPECT_NE(second[0].lease_id, first[0].lease_id);

  // A continuation without delay is queued again at once.
  auto now_again = requeue(store(), second[0],
                           {.run_at = kNow, .continuation = true, .state = "2", .now = kNow});
  ASSERT_TRUE(now_again);
  EXPECT_EQ(now_again->state, JobState::queued);
  auto third = push_claim(store(), "hooks");
  ASSERT_EQ(third.size(), 1u);
  EXPECT_EQ(third[0].push_state, "2");
  EXPECT_EQ(third[0].push_continuations, 2);
  ASSERT_TRUE(complete(third[0]));
  EXPECT_EQ(get(id)->attempt, 1);
  EXPECT_TRUE(get(id)->push_state.empty());  // single-job reads do not carry the state
}

TEST_P(PushTest, DeferralsCountUntilAFailureClearsThem) {
  ASSERT_TRUE(configure(store(), "hooks", kPush));
  insert(job("hooks"));
  auto j = push_claim(store(), "hooks");
  ASSERT_EQ(j.size(), 1u);
  ASSERT_TRUE(requeue(store(), j[0], {.run_at = kNow, .continuation = false, .now = kNow}));
  j = push_claim(store(), "hooks");
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0].push_deferrals, 1);
  EXPECT_EQ(j[0].attempt, 1);
  ASSERT_TRUE(fail(j[0], {.error = "HTTP 500", .retry_in = 1s}));
  EXPECT_EQ(promote_due(kNow + 1s), 1);
  j = push_claim(store(), "hooks", kNow + 1s);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0].push_deferrals, 0);
  EXPECT_EQ(j[0].attempt, 2);
}

TEST_P(PushTest, RequeueWithAStaleLeaseIsAConflictAndChangesNothing) {
  ASSERT_TRUE(configure(store(), "hooks", kPush));
  const auto id = insert(job("hooks"));
  auto j = push_claim(store(), "hooks");
  ASSERT_EQ(j.size(), 1u);
  auto stale = requeue(store(), j[0],
                       {.lease_id = "not-the-lease",
                        .run_at = kNow,
                        .continuation = true,
                        .state = "1",
                        .now = kNow});
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, core::errc::conflict);
  EXPECT_EQ(get(id)->state, JobState::running);
  EXPECT_EQ(get(id)->push_continuations, 0);
}

TEST_P(PushTest, DeletingAJobDropsItsPushBookkeeping) {
  ASSERT_TRUE(configure(store(), "hooks", kPush));
  const auto id = insert(job("hooks"));
  auto j = push_claim(store(), "hooks");
  ASSERT_TRUE(
      requeue(store(), j[0], {.run_at = kNow, .continuation = true, .state = "1", .now = kNow}));
  ASSERT_TRUE(call<Unit>([&](auto done) { store().job_delete({.id = id}, done); }));
  // A new job cannot inherit anything: ids are unique, and the row is gone.
  auto again = get(id);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, core::errc::not_found);
}

}  // namespace
}  // namespace errand::store::conformance
