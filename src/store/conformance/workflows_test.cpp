// Conformance: work that spans jobs and time — dependencies (`after`): a
// child blocked until its parents succeed, cancelled (down the graph) when
// one fails it, run anyway with after_failure_run, parents and results on
// claims, refs to earlier items of one insert, unknown parents refused with
// nothing written, cancel and delete of a parent; and continuations of pull
// jobs: the state a claim carries, waits for a signal (received once,
// refused twice, timed out with signal null), counts of every state.
#include "store/conformance/harness.hpp"

#include <set>

namespace errand::store::conformance {
namespace {

core::NewJob child_of(core::NewJob j, std::vector<std::string> parents, bool run = false) {
  j.after = std::move(parents);
  j.after_failure_run = run;
  return j;
}

core::Result<core::Job> requeue(Store& store, const core::Job& job, JobRequeueParams p) {
  p.id = job.id;
  p.lease_id = job.lease_id;
  return call<core::Job>([&](auto done) { store.job_requeue(std::move(p), done); });
}

core::Result<core::Job> signal(Store& store, const std::string& id, const std::string& nonce,
                               std::string body, core::TimePoint now = kNow) {
  auto raw = core::RawJson::parse(body, "body");
  EXPECT_TRUE(raw);
  return call<core::Job>([&](auto done) {
    store.job_signal({.id = id, .nonce = nonce, .body = std::move(*raw), .now = now}, done);
  });
}

TEST_P(WorkflowsTest, ChildWaitsBlockedUntilEveryParentSucceeded) {
  const auto a = insert(job("steps"));
  const auto b = insert(job("steps"));
  const auto c = insert(child_of(job("last"), {a, b}));
  auto read = get(c);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->state, JobState::blocked);
  ASSERT_EQ(read->parents.size(), 2u);
  EXPECT_EQ(read->parents[0].id, a);
  EXPECT_EQ(read->parents[1].id, b);
  EXPECT_EQ(counts("last"), counts_of({{JobState::blocked, 1}}));
  EXPECT_TRUE(claim({"last"}).empty());
  auto pa = get(a);
  ASSERT_TRUE(pa);
  EXPECT_EQ(pa->children, std::vector<std::string>{c});

  auto first = claim({"steps"}, 2);
  ASSERT_EQ(first.size(), 2u);
  auto done = first[0];
  ASSERT_TRUE(call<core::Job>([&](auto cb) {
    store().job_complete({.id = done.id,
                          .lease_id = done.lease_id,
                          .result = *core::RawJson::parse(R"({"n":1})", "r"),
                          .now = kNow},
                         cb);
  }));
  EXPECT_EQ(get(c)->state, JobState::blocked);  // one parent left
  clear_notices();
  ASSERT_TRUE(complete(first[1]));
  EXPECT_EQ(get(c)->state, JobState::queued);
  EXPECT_EQ(counts("last"), counts_of({{JobState::queued, 1}}));
  // The notice follows the batch's callbacks: each notices() call waits one round trip more.
  bool runnable = false;
  for (int round = 0; round < 50 && !runnable; ++round) {
    for (const auto& n : notices()) {
      for (const auto& q : n.runnable_queues) runnable = runnable || q == "last";
    }
  }
  EXPECT_TRUE(runnable);

