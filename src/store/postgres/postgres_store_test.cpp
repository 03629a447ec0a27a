// PostgreSQL-specific tests of PostgresStore (the shared behaviour is the
// conformance suite's): query plans on a filled schema, schema versions,
// concurrent migrations, connection errors without the password, losing
// and regaining the connection, wake-ups across servers, and shared settings.
#include "store/postgres/postgres_store.hpp"
#include "core/id.hpp"
#include "store/conformance/call.hpp"
#include "store/postgres/conn.hpp"
#include "store/postgres/schema.hpp"
#include "store/postgres/statements.hpp"
#include "store/postgres/test_database.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

namespace errand::store {
namespace {

using namespace std::chrono_literals;
using core::JobState;
namespace pg = postgres;

std::string unique_schema(std::string_view what) {
  const auto now = std::chrono::system_clock::now().time_since_epoch().count();
  return pg::testing::schema_for(fmt::format("{}-{}-{}", what, now, ::getpid()));
}

// A plain session on the test database, for what the store does not expose.
std::unique_ptr<pg::Conn> session(const std::string& schema) {
  auto conn = pg::Conn::open(pg::testing::test_database_url(), schema);
  if (!conn) throw std::runtime_error(conn.error().message);
  return std::move(*conn);
}

// Every row's first column of `sql`, one line each.
std::string query_text(pg::Conn& conn, const std::string& sql) {
  PGresult* r = PQexec(conn.handle(), sql.c_str());
  std::string out;
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    out = std::string("ERROR: ") + PQresultErrorMessage(r);
  } else {
    for (int i = 0; i < PQntuples(r); ++i) out += std::string(PQgetvalue(r, i, 0)) + "\n";
  }
  PQclear(r);
  return out;
}

std::unique_ptr<PostgresStore> open_store(const std::string& schema,
                                          std::string conninfo = pg::testing::test_database_url()) {
  auto store = PostgresStore::open({.conninfo = std::move(conninfo), .schema = schema});
  if (!store) throw std::runtime_error(store.error().message);
  return std::move(*store);
}

core::NewJob new_job(std::string queue, core::TimePoint run_at = kNow) {
  core::NewJob j;
  j.queue = std::move(queue);
  j.run_at = run_at;
  j.timeout = 60s;
  j.priority = 0;
  return j;
}

std::vector<core::Job> claim(Store& store, std::string queue, std::size_t max) {
  auto r = call<std::vector<core::Job>>([&](auto done) {
    store.job_claim({.queues = {std::move(queue)}, .worker = "w", .max = max, .now = kNow}, done);
  });
  EXPECT_TRUE(r) << r.error().message;
  return r ? *r : std::vector<core::Job>{};
}

// Fills `store` with `n` jobs per queue in every state.
void fill(Store& store, int n) {
  for (const std::string queue : {"q0", "q1", "q2", "q3"}) {
    std::vector<core::NewJob> jobs;
    for (int i = 0; i < n; ++i) {
      auto j = new_job(queue, i % 3 == 0 ? kNow + 1h : kNow);
      j.type = i % 2 ? "type-a" : "type-b";
      jobs.push_back(std::move(j));
    }
    auto inserted = call<std::vector<InsertOutcome>>(
        [&](auto done) { store.job_insert_many({.jobs = std::move(jobs), .now = kNow}, done); });
    ASSERT_TRUE(inserted) << inserted.error().message;
    auto running = claim(store, queue, static_cast<std::size_t>(n / 2));
    for (std::size_t i = 0; i < running.size(); ++i) {
      if (i % 4 == 3) continue;  // stays running
      auto ended = call<core::Job>([&](auto done) {
        if (i % 4 == 2) {
          store.job_fail(
              {.id = running[i].id, .lease_id = running[i].lease_id, .error = "x", .now = kNow},
              done);
        } else {
          store.job_complete({.id = running[i].id, .lease_id = running[i].lease_id, .now = kNow},
                             done);
        }
      });
      ASSERT_TRUE(ended) << ended.error().message;
    }
  }
}

// The plans of the named statement with `args`, custom and generic.
std::string plans(pg::Conn& conn, const pg::Statement& s, const std::string& args) {
  PGresult* prep = PQprepare(conn.handle(), s.name, s.sql.c_str(), 0, nullptr);
  EXPECT_EQ(PQresultStatus(prep), PGRES_COMMAND_OK) << PQresultErrorMessage(prep);
  PQclear(prep);
  const auto execute = args.empty() ? std::string(s.name) : fmt::format("{}({})", s.name, args);
  std::string out;
  for (const char* mode : {"force_custom_plan", "force_generic_plan"}) {
    (void)conn.exec(fmt::format("SET plan_cache_mode = {}", mode));
    out += fmt::format("-- {} ({}):\n", s.name, mode);
    out += query_text(conn, "EXPLAIN EXECUTE " + execute);
  }
  (void)conn.exec(fmt::format("DEALLOCATE {}", s.name));
  return out;
}

TEST(PostgresStoreTest, HotQueriesUseIndexesOnAFilledSchema) {
  const auto schema = unique_schema("plans");
  auto store = open_store(schema);
  fill(*store, 1000);
  store->close();
  auto conn = session(schema);
  ASSERT_TRUE(conn->exec("ANALYZE jobs"));
  ASSERT_EQ(query_text(*conn, "SELECT count(*) FROM jobs"), "4000\n");
  const auto now = std::to_string(core::to_unix_ms(kNow));
  std::vector<std::pair<const pg::Statement*, std::string>> checked = {
      {&pg::sql::jobs_ready, fmt::format("'q1', {}, 10", now)},
      {&pg::sql::jobs_promote_due, fmt::format("{}, 512", now)},
      {&pg::sql::jobs_lease_expired, fmt::format("{}, 512", now)},
      {&pg::sql::next_run_at, ""},
      {&pg::sql::next_lease_expiry, ""},
      {&pg::sql::jobs_prune, fmt::format("{}, 10000", now)},
      {&pg::sql::queue_oldest_ready, "'q1', 1000, ''"},
      {&pg::sql::job_by_idempotency_key, "'q1', 'key'"},
  };
  std::vector<pg::Statement> lists;
  for (unsigned f = 0; f < pg::sql::kListVariants; ++f) lists.push_back(pg::sql::job_list(f));
  for (const auto& s : lists) {
    checked.emplace_back(&s, "9223372036854775807, 0, 'q1', 1, 'type-a', 'needle', 51, 'k'");
  }
  for (const auto& [statement, args] : checked) {
    const auto plan = plans(*conn, *statement, args);
    EXPECT_EQ(plan.find("Seq Scan on jobs"), std::string::npos) << plan;
    EXPECT_EQ(plan.find("ERROR"), std::string::npos) << plan;
  }
}

TEST(PostgresStoreTest, ASchemaNewerThanTheBinaryIsRefusedNamingBothVersions) {
  const auto schema = unique_schema("newer");
  auto migrated =
      PostgresStore::migrate({.conninfo = pg::testing::test_database_url(), .schema = schema});
  ASSERT_TRUE(migrated) << migrated.error().message;
  EXPECT_EQ(*migrated, pg::kSchemaVersion);
  ASSERT_TRUE(session(schema)->exec("INSERT INTO schema_version(version) VALUES (999)"));
  auto store =
      PostgresStore::open({.conninfo = pg::testing::test_database_url(), .schema = schema});
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().message.find("999"), std::string::npos) << store.error().message;
  EXPECT_NE(store.error().message.find(fmt::format("this server's {}", pg::kSchemaVersion)),
            std::string::npos)
      << store.error().message;
}

