// Conformance: per-key flow control (store/common/keys.hpp) — a job's key
// read back and listed by; each key's counts through every transition;
// key_concurrency and a key's own limits, exact under concurrent claimers;
// per-key rate limits with a fixed `now`; pause; fair turns across keys
// (keyless jobs taking turns as one key), weights and priorities; the key
// verbs; the counts kept across a reopen.
#include "store/conformance/harness.hpp"

#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <thread>

namespace errand::store::conformance {
namespace {

using KeyCounts = std::pair<std::int64_t, std::int64_t>;  // queued, running

bool runnable_in(const std::vector<ChangeNotice>& notices, const std::string& queue) {
  return std::any_of(notices.begin(), notices.end(), [&](const ChangeNotice& n) {
    const auto& q = n.runnable_queues;
    return std::find(q.begin(), q.end(), queue) != q.end();
  });
}

TEST_P(KeysTest, AJobKeepsItsKeyAndListsFilterByIt) {
  const auto a = insert(keyed("acme"));
  insert(keyed("globex"));
  insert(job("q"));
  auto read = get(a);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->key, "acme");
  auto page = call<JobPage>([&](auto done) { store().job_list({.key = "acme"}, done); });
  ASSERT_TRUE(page);
  ASSERT_EQ(page->jobs.size(), 1u);
  EXPECT_EQ(page->jobs[0].id, a);
  EXPECT_EQ(page->jobs[0].key, "acme");
  auto claimed = claim({"q"}, 1);
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].key, "acme");
}

TEST_P(KeysTest, KeyCountsFollowEveryTransition) {
  insert(keyed("k"));
  insert(keyed("k"));
  insert(keyed("k"), kNow);
  auto later = keyed("k");
  later.run_at = kNow + 1min;
  insert(later);
  EXPECT_EQ(key_counts("k"), KeyCounts(3, 0));
  auto taken = claim({"q"}, 2);
  ASSERT_EQ(taken.size(), 2u);
  EXPECT_EQ(key_counts("k"), KeyCounts(1, 2));
  ASSERT_TRUE(complete(taken[0]));
  ASSERT_TRUE(fail(taken[1], {.retry = false}));
  EXPECT_EQ(key_counts("k"), KeyCounts(1, 0));
  EXPECT_EQ(promote_due(kNow + 1min), 1);
  EXPECT_EQ(key_counts("k"), KeyCounts(2, 0));
  ASSERT_TRUE(retry(taken[1].id));
  EXPECT_EQ(key_counts("k"), KeyCounts(3, 0));
  auto more = claim({"q"}, 3, kNow + 1min);
  ASSERT_EQ(more.size(), 3u);
  EXPECT_EQ(expire_leases(kNow + 1h), 3);  // back to waiting (failed, to retry)
  EXPECT_EQ(key_counts("k"), KeyCounts(0, 0));
  EXPECT_EQ(promote_due(kNow + 2h), 3);
  EXPECT_EQ(key_counts("k"), KeyCounts(3, 0));
  const auto first = claim({"q"}, 1, kNow + 2h);
  ASSERT_EQ(first.size(), 1u);
  ASSERT_TRUE(cancel(first[0].id));  // running: asked to stop, still running
  EXPECT_EQ(key_counts("k"), KeyCounts(2, 1));
  auto waiting = claim({"q"}, 2, kNow + 2h);
  ASSERT_EQ(waiting.size(), 2u);
  ASSERT_TRUE(call<Unit>([&](auto done) { store().job_delete({.id = waiting[0].id}, done); }));
  ASSERT_TRUE(complete(waiting[1], kNow + 2h));
  ASSERT_TRUE(fail(first[0]));  // ends cancelled
  EXPECT_EQ(key_counts("k"), KeyCounts(0, 0));
  // A key with nothing queued or running and no settings is gone.
  auto gone = get_key("k");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, core::errc::not_found);
  EXPECT_EQ(gone.error().field, "key");
}