  auto taken = claim({"last"});
  ASSERT_EQ(taken.size(), 1u);
  ASSERT_EQ(taken[0].parents.size(), 2u);
  EXPECT_EQ(taken[0].parents[0].state, JobState::succeeded);
  EXPECT_EQ(taken[0].parents[0].result.stored(), R"({"n":1})");
  EXPECT_EQ(taken[0].parents[1].result.stored(), R"({"ok":true})");
}

TEST_P(WorkflowsTest, ADeadParentCancelsItsDescendantsUnlessTheyRunAfterFailures) {
  const auto p = insert(job("a"));
  const auto child = insert(child_of(job("b"), {p}));
  const auto grandchild = insert(child_of(job("c"), {child}));
  const auto anyway = insert(child_of(job("d"), {p}, /*run=*/true));
  auto taken = claim({"a"});
  ASSERT_EQ(taken.size(), 1u);
  ASSERT_TRUE(fail(taken[0], {.error = "boom", .retry = false}));
  auto c = get(child);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->state, JobState::cancelled);
  ASSERT_EQ(c->errors.size(), 1u);
  EXPECT_EQ(c->errors[0].message, "parent " + p + " ended dead");
  EXPECT_TRUE(c->finished_at);
  auto g = get(grandchild);
  EXPECT_EQ(g->state, JobState::cancelled);
  ASSERT_EQ(g->errors.size(), 1u);
  EXPECT_EQ(g->errors[0].message, "parent " + child + " ended cancelled");
  EXPECT_EQ(get(anyway)->state, JobState::queued);
  EXPECT_EQ(counts("b"), counts_of({{JobState::cancelled, 1}}));
  EXPECT_EQ(counts("c"), counts_of({{JobState::cancelled, 1}}));
  auto d = claim({"d"});
  ASSERT_EQ(d.size(), 1u);
  ASSERT_EQ(d[0].parents.size(), 1u);
  EXPECT_EQ(d[0].parents[0].state, JobState::dead);
  EXPECT_TRUE(d[0].after_failure_run);
}

TEST_P(WorkflowsTest, AParentThatFailsAndRetriesKeepsItsChildWaiting) {
  const auto p = insert(job("a"));
  const auto child = insert(child_of(job("b"), {p}));
  auto taken = claim({"a"});
  ASSERT_TRUE(fail(taken[0], {.error = "once", .retry = true}));
  EXPECT_EQ(get(child)->state, JobState::blocked);  // failed is not an end
  EXPECT_EQ(promote_due(kNow + 24h), 1);
  auto again = claim({"a"}, 1, kNow + 24h);
  ASSERT_EQ(again.size(), 1u);
  ASSERT_TRUE(complete(again[0], kNow + 24h));
  EXPECT_EQ(get(child)->state, JobState::queued);
}

TEST_P(WorkflowsTest, ParentsAlreadyEndedDecideAtInsert) {
  auto ok = running(job("a"));
  ASSERT_TRUE(complete(ok));
  auto bad = running(job("a"));
  ASSERT_TRUE(fail(bad, {.error = "x", .retry = false}));
  auto later = child_of(job("b"), {ok.id});
  later.run_at = kNow + 1h;
  EXPECT_EQ(get(insert(later))->state, JobState::scheduled);
  EXPECT_EQ(get(insert(child_of(job("b"), {ok.id})))->state, JobState::queued);
  const auto cancelled = insert(child_of(job("b"), {ok.id, bad.id}));
  auto c = get(cancelled);
  EXPECT_EQ(c->state, JobState::cancelled);
  ASSERT_EQ(c->errors.size(), 1u);
  EXPECT_EQ(c->errors[0].message, "parent " + bad.id + " ended dead");
  EXPECT_EQ(get(insert(child_of(job("b"), {bad.id}, true)))->state, JobState::queued);
}

TEST_P(WorkflowsTest, ItemsOfOneInsertWaitForEarlierItems) {
  core::NewJob resize = job("resize");
  core::NewJob zip = job("zip");
  zip.after_items = {0, 1};
  core::NewJob mail = job("mail");
  mail.after_items = {2};
  auto out = insert_many({resize, resize, zip, mail});
  ASSERT_TRUE(out) << out.error().message;
  ASSERT_EQ(out->size(), 4u);
  EXPECT_EQ((*out)[0].state, JobState::queued);
  EXPECT_EQ((*out)[2].state, JobState::blocked);
  EXPECT_EQ((*out)[3].state, JobState::blocked);
  for (const auto& j : claim({"resize"}, 2)) ASSERT_TRUE(complete(j));
  auto z = claim({"zip"});
  ASSERT_EQ(z.size(), 1u);
  EXPECT_EQ(z[0].parents.size(), 2u);
  EXPECT_EQ(get((*out)[3].id)->state, JobState::blocked);
  ASSERT_TRUE(complete(z[0]));
  EXPECT_EQ(get((*out)[3].id)->state, JobState::queued);
}

