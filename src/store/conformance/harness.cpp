#include "store/conformance/harness.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>

namespace errand::store::conformance {

void StoreTest::SetUp() {
  std::string pattern = (std::filesystem::temp_directory_path() / "errand-store-XXXXXX").string();
  ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
  dir_ = pattern;
  open_store();
}

void StoreTest::TearDown() {
  if (store_) store_->close();
  store_.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void StoreTest::open_store() {
  store_ = GetParam().open(dir_);
  ASSERT_NE(store_, nullptr);
  store_->set_change_listener([this](const ChangeNotice& n) {
    core::MutexLock lock(notices_mutex_);
    notices_.push_back(n);
  });
}

void StoreTest::reopen() {
  store_->close();
  store_.reset();
  open_store();
}

core::NewJob StoreTest::job(std::string queue, std::int64_t priority) {
  core::NewJob j;
  j.queue = std::move(queue);
  j.priority = priority;
  j.run_at = kNow;
  j.timeout = 60s;
  return j;
}

core::Result<std::vector<InsertOutcome>> StoreTest::insert_many(std::vector<core::NewJob> jobs,
                                                                core::TimePoint now) {
  return call<std::vector<InsertOutcome>>(
      [&](auto done) { store().job_insert_many({.jobs = std::move(jobs), .now = now}, done); });
}

std::string StoreTest::insert(core::NewJob job, core::TimePoint now) {
  auto out = insert_many({job}, now);
  EXPECT_TRUE(out) << out.error().message;
  return out && out->size() == 1 ? out->front().id : std::string();
}

std::vector<std::string> StoreTest::insert_ids(std::vector<core::NewJob> jobs,
                                               core::TimePoint now) {
  auto out = insert_many(std::move(jobs), now);
  EXPECT_TRUE(out) << out.error().message;
  std::vector<std::string> ids;
  if (out) {
    for (const auto& o : *out) ids.push_back(o.id);
  }
  return ids;
}

core::Result<core::Job> StoreTest::get(const std::string& id) {
  return call<core::Job>([&](auto done) { store().job_get({.id = id}, done); });
}

std::vector<core::Job> StoreTest::claim(std::vector<std::string> queues, std::size_t max,
                                        core::TimePoint now, std::optional<core::Millis> lease) {
  auto r = call<std::vector<core::Job>>([&](auto done) {
    store().job_claim(
        {.queues = std::move(queues), .worker = "w1", .max = max, .lease = lease, .now = now},
        done);
  });
  EXPECT_TRUE(r) << r.error().message;
  return r ? std::move(*r) : std::vector<core::Job>{};
}

core::Job StoreTest::running(core::NewJob j) {
  const std::string id = insert(j);
  auto claimed = claim({j.queue}, 1);
  EXPECT_EQ(claimed.size(), 1u);
  EXPECT_TRUE(!claimed.empty() && claimed[0].id == id);
  return claimed.empty() ? core::Job{} : claimed[0];
}

core::Result<core::Job> StoreTest::complete(const core::Job& job, core::TimePoint now) {
  return call<core::Job>([&](auto done) {
    store().job_complete({.id = job.id,
                          .lease_id = job.lease_id,
                          .result = core::RawJson::trusted(R"({"ok":true})"),
                          .now = now},
                         done);
  });
}

core::Result<core::Job> StoreTest::complete_lease(const core::Job& job, std::string lease_id) {
  return call<core::Job>([&](auto done) {
    store().job_complete({.id = job.id, .lease_id = std::move(lease_id), .now = kNow}, done);
  });
}

core::Result<LeaseInfo> StoreTest::extend(const core::Job& job, std::string lease_id,
                                          std::optional<core::Millis> by, core::TimePoint now) {
  return call<LeaseInfo>([&](auto done) {
    store().lease_extend({.id = job.id, .lease_id = std::move(lease_id), .extend = by, .now = now},
                         done);
  });
}

core::Result<Unit> StoreTest::progress(const core::Job& job, std::string lease_id, core::Progress p,
                                       core::TimePoint now) {
  return call<Unit>([&](auto done) {
    store().job_progress(
        {.id = job.id, .lease_id = std::move(lease_id), .progress = std::move(p), .now = now},
        done);
  });
}

core::Result<core::Job> StoreTest::fail(const core::Job& job, JobFailParams p) {
  p.id = job.id;
  if (p.lease_id.empty()) p.lease_id = job.lease_id;
  if (p.now == core::TimePoint{}) p.now = kNow;
  if (p.error.empty()) p.error = "boom";
  return call<core::Job>([&](auto done) { store().job_fail(std::move(p), done); });
}

core::Result<core::Job> StoreTest::cancel(const std::string& id, core::TimePoint now) {
  return call<core::Job>([&](auto done) { store().job_cancel({.id = id, .now = now}, done); });
}

core::Result<core::Job> StoreTest::retry(const std::string& id, core::TimePoint now) {
  return call<core::Job>([&](auto done) { store().job_retry({.id = id, .now = now}, done); });
}

std::int64_t StoreTest::promote_due(core::TimePoint now) {
  auto r = call<std::int64_t>([&](auto done) { store().job_promote_due({.now = now}, done); });
  EXPECT_TRUE(r) << r.error().message;
  return r ? *r : -1;
}

std::int64_t StoreTest::expire_leases(core::TimePoint now, double jitter) {
  auto r = call<std::int64_t>(
      [&](auto done) { store().lease_expire({.now = now, .jitter = jitter}, done); });
  EXPECT_TRUE(r) << r.error().message;
  return r ? *r : -1;
}

std::vector<QueueInfo> StoreTest::queues() {
  auto r = call<std::vector<QueueInfo>>([&](auto done) { store().queue_list(done); });
  EXPECT_TRUE(r) << r.error().message;
  return r ? std::move(*r) : std::vector<QueueInfo>{};
}

QueueInfo StoreTest::queue(const std::string& name) {
  for (auto& q : queues()) {
    if (q.name == name) return q;
  }
  ADD_FAILURE() << "queue " << name << " is not listed";
  return {};
}

std::vector<ChangeNotice> StoreTest::notices() {
  // Notices follow their batch's callbacks; one more round trip waits for them.
  (void)queues();
  core::MutexLock lock(notices_mutex_);
  return notices_;
}

void StoreTest::clear_notices() {
  (void)queues();
  core::MutexLock lock(notices_mutex_);
  notices_.clear();
}

std::map<JobState, std::int64_t> counts_of(
    std::initializer_list<std::pair<JobState, std::int64_t>> nonzero) {
  std::map<JobState, std::int64_t> out;
  for (auto s : core::kAllStates) out[s] = 0;
  for (const auto& [s, n] : nonzero) out[s] = n;
  return out;
}

std::string factory_name(const ::testing::TestParamInfo<StoreFactory>& info) {
  return info.param.name;
}

}  // namespace errand::store::conformance
