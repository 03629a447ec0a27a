#include "store/postgres/writer.hpp"

#include "store/postgres/events.hpp"
#include "store/postgres/keys.hpp"
#include "store/postgres/schema.hpp"

#include <fmt/format.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cassert>

namespace errand::store::postgres {
namespace {

constexpr int kMaxRetries = 5;
// At most this many ops share a transaction, whatever max_batch says: each
// write op's savepoint is a subtransaction with its own xid, and past 64 of
// them in one transaction every other session's snapshot overflows its
// subxid cache and must look them up in pg_subtrans — a known way to slow a
// busy PostgreSQL down. Commits are cheap in comparison.
constexpr std::size_t kMaxOpsPerTransaction = 64;
constexpr std::chrono::milliseconds kFirstBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{5000};

const Statement kBegin{"begin", "BEGIN"};
const Statement kCommit{"commit", "COMMIT"};
const Statement kRollback{"rollback", "ROLLBACK"};
const Statement kSavepoint{"savepoint", "SAVEPOINT op"};
const Statement kRelease{"release", "RELEASE op"};
const Statement kNotify{"notify", "SELECT pg_notify($1, q) FROM unnest($2::text[]) AS q"};

// The connection broke while COMMIT was on its way: the transaction may or
// may not have committed, and the client must be told it does not know.
core::Error commit_unknown(const core::Error& lost) {
  return core::make_error(
      core::errc::unavailable,
      fmt::format("{} — while committing, so the change may or may not have been made (retry with "
                  "the same idempotency key, or read it back)",
                  lost.message));
}

// Another server's transaction got in the way: the batch can simply run again.
bool retryable(std::string_view sqlstate) {
  return sqlstate == "40P01" || sqlstate == "40001";
}

}  // namespace

// ---- Batch ------------------------------------------------------------------

core::Error Batch::unexpected(const std::exception& e) {
  spdlog::error("unexpected store error: {}", e.what());
  return core::make_error(core::errc::internal,
                          "unexpected store error; the server log has details");
}

core::Error Batch::failure() const {
  if (failure_) return *failure_;
  return connection_lost(db_.where());
}

// An op's savepoint goes with its first statement (Conn::defer), after the
// RELEASE of the op before it, if kept (else COMMIT ends every open one):
// no round trip of its own.
void Batch::begin_op() {
  ctx_.notice.clear();
  if (savepoint_kept_) db_.defer({.statement = &kRelease, .params = {}});
  db_.defer({.statement = &kSavepoint, .params = {}});
  savepoint_kept_ = true;
}

void Batch::end_op(const core::Error* error) {
  // A failed op rolls back to its savepoint and is then released, so the
  // batch's transaction continues without its changes — unless it lost a
  // deadlock to another server: then the whole batch runs again.
  const bool keep = error == nullptr;
  if (db_.lost()) {
    failure_ = connection_lost(db_.where());
  } else if (!keep && retryable(db_.last_sqlstate())) {
    failure_ = *error;
    retry_ = true;
  } else if (!keep) {
    if (auto ended = db_.exec("ROLLBACK TO op; RELEASE op"); !ended) failure_ = ended.error();
    savepoint_kept_ = false;
  }
  if (keep && !failed()) {
    ctx_.queues.op_keep();
    ctx_.keys.op_keep();
    ctx_.notice.merge_into(batch_notice_);
  } else {
    ctx_.queues.op_drop();
    ctx_.keys.op_drop();
  }
  ctx_.notice.clear();
}

// ---- Writer -----------------------------------------------------------------

Writer::Writer(std::unique_ptr<Conn> db, std::string conninfo, std::string schema,
               StoreOptions options, Notifier& notifier, std::function<void()> before_commit,
               core::metrics::Histogram* commit_seconds, core::metrics::Histogram* fsync_seconds)
    : db_(std::move(db)),
      conninfo_(std::move(conninfo)),
      schema_(std::move(schema)),
      channel_(notify_channel(schema_)),
      options_(std::move(options)),
      notifier_(notifier),
      before_commit_(std::move(before_commit)),
      commit_seconds_(commit_seconds),
      fsync_seconds_(fsync_seconds) {
  backend_pid_ = db_->backend_pid();
}

Writer::~Writer() {
  close();
}

void Writer::start() {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "errand-pgwriter");
    loop();
  });
}