TEST_P(WorkflowsTest, AnUnknownParentIsRefusedAndNothingIsWritten) {
  const auto real = insert(job("a"));
  auto orphan = child_of(job("b"), {real, "0000000000000"});
  auto out = insert_many({job("b"), orphan});
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, core::errc::invalid_argument);
  EXPECT_EQ(out.error().field, "after[1]");
  EXPECT_NE(out.error().message.find("0000000000000"), std::string::npos);
  EXPECT_EQ(counts("a"), counts_of({{JobState::queued, 1}}));
  for (const auto& q : queues()) EXPECT_NE(q.name, "b");
  EXPECT_TRUE(get(real)->children.empty());
}

TEST_P(WorkflowsTest, CancellingOrDeletingAParentCancelsItsChildren) {
  const auto p = insert(job("a"));
  const auto child = insert(child_of(job("b"), {p}));
  ASSERT_TRUE(cancel(p));
  EXPECT_EQ(get(child)->state, JobState::cancelled);
  const auto q = insert(job("a"));
  const auto child2 = insert(child_of(job("b"), {q}));
  ASSERT_TRUE(call<Unit>([&](auto done) { store().job_delete({.id = q, .now = kNow}, done); }));
  auto c = get(child2);
  EXPECT_EQ(c->state, JobState::cancelled);
  ASSERT_EQ(c->errors.size(), 1u);
  EXPECT_EQ(c->errors[0].message, "parent " + q + " was deleted before it ended");
  // A blocked child may itself be cancelled; its parent's end then changes nothing.
  const auto r = insert(job("a"));
  const auto child3 = insert(child_of(job("b"), {r}));
  ASSERT_TRUE(cancel(child3));
  auto t = claim({"a"});
  ASSERT_TRUE(complete(t[0]));
  EXPECT_EQ(get(child3)->state, JobState::cancelled);
  EXPECT_EQ(counts("b"), counts_of({{JobState::cancelled, 3}}));
}

TEST_P(WorkflowsTest, ALeaseThatExpiresForGoodFailsTheChildren) {
  auto j = job("a");
  j.max_attempts = 1;
  const auto p = insert(j);
  const auto child = insert(child_of(job("b"), {p}));
  ASSERT_EQ(claim({"a"}).size(), 1u);
  EXPECT_EQ(expire_leases(kNow + 1h), 1);
  EXPECT_EQ(get(child)->state, JobState::cancelled);
}

TEST_P(WorkflowsTest, APullContinuationHandsItsStateToTheNextClaim) {
  auto j = running(job("w"));
  auto out =
      requeue(store(), j,
              {.run_at = kNow + 2s, .continuation = true, .state = R"({"page":2})", .now = kNow});
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->state, JobState::scheduled);
  EXPECT_EQ(counts("w"), counts_of({{JobState::scheduled, 1}}));
  EXPECT_TRUE(claim({"w"}, 1, kNow + 1s).empty());
  EXPECT_EQ(promote_due(kNow + 2s), 1);
  auto again = claim({"w"}, 1, kNow + 2s);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].attempt, 1);  // a continuation is not an attempt
  EXPECT_TRUE(again[0].continued);
  EXPECT_EQ(again[0].push_state, R"({"page":2})");
  EXPECT_EQ(again[0].push_continuations, 1);
  EXPECT_EQ(again[0].signal_status, core::SignalStatus::none);
}