TEST_P(KeysTest, KeyConcurrencyCapsEachKeyAndSkipsToOthers) {
  ASSERT_TRUE(configure("q", {.key_concurrency = 1}));
  for (int i = 0; i < 3; ++i) insert(keyed("a"));
  for (int i = 0; i < 3; ++i) insert(keyed("b"));
  insert(job("q"));  // keyless: bounded by the queue's limits only
  insert(job("q"));
  auto taken = claim({"q"}, 10);
  auto keys = keys_of(taken);
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"", "", "a", "b"}));
  EXPECT_TRUE(claim({"q"}, 10).empty());
  const auto a = std::find_if(taken.begin(), taken.end(), [](auto& j) { return j.key == "a"; });
  clear_notices();
  ASSERT_TRUE(complete(*a));
  EXPECT_TRUE(runnable_in(notices(), "q"));  // a slot of key "a" freed, with "a" queued
  auto next = claim({"q"}, 10);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].key, "a");
}

TEST_P(KeysTest, AKeysOwnConcurrencyReplacesTheQueues) {
  ASSERT_TRUE(configure("q", {.key_concurrency = 1}));
  auto put = put_key("big", {.concurrency = 3});
  ASSERT_TRUE(put) << put.error().message;
  EXPECT_TRUE(put->overridden);
  EXPECT_EQ(put->limits.concurrency, 3);
  for (int i = 0; i < 5; ++i) insert(keyed("big"));
  for (int i = 0; i < 5; ++i) insert(keyed("small"));
  auto taken = claim({"q"}, 10);
  auto keys = keys_of(taken);
  EXPECT_EQ(std::count(keys.begin(), keys.end(), "big"), 3);
  EXPECT_EQ(std::count(keys.begin(), keys.end(), "small"), 1);
  auto removed = delete_key("big");
  ASSERT_TRUE(removed) << removed.error().message;
  EXPECT_FALSE(removed->overridden);
  auto again = delete_key("big");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, core::errc::not_found);
}

TEST_P(KeysTest, KeyConcurrencyIsNeverExceededUnderConcurrentClaimers) {
  constexpr int kKeys = 6;
  constexpr int kPerKey = 8;
  ASSERT_TRUE(configure("q", {.key_concurrency = 1}));
  std::vector<core::NewJob> jobs;
  for (int i = 0; i < kPerKey; ++i) {
    for (int k = 0; k < kKeys; ++k) jobs.push_back(keyed("k" + std::to_string(k)));
  }
  ASSERT_TRUE(insert_many(std::move(jobs)));
  std::mutex m;
  std::map<std::string, int> running;
  std::atomic<int> done{0}, over{0};
  auto worker = [&] {
    while (done.load() < kKeys * kPerKey) {
      auto got = call<std::vector<core::Job>>([&](auto cb) {
        store().job_claim({.queues = {"q"}, .worker = "w", .max = 3, .now = kNow}, cb);
      });
      if (!got) return;
      {
        std::lock_guard lock(m);
        for (const auto& j : *got) {
          if (++running[j.key] > 1) ++over;
        }
      }
      for (const auto& j : *got) {
        {
          std::lock_guard lock(m);
          --running[j.key];  // before the complete commits: never above the store's count
        }
        if (complete(j)) ++done;
      }
      if (got->empty()) std::this_thread::yield();
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  EXPECT_EQ(done.load(), kKeys * kPerKey);
  EXPECT_EQ(over.load(), 0);
}

TEST_P(KeysTest, KeyRateLimitSpendsEachKeysBudgetThenRefills) {
  ASSERT_TRUE(
      configure("q", {.key_rate_limit = core::RateLimit{.limit = 2, .per = 1min, .burst = 3}}));
  for (int i = 0; i < 5; ++i) insert(keyed("a"));
  for (int i = 0; i < 5; ++i) insert(keyed("b"));
  auto taken = claim({"q"}, 10);  // each key's full bucket: its burst of 3
  auto keys = keys_of(taken);
  EXPECT_EQ(std::count(keys.begin(), keys.end(), "a"), 3);
  EXPECT_EQ(std::count(keys.begin(), keys.end(), "b"), 3);
  clear_notices();
  EXPECT_TRUE(claim({"q"}, 10).empty());
  auto seen = notices();
  ASSERT_FALSE(seen.empty());
  ASSERT_TRUE(seen.back().deadline);
  EXPECT_EQ(*seen.back().deadline, kNow + 30s);  // 2 a minute: one token per 30s
  auto next = call<std::optional<core::TimePoint>>([&](auto d) { store().next_deadline(d); });
  ASSERT_TRUE(next && *next);
  EXPECT_LE(**next, kNow + 30s);
  auto info = get_key("a");
  ASSERT_TRUE(info);
  ASSERT_TRUE(info->throttled_until);
  EXPECT_EQ(*info->throttled_until, kNow + 30s);

  clear_notices();
  promote_due(kNow + 29s);
  EXPECT_FALSE(runnable_in(notices(), "q"));
  EXPECT_TRUE(claim({"q"}, 10, kNow + 29s).empty());
  promote_due(kNow + 30s);
  EXPECT_TRUE(runnable_in(notices(), "q"));
  EXPECT_EQ(claim({"q"}, 10, kNow + 30s).size(), 2u);  // one token each
  EXPECT_TRUE(claim({"q"}, 10, kNow + 30s).empty());
}

TEST_P(KeysTest, APausedKeyWaitsAndResumingWakesClaims) {
  for (int i = 0; i < 2; ++i) insert(keyed("a"));
  insert(keyed("b"));
  ASSERT_TRUE(put_key("a", {.paused = true}));
  auto taken = claim({"q"}, 10);
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0].key, "b");
  clear_notices();
  ASSERT_TRUE(put_key("a", {}));
  EXPECT_TRUE(runnable_in(notices(), "q"));
  EXPECT_EQ(claim({"q"}, 10).size(), 2u);
}