void Writer::submit(std::unique_ptr<Op> op) {
  {
    core::MutexLock lock(mutex_);
    if (!closing_) {
      pending_.push_back(std::move(op));
      if (pending_.size() == 1) wake_.notify_one();
      return;
    }
  }
  const auto closed = core::make_error(core::errc::unavailable, "the PostgreSQL store is closed");
  finish(*op, &closed);
}

void Writer::close() {
  {
    core::MutexLock lock(mutex_);
    closing_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

// While disconnected, also wakes at the next reconnection attempt.
bool Writer::take(Ops& ops) {
  core::MutexLock lock(mutex_);
  for (;;) {
    if (retry_now_) {
      retry_now_ = false;
      next_attempt_ = Clock::now();
    }
    if (!pending_.empty()) break;
    if (closing_) return false;
    if (db_) {
      wake_.wait(mutex_);
      continue;
    }
    if (wake_.wait_until(mutex_, next_attempt_) == std::cv_status::timeout) {
      lock.unlock();
      reconnect();
      lock.lock();
    }
  }
  const std::size_t most = std::clamp<std::size_t>(options_.max_batch, 1, kMaxOpsPerTransaction);
  const std::size_t n = std::min(pending_.size(), most);
  for (std::size_t i = 0; i < n; ++i) {
    ops.push_back(std::move(pending_.front()));
    pending_.pop_front();
  }
  return true;
}

void Writer::loop() {
  writer_thread_ = std::this_thread::get_id();
  Ops ops;
  while (take(ops)) {
    if (!db_ && Clock::now() >= next_attempt_) reconnect();
    if (db_) {
      run_batch(ops);
    } else {
      fail_all(ops, connection_lost(lost_reason_ + "; reconnecting"));
    }
    ops.clear();
  }
  db_.reset();
  connected_ = false;
}

void Writer::run_batch(Ops& ops) {
  assert(std::this_thread::get_id() == writer_thread_);
  bool reopened = false;
  for (int tries = 0;; ++tries) {
    queues_.batch_drop();
    keys_.batch_drop();
    Batch batch(*db_, queues_, keys_, options_);
    std::size_t first_change = ops.size();
    bool committing = false;
    auto done = attempt(ops, batch, first_change, committing);
    if (done) {
      std::optional<ChangeNotice> notice;
      if (!batch.notice().empty()) notice = batch.notice().take();
      return answer(ops, std::move(notice), first_change);
    }
    queues_.batch_drop();
    keys_.batch_drop();
    if (db_->lost() && committing) {
      lost(done.error());
      return fail_all(ops, commit_unknown(done.error()));
    }
    if (db_->lost()) {
      // Nothing was committed: the server dropped the transaction with the
      // session. Once per batch, so a database that is down costs one
      // connection attempt here and then the backoff.
      lost(done.error());
      if (!reopened) {
        reopened = true;
        reconnect();
        if (db_) continue;
      }
      return fail_all(ops, done.error());
    }
    const std::string state = db_->last_sqlstate();
    (void)db_->run(kRollback);
    if (db_->lost()) {
      lost(done.error());
      return fail_all(ops, done.error());
    }
    if ((batch.retry() || retryable(state)) && tries < kMaxRetries) continue;
    spdlog::error("a store batch failed: {}", done.error().message);
    return fail_all(ops, core::make_error(core::errc::unavailable,
                                          fmt::format("the database transaction failed: {}",
                                                      done.error().message)));
  }
}

core::Result<void> Writer::attempt(Ops& ops, Batch& batch, std::size_t& first_change,
                                   bool& committing) {
  const auto began = std::chrono::steady_clock::now();
  // BEGIN goes with the first op's savepoint and first statement.
  db_->defer({.statement = &kBegin, .params = {}});
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const auto changes_before = batch.notice().job_change_count();
    ops[i]->run(batch);
    if (batch.failed()) return batch.failure();
    if (first_change == ops.size() && batch.notice().job_change_count() > changes_before) {
      first_change = i;
    }
  }
  return commit(batch, began, committing);
}

// The batch's end in one round trip: the queue counts, the NOTIFY (the
// queues made runnable, then the job events) and COMMIT — two when key counts
// or job events need rows back first: the key counts' and the changed jobs'
// event numbers, with the queue counts.
core::Result<void> Writer::commit(Batch& batch, Clock::time_point began, bool& committing) {
  auto steps = queues_.flush_steps();
  const auto key_deltas = keys_.take_batch();
  auto keys = key_steps(key_deltas);
  const auto& events = batch.notice().events();
  auto seqs = event_seqs_step(events);
  std::vector<std::string> announced;
  if (!keys.empty() || seqs) {
    const std::size_t keys_from = steps.size();
    std::move(keys.begin(), keys.end(), std::back_inserter(steps));
    if (seqs) steps.push_back(std::move(*seqs));
    auto rows = db_->run_together(steps);
    if (!rows) return rows.error();
    const auto key_rows = std::span(*rows).subspan(keys_from, keys.size());
    if (auto r = keys_moved(*db_, key_deltas, key_rows, batch.notice()); !r) return r.error();
    if (seqs) announced = event_payloads(events, rows->back());
    steps.clear();
  }
  auto payloads = batch.notice().peek().runnable_queues;
  std::move(announced.begin(), announced.end(), std::back_inserter(payloads));
  if (!payloads.empty()) {
    steps.push_back(
        {.statement = &kNotify, .params = Params().text(channel_).text(text_array(payloads))});
  }
  steps.push_back({.statement = &kCommit, .params = {}});
  if (before_commit_) before_commit_();
  committing = true;
  const auto commit_began = std::chrono::steady_clock::now();
  auto committed = db_->run_together(steps);
  if (!committed) return committed.error();
  const auto now = std::chrono::steady_clock::now();
  if (commit_seconds_) commit_seconds_->observe(std::chrono::duration<double>(now - began).count());
  if (fsync_seconds_) {
    fsync_seconds_->observe(std::chrono::duration<double>(now - commit_began).count());
  }
  return {};
}

void Writer::answer(Ops& ops, std::optional<ChangeNotice> notice, std::size_t first_change) {
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (i == first_change && notice) notifier_.deliver(*notice);
    finish(*ops[i], nullptr);
  }
  if (first_change >= ops.size() && notice) notifier_.deliver(*notice);
}