TEST_P(WorkflowsTest, ASignalResumesAWaitingJobOnce) {
  auto j = running(job("w"));
  auto out = requeue(store(), j,
                     {.run_at = kNow + 7 * 24h,
                      .continuation = true,
                      .state = R"("charged")",
                      .signal_nonce = "n1",
                      .now = kNow});
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->state, JobState::waiting);
  EXPECT_EQ(counts("w"), counts_of({{JobState::waiting, 1}}));
  auto read = get(j.id);
  EXPECT_EQ(read->state, JobState::waiting);
  EXPECT_EQ(read->signal_status, core::SignalStatus::waiting);
  EXPECT_EQ(read->signal_nonce, "n1");
  EXPECT_TRUE(claim({"w"}, 1, kNow + 1h).empty());

  auto wrong = signal(store(), j.id, "forged", "{}", kNow + 1h);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, core::errc::not_found);
  auto got = signal(store(), j.id, "n1", R"({"paid":true})", kNow + 1h);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(got->state, JobState::queued);
  auto twice = signal(store(), j.id, "n1", "{}", kNow + 1h);
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, core::errc::conflict);
  auto next = claim({"w"}, 1, kNow + 1h);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].push_state, R"("charged")");
  EXPECT_EQ(next[0].signal_status, core::SignalStatus::received);
  EXPECT_EQ(next[0].signal.stored(), R"({"paid":true})");
  EXPECT_EQ(counts("w"), counts_of({{JobState::running, 1}}));
}

TEST_P(WorkflowsTest, AWaitThatTimesOutResumesWithoutASignal) {
  auto j = running(job("w"));
  ASSERT_TRUE(requeue(store(), j,
                      {.run_at = kNow + 1h,
                       .continuation = true,
                       .state = "1",
                       .signal_nonce = "n2",
                       .now = kNow}));
  EXPECT_EQ(promote_due(kNow + 59min), 0);
  EXPECT_EQ(promote_due(kNow + 1h), 1);
  auto late = signal(store(), j.id, "n2", "{}", kNow + 2h);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, core::errc::not_found);
  auto next = claim({"w"}, 1, kNow + 1h);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].signal_status, core::SignalStatus::timed_out);
  EXPECT_TRUE(next[0].signal.empty());
  // A later wait gets a new nonce: the old URL stays dead.
  ASSERT_TRUE(requeue(store(), next[0],
                      {.run_at = kNow + 3h,
                       .continuation = true,
                       .state = "2",
                       .signal_nonce = "n3",
                       .now = kNow + 1h}));
  EXPECT_EQ(signal(store(), j.id, "n2", "{}", kNow + 1h).error().code, core::errc::not_found);
  EXPECT_TRUE(signal(store(), j.id, "n3", "null", kNow + 1h));
}

TEST_P(WorkflowsTest, ACancelledWaitingJobRefusesItsSignal) {
  auto j = running(job("w"));
  ASSERT_TRUE(requeue(
      store(), j, {.run_at = kNow + 1h, .continuation = true, .signal_nonce = "n4", .now = kNow}));
  ASSERT_TRUE(cancel(j.id));
  auto late = signal(store(), j.id, "n4", "{}");
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, core::errc::conflict);
  EXPECT_EQ(counts("w"), counts_of({{JobState::cancelled, 1}}));
}

TEST_P(WorkflowsTest, LinksOutliveAReopen) {
  const auto p = insert(job("a"));
  const auto child = insert(child_of(job("b"), {p}));
  reopen();
  EXPECT_EQ(counts("b"), counts_of({{JobState::blocked, 1}}));
  auto t = claim({"a"});
  ASSERT_EQ(t.size(), 1u);
  ASSERT_TRUE(complete(t[0]));
  EXPECT_EQ(get(child)->state, JobState::queued);
}

}  // namespace
}  // namespace errand::store::conformance