TEST_P(KeysTest, KeysTakeTurnsSoALateKeyDoesNotWaitBehindABigOne) {
  std::vector<core::NewJob> big;
  for (int i = 0; i < 200; ++i) big.push_back(keyed("big"));
  ASSERT_TRUE(insert_many(std::move(big)));
  for (const auto& j : claim({"q"}, 20)) ASSERT_TRUE(complete(j));
  for (int k = 0; k < 5; ++k) {
    for (int i = 0; i < 2; ++i) insert(keyed("late" + std::to_string(k)));
  }
  // Ten late jobs of five keys, each turn one job per key: they all start
  // within the next 15 claims, while "big" gets its turns too.
  std::vector<std::string> order;
  for (int i = 0; i < 15; ++i) {
    auto one = claim({"q"}, 1);
    ASSERT_EQ(one.size(), 1u);
    order.push_back(one[0].key);
  }
  EXPECT_EQ(std::count_if(order.begin(), order.end(),
                          [](const std::string& k) { return k.rfind("late", 0) == 0; }),
            10);
  EXPECT_GE(std::count(order.begin(), order.end(), "big"), 2);
  EXPECT_LE(std::count(order.begin(), order.end(), "big"), 5);
}

TEST_P(KeysTest, KeylessJobsTakeTurnsAsOneKey) {
  for (int i = 0; i < 6; ++i) insert(job("q"));
  for (int i = 0; i < 6; ++i) insert(keyed("a"));
  auto taken = claim({"q"}, 6);
  auto keys = keys_of(taken);
  EXPECT_EQ(std::count(keys.begin(), keys.end(), ""), 3);
  EXPECT_EQ(std::count(keys.begin(), keys.end(), "a"), 3);
}

TEST_P(KeysTest, AKeysJobsStayInOrderAndPriorityComesFirst) {
  const auto a1 = insert(keyed("a"));
  const auto a2 = insert(keyed("a"));
  const auto b_low = insert(keyed("b"));
  const auto b_high = insert(keyed("b", "q", 5));
  auto first = claim({"q"}, 1);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].id, b_high);  // the highest priority, whatever the turns
  std::vector<std::string> rest;
  for (int i = 0; i < 3; ++i) {
    auto one = claim({"q"}, 1);
    ASSERT_EQ(one.size(), 1u);
    rest.push_back(one[0].id);
  }
  EXPECT_LT(std::find(rest.begin(), rest.end(), a1), std::find(rest.begin(), rest.end(), a2));
  EXPECT_NE(std::find(rest.begin(), rest.end(), b_low), rest.end());
}

TEST_P(KeysTest, AWeightGivesAKeyMoreTurns) {
  ASSERT_TRUE(put_key("heavy", {.weight = 3}));
  for (int i = 0; i < 12; ++i) insert(keyed("heavy"));
  for (int i = 0; i < 12; ++i) insert(keyed("light"));
  auto taken = claim({"q"}, 8);
  auto keys = keys_of(taken);
  EXPECT_EQ(std::count(keys.begin(), keys.end(), "heavy"), 6);
  EXPECT_EQ(std::count(keys.begin(), keys.end(), "light"), 2);
}

