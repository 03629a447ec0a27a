// Conformance: lease_extend and job_progress, and lease fencing (a wrong or
// stale lease_id is a conflict that changes nothing) for every leased verb.
#include "store/conformance/harness.hpp"

namespace errand::store::conformance {
namespace {

void expect_conflict(const core::Error& e) {
  EXPECT_EQ(e.code, core::errc::conflict) << e.message;
  EXPECT_EQ(e.field, "lease_id");
}

TEST_P(LeaseTest, ExtendDefaultsToTheJobsTimeout) {
  auto j = running("q");  // timeout 60s
  auto info = extend(j, j.lease_id, std::nullopt, kNow + 5s);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->lease_expires_at, kNow + 65s);
  EXPECT_FALSE(info->cancel_requested);
  EXPECT_EQ(get(j.id)->lease_expires_at, kNow + 65s);
}

TEST_P(LeaseTest, ExtendByAnExplicitLength) {
  auto j = running("q");
  auto info = extend(j, j.lease_id, 2min, kNow + 1s);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->lease_expires_at, kNow + 121s);
}

TEST_P(LeaseTest, ExtendReportsACancelRequest) {
  auto j = running("q");
  ASSERT_TRUE(cancel(j.id));
  auto info = extend(j, j.lease_id, std::nullopt, kNow);
  ASSERT_TRUE(info);
  EXPECT_TRUE(info->cancel_requested);
}

TEST_P(LeaseTest, WrongLeaseIsAConflictAndChangesNothing) {
  auto j = running("q");
  auto before = get(j.id);
  ASSERT_TRUE(before);
  const std::string wrong(32, 'f');
  auto e1 = extend(j, wrong, 1h, kNow);
  ASSERT_FALSE(e1);
  expect_conflict(e1.error());
  auto e2 = progress(j, wrong, {.percent = 50, .message = "half"});
  ASSERT_FALSE(e2);
  expect_conflict(e2.error());
  auto e3 = complete_lease(j, wrong);
  ASSERT_FALSE(e3);
  expect_conflict(e3.error());
  auto e4 = fail(j, {.lease_id = wrong});
  ASSERT_FALSE(e4);
  expect_conflict(e4.error());

  auto after = get(j.id);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->state, JobState::running);
  EXPECT_EQ(after->lease_expires_at, before->lease_expires_at);
  EXPECT_FALSE(after->progress);
  EXPECT_TRUE(after->errors.empty());
  EXPECT_EQ(counts("q"), counts_of({{JobState::running, 1}}));
  EXPECT_EQ(queue("q").failed, 0);
}

TEST_P(LeaseTest, UnknownJobIsNotFound) {
  core::Job ghost;
  ghost.id = "J-none";
  ghost.lease_id = "abc";
  for (auto code :
       {extend(ghost, "abc", {}, kNow).error().code, progress(ghost, "abc", {}).error().code,
        complete_lease(ghost, "abc").error().code, fail(ghost).error().code}) {
    EXPECT_EQ(code, core::errc::not_found);
  }
}

TEST_P(LeaseTest, FinishedJobsLeaseIsAConflict) {
  auto j = running("q");
  ASSERT_TRUE(complete(j));
  auto again = complete_lease(j, j.lease_id);
  ASSERT_FALSE(again);
  expect_conflict(again.error());
  auto beat = extend(j, j.lease_id, {}, kNow);
  ASSERT_FALSE(beat);
  expect_conflict(beat.error());
  EXPECT_EQ(queue("q").processed, 1);
}

TEST_P(LeaseTest, StaleLeaseAfterReclaimIsAConflict) {
  auto first = running("q");  // lease ends at kNow + 60s
  EXPECT_EQ(expire_leases(kNow + 60s), 1);
  EXPECT_EQ(promote_due(kNow + 2h), 1);
  auto second = claim({"q"}, 1, kNow + 2h);
  ASSERT_EQ(second.size(), 1u);
  auto stale = complete_lease(first, first.lease_id);
  ASSERT_FALSE(stale);
  expect_conflict(stale.error());
  EXPECT_EQ(get(first.id)->lease_id, second[0].lease_id);
  ASSERT_TRUE(complete_lease(first, second[0].lease_id));
}

TEST_P(LeaseTest, ProgressReplacesTheJobsProgress) {
  auto j = running("q");
  ASSERT_TRUE(progress(j, j.lease_id, {.percent = 40, .message = "rows 400/1000"}, kNow + 1s));
  auto mid = get(j.id);
  ASSERT_TRUE(mid && mid->progress);
  EXPECT_EQ(mid->progress->percent, 40);
  EXPECT_EQ(mid->progress->message, "rows 400/1000");
  EXPECT_EQ(mid->progress->updated_at, kNow + 1s);

  ASSERT_TRUE(progress(j, j.lease_id,
                       {.message = "almost", .data = core::RawJson::trusted(R"({"step":3})")},
                       kNow + 2s));
  auto late = get(j.id);
  ASSERT_TRUE(late && late->progress);
  EXPECT_FALSE(late->progress->percent);
  EXPECT_EQ(late->progress->message, "almost");
  EXPECT_EQ(late->progress->data.text(), R"({"step":3})");
  EXPECT_EQ(late->progress->updated_at, kNow + 2s);
  EXPECT_EQ(late->state, JobState::running);
}

}  // namespace
}  // namespace errand::store::conformance
