// Conformance: job_insert_many — states, stored fields, idempotency keys,
// all-or-nothing batches, and the change notice.
#include "store/conformance/harness.hpp"

namespace errand::store::conformance {
namespace {

TEST_P(InsertTest, RunAtNotInTheFutureIsQueued) {
  auto now_job = job("emails");
  auto past_job = job("emails");
  past_job.run_at = kNow - 5s;
  auto out = insert_many({now_job, past_job});
  ASSERT_TRUE(out) << out.error().message;
  ASSERT_EQ(out->size(), 2u);
  EXPECT_LT((*out)[0].id, (*out)[1].id);  // ids increase in insertion order
  EXPECT_EQ((*out)[0].state, JobState::queued);
  EXPECT_FALSE((*out)[0].duplicate);
  EXPECT_EQ((*out)[1].state, JobState::queued);
  EXPECT_EQ(get((*out)[1].id)->state, JobState::queued);
}

TEST_P(InsertTest, RunAtInTheFutureIsScheduled) {
  auto later = job("emails");
  later.run_at = kNow + 1ms;
  auto out = insert_many({later});
  ASSERT_TRUE(out);
  EXPECT_EQ((*out)[0].state, JobState::scheduled);
  EXPECT_EQ(get((*out)[0].id)->state, JobState::scheduled);
}

TEST_P(InsertTest, StoresEveryField) {
  auto j = job("reports", 7);
  j.type = "monthly_report";
  j.payload = core::RawJson::trusted(R"({"to":"a@example.com","n":3,"list":[1,2,3],"big":1e400})");
  j.run_at = kNow + 10s;
  j.max_attempts = 3;
  j.timeout = 90s;
  j.idempotency_key = "report-2026-11";
  j.tags = {"monthly", "finance"};
  const auto id = insert(j, kNow);

  auto got = get(id);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(got->id, id);
  EXPECT_EQ(got->queue, "reports");
  EXPECT_EQ(got->type, "monthly_report");
  EXPECT_EQ(got->payload, j.payload);
  EXPECT_EQ(got->state, JobState::scheduled);
  EXPECT_EQ(got->priority, 7);
  EXPECT_EQ(got->run_at, kNow + 10s);
  EXPECT_EQ(got->created_at, kNow);
  EXPECT_EQ(got->max_attempts, 3);
  EXPECT_EQ(got->timeout, 90s);
  EXPECT_EQ(got->idempotency_key, "report-2026-11");
  EXPECT_EQ(got->tags, j.tags);
  EXPECT_EQ(got->attempt, 0);
  EXPECT_FALSE(got->started_at);
  EXPECT_FALSE(got->finished_at);
  EXPECT_FALSE(got->progress);
  EXPECT_TRUE(got->result.is_null());
  EXPECT_TRUE(got->errors.empty());
  EXPECT_TRUE(got->lease_id.empty());
  EXPECT_TRUE(got->worker.empty());
  EXPECT_FALSE(got->lease_expires_at);
  EXPECT_FALSE(got->cancel_requested);
}

TEST_P(InsertTest, TraceContextRoundTripsThroughGetClaimAndEnd) {
  constexpr std::string_view kParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  auto traced = job("traced");
  traced.traceparent = kParent;
  traced.tracestate = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE";
  auto plain = job("traced");
  const auto ids = insert_ids({traced, plain});

  auto got = get(ids[0]);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(got->traceparent, kParent);
  EXPECT_EQ(got->tracestate, traced.tracestate);
  auto none = get(ids[1]);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->traceparent.empty());
  EXPECT_TRUE(none->tracestate.empty());