TEST(PostgresStoreTest, AConnectionFailureNamesHostAndPortButNeverThePassword) {
  const std::string password = "sw0rdfish-Secret";
  for (const auto& conninfo :
       {fmt::format("postgresql://errand:{}@127.0.0.1:1/errand?connect_timeout=2", password),
        fmt::format("host=127.0.0.1 port=1 user=errand password={} dbname=errand", password)}) {
    auto store = PostgresStore::open({.conninfo = conninfo, .schema = "errand"});
    ASSERT_FALSE(store);
    EXPECT_EQ(store.error().code, core::errc::unavailable);
    const auto& message = store.error().message;
    EXPECT_EQ(message.find(password), std::string::npos) << message;
    EXPECT_NE(message.find("127.0.0.1:1"), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

TEST(PostgresStoreTest, AnInvalidSchemaNameIsRefused) {
  auto store =
      PostgresStore::open({.conninfo = pg::testing::test_database_url(), .schema = "Bad-Name"});
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, core::errc::invalid_argument);
  EXPECT_EQ(store.error().field, "schema");
}

TEST(PostgresStoreTest, ServersOpeningTogetherMigrateOnce) {
  const auto schema = unique_schema("together");
  constexpr int kServers = 4;
  std::vector<std::unique_ptr<PostgresStore>> stores(kServers);
  std::vector<std::string> errors(kServers);
  const auto url = pg::testing::test_database_url();
  // spdlog's registry is made on first use, in its uninstrumented library:
  // made here, not by the first of the threads, ThreadSanitizer sees it made
  // before them (as a server's main thread makes it before any other).
  spdlog::default_logger();
  std::vector<std::thread> threads;
  for (int i = 0; i < kServers; ++i) {
    threads.emplace_back([&, i] {
      auto store = PostgresStore::open({.conninfo = url, .schema = schema});
      if (store) {
        stores[i] = std::move(*store);
      } else {
        errors[i] = store.error().message;
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kServers; ++i) EXPECT_TRUE(stores[i]) << errors[i];
  EXPECT_EQ(query_text(*session(schema), "SELECT count(*) FROM schema_version"),
            fmt::format("{}\n", pg::kSchemaVersion));
}

// Notices delivered to a store's listener, for a test to wait on.
struct Heard {
  std::mutex mutex;
  std::vector<ChangeNotice> notices;
  bool runnable(const std::string& queue) {
    std::lock_guard lock(mutex);
    for (const auto& n : notices) {
      for (const auto& q : n.runnable_queues) {
        if (q == queue) return true;
      }
    }
    return false;
  }
  void clear() {
    std::lock_guard lock(mutex);
    notices.clear();
  }
};

template <class F>
bool eventually(F condition, std::chrono::milliseconds within = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return condition();
}

TEST(PostgresStoreTest, AnotherServersInsertWakesThisServersListener) {
  const auto schema = unique_schema("wake");
  Heard heard_a, heard_b;  // outlive the stores, which may deliver until closed
  auto a = open_store(schema);
  auto b = open_store(schema);
  a->set_change_listener([&](const ChangeNotice& n) {
    std::lock_guard lock(heard_a.mutex);
    heard_a.notices.push_back(n);
  });
  b->set_change_listener([&](const ChangeNotice& n) {
    std::lock_guard lock(heard_b.mutex);
    heard_b.notices.push_back(n);
  });
  auto inserted = call<std::vector<InsertOutcome>>(
      [&](auto done) { a->job_insert_many({.jobs = {new_job("mail")}, .now = kNow}, done); });
  ASSERT_TRUE(inserted);
  EXPECT_TRUE(eventually([&] { return heard_b.runnable("mail"); }));
  // (A's writer announces its commit just after the callbacks.)
  EXPECT_TRUE(eventually([&] { return heard_a.runnable("mail"); }));
  // A's own notification comes back over LISTEN too, ahead of B's next one
  // (notifications arrive in commit order), and is not announced twice.
  ASSERT_TRUE(call<std::vector<InsertOutcome>>(
      [&](auto done) { b->job_insert_many({.jobs = {new_job("other")}, .now = kNow}, done); }));
  EXPECT_TRUE(eventually([&] { return heard_a.runnable("other"); }));
  std::lock_guard lock(heard_a.mutex);
  ASSERT_EQ(heard_a.notices.size(), 2u);  // its own commit's, then B's over LISTEN
  EXPECT_EQ(heard_a.notices[0].runnable_queues, std::vector<std::string>{"mail"});
  EXPECT_EQ(heard_a.notices[1].runnable_queues, std::vector<std::string>{"other"});
}

// Ack batches pass their results as one text[] (ops::complete_plain): every
// element must come back as it went, quotes, backslashes and NULL included.
TEST(PostgresStoreTest, ATextArrayParameterKeepsEveryElementAsItWas) {
  auto conn = session(unique_schema("arrays"));
  const std::vector<std::optional<std::string_view>> items{
      R"({"q":"a\"b","b":"c\\d"})", std::nullopt, "", "{x,y}", "NULL", " spaced ", "é\n"};
  const pg::Statement select{
      "text_array_round_trip",
      "SELECT u, u IS NULL FROM unnest($1::text[]) WITH ORDINALITY AS t(u, n)"
      " ORDER BY n"};
  auto r = conn->run(select, pg::Params().text(pg::text_array(items)));
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), static_cast<int>(items.size()));
  for (int i = 0; i < r->size(); ++i) {
    const auto& item = items[static_cast<std::size_t>(i)];
    EXPECT_EQ(r->boolean(i, 1), !item.has_value()) << i;
    if (item) {
      EXPECT_EQ(r->text(i, 0), *item) << i;
    }
  }
}

// Steps run together (one round trip, libpq's pipeline mode) answer as if
// run one by one, each its own rows, in order.
TEST(PostgresStoreTest, StepsRunTogetherAnswerInTheirOrder) {
  auto conn = session(unique_schema("together"));
  const pg::Statement plus{"together_plus", "SELECT $1::bigint + 1"};
  const pg::Statement series{"together_series", "SELECT generate_series(1, $1::int)"};
  std::vector<pg::Step> steps;
  steps.push_back({.statement = &plus, .params = pg::Params().integer(41)});
  steps.push_back({.statement = &series, .params = pg::Params().integer(3)});
  steps.push_back({.statement = &plus, .params = pg::Params().integer(-1)});
  auto rows = conn->run_together(steps);
  ASSERT_TRUE(rows) << rows.error().message;
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].integer(0, 0), 42);
  ASSERT_EQ((*rows)[1].size(), 3);
  EXPECT_EQ((*rows)[1].integer(2, 0), 3);
  EXPECT_EQ((*rows)[2].integer(0, 0), 0);
}