namespace errand::store::conformance {
namespace {

core::Result<BatchInsertOutcome> create_batch(Store& store, BatchCreateParams p) {
  return call<BatchInsertOutcome>([&](auto done) { store.batch_create(std::move(p), done); });
}

core::Result<core::Batch> batch_of(Store& store, const std::string& id) {
  return call<core::Batch>([&](auto done) { store.batch_get({.id = id}, done); });
}

core::NewJob callback(std::string queue, std::string payload = "") {
  core::NewJob j;
  j.queue = std::move(queue);
  j.run_at = kNow;
  if (!payload.empty()) j.payload = *core::RawJson::parse(payload, "payload");
  return j;
}

TEST_P(WorkflowsTest, ABatchFiresOnSuccessAndOnCompleteOnceWhenItsLastJobEnds) {
  auto out = create_batch(store(), {.jobs = {job("work"), job("work"), job("work")},
                                    .on_success = callback("done", R"({"report":7})"),
                                    .on_complete = callback("after"),
                                    .now = kNow});
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->batch.state, core::BatchState::sealed);
  EXPECT_EQ(out->batch.counts.total, 3);
  ASSERT_EQ(out->jobs.size(), 3u);
  EXPECT_EQ(get(out->jobs[0].id)->batch, out->batch.id);
  auto taken = claim({"work"}, 3);
  ASSERT_EQ(taken.size(), 3u);
  ASSERT_TRUE(complete(taken[0]));
  ASSERT_TRUE(complete(taken[1]));
  EXPECT_TRUE(claim({"done", "after"}).empty());
  EXPECT_EQ(batch_of(store(), out->batch.id)->counts.succeeded, 2);
  ASSERT_TRUE(complete(taken[2]));
  auto b = batch_of(store(), out->batch.id);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->state, core::BatchState::done);
  EXPECT_EQ(b->counts.succeeded, 3);
  EXPECT_FALSE(b->success_job.empty());
  EXPECT_FALSE(b->complete_job.empty());
  auto done = claim({"done"}, 5);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].id, b->success_job);
  EXPECT_EQ(done[0].payload.stored(),
            R"({"report":7,"batch":{"id":")" + b->id +
                R"(","state":"done","total":3,"succeeded":3,"dead":0,"cancelled":0}})");
  EXPECT_EQ(claim({"after"}, 5).size(), 1u);
  auto page = call<JobPage>([&](auto cb) { store().job_list({.batch = b->id}, cb); });
  ASSERT_TRUE(page);
  EXPECT_EQ(page->jobs.size(), 3u);
}

TEST_P(WorkflowsTest, ADeadJobFiresOnDeathOnceAndOnCompleteButNotOnSuccess) {
  auto one = job("work");
  one.max_attempts = 1;
  auto out = create_batch(store(), {.jobs = {one, one, job("work")},
                                    .on_success = callback("ok"),
                                    .on_complete = callback("end"),
                                    .on_death = callback("death", "[1,2]"),
                                    .now = kNow});
  ASSERT_TRUE(out);
  auto taken = claim({"work"}, 3);
  ASSERT_EQ(taken.size(), 3u);
  ASSERT_TRUE(fail(taken[0], {.error = "x", .retry = false}));
  auto death = claim({"death"}, 5);
  ASSERT_EQ(death.size(), 1u);
  EXPECT_EQ(death[0].payload.stored().rfind(R"({"payload":[1,2],"batch":{)", 0), 0u)
      << death[0].payload.stored();
  ASSERT_TRUE(fail(taken[1], {.error = "y", .retry = false}));
  EXPECT_TRUE(claim({"death"}, 5).empty());  // once
  ASSERT_TRUE(cancel(taken[2].id));
  ASSERT_TRUE(fail(taken[2], {.error = "stopped"}));  // ends cancelled
  auto b = batch_of(store(), out->batch.id);
  EXPECT_EQ(b->state, core::BatchState::done);
  EXPECT_EQ(b->counts, (core::BatchCounts{.total = 3, .succeeded = 0, .dead = 2, .cancelled = 1}));
  EXPECT_EQ(claim({"end"}, 5).size(), 1u);
  EXPECT_TRUE(claim({"ok"}, 5).empty());
  EXPECT_TRUE(b->success_job.empty());
}

