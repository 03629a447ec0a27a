// The Store conformance suite: one set of GoogleTest cases, value-
// parameterized over a StoreFactory, that every Store backend must pass.
//
// A backend joins by instantiating the suites with its factory:
//   ERRAND_STORE_CONFORMANCE(Sqlite, sqlite_factory());
// Each test gets a fresh temporary directory (removed afterwards) and a store
// opened on it. Time is a fixed `kNow` plus offsets; nothing sleeps. Verbs
// are called synchronously through `call`, which waits for the callback.
#pragma once

#include "core/mutex.hpp"
#include "store/conformance/call.hpp"
#include "store/store.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <future>
#include <memory>
#include <string>
#include <vector>

namespace errand::core {
// Readable states in GoogleTest failure messages.
inline void PrintTo(JobState s, std::ostream* os) {
  *os << to_string(s);
}
}  // namespace errand::core

namespace errand::store::conformance {

using namespace std::chrono_literals;
using core::JobState;

struct StoreFactory {
  std::string name;
  std::function<std::unique_ptr<Store>(const std::string& dir)> open;
};

inline void PrintTo(const StoreFactory& f, std::ostream* os) {
  *os << f.name;
}

class StoreTest : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override;
  void TearDown() override;

  Store& store() { return *store_; }
  const std::string& dir() const { return dir_; }
  // Closes the store and opens the same directory again.
  void reopen();

  // A valid job for `queue` (the store gives it an id at insert; ids
  // increase in insertion order).
  core::NewJob job(std::string queue = "default", std::int64_t priority = 0);
  core::Result<std::vector<InsertOutcome>> insert_many(std::vector<core::NewJob> jobs,
                                                       core::TimePoint now = kNow);
  // Inserts one job (which must succeed) and returns its id.
  std::string insert(core::NewJob job, core::TimePoint now = kNow);
  // Inserts jobs in one batch (which must succeed) and returns their ids.
  std::vector<std::string> insert_ids(std::vector<core::NewJob> jobs, core::TimePoint now = kNow);
  core::Result<core::Job> get(const std::string& id);
  std::vector<core::Job> claim(std::vector<std::string> queues, std::size_t max = 1,
                               core::TimePoint now = kNow, std::optional<core::Millis> lease = {});
  // Inserts `j` and claims it (it must be first in its queue); returns it running.
  core::Job running(core::NewJob j);
  core::Job running(std::string queue = "default") { return running(job(std::move(queue))); }
  core::Result<core::Job> complete(const core::Job& job, core::TimePoint now = kNow);
  // Completes with `lease_id` instead of the job's own lease.
  core::Result<core::Job> complete_lease(const core::Job& job, std::string lease_id);
  core::Result<core::Job> fail(const core::Job& job, JobFailParams p = {});
  core::Result<LeaseInfo> extend(const core::Job& job, std::string lease_id,
                                 std::optional<core::Millis> by, core::TimePoint now);
  core::Result<Unit> progress(const core::Job& job, std::string lease_id, core::Progress p,
                              core::TimePoint now = kNow);
  core::Result<core::Job> cancel(const std::string& id, core::TimePoint now = kNow);
  core::Result<core::Job> retry(const std::string& id, core::TimePoint now = kNow);
  std::int64_t promote_due(core::TimePoint now);
  std::int64_t expire_leases(core::TimePoint now, double jitter = 0.5);
  std::vector<QueueInfo> queues();
  // The named queue's info; fails the test if the queue is not listed.
  QueueInfo queue(const std::string& name);
  std::map<JobState, std::int64_t> counts(const std::string& name) { return queue(name).counts; }

  // Every notice delivered so far (waits for the listener of earlier verbs).
  std::vector<ChangeNotice> notices() EXCLUDES(notices_mutex_);
  void clear_notices() EXCLUDES(notices_mutex_);

 private:
  void open_store();

  std::string dir_;
  std::unique_ptr<Store> store_;
  core::Mutex notices_mutex_;
  std::vector<ChangeNotice> notices_ GUARDED_BY(notices_mutex_);
};

// Expected per-state counts: every state present, those not named zero.
std::map<JobState, std::int64_t> counts_of(
    std::initializer_list<std::pair<JobState, std::int64_t>> nonzero);