// A failing step ends them: its error names it, no later step runs, the
// transaction is aborted as one by one, and the connection goes on.
TEST(PostgresStoreTest, StepsRunTogetherStopAtTheFirstFailure) {
  auto conn = session(unique_schema("together_fails"));
  ASSERT_TRUE(conn->exec("CREATE TEMP TABLE t(n int)"));
  const pg::Statement add{"together_add", "INSERT INTO t VALUES ($1::int)"};
  const pg::Statement divide{"together_divide", "SELECT 1 / $1::int"};
  ASSERT_TRUE(conn->exec("BEGIN"));
  std::vector<pg::Step> steps;
  steps.push_back({.statement = &add, .params = pg::Params().integer(1)});
  steps.push_back({.statement = &divide, .params = pg::Params().integer(0)});
  steps.push_back({.statement = &add, .params = pg::Params().integer(2)});
  auto rows = conn->run_together(steps);
  ASSERT_FALSE(rows);
  EXPECT_NE(rows.error().message.find("together_divide"), std::string::npos)
      << rows.error().message;
  EXPECT_EQ(conn->last_sqlstate(), "22012");  // division_by_zero
  EXPECT_FALSE(conn->lost());
  ASSERT_TRUE(conn->exec("ROLLBACK"));
  steps.erase(steps.begin() + 1);
  ASSERT_TRUE(conn->run_together(steps));
  const pg::Statement all{"together_all", "SELECT string_agg(n::text, ',' ORDER BY n) FROM t"};
  auto left = conn->run(all);
  ASSERT_TRUE(left) << left.error().message;
  EXPECT_EQ(left->text(0, 0), "1,2");
}