TEST_P(WorkflowsTest, AnOpenBatchTakesPagesAndFiresAfterItIsSealed) {
  auto out = create_batch(
      store(), {.jobs = {job("work")}, .on_complete = callback("end"), .open = true, .now = kNow});
  ASSERT_TRUE(out);
  EXPECT_EQ(out->batch.state, core::BatchState::open);
  auto first = claim({"work"});
  ASSERT_TRUE(complete(first[0]));
  EXPECT_TRUE(claim({"end"}).empty());  // open: more may come
  auto added = call<BatchInsertOutcome>([&](auto done) {
    store().batch_add({.id = out->batch.id, .jobs = {job("work"), job("work")}, .now = kNow}, done);
  });
  ASSERT_TRUE(added) << added.error().message;
  EXPECT_EQ(added->batch.counts.total, 3);
  for (const auto& j : claim({"work"}, 2)) ASSERT_TRUE(complete(j));
  EXPECT_TRUE(claim({"end"}).empty());
  auto sealed = call<core::Batch>(
      [&](auto done) { store().batch_seal({.id = out->batch.id, .now = kNow}, done); });
  ASSERT_TRUE(sealed);
  EXPECT_EQ(sealed->state, core::BatchState::done);  // every job had ended
  EXPECT_EQ(claim({"end"}, 5).size(), 1u);
  auto late = call<BatchInsertOutcome>([&](auto done) {
    store().batch_add({.id = out->batch.id, .jobs = {job("work")}, .now = kNow}, done);
  });
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, core::errc::conflict);
  auto again = call<core::Batch>(
      [&](auto done) { store().batch_seal({.id = out->batch.id, .now = kNow}, done); });
  ASSERT_TRUE(again);
  EXPECT_EQ(claim({"end"}, 5).size(), 0u);  // once
  auto missing = batch_of(store(), "0000000000001");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, core::errc::not_found);
}

TEST_P(WorkflowsTest, BatchJobsCancelledByAFailedParentCount) {
  const auto parent = insert(job("a"));
  auto child = job("work");
  child.after = {parent};
  auto out = create_batch(store(), {.jobs = {child}, .on_complete = callback("end"), .now = kNow});
  ASSERT_TRUE(out);
  ASSERT_TRUE(cancel(parent));
  auto b = batch_of(store(), out->batch.id);
  EXPECT_EQ(b->counts.cancelled, 1);
  EXPECT_EQ(b->state, core::BatchState::done);
  EXPECT_EQ(claim({"end"}).size(), 1u);
}

TEST_P(WorkflowsTest, ARetriedJobLeavesItsCountWhileTheBatchIsNotDone) {
  auto one = job("work");
  one.max_attempts = 1;
  auto out = create_batch(
      store(), {.jobs = {one, job("work")}, .on_complete = callback("end"), .now = kNow});
  ASSERT_TRUE(out);
  auto taken = claim({"work"}, 2);
  ASSERT_TRUE(fail(taken[0], {.error = "x", .retry = false}));
  EXPECT_EQ(batch_of(store(), out->batch.id)->counts.dead, 1);
  ASSERT_TRUE(retry(taken[0].id));
  EXPECT_EQ(batch_of(store(), out->batch.id)->counts.dead, 0);
  auto again = claim({"work"});
  ASSERT_TRUE(complete(again[0]));
  ASSERT_TRUE(complete(taken[1]));
  auto b = batch_of(store(), out->batch.id);
  EXPECT_EQ(b->counts.succeeded, 2);
  EXPECT_EQ(b->state, core::BatchState::done);
}

}  // namespace
}  // namespace errand::store::conformance