TEST_P(KeysTest, ListPagesByNameAndShowsTheBusiest) {
  for (int i = 0; i < 3; ++i) insert(keyed("c"));
  insert(keyed("a"));
  insert(keyed("b"));
  insert(keyed("b"));
  ASSERT_TRUE(put_key("z", {.concurrency = 2}));  // settings only
  auto first = list_keys({.queue = "q", .limit = 2});
  ASSERT_EQ(first.keys.size(), 2u);
  EXPECT_EQ(first.keys[0].key, "a");
  EXPECT_EQ(first.keys[1].key, "b");
  EXPECT_EQ(first.keys[1].queued, 2);
  EXPECT_EQ(first.next_cursor, "b");
  auto second = list_keys({.queue = "q", .limit = 2, .cursor = first.next_cursor});
  ASSERT_EQ(second.keys.size(), 2u);
  EXPECT_EQ(second.keys[0].key, "c");
  EXPECT_EQ(second.keys[1].key, "z");
  EXPECT_TRUE(second.keys[1].overridden);
  EXPECT_TRUE(second.next_cursor.empty());
  auto busiest = list_keys({.queue = "q", .limit = 2, .busiest = true});
  ASSERT_EQ(busiest.keys.size(), 2u);
  EXPECT_EQ(busiest.keys[0].key, "c");
  EXPECT_EQ(busiest.keys[1].key, "b");
}

TEST_P(KeysTest, KeysAndSettingsOutliveAReopen) {
  ASSERT_TRUE(configure(
      "q", {.key_concurrency = 2, .key_rate_limit = core::RateLimit{.limit = 5, .per = 1min}}));
  ASSERT_TRUE(put_key("a", {.concurrency = 1, .weight = 2}));
  insert(keyed("a"));
  insert(keyed("a"));
  ASSERT_EQ(claim({"q"}, 5).size(), 1u);
  reopen();
  auto info = get_key("a");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->queued, 1);
  EXPECT_EQ(info->running, 1);
  EXPECT_EQ(info->limits.concurrency, 1);
  EXPECT_EQ(info->limits.weight, 2);
  EXPECT_EQ(queue("q").config.key_concurrency, 2);
  EXPECT_EQ(queue("q").config.key_rate_limit, (core::RateLimit{.limit = 5, .per = 1min}));
  EXPECT_TRUE(claim({"q"}, 5).empty());
}

TEST_P(KeysTest, AFailedBatchLeavesNoKeyCounts) {
  auto bad = keyed("a");
  bad.idempotency_key = "x";
  insert(bad);
  auto conflicting = keyed("b");
  conflicting.idempotency_key = "x";
  conflicting.type = "other";
  auto result = insert_many({keyed("b"), conflicting});
  ASSERT_FALSE(result);
  EXPECT_EQ(key_counts("b"), KeyCounts(0, 0));
  EXPECT_EQ(key_counts("a"), KeyCounts(1, 0));
}

}  // namespace

}  // namespace errand::store::conformance