  auto claimed = claim({"traced"}, 2);
  ASSERT_EQ(claimed.size(), 2u);
  EXPECT_EQ(claimed[0].traceparent, kParent);
  EXPECT_EQ(claimed[0].tracestate, traced.tracestate);
  EXPECT_TRUE(claimed[1].traceparent.empty());
  ASSERT_TRUE(complete(claimed[0]));
  ASSERT_TRUE(fail(claimed[1], {.error = "no", .retry = false}));
  // Kept after the end (a complete's answer need not carry it: read the job).
  auto ended = get(ids[0]);
  ASSERT_TRUE(ended);
  EXPECT_EQ(ended->state, JobState::succeeded);
  EXPECT_EQ(ended->traceparent, kParent);
  EXPECT_EQ(ended->tracestate, traced.tracestate);
}

TEST_P(InsertTest, NullPayloadAndNoTypeRoundTrip) {
  auto got = get(insert(job()));
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->payload.is_null());
  EXPECT_TRUE(got->type.empty());
  EXPECT_TRUE(got->idempotency_key.empty());
}

TEST_P(InsertTest, RepeatedIdempotencyKeyReturnsTheFirstJob) {
  auto first = job("emails");
  first.idempotency_key = "signup-42";
  first.payload = core::RawJson::trusted(R"({"n":1e400})");
  const auto first_id = insert(first);
  auto second = first;
  auto out = insert_many({second});
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ((*out)[0].id, first_id);
  EXPECT_EQ((*out)[0].state, JobState::queued);
  EXPECT_TRUE((*out)[0].duplicate);
  EXPECT_EQ(counts("emails"), counts_of({{JobState::queued, 1}}));
}

// Keys are scoped per queue: a producer of one queue cannot take another
// queue's key first.
TEST_P(InsertTest, IdempotencyKeysArePerQueue) {
  auto first = job("emails");
  first.idempotency_key = "signup-43";
  const auto first_id = insert(first);
  auto other = job("other-queue");
  other.idempotency_key = "signup-43";
  auto out = insert_many({other});
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_FALSE((*out)[0].duplicate);
  EXPECT_NE((*out)[0].id, first_id);
  EXPECT_EQ(counts("other-queue"), counts_of({{JobState::queued, 1}}));
}

TEST_P(InsertTest, ARepeatOfAKeyWithAnotherPayloadOrTypeIsAConflict) {
  auto first = job("emails");
  first.idempotency_key = "signup-44";
  first.payload = core::RawJson::trusted(R"({"to":"a"})");
  insert(first);
  auto other_payload = first;
  other_payload.payload = core::RawJson::trusted(R"({"to":"b"})");
  auto other_type = first;
  other_type.type = "other";
  for (const auto& repeat : {other_payload, other_type}) {
    auto out = insert_many({job("emails"), repeat});
    ASSERT_FALSE(out);
    EXPECT_EQ(out.error().code, core::errc::conflict);
    EXPECT_EQ(out.error().field, "idempotency_key");
  }
  EXPECT_EQ(counts("emails"), counts_of({{JobState::queued, 1}}));  // the batches changed nothing
}

TEST_P(InsertTest, DuplicateReportsTheExistingJobsCurrentState) {
  auto first = job("emails");
  first.idempotency_key = "k";
  const auto first_id = running(first).id;
  auto again = job("emails");
  again.idempotency_key = "k";
  auto out = insert_many({again});
  ASSERT_TRUE(out);
  EXPECT_EQ((*out)[0].id, first_id);
  EXPECT_EQ((*out)[0].state, JobState::running);
  EXPECT_TRUE((*out)[0].duplicate);
}

TEST_P(InsertTest, SameKeyTwiceInOneBatchIsADuplicateOfTheFirst) {
  auto a = job("emails");
  a.idempotency_key = "same";
  auto b = job("emails");
  b.idempotency_key = "same";
  auto c = job("emails");
  auto out = insert_many({a, b, c});
  ASSERT_TRUE(out) << out.error().message;
  ASSERT_EQ(out->size(), 3u);
  EXPECT_FALSE((*out)[0].duplicate);
  EXPECT_TRUE((*out)[1].duplicate);
  EXPECT_EQ((*out)[1].id, (*out)[0].id);
  EXPECT_NE((*out)[2].id, (*out)[0].id);
  EXPECT_EQ(get((*out)[2].id)->queue, "emails");
  EXPECT_EQ(counts("emails"), counts_of({{JobState::queued, 2}}));
}