namespace errand::store::conformance {
namespace {

std::vector<WebhookDelivery> due_webhooks(Store& store, core::TimePoint now) {
  auto due = call<std::vector<WebhookDelivery>>(
      [&](auto done) { store.webhook_claim({.now = now, .max = 10, .lease = 1min}, done); });
  EXPECT_TRUE(due) << due.error().message;
  return due ? *due : std::vector<WebhookDelivery>{};
}

core::Result<Unit> webhook_result(Store& store, WebhookResultParams p) {
  return call<Unit>([&](auto done) { store.webhook_result(std::move(p), done); });
}

// A backend may take an ack batch's plain completes together (PostgreSQL
// does); every item still gets the answer it would get alone, in order.
TEST_P(WorkflowsTest, AnAckBatchAnswersEachItemAsAloneWhateverItsJobNeeds) {
  auto plain1 = running("acks");
  auto plain2 = running("acks");
  auto plain3 = running("acks");
  auto logged = running("acks");
  auto stale = running("acks");
  auto twice = running("acks");
  auto dies = running("acks");
  auto hooked_job = job("acks");
  hooked_job.on_done = "https://app.example.com/done";
  auto hooked = running(hooked_job);
  const std::string tricky = R"({"quote":"a\"b","back":"c\\d","braces":"{x,y}","u":"é"})";
  auto complete_item = [](const core::Job& j, std::string result = {}, std::string log = {}) {
    AckItem item{.complete = {.id = j.id, .lease_id = j.lease_id, .log = log, .now = kNow + 1s}};
    if (!result.empty()) item.complete.result = core::RawJson::trusted(result);
    return item;
  };
  std::vector<AckItem> items{
      complete_item(plain1, tricky),
      complete_item(twice),
      complete_item(plain2),
      complete_item(logged, "1", "a line\n"),
      {.complete = {.id = stale.id, .lease_id = "not-the-lease", .now = kNow + 1s}},
      complete_item(hooked, "true"),
      {.fail = true,
       .failure = {.id = dies.id,
                   .lease_id = dies.lease_id,
                   .error = "bad",
                   .retry = false,
                   .now = kNow + 1s}},
      complete_item(twice),
      complete_item(plain3, "null"),
  };
  auto results = call<std::vector<core::Result<JobState>>>(
      [&](auto done) { store().job_ack_many(std::move(items), done); });
  ASSERT_TRUE(results) << results.error().message;
  ASSERT_EQ(results->size(), 9u);
  for (std::size_t i : {0u, 1u, 2u, 3u, 5u, 8u}) {
    ASSERT_TRUE((*results)[i]) << i << ": " << (*results)[i].error().message;
    EXPECT_EQ(*(*results)[i], JobState::succeeded) << i;
  }
  ASSERT_FALSE((*results)[4]);
  EXPECT_EQ((*results)[4].error().code, core::errc::conflict);
  ASSERT_TRUE((*results)[6]);
  EXPECT_EQ(*(*results)[6], JobState::dead);
  ASSERT_FALSE((*results)[7]);  // the second ack of `twice`
  EXPECT_EQ((*results)[7].error().code, core::errc::conflict);

  auto p1 = get(plain1.id);
  EXPECT_EQ(p1->state, JobState::succeeded);
  EXPECT_EQ(p1->result.text(), tricky);
  EXPECT_EQ(p1->finished_at, kNow + 1s);
  EXPECT_TRUE(get(plain2.id)->result.is_null());
  EXPECT_EQ(get(plain3.id)->result.text(), "null");
  auto l = get(logged.id);
  ASSERT_EQ(l->logs.size(), 1u);
  EXPECT_EQ(l->logs[0].text, "a line\n");
  EXPECT_EQ(get(stale.id)->state, JobState::running);
  EXPECT_EQ(get(twice.id)->state, JobState::succeeded);
  EXPECT_EQ(get(hooked.id)->result.text(), "true");
  auto due = due_webhooks(store(), kNow + 1s);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].job_id, hooked.id);
  EXPECT_EQ(counts("acks"),
            counts_of({{JobState::succeeded, 6}, {JobState::running, 1}, {JobState::dead, 1}}));
  EXPECT_EQ(queue("acks").processed, 6);
  EXPECT_EQ(queue("acks").failed, 1);
}