namespace errand::store::conformance {
namespace {

core::NewJob with_payload(core::NewJob j, std::string json) {
  j.payload = core::RawJson::trusted(std::move(json));
  return j;
}

TEST_P(KeysTest, AUniqueKeyAnswersTheJobThatHoldsIt) {
  auto first = job("q");
  first.unique = core::UniqueSpec{.key = "sync-42"};
  auto made = insert_many({first});
  ASSERT_TRUE(made);
  EXPECT_FALSE((*made)[0].duplicate);
  auto again = insert_many({first, first});  // twice more, in one batch too
  ASSERT_TRUE(again);
  for (const auto& o : *again) {
    EXPECT_TRUE(o.duplicate);
    EXPECT_EQ(o.id, (*made)[0].id);
    EXPECT_EQ(o.state, JobState::queued);
  }
  EXPECT_EQ(counts("q"), counts_of({{JobState::queued, 1}}));
  auto other_queue = first;
  other_queue.queue = "other";
  EXPECT_FALSE(insert_many({other_queue})->front().duplicate);  // unique keys are per queue
  auto running = claim({"q"});
  ASSERT_EQ(running.size(), 1u);
  EXPECT_TRUE(insert_many({first})->front().duplicate);  // running is a default state
  ASSERT_TRUE(complete(running[0]));
  auto after = insert_many({first});  // succeeded is not
  ASSERT_TRUE(after);
  EXPECT_FALSE(after->front().duplicate);
  EXPECT_NE(after->front().id, (*made)[0].id);
}

TEST_P(KeysTest, AUniqueKeyCountsWithinItsWindowAndStates) {
  auto j = job("q");
  j.unique = core::UniqueSpec{
      .key = "daily", .within = 10min, .states = 1u << static_cast<unsigned>(JobState::succeeded)};
  const auto first = insert_many({j})->front().id;
  EXPECT_FALSE(insert_many({j})->front().duplicate);  // queued: not a listed state
  auto taken = claim({"q"}, 5);
  for (const auto& t : taken) ASSERT_TRUE(complete(t));
  auto within = insert_many({j}, kNow + 5min);
  ASSERT_TRUE(within);
  EXPECT_TRUE(within->front().duplicate);
  EXPECT_EQ(within->front().state, JobState::succeeded);
  auto later = insert_many({j}, kNow + 11min);
  ASSERT_TRUE(later);
  EXPECT_FALSE(later->front().duplicate);
  EXPECT_NE(later->front().id, first);
}

TEST_P(KeysTest, UniqueReplaceUpdatesAWaitingJobButNeverARunningOne) {
  auto j = with_payload(keyed("acme"), R"({"v":1})");
  j.unique = core::UniqueSpec{.key = "report", .replace = true};
  j.run_at = kNow + 1h;
  const auto id = insert_many({j})->front().id;
  EXPECT_EQ(counts("q"), counts_of({{JobState::scheduled, 1}}));
  auto newer = with_payload(keyed("acme"), R"({"v":2})");
  newer.unique = j.unique;
  newer.run_at = kNow;
  newer.priority = 7;
  auto replaced = insert_many({newer});
  ASSERT_TRUE(replaced) << replaced.error().message;
  EXPECT_TRUE(replaced->front().duplicate);
  EXPECT_TRUE(replaced->front().replaced);
  EXPECT_EQ(replaced->front().id, id);
  EXPECT_EQ(replaced->front().state, JobState::queued);
  auto read = get(id);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->payload.text(), R"({"v":2})");
  EXPECT_EQ(read->priority, 7);
  EXPECT_EQ(read->run_at, kNow);
  EXPECT_EQ(counts("q"), counts_of({{JobState::queued, 1}}));
  EXPECT_EQ(key_counts("acme"), KeyCounts(1, 0));
  auto running = claim({"q"});
  ASSERT_EQ(running.size(), 1u);
  auto late = with_payload(keyed("acme"), R"({"v":3})");
  late.unique = j.unique;
  auto answered = insert_many({late});
  ASSERT_TRUE(answered);
  EXPECT_TRUE(answered->front().duplicate);
  EXPECT_FALSE(answered->front().replaced);
  EXPECT_EQ(answered->front().state, JobState::running);
  EXPECT_EQ(get(id)->payload.text(), R"({"v":2})");
}

TEST_P(KeysTest, DebounceCollapsesEnqueuesIntoOneJobThatRunsAfterTheLast) {
  auto d = [](std::string payload) {
    core::NewJob j;
    j.queue = "q";
    j.payload = core::RawJson::trusted(std::move(payload));
    j.debounce = core::DebounceSpec{.key = "user-7", .period = 5s, .max_wait = 8s};
    return j;
  };
  auto first = insert_many({d("1")});
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->front().debounced);
  EXPECT_EQ(first->front().state, JobState::scheduled);
  const auto id = first->front().id;
  EXPECT_EQ(get(id)->run_at, kNow + 5s);
  auto second = insert_many({d("2")}, kNow + 2s);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->front().id, id);
  EXPECT_TRUE(second->front().debounced);
  EXPECT_EQ(get(id)->run_at, kNow + 7s);
  EXPECT_EQ(get(id)->payload.text(), "2");
  ASSERT_TRUE(insert_many({d("3")}, kNow + 4s));  // 4s + 5s is past the 8s max_wait
  EXPECT_EQ(get(id)->run_at, kNow + 8s);
  EXPECT_EQ(get(id)->payload.text(), "3");
  EXPECT_EQ(counts("q"), counts_of({{JobState::scheduled, 1}}));
  EXPECT_EQ(promote_due(kNow + 8s), 1);
  auto next = insert_many({d("4")}, kNow + 8s);  // the first one no longer waits
  ASSERT_TRUE(next);
  EXPECT_NE(next->front().id, id);
  EXPECT_EQ(counts("q"), counts_of({{JobState::scheduled, 1}, {JobState::queued, 1}}));
}

}  // namespace
}  // namespace errand::store::conformance