// 77 jobs are more than one statement's worth of rows in a backend that
// writes many rows a statement (SQLite: 32 + 32 + 8 + 4 + 1).
TEST_P(InsertTest, EveryJobOfALargeBatchIsStoredAsAsked) {
  std::vector<core::NewJob> jobs;
  for (int i = 0; i < 77; ++i) {
    auto j = job(i % 2 == 0 ? "even" : "odd", i);
    j.type = "t" + std::to_string(i);
    j.payload = core::RawJson::trusted(R"({"i":)" + std::to_string(i) + "}");
    j.tags = {"n" + std::to_string(i)};
    if (i % 5 == 0) j.run_at = kNow + std::chrono::seconds(i + 1);
    if (i == 3 || i == 70) j.idempotency_key = "k";
    jobs.push_back(std::move(j));
  }
  jobs[70].queue = jobs[3].queue;
  jobs[70].type = jobs[3].type;
  jobs[70].payload = jobs[3].payload;
  auto out = insert_many(jobs);
  ASSERT_TRUE(out) << out.error().message;
  ASSERT_EQ(out->size(), 77u);
  EXPECT_TRUE((*out)[70].duplicate);
  EXPECT_EQ((*out)[70].id, (*out)[3].id);
  std::string previous;
  for (int i = 0; i < 77; ++i) {
    if (i == 70) continue;
    const auto& asked = jobs[static_cast<std::size_t>(i)];
    EXPECT_LT(previous, (*out)[i].id) << i;  // ids increase in insertion order
    previous = (*out)[i].id;
    auto got = get((*out)[i].id);
    ASSERT_TRUE(got) << i << ": " << got.error().message;
    EXPECT_FALSE((*out)[i].duplicate) << i;
    EXPECT_EQ(got->queue, asked.queue) << i;
    EXPECT_EQ(got->type, asked.type) << i;
    EXPECT_EQ(got->payload, asked.payload) << i;
    EXPECT_EQ(got->priority, i) << i;
    EXPECT_EQ(got->tags, asked.tags) << i;
    EXPECT_EQ(got->run_at, asked.run_at) << i;
    EXPECT_EQ(got->state, i % 5 == 0 ? JobState::scheduled : JobState::queued) << i;
    EXPECT_EQ((*out)[i].state, got->state) << i;
  }
  EXPECT_EQ(counts("even"), counts_of({{JobState::queued, 31}, {JobState::scheduled, 7}}));
  EXPECT_EQ(counts("odd"), counts_of({{JobState::queued, 30}, {JobState::scheduled, 8}}));
}

TEST_P(InsertTest, EmptyBatchInsertsNothing) {
  auto out = insert_many({});
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->empty());
}

TEST_P(InsertTest, NoticeNamesQueuedQueuesAndEarliestScheduledRunAt) {
  clear_notices();
  auto now_a = job("a");
  auto later_b = job("b");
  later_b.run_at = kNow + 5s;
  auto soon_c = job("c");
  soon_c.run_at = kNow + 2s;
  auto now_a2 = job("a");
  ASSERT_TRUE(insert_many({now_a, later_b, soon_c, now_a2}));
  auto seen = notices();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].runnable_queues, std::vector<std::string>{"a"});
  EXPECT_EQ(seen[0].deadline, kNow + 2s);
}

TEST_P(InsertTest, OnlyScheduledJobsGiveNoRunnableQueues) {
  clear_notices();
  auto later = job("a");
  later.run_at = kNow + 1h;
  insert(later);
  auto seen = notices();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_TRUE(seen[0].runnable_queues.empty());
  EXPECT_EQ(seen[0].deadline, kNow + 1h);
}

}  // namespace
}  // namespace errand::store::conformance