// Ids are next_job_id(now): the verb's millisecond above a shared sequence,
// the formula an SQL enqueue will use too.
TEST(PostgresStoreTest, JobIdsAreTheMillisecondAboveASharedSequence) {
  const auto schema = unique_schema("ids");
  auto store = open_store(schema);
  auto out = call<std::vector<InsertOutcome>>([&](auto done) {
    store->job_insert_many({.jobs = {new_job("q"), new_job("q")}, .now = kNow}, done);
  });
  ASSERT_TRUE(out);
  const auto first = *core::parse_job_id((*out)[0].id);
  const auto second = *core::parse_job_id((*out)[1].id);
  EXPECT_EQ(first >> 20, core::to_unix_ms(kNow));
  EXPECT_EQ(second >> 20, core::to_unix_ms(kNow));
  EXPECT_LT(first, second);
  const auto from_sql =
      query_text(*session(schema), fmt::format("SELECT next_job_id({})", core::to_unix_ms(kNow)));
  EXPECT_GT(std::stoll(from_sql), second);
}

TEST(PostgresStoreTest, ConcurrencyLimitHoldsAcrossServers) {
  const auto schema = unique_schema("limit");
  constexpr int kServers = 3;
  constexpr std::int64_t kLimit = 2;
  constexpr int kJobs = 40;
  std::vector<std::unique_ptr<PostgresStore>> stores;
  for (int i = 0; i < kServers; ++i) stores.push_back(open_store(schema));
  ASSERT_TRUE(call<QueueInfo>([&](auto done) {
    stores[0]->queue_configure({.queue = "q", .config = {.concurrency = kLimit}}, done);
  }));
  std::vector<core::NewJob> jobs(kJobs, new_job("q"));
  ASSERT_TRUE(call<std::vector<InsertOutcome>>(
      [&](auto done) { stores[0]->job_insert_many({.jobs = jobs, .now = kNow}, done); }));
  std::atomic<int> done{0}, over{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < kServers * 2; ++w) {
    workers.emplace_back([&, w] {
      Store& store = *stores[static_cast<std::size_t>(w % kServers)];
      while (done.load() < kJobs) {
        auto got = claim(store, "q", 2);
        auto info = call<QueueInfo>([&](auto d) { store.queue_get({.queue = "q"}, d); });
        if (info && info->counts[JobState::running] > kLimit) ++over;
        for (const auto& j : got) {
          auto completed = call<core::Job>([&](auto d) {
            store.job_complete({.id = j.id, .lease_id = j.lease_id, .now = kNow}, d);
          });
          if (completed) ++done;
        }
        if (got.empty()) std::this_thread::sleep_for(1ms);
      }
    });
  }
  for (auto& t : workers) t.join();
  EXPECT_EQ(done.load(), kJobs);
  EXPECT_EQ(over.load(), 0);
  auto info = call<QueueInfo>([&](auto d) { stores[1]->queue_get({.queue = "q"}, d); });
  ASSERT_TRUE(info);
  EXPECT_EQ(info->counts[JobState::succeeded], kJobs);
  EXPECT_EQ(info->counts[JobState::running], 0);
  EXPECT_EQ(info->processed, kJobs);
}