// One fixture name per area, so results read "Sqlite/ClaimTest.PriorityThenFifo/...".
class InsertTest : public StoreTest {};
class ReadTest : public StoreTest {};
class ClaimTest : public StoreTest {};
class LeaseTest : public StoreTest {};
class CompleteFailTest : public StoreTest {};
class CancelRetryDeleteTest : public StoreTest {};
class QueuesTest : public StoreTest {};
class QueueConfigTest : public StoreTest {};
class TimersTest : public StoreTest {};
class DurabilityTest : public StoreTest {};
class SchedulesTest : public StoreTest {};
class PushTest : public StoreTest {};
class StatsSamplesTest : public StoreTest {};
class SettingsTest : public StoreTest {};
class SessionsTest : public StoreTest {};
class NodesTest : public StoreTest {};
class WorkflowsTest : public StoreTest {};  // workflows_test.cpp
// Per-key flow control (keys_test.cpp), with its helpers.
class KeysTest : public StoreTest {
 protected:
  core::NewJob keyed(std::string key, std::string queue = "q", std::int64_t priority = 0) {
    core::NewJob j = job(std::move(queue), priority);
    j.key = std::move(key);
    return j;
  }
  core::Result<QueueInfo> configure(std::string queue, core::QueueConfig config) {
    return call<QueueInfo>([&](auto done) {
      store().queue_configure({.queue = std::move(queue), .config = config}, done);
    });
  }
  core::Result<KeyInfo> put_key(std::string key, core::KeyLimits limits, std::string queue = "q") {
    return call<KeyInfo>([&](auto done) {
      store().key_put({.queue = std::move(queue), .key = std::move(key), .limits = limits}, done);
    });
  }
  core::Result<KeyInfo> get_key(std::string key, std::string queue = "q") {
    return call<KeyInfo>([&](auto done) {
      store().key_get({.queue = std::move(queue), .key = std::move(key)}, done);
    });
  }
  core::Result<KeyInfo> delete_key(std::string key, std::string queue = "q") {
    return call<KeyInfo>([&](auto done) {
      store().key_delete({.queue = std::move(queue), .key = std::move(key)}, done);
    });
  }
  KeyPage list_keys(KeyListParams p) {
    auto page = call<KeyPage>([&](auto done) { store().key_list(p, done); });
    EXPECT_TRUE(page) << page.error().message;
    return page ? *page : KeyPage{};
  }
  // queued / running of a key, as key_get reports them ({0, 0} when absent).
  std::pair<std::int64_t, std::int64_t> key_counts(const std::string& key) {
    auto info = get_key(key);
    if (!info) return {0, 0};
    return {info->queued, info->running};
  }
  static std::vector<std::string> keys_of(const std::vector<core::Job>& jobs) {
    std::vector<std::string> out;
    for (const auto& j : jobs) out.push_back(j.key);
    return out;
  }
};

std::string factory_name(const ::testing::TestParamInfo<StoreFactory>& info);

#define ERRAND_STORE_CONFORMANCE_SUITE(prefix, suite, factory) \
  INSTANTIATE_TEST_SUITE_P(prefix, suite, ::testing::Values(factory), factory_name)

#define ERRAND_STORE_CONFORMANCE(prefix, factory)                         \
  ERRAND_STORE_CONFORMANCE_SUITE(prefix, InsertTest, factory);            \
  ERRAND_STORE_CONFORMANCE_SUITE(prefix, ReadTest, factory);              \
  ERRAND_STORE_CONFORMANCE_SUITE(prefix, ClaimTest, factory);             \
  ERRAND_STORE_CONFORMANCE_SUITE(prefix, LeaseTest, factory);             \
  ERRAND_STORE_CONFORMANCE_SUITE(prefix, CompleteFailTest, factory);      \
  ERRAND_STORE_CONFORMANCE_SUITE(prefix, CancelRetryDeleteTest, factory); \
  ERRAND_STORE_CONFORMANCE_SUITE(prefix, QueuesTest, factory);            \
  ERRAND_STORE_CONFORMANCE_SUITE(prefix, QueueConfigTest, factory);       \
  ERRAND_STORE_CONFORMANCE_SUITE(prefix, TimersTest, factory);            \
  ERRAND_STORE_CONFORMANCE_SUITE(prefix, DurabilityTest, factory);        \
  ERRAND_STORE_CONFORMANCE_SUITE(prefix, SchedulesTest, factory);         \
  ERRAND_STORE_CONFORMANCE_SUITE(prefix, PushTest, factory);              \
  ERRAND_STORE_CONFORMANCE_SUITE(prefix, StatsSamplesTest, factory);      \
  ERRAND_STORE_CONFORMANCE_SUITE(prefix, SettingsTest, factory);          \
  ERRAND_STORE_CONFORMANCE_SUITE(prefix, SessionsTest, factory);          \
  ERRAND_STORE_CONFORMANCE_SUITE(prefix, NodesTest, factory);             \
  ERRAND_STORE_CONFORMANCE_SUITE(prefix, KeysTest, factory);              \
  ERRAND_STORE_CONFORMANCE_SUITE(prefix, WorkflowsTest, factory)

}  // namespace errand::store::conformance
