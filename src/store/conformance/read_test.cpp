// Conformance: job_get and job_list (newest first, cursor pages, filters).
#include "store/conformance/harness.hpp"

namespace errand::store::conformance {
namespace {

std::vector<std::string> ids(const JobPage& page) {
  std::vector<std::string> out;
  for (const auto& j : page.jobs) out.push_back(j.id);
  return out;
}

TEST_P(ReadTest, GetUnknownIsNotFound) {
  auto r = get("01JDQ7Z3K5X9V2M4N6P8R0T2W4");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::errc::not_found);
  EXPECT_EQ(r.error().field, "id");
}

TEST_P(ReadTest, ListIsNewestFirstAndPagesWithTheCursor) {
  std::vector<std::string> all;
  for (int i = 0; i < 5; ++i) all.push_back(insert(job("q")));
  auto list = [&](std::string cursor) {
    return call<JobPage>(
        [&](auto done) { store().job_list({.limit = 2, .cursor = std::move(cursor)}, done); });
  };
  auto first = list("");
  ASSERT_TRUE(first);
  EXPECT_EQ(ids(*first), (std::vector<std::string>{all[4], all[3]}));
  EXPECT_EQ(first->next_cursor, all[3]);
  auto second = list(first->next_cursor);
  ASSERT_TRUE(second);
  EXPECT_EQ(ids(*second), (std::vector<std::string>{all[2], all[1]}));
  auto third = list(second->next_cursor);
  ASSERT_TRUE(third);
  EXPECT_EQ(ids(*third), std::vector<std::string>{all[0]});
  EXPECT_TRUE(third->next_cursor.empty());
}

TEST_P(ReadTest, ExactlyFullLastPageHasNoCursor) {
  insert(job());
  insert(job());
  auto page = call<JobPage>([&](auto done) { store().job_list({.limit = 2}, done); });
  ASSERT_TRUE(page);
  EXPECT_EQ(page->jobs.size(), 2u);
  EXPECT_TRUE(page->next_cursor.empty());
}

TEST_P(ReadTest, ListFiltersByQueueStateAndType) {
  auto a1 = job("a");
  a1.type = "x";
  auto a2 = job("a");
  a2.type = "y";
  auto b1 = job("b");
  b1.type = "x";
  auto b2 = job("b");
  b2.run_at = kNow + 1h;
  ASSERT_TRUE(insert_many({a1, a2, b1, b2}));
  auto list = [&](JobListParams p) {
    auto r = call<JobPage>([&](auto done) { store().job_list(std::move(p), done); });
    EXPECT_TRUE(r);
    return r ? ids(*r) : std::vector<std::string>{};
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(list({.queue = "a"}), (V{a2.id, a1.id}));
  EXPECT_EQ(list({.state = JobState::scheduled}), (V{b2.id}));
  EXPECT_EQ(list({.type = "x"}), (V{b1.id, a1.id}));
  EXPECT_EQ(list({.queue = "b", .state = JobState::queued}), (V{b1.id}));
  EXPECT_EQ(list({.queue = "a", .type = "y"}), (V{a2.id}));
  EXPECT_EQ(list({.queue = "b", .state = JobState::queued, .type = "y"}), V{});
  EXPECT_EQ(list({.queue = "nope"}), V{});
}

TEST_P(ReadTest, ListClampsTheLimit) {
  for (int i = 0; i < 3; ++i) insert(job());
  auto zero = call<JobPage>([&](auto done) { store().job_list({.limit = 0}, done); });
  ASSERT_TRUE(zero);
  EXPECT_EQ(zero->jobs.size(), 1u);
  EXPECT_FALSE(zero->next_cursor.empty());
  auto huge = call<JobPage>([&](auto done) { store().job_list({.limit = 1'000'000}, done); });
  ASSERT_TRUE(huge);
  EXPECT_EQ(huge->jobs.size(), 3u);
}

TEST_P(ReadTest, ListCapsAPageAtOneThousand) {
  std::vector<core::NewJob> many;
  for (int i = 0; i < 1005; ++i) many.push_back(job("bulk"));
  ASSERT_TRUE(insert_many(many));
  auto page = call<JobPage>([&](auto done) { store().job_list({.limit = 5000}, done); });
  ASSERT_TRUE(page);
  EXPECT_EQ(page->jobs.size(), 1000u);
  EXPECT_EQ(page->next_cursor, page->jobs.back().id);
}

TEST_P(ReadTest, ReadSeesEveryEarlierSubmittedChange) {
  // Submitted without waiting: the read must still see the insert before it.
  auto j = job();
  store().job_insert_many({.jobs = {j}, .now = kNow}, [](auto) {});
  auto r = get(j.id);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->id, j.id);
}

}  // namespace
}  // namespace errand::store::conformance