// The sessions dropped while the store is idle (the database restarted,
// a proxy cut them): the next batch finds its connection gone before it
// committed anything, opens a new one and runs — the caller sees no error
// (a database that is really down gives 503s: tests/integration/
// test_postgres_failures.py). The LISTEN session comes back on its own.
TEST(PostgresStoreTest, SessionsLostWhileIdleAreOpenedAgainForTheNextBatch) {
  const auto schema = unique_schema("lost");
  const std::string app = "errand-test-" + schema;
  Heard heard;  // outlives the store, which may deliver until closed
  auto store = open_store(
      schema, pg::testing::test_database_url() +
                  (pg::testing::test_database_url().find('?') == std::string::npos ? "?" : "&") +
                  "application_name=" + app);
  store->set_change_listener([&](const ChangeNotice& n) {
    std::lock_guard lock(heard.mutex);
    heard.notices.push_back(n);
  });
  auto insert = [&](std::string queue) {
    return call<std::vector<InsertOutcome>>(
        [&](auto done) { store->job_insert_many({.jobs = {new_job(queue)}, .now = kNow}, done); });
  };
  ASSERT_TRUE(insert("before"));
  EXPECT_TRUE(store->writable());
  heard.clear();
  auto admin = session(schema);
  EXPECT_EQ(query_text(*admin, fmt::format("SELECT count(pg_terminate_backend(pid)) FROM"
                                           " pg_stat_activity WHERE application_name = '{}'",
                                           app)),
            "2\n");
  auto during = insert("during");
  ASSERT_TRUE(during) << during.error().message;
  // The LISTEN session came back too, and told waiters to look everywhere.
  EXPECT_TRUE(eventually([&] { return heard.runnable("before"); }));
  EXPECT_TRUE(eventually([&] { return store->writable(); }));
  auto queues = call<std::vector<QueueInfo>>([&](auto done) { store->queue_list(done); });
  ASSERT_TRUE(queues);
  std::vector<std::string> names;
  for (const auto& q : *queues) names.push_back(q.name);
  EXPECT_EQ(names, (std::vector<std::string>{"before", "during"}));
}