void Writer::fail_all(Ops& ops, const core::Error& error) {
  for (auto& op : ops) finish(*op, &error);
}

void Writer::lost(const core::Error& error) {
  spdlog::error("{}", error.message);
  lost_reason_ = db_ ? db_->where() : std::string("the database");
  db_.reset();
  connected_ = false;
  backend_pid_ = 0;
  backoff_ = kFirstBackoff;
  next_attempt_ = Clock::now() + backoff_;
}

void Writer::retry_connection_now() {
  {
    core::MutexLock lock(mutex_);
    retry_now_ = true;
  }
  wake_.notify_one();
}

void Writer::reconnect() {
  assert(std::this_thread::get_id() == writer_thread_);
  auto db = Conn::open(conninfo_, schema_);
  if (!db) {
    lost_reason_ = db.error().message;
    backoff_ = std::min(backoff_ * 2, kMaxBackoff);
    next_attempt_ = Clock::now() + backoff_;
    spdlog::warn("{}; trying again in {} ms", lost_reason_, backoff_.count());
    return;
  }
  db_ = std::move(*db);
  backend_pid_ = db_->backend_pid();
  connected_ = true;
  spdlog::info("reconnected to PostgreSQL at {}", db_->where());
}

void Writer::finish(Op& op, const core::Error* failure) {
  try {
    op.finish(failure);
  } catch (const std::exception& e) {
    spdlog::error("store callback threw: {}", e.what());
  }
}

}  // namespace errand::store::postgres
