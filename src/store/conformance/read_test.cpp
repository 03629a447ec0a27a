// Conformance: job_get and job_list (newest first, cursor pages, filters).
#include "store/conformance/harness.hpp"

#include "core/id.hpp"

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
  const auto id = insert_ids({a1, a2, b1, b2});
  ASSERT_EQ(id.size(), 4u);
  auto list = [&](JobListParams p) {
    auto r = call<JobPage>([&](auto done) { store().job_list(std::move(p), done); });
    EXPECT_TRUE(r);
    return r ? ids(*r) : std::vector<std::string>{};
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(list({.queue = "a"}), (V{id[1], id[0]}));
  EXPECT_EQ(list({.state = JobState::scheduled}), (V{id[3]}));
  EXPECT_EQ(list({.type = "x"}), (V{id[2], id[0]}));
  EXPECT_EQ(list({.queue = "b", .state = JobState::queued}), (V{id[2]}));
  EXPECT_EQ(list({.queue = "a", .type = "y"}), (V{id[1]}));
  EXPECT_EQ(list({.queue = "b", .state = JobState::queued, .type = "y"}), V{});
  EXPECT_EQ(list({.queue = "nope"}), V{});
}

TEST_P(ReadTest, ListFiltersByTagAndPayloadText) {
  auto a = job("a");
  a.tags = {"import", "big"};
  a.payload = core::RawJson::trusted(R"({"to":"alice@example.com"})");
  auto b = job("a");
  b.tags = {"importer"};
  b.payload = core::RawJson::trusted(R"({"to":"bob@example.com","n":5})");
  auto c = job("b");
  c.tags = {"import"};
  const auto id = insert_ids({a, b, c});
  ASSERT_EQ(id.size(), 3u);
  auto list = [&](JobListParams p) {
    auto r = call<JobPage>([&](auto done) { store().job_list(std::move(p), done); });
    EXPECT_TRUE(r);
    return r ? ids(*r) : std::vector<std::string>{};
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(list({.tag = "import"}), (V{id[2], id[0]}));  // whole tags only
  EXPECT_EQ(list({.queue = "a", .tag = "import"}), (V{id[0]}));
  EXPECT_EQ(list({.tag = "imp"}), V{});
  EXPECT_EQ(list({.text = "bob@"}), (V{id[1]}));
  EXPECT_EQ(list({.text = "example.com"}), (V{id[1], id[0]}));
  EXPECT_EQ(list({.text = "\"n\":5"}), (V{id[1]}));
  EXPECT_EQ(list({.tag = "big", .text = "bob"}), V{});
  EXPECT_EQ(list({.text = "%"}), V{});  // no wildcards
}

// Most jobs have no tags and no errors; stores may keep those lists in a
// smaller form, but they read back empty, a tag search passes over them,
// and a job that gains an error (after a reopen too) reads it back.
TEST_P(ReadTest, JobsWithoutTagsOrErrorsReadEmptyAndATagSearchPassesOverThem) {
  auto tagged = job("q");
  tagged.tags = {"blue"};
  const auto plain = insert(job("q"));
  const auto blue = insert(tagged);
  const auto failed = fail(running("f"), {.error = "went wrong"});
  ASSERT_TRUE(failed) << failed.error().message;
  reopen();
  auto page = call<JobPage>([&](auto done) { store().job_list({}, done); });
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->jobs.size(), 3u);
  for (const auto& j : page->jobs) {
    EXPECT_EQ(j.tags, j.id == blue ? std::vector<std::string>{"blue"} : std::vector<std::string>{})
        << j.id;
    ASSERT_EQ(j.errors.size(), j.id == failed->id ? 1u : 0u) << j.id;
    if (j.id == failed->id) {
      EXPECT_EQ(j.errors.front().message, "went wrong");
    }
  }
  auto got = get(plain);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_TRUE(got->tags.empty());
  EXPECT_TRUE(got->errors.empty());
  for (const std::string tag : {"blue", "green"}) {
    auto found = call<JobPage>([&](auto done) { store().job_list({.tag = tag}, done); });
    ASSERT_TRUE(found) << found.error().message;
    EXPECT_EQ(ids(*found),
              tag == "blue" ? std::vector<std::string>{blue} : std::vector<std::string>{})
        << tag;
  }
}