// A row whose stored JSON does not scan (damaged, or written by hand) takes
// down nothing but itself: lists skip it, a read names it, a claim buries
// it as dead and takes the next job.
TEST(PostgresStoreTest, AnUnreadableJobIsSkippedInListsAndBuriedByClaims) {
  const auto schema = unique_schema("unreadable");
  auto store = open_store(schema);
  auto ids = call<std::vector<InsertOutcome>>([&](auto done) {
    store->job_insert_many({.jobs = {new_job("q"), new_job("q")}, .now = kNow}, done);
  });
  ASSERT_TRUE(ids);
  const auto bad = (*ids)[0].id;
  const auto good = (*ids)[1].id;
  ASSERT_TRUE(session(schema)->exec(fmt::format(
      "UPDATE jobs SET payload = '{{\"unterminated' WHERE id = {}", *core::parse_job_id(bad))));
  const auto seen_before = store->unreadable_jobs();
  auto page = call<JobPage>([&](auto done) { store->job_list({.client_json = true}, done); });
  ASSERT_TRUE(page);
  ASSERT_EQ(page->jobs.size(), 1u);
  EXPECT_EQ(page->jobs[0].id, good);
  EXPECT_EQ(store->unreadable_jobs(), seen_before + 1);
  auto read = call<core::Job>([&](auto done) { store->job_get({.id = bad}, done); });
  ASSERT_FALSE(read);
  EXPECT_NE(read.error().message.find(bad), std::string::npos) << read.error().message;
  auto claimed = claim(*store, "q", 5);
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].id, good);
  auto info = call<QueueInfo>([&](auto done) { store->queue_get({.queue = "q"}, done); });
  ASSERT_TRUE(info);
  EXPECT_EQ(info->counts[JobState::dead], 1);
  EXPECT_EQ(info->counts[JobState::running], 1);
  EXPECT_EQ(info->counts[JobState::queued], 0);
}

// Two servers taking the same idempotency key at once: one inserts, the
// other answers with that job as a duplicate.
TEST(PostgresStoreTest, AnIdempotencyKeyRaceBetweenServersGivesOneJob) {
  const auto schema = unique_schema("keyrace");
  auto a = open_store(schema);
  auto b = open_store(schema);
  for (int round = 0; round < 20; ++round) {
    auto j = new_job("q");
    j.idempotency_key = fmt::format("key-{}", round);
    std::vector<core::Result<std::vector<InsertOutcome>>> out(2);
    std::thread ta([&] {
      out[0] = call<std::vector<InsertOutcome>>(
          [&](auto done) { a->job_insert_many({.jobs = {j}, .now = kNow}, done); });
    });
    std::thread tb([&] {
      out[1] = call<std::vector<InsertOutcome>>(
          [&](auto done) { b->job_insert_many({.jobs = {j}, .now = kNow}, done); });
    });
    ta.join();
    tb.join();
    ASSERT_TRUE(out[0]) << out[0].error().message;
    ASSERT_TRUE(out[1]) << out[1].error().message;
    EXPECT_EQ((*out[0])[0].id, (*out[1])[0].id);
    EXPECT_NE((*out[0])[0].duplicate, (*out[1])[0].duplicate);
  }
  auto info = call<QueueInfo>([&](auto done) { a->queue_get({.queue = "q"}, done); });
  ASSERT_TRUE(info);
  EXPECT_EQ(info->counts[JobState::queued], 20);
}