TEST_P(WorkflowsTest, AJobThatEndsOwesItsWebhookUntilItIsDelivered) {
  auto j = job("hooks");
  j.on_done = "https://app.example.com/done";
  auto running_job = running(j);
  EXPECT_TRUE(due_webhooks(store(), kNow).empty());  // not ended yet
  ASSERT_TRUE(complete(running_job));
  auto due = due_webhooks(store(), kNow);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].job_id, running_job.id);
  EXPECT_EQ(due[0].url, "https://app.example.com/done");
  EXPECT_EQ(due[0].queue, "hooks");
  EXPECT_EQ(due[0].attempts, 0);
  EXPECT_TRUE(due_webhooks(store(), kNow + 30s).empty());     // leased
  EXPECT_FALSE(queue("hooks").push_secrets.current.empty());  // the queue can sign it
  ASSERT_TRUE(webhook_result(store(), {.job_id = running_job.id,
                                       .status = 500,
                                       .error = "HTTP 500",
                                       .retry_at = kNow + 2s,
                                       .now = kNow}));
  EXPECT_TRUE(due_webhooks(store(), kNow + 1s).empty());
  auto again = due_webhooks(store(), kNow + 2s);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].attempts, 1);
  auto read = get(running_job.id);
  ASSERT_TRUE(read && read->webhook);
  EXPECT_EQ(read->webhook->state, "pending");
  EXPECT_EQ(read->webhook->last_status, 500);
  ASSERT_TRUE(webhook_result(
      store(), {.job_id = running_job.id, .delivered = true, .status = 204, .now = kNow + 3s}));
  EXPECT_TRUE(due_webhooks(store(), kNow + 1h).empty());
  read = get(running_job.id);
  EXPECT_EQ(read->webhook->state, "delivered");
  EXPECT_EQ(read->webhook->attempts, 2);
  EXPECT_EQ(read->webhook->delivered_at, kNow + 3s);
}

TEST_P(WorkflowsTest, AQueueDefaultWebhookGoesToJobsThatNameNone) {
  core::QueueConfig config;
  config.defaults.on_done = "https://app.example.com/queue";
  ASSERT_TRUE(call<QueueInfo>(
      [&](auto done) { store().queue_configure({.queue = "hooks", .config = config}, done); }));
  auto own = job("hooks");
  own.on_done = "https://app.example.com/own";
  const auto plain_id = insert(job("hooks"));
  const auto own_id = insert(own);
  EXPECT_EQ(get(plain_id)->on_done, "https://app.example.com/queue");
  EXPECT_EQ(get(own_id)->on_done, "https://app.example.com/own");
  ASSERT_TRUE(cancel(plain_id));
  ASSERT_TRUE(cancel(own_id));
  auto due = due_webhooks(store(), kNow);
  ASSERT_EQ(due.size(), 2u);
  std::set<std::string> urls{due[0].url, due[1].url};
  EXPECT_EQ(urls, (std::set<std::string>{"https://app.example.com/queue",
                                         "https://app.example.com/own"}));
}

TEST_P(WorkflowsTest, CancelledAndDeadJobsOweTheirWebhooksToo) {
  auto a = job("hooks");
  a.on_done = "https://app.example.com/a";
  const auto cancelled = insert(a);
  ASSERT_TRUE(cancel(cancelled));
  auto b = job("hooks");
  b.on_done = "https://app.example.com/b";
  b.max_attempts = 1;
  auto dead = running(b);
  ASSERT_TRUE(fail(dead, {.error = "x"}));
  auto c = job("hooks");
  c.on_done = "https://app.example.com/c";
  c.after = {cancelled};  // cancelled with its parent
  insert(c);
  auto due = due_webhooks(store(), kNow);
  EXPECT_EQ(due.size(), 3u);
  ASSERT_TRUE(webhook_result(store(), {.job_id = dead.id, .error = "gone", .now = kNow}));
  EXPECT_EQ(get(dead.id)->webhook->state, "failed");  // given up: no retry_at
}

}  // namespace
}  // namespace errand::store::conformance