TEST_P(ReadTest, ListFiltersByCreationTimeAndPagesWithin) {
  std::vector<std::string> all;
  for (int i = 0; i < 5; ++i) all.push_back(insert(job(), kNow + i * 1min));
  auto list = [&](JobListParams p) {
    auto r = call<JobPage>([&](auto done) { store().job_list(std::move(p), done); });
    EXPECT_TRUE(r);
    return r ? *r : JobPage{};
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(ids(list({.since = kNow + 1min, .until = kNow + 4min})), (V{all[3], all[2], all[1]}));
  EXPECT_EQ(ids(list({.since = kNow + 3min})), (V{all[4], all[3]}));
  EXPECT_EQ(ids(list({.until = kNow + 30s})), (V{all[0]}));
  EXPECT_EQ(ids(list({.since = kNow + 1h})), V{});
  auto first = list({.since = kNow + 1min, .until = kNow + 4min, .limit = 2});
  EXPECT_EQ(ids(first), (V{all[3], all[2]}));
  EXPECT_EQ(
      ids(list(
          {.since = kNow + 1min, .until = kNow + 4min, .limit = 2, .cursor = first.next_cursor})),
      (V{all[1]}));
}

TEST_P(ReadTest, OldestReadyIsTheLongestWaitingOfTheJobsNextInLineAtEachPriority) {
  auto a_old = job("a");
  a_old.run_at = kNow - 5min;
  auto a_new = job("a");
  auto b_later = job("b");
  b_later.run_at = kNow + 1h;  // scheduled, not waiting
  auto c = job("c");
  auto d_high = job("d", 5);
  d_high.run_at = kNow - 1min;
  auto d_low = job("d", 0);  // behind d_high in line, but waiting longer
  d_low.run_at = kNow - 3min;
  auto d_low_behind = job("d", 0);
  d_low_behind.run_at = kNow - 4min;  // behind d_low at its level: not read
  ASSERT_TRUE(insert_many({a_old, a_new, b_later, c, d_high, d_low, d_low_behind}));
  auto oldest = call<std::map<std::string, core::TimePoint>>(
      [&](auto done) { store().queue_oldest_ready(done); });
  ASSERT_TRUE(oldest);
  EXPECT_EQ(*oldest, (std::map<std::string, core::TimePoint>{
                         {"a", kNow - 5min}, {"c", kNow}, {"d", kNow - 3min}}));
  claim({"c"});  // running: no longer waiting
  oldest = call<std::map<std::string, core::TimePoint>>(
      [&](auto done) { store().queue_oldest_ready(done); });
  ASSERT_TRUE(oldest);
  EXPECT_EQ(oldest->count("c"), 0u);
}

TEST_P(ReadTest, ASearchReadsAtMostItsBudgetForAPageAndGoesOnFromWhereItStopped) {
  std::vector<core::NewJob> jobs;  // oldest first; 1, 5 and 6 match
  for (int i = 0; i < 10; ++i) {
    jobs.push_back(job("q"));
    const bool match = i == 1 || i == 5 || i == 6;
    jobs.back().payload =
        core::RawJson::trusted(match ? R"({"note":"needle"})" : R"({"note":"hay"})");
  }
  const auto all = insert_ids(jobs);
  ASSERT_EQ(all.size(), 10u);
  auto search = [&](std::string cursor) {
    auto r = call<JobPage>([&](auto done) {
      store().job_list(
          {.text = "needle", .limit = 2, .cursor = std::move(cursor), .search_budget = 3}, done);
    });
    EXPECT_TRUE(r);
    return r ? *r : JobPage{};
  };
  using V = std::vector<std::string>;
  auto first = search("");  // reads 9, 8, 7
  EXPECT_EQ(ids(first), V{});
  EXPECT_TRUE(first.partial);
  EXPECT_EQ(first.next_cursor, all[7]);
  auto second = search(first.next_cursor);  // reads 6, 5, 4: a full page
  EXPECT_EQ(ids(second), (V{all[6], all[5]}));
  EXPECT_FALSE(second.partial);
  EXPECT_EQ(second.next_cursor, all[5]);
  auto third = search(second.next_cursor);  // reads 4, 3, 2
  EXPECT_EQ(ids(third), V{});
  EXPECT_TRUE(third.partial);
  EXPECT_EQ(third.next_cursor, all[2]);
  auto last = search(third.next_cursor);  // reads 1, 0: the end
  EXPECT_EQ(ids(last), V{all[1]});
  EXPECT_FALSE(last.partial);
  EXPECT_TRUE(last.next_cursor.empty());
  // Without a tag or text filter the budget does not apply.
  auto plain =
      call<JobPage>([&](auto done) { store().job_list({.limit = 50, .search_budget = 1}, done); });
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->jobs.size(), 10u);
  EXPECT_FALSE(plain->partial);
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
  j.type = "just-submitted";
  store().job_insert_many({.jobs = {j}, .now = kNow}, [](auto) {});
  auto r = call<JobPage>([&](auto done) { store().job_list({}, done); });
  ASSERT_TRUE(r);
  ASSERT_EQ(r->jobs.size(), 1u);
  EXPECT_EQ(r->jobs[0].type, "just-submitted");
}

}  // namespace
TEST_P(ReadTest, AListPageStopsOnceItsClientJsonPassesTheByteCap) {
  for (int i = 0; i < 5; ++i) {
    auto j = job("big");
    j.payload = core::RawJson::trusted(R"(")" + std::string(1000, 'x') + R"(")");
    insert(j);
  }
  auto page = call<JobPage>([&](auto done) {
    store().job_list({.queue = "big", .limit = 50, .client_json = true, .max_bytes = 2500}, done);
  });
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->jobs.size(), 3u);  // stops once 2500 bytes are passed
  EXPECT_TRUE(page->partial);
  EXPECT_EQ(page->next_cursor, page->jobs.back().id);
  EXPECT_EQ(page->jobs[0].payload.stored().size(), 1002u);
  auto rest = call<JobPage>([&](auto done) {
    store().job_list({.queue = "big",
                      .limit = 50,
                      .cursor = page->next_cursor,
                      .client_json = true,
                      .max_bytes = 2500},
                     done);
  });
  ASSERT_TRUE(rest);
  EXPECT_EQ(rest->jobs.size(), 2u);
  EXPECT_FALSE(rest->partial);
  // Without client JSON nothing counts against the cap.
  auto bare = call<JobPage>(
      [&](auto done) { store().job_list({.queue = "big", .limit = 50, .max_bytes = 10}, done); });
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->jobs.size(), 5u);
  EXPECT_TRUE(bare->jobs[0].payload.empty());
}

}  // namespace errand::store::conformance