// PostgreSQL text has no U+0000: a NUL in a log or an error (a decoded JSON
// string may hold one) is kept as U+FFFD, not cut short or refused.
TEST(PostgresStoreTest, ANulInALogOrAnErrorIsKeptAsAReplacementCharacter) {
  const auto schema = unique_schema("nul");
  auto store = open_store(schema);
  ASSERT_TRUE(call<std::vector<InsertOutcome>>(
      [&](auto done) { store->job_insert_many({.jobs = {new_job("q")}, .now = kNow}, done); }));
  auto running = claim(*store, "q", 1);
  ASSERT_EQ(running.size(), 1u);
  const std::string nul("a\0b", 3);
  auto failed = call<core::Job>([&](auto done) {
    store->job_fail({.id = running[0].id,
                     .lease_id = running[0].lease_id,
                     .error = nul,
                     .log = nul,
                     .now = kNow},
                    done);
  });
  ASSERT_TRUE(failed) << failed.error().message;
  auto job = call<core::Job>([&](auto done) { store->job_get({.id = running[0].id}, done); });
  ASSERT_TRUE(job);
  ASSERT_EQ(job->logs.size(), 1u);
  EXPECT_EQ(job->logs[0].text,
            "a\xEF\xBF\xBD"
            "b");
  ASSERT_EQ(job->errors.size(), 1u);
  EXPECT_EQ(job->errors[0].message, nul);  // errors are JSON text: the NUL is escaped
}

// The connection dies between a batch's statements and its COMMIT: the
// verb is refused (never a success for a change that did not commit) and
// nothing of it is in the database.
TEST(PostgresStoreTest, ACommitOnALostConnectionIsRefusedAndChangesNothing) {
  const auto schema = unique_schema("commit");
  const std::string app = "errand-test-" + schema;
  auto admin = session(schema);
  std::atomic<bool> cut{false};
  auto terminate_writer = [&] {
    if (!cut.exchange(false)) return;
    const auto writer = fmt::format(
        "SELECT pid FROM pg_stat_activity WHERE application_name = '{}' AND state <> 'idle'", app);
    (void)query_text(*admin, fmt::format("SELECT pg_terminate_backend(pid) FROM ({}) w", writer));
    // Until it is gone, so the COMMIT cannot reach it.
    eventually([&] { return query_text(*admin, writer).empty(); });
  };
  const auto url = pg::testing::test_database_url();
  auto opened =
      PostgresStore::open({.conninfo = url + (url.find('?') == std::string::npos ? "?" : "&") +
                                       "application_name=" + app,
                           .schema = schema,
                           .before_commit = terminate_writer});
  ASSERT_TRUE(opened) << opened.error().message;
  auto& store = **opened;
  auto insert = [&](std::string queue) {
    return call<std::vector<InsertOutcome>>(
        [&](auto done) { store.job_insert_many({.jobs = {new_job(queue)}, .now = kNow}, done); });
  };
  cut = true;
  auto lost = insert("lost");
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().code, core::errc::unavailable);
  EXPECT_NE(lost.error().message.find("the database connection was lost"), std::string::npos)
      << lost.error().message;
  EXPECT_TRUE(eventually([&] { return insert("kept").has_value(); }));
  EXPECT_EQ(query_text(*admin, "SELECT queue FROM jobs ORDER BY id"), "kept\n");
}

TEST(PostgresStoreTest, ASettingKeepsItsFirstValue) {
  const auto schema = unique_schema("settings");
  auto a = open_store(schema);
  auto b = open_store(schema);
  auto first = call<std::string>(
      [&](auto done) { a->setting_get_or_put({.name = "secret", .value = "one"}, done); });
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(*first, "one");
  auto second = call<std::string>(
      [&](auto done) { b->setting_get_or_put({.name = "secret", .value = "two"}, done); });
  ASSERT_TRUE(second);
  EXPECT_EQ(*second, "one");
}

}  // namespace
}  // namespace errand::store

namespace errand::store {
namespace {

struct HeardEvents {
  std::mutex mutex;
  std::vector<JobEventNotice> notices;
  std::string watched;  // the one job id wanted
  std::size_t size() {
    std::lock_guard lock(mutex);
    return notices.size();
  }
};

JobEventFeed feed_into(HeardEvents& heard) {
  return {.wanted =
              [&heard](const std::string& id) {
                std::lock_guard lock(heard.mutex);
                return id == heard.watched;
              },
          .deliver =
              [&heard](std::vector<JobEventNotice> notices) {
                std::lock_guard lock(heard.mutex);
                for (auto& n : notices) heard.notices.push_back(std::move(n));
              }};
}

// A job's changes made through one server reach the feed of every server,
// numbered alike and in order, with the data a watcher is shown; another
// job's changes are not delivered where nobody wants them.
TEST(PostgresStoreTest, JobEventsReachEveryServerNumberedAlike) {
  const auto schema = unique_schema("events");
  HeardEvents heard_a, heard_b;  // outlive the stores
  auto a = open_store(schema);
  auto b = open_store(schema);
  ASSERT_TRUE(a->set_job_event_feed(feed_into(heard_a)));
  ASSERT_TRUE(b->set_job_event_feed(feed_into(heard_b)));
  auto inserted = call<std::vector<InsertOutcome>>([&](auto done) {
    a->job_insert_many({.jobs = {new_job("mail"), new_job("mail")}, .now = kNow}, done);
  });
  ASSERT_TRUE(inserted) << inserted.error().message;
  const auto id = (*inserted)[0].id;
  {
    std::scoped_lock lock(heard_a.mutex, heard_b.mutex);
    heard_a.watched = heard_b.watched = id;
  }
  auto snapshot = call<core::Job>([&](auto done) { b->job_get({.id = id}, done); });
  ASSERT_TRUE(snapshot);
  auto jobs = claim(*a, "mail", 2);  // both: only the watched one is announced here
  ASSERT_EQ(jobs.size(), 2u);
  const auto& job = jobs[0].id == id ? jobs[0] : jobs[1];
  ASSERT_TRUE(call<Unit>([&](auto done) {
    core::Progress progress;
    progress.percent = 40;
    b->job_progress({.id = id, .lease_id = job.lease_id, .progress = progress, .now = kNow}, done);
  }));
  ASSERT_TRUE(call<core::Job>([&](auto done) {
    b->job_complete({.id = id,
                     .lease_id = job.lease_id,
                     .result = core::RawJson::trusted(R"({"sent":1})"),
                     .now = kNow},
                    done);
  }));
  for (auto* heard : {&heard_a, &heard_b}) {
    ASSERT_TRUE(eventually([&] { return heard->size() >= 3; }));
    std::lock_guard lock(heard->mutex);
    ASSERT_EQ(heard->notices.size(), 3u);
    const auto& n = heard->notices;
    EXPECT_FALSE(n[0].progress);
    EXPECT_EQ(n[0].state, JobState::running);
    EXPECT_EQ(n[0].attempt, 1);
    EXPECT_TRUE(n[1].progress);
    ASSERT_TRUE(n[1].progress_value);
    EXPECT_EQ(n[1].progress_value->percent, std::optional<int>(40));
    EXPECT_EQ(n[2].state, JobState::succeeded);
    EXPECT_EQ(n[2].result.stored(), R"({"sent":1})");
    EXPECT_EQ(n[0].seq, snapshot->event_seq + 1);
    EXPECT_EQ(n[1].seq, n[0].seq + 1);
    EXPECT_EQ(n[2].seq, n[1].seq + 1);
  }
  {
    std::scoped_lock lock(heard_a.mutex, heard_b.mutex);
    for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(heard_a.notices[i].seq, heard_b.notices[i].seq);
  }
  auto after = call<core::Job>([&](auto done) { a->job_get({.id = id}, done); });
  ASSERT_TRUE(after);
  EXPECT_EQ(after->event_seq, heard_a.notices[2].seq);  // a snapshot tells where it stands
  a->set_job_event_feed({});
  b->set_job_event_feed({});
}

// The store measures the database's clock against the one it was given, so
// a server whose own clock is 5 s ahead goes by the database's.
TEST(PostgresStoreTest, TheClockOffsetIsTheDatabasesClockMinusTheServers) {
  const auto schema = unique_schema("clock");
  core::SystemClock system;
  core::ShiftedClock ahead(system, 5s);
  auto store = PostgresStore::open(
      {.conninfo = pg::testing::test_database_url(), .schema = schema, .clock = &ahead});
  ASSERT_TRUE(store) << store.error().message;
  const auto offset = (*store)->clock_offset();
  ASSERT_TRUE(offset.has_value());  // measured before open returns
  EXPECT_NEAR(static_cast<double>(offset->count()), -5000.0, 250.0);
  auto plain = open_store(schema);
  ASSERT_TRUE(plain->clock_offset().has_value());
  EXPECT_LT(std::chrono::abs(*plain->clock_offset()), 250ms);  // the same machine's clock
}

}  // namespace
}  // namespace errand::store
