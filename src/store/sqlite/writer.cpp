#include "store/sqlite/writer.hpp"

#include "store/sqlite/keys.hpp"

#include <fmt/format.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <algorithm>
#include <iterator>

namespace errand::store::sqlite {

// ---- Batch ------------------------------------------------------------------

// The exception's text may name library source files: it goes to the log,
// and the client gets a message of ours.
core::Error Batch::unexpected(const std::exception& e) {
  spdlog::error("unexpected store error: {}", e.what());
  return core::make_error(core::errc::internal,
                          "unexpected store error; the server log has details");
}

core::Error Batch::undo_all() {
  return core::make_error(core::errc::internal, "an item failed after it wrote: run each alone");
}

std::int64_t Batch::total_changes() const {
  return sqlite3_total_changes64(db_.handle());
}

core::Error Batch::failure() const {
  if (failure_) return *failure_;
  return core::make_error(core::errc::unavailable, db_.broken_reason());
}

core::Result<void> Batch::begin_op() {
  ctx_.notice.clear();
  auto begun = Query(ctx_.sql[Sql::savepoint]).run();
  if (!begun) failure_ = begun.error();
  return begun;
}

void Batch::end_op(bool keep) {
  // A failed op rolls back to its savepoint and is then released, so the
  // batch's transaction continues without its changes.
  core::Result<void> ended;
  if (!keep) ended = Query(ctx_.sql[Sql::rollback_to]).run();
  if (ended) ended = Query(ctx_.sql[Sql::release]).run();
  if (!ended) failure_ = ended.error();
  if (keep && ended && !db_.broken()) {
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

namespace {

// schema.cpp's wal_autocheckpoint: a checkpoint every ~8 MiB of WAL.
constexpr int kCheckpointPages = 2000;

}  // namespace

Writer::Writer(std::unique_ptr<Db> db, std::unique_ptr<Statements> sql, QueueBook queues,
               std::int64_t last_job_id, StoreOptions options, WalSync wal,
               std::function<bool()> fail_commit, core::metrics::Histogram* commit_seconds,
               core::metrics::Histogram* fsync_seconds)
    : db_(std::move(db)),
      sql_(std::move(sql)),
      queues_(std::move(queues)),
      last_job_id_(last_job_id),
      options_(std::move(options)),
      path_(db_->path()),
      wal_(std::move(wal)),
      fail_commit_(std::move(fail_commit)),
      commit_seconds_(commit_seconds),
      fsync_seconds_(fsync_seconds) {
  if (fail_commit_) sqlite3_commit_hook(db_->handle(), &Writer::commit_hook, this);
  sqlite3_wal_hook(db_->handle(), &Writer::wal_hook, this);
}

Writer::~Writer() {
  close();
}

int Writer::wal_hook(void* self, sqlite3*, const char*, int pages) {
  static_cast<Writer*>(self)->wal_pages_ = pages;
  return SQLITE_OK;
}

// Outside any transaction, after a batch. A passive checkpoint with the
// database locked exclusively always completes; one that fails (a full disk)
// leaves the WAL to grow, and the next batch tries again.
void Writer::checkpoint() {
  if (wal_pages_ < kCheckpointPages) return;
  wal_pages_ = 0;
  const int rc = sqlite3_wal_checkpoint_v2(db_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                           nullptr, nullptr);
  if (rc != SQLITE_OK) {
    spdlog::warn("checkpoint of {} failed: {}", path_, sqlite3_errmsg(db_->handle()));
  }
}

int Writer::commit_hook(void* self) {
  // Non-zero turns the COMMIT into a ROLLBACK: the fault tests' failed commit.
  return static_cast<Writer*>(self)->fail_commit_() ? 1 : 0;
}

void Writer::start() {
  // Named for top, perf and gdb (at most 15 characters).
  settler_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "errand-fsync");
    settle_loop();
  });
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "errand-writer");
    loop();
  });
}

void Writer::set_listener(Listener listener) {
  core::MutexLock lock(mutex_);
  listener_ = std::make_shared<const Listener>(std::move(listener));
}

void Writer::submit(std::unique_ptr<Op> op) {
  const auto now = std::chrono::steady_clock::now();
  bool lone = false;
  {
    core::MutexLock lock(mutex_);
    const bool spaced = note_submit(now);
    lone = spaced && RunHere::allowed() && op->may_run_here() && !closing_ && !writer_busy_ &&
           pending_.empty() && chores_.empty();
  }
  if (lone && run_here(op)) return;
  enqueue(std::move(op));
}

bool Writer::note_submit(std::chrono::steady_clock::time_point now) {
  const auto cap =
      2 * std::chrono::duration_cast<std::chrono::steady_clock::duration>(options_.lone_interval);
  const auto gap = std::min(now - last_submit_, cap);
  last_submit_ = now;
  mean_gap_ += (gap - mean_gap_) / 4;
  return mean_gap_ >= options_.lone_interval;
}

void Writer::enqueue(std::unique_ptr<Op> op) {
  {
    core::MutexLock lock(mutex_);
    if (!closing_) {
      pending_.push_back(std::move(op));
      const bool wake = pending_.size() == 1 && caller_ != std::this_thread::get_id();
      // Woken after the unlock, so the writer does not wake only to wait
      // for the mutex this thread still holds.
      lock.unlock();
      if (wake) wake_.notify_one();
      return;
    }
  }
  const auto closed =
      core::make_error(core::errc::unavailable, fmt::format("the store for {} is closed", path_));
  finish(*op, &closed);
}

void Writer::add_chore(std::unique_ptr<Chore> chore) {
  {
    core::MutexLock lock(mutex_);
    if (!closing_) {
      chores_.push_back(std::move(chore));
      if (chores_.size() == 1) wake_.notify_one();
      return;
    }
  }
  chore->abandon();
}

void Writer::close() {
  {
    core::MutexLock lock(mutex_);
    closing_ = true;
  }
  wake_.notify_one();
  const auto me = std::this_thread::get_id();
  if (thread_.joinable() && thread_.get_id() != me && settler_.get_id() != me) thread_.join();
}

bool Writer::take(Ops& ops, std::shared_ptr<const Listener>& listener) {
  core::MutexLock lock(mutex_);
  writer_busy_ = false;
  wake_.wait(mutex_, [this]() REQUIRES(mutex_) {
    return closing_ || !pending_.empty() || !chores_.empty() || checkpoint_due_;
  });
  writer_busy_ = true;
  checkpoint_due_ = false;
  if (pending_.empty()) {
    return !closing_;  // else closing, and everything submitted is done
  }
  taken_ = true;
  const std::size_t n = std::min(pending_.size(), std::max<std::size_t>(options_.max_batch, 1));
  for (std::size_t i = 0; i < n; ++i) {
    ops.push_back(std::move(pending_.front()));
    pending_.pop_front();
  }
  listener = listener_;
  return true;
}

void Writer::loop() {
  Ops ops;
  std::shared_ptr<const Listener> listener;
  for (;;) {
    wait_for_settler();
    if (!take(ops, listener)) break;
    core::MutexLock turn(turn_);  // after a request running on its caller's thread
    {
      core::MutexLock lock(mutex_);
      taken_ = false;
    }
    if (!ops.empty()) run_batch(ops, std::move(listener));
    ops.clear();
    step_chore();
    checkpoint();
  }
  abandon_chores();
  core::MutexLock turn(turn_);  // a request running on its caller's thread ends first
  {
    core::MutexLock lock(settle_mutex_);
    settler_stop_ = true;
  }
  settle_wake_.notify_one();
  if (settler_.joinable()) settler_.join();  // every batch is settled
  sql_.reset();  // statements are finalized before their connection closes
  db_.reset();
}

// After a batch (or with none waiting): one slice of the first chore, with
// no transaction open (a batch either committed or rolled back).
void Writer::step_chore() {
  Chore* chore = nullptr;
  {
    core::MutexLock lock(mutex_);
    if (chores_.empty()) return;
    chore = chores_.front().get();  // only this thread removes chores
  }
  bool done = true;
  try {
    done = chore->step(*db_);
  } catch (const std::exception& e) {
    spdlog::error("store chore threw: {}", e.what());
  }
  if (!done) return;
  std::unique_ptr<Chore> finished;
  core::MutexLock lock(mutex_);
  finished = std::move(chores_.front());
  chores_.pop_front();
}

void Writer::abandon_chores() {
  std::deque<std::unique_ptr<Chore>> left;
  {
    core::MutexLock lock(mutex_);
    left.swap(chores_);
  }
  for (auto& chore : left) chore->abandon();
}

// A lone request runs here only while the writer thread waits with nothing
// to do, no batch waits to be settled, and requests come far enough apart
// (note_submit). The spacing matters: while this thread (an HTTP thread)
// runs the request and waits for its fsync it reads nothing, so requests
// that come meanwhile queue up; run here one by one, each with its own
// fsync, they would commit far slower than the writer, which commits them
// together. Verbs its callbacks and the change listener call go the usual
// way (RunHere::Off), except the claims its jobs wake (run_woken_claims).
// When an op is submitted meanwhile, run_batch hands this batch to the
// settler, so the writer runs that op during this batch's fsync.
bool Writer::run_here(std::unique_ptr<Op>& op) {
  if (!turn_.try_lock()) return false;
  core::MutexLock turn(turn_, core::adopt_lock);
  if (!settler_idle()) return false;
  std::shared_ptr<const Listener> listener;
  {
    core::MutexLock lock(mutex_);
    if (closing_ || writer_busy_ || !pending_.empty()) return false;
    listener = listener_;
    caller_ = std::this_thread::get_id();
  }
  RunHere::Off nested;
  Ops ops;
  ops.push_back(std::move(op));
  run_batch(ops, std::move(listener), RunBy::caller);
  run_woken_claims();
  if (wal_pages_ >= kCheckpointPages) {
    {
      core::MutexLock lock(mutex_);
      checkpoint_due_ = true;
    }
    wake_.notify_one();
  }
  return true;
}

// A lone enqueue's jobs wake the long polls waiting for them as it settles
// (before its answer): their claims, submitted from this thread, are
// usually all that waits now. They run here at once, as the next batch,
// rather than wake the writer thread, wait for it to run them and be woken
// by their answers; claims answer before their fsync, which the settler
// does, so this thread does not wait for it. A few claims at most: a herd
// of them, or any other op waiting, goes to the writer thread.
void Writer::run_woken_claims() {
  constexpr std::size_t kMostClaims = 8;
  Ops ops;
  std::shared_ptr<const Listener> listener;
  bool wake = false;
  {
    core::MutexLock lock(mutex_);
    caller_ = {};
    const bool claims_only = !pending_.empty() && pending_.size() <= kMostClaims && !closing_ &&
                             !writer_busy_ &&
                             std::all_of(pending_.begin(), pending_.end(),
                                         [](const auto& op) { return op->may_answer_early(); });
    if (claims_only) {
      std::move(pending_.begin(), pending_.end(), std::back_inserter(ops));
      pending_.clear();
      listener = listener_;
    }
    wake = !pending_.empty();
  }
  if (wake) wake_.notify_one();
  if (!ops.empty()) run_batch(ops, std::move(listener), RunBy::caller_claims);
}

void Writer::run_batch(Ops& ops, std::shared_ptr<const Listener> listener, RunBy by) {
  if (!read_only_) {
    if (auto failed = sync_failure()) read_only_ = std::move(failed);
  } else if (!sync_failure() &&
             std::any_of(ops.begin(), ops.end(), [](auto& op) { return op->writes(); })) {
    probe_writable();
  }
  const bool refuse = read_only_.has_value();
  const bool writes =
      !refuse && std::any_of(ops.begin(), ops.end(), [](auto& op) { return op->writes(); });
  db_->clear_broken();
  Batch batch(*db_, *sql_, queues_, keys_, options_, last_job_id_);
  const auto began = std::chrono::steady_clock::now();
  auto done = begin(writes);
  std::size_t first_change = ops.size();
  if (done && !run_ops(ops, batch, refuse, first_change))
    done = core::Result<void>(boost::system::in_place_error, batch.failure());
  if (done && writes) done = flush_keys(*sql_, keys_.take_batch(), batch.notice());
  if (done) done = commit(writes);
  if (!done) return abort_batch(ops, done.error(), writes);
  if (writes && commit_seconds_) {
    commit_seconds_->observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
  }
  queues_.batch_publish();
  Settlement s{.ops = std::move(ops),
               .listener = std::move(listener),
               .first_change = first_change,
               .sync = writes,
               .refused = refuse ? read_only_ : std::nullopt};
  if (!batch.notice().empty()) s.notice = batch.notice().take();
  // Settled here when nothing else could run meanwhile; handed to the
  // settler when ops wait, so their statements run during this fsync, when
  // a caller ran it here and the disk syncs slowly, or when a caller ran
  // claims it woke (answered already).
  const bool fast_disk = std::chrono::nanoseconds(last_sync_ns_.load(std::memory_order_relaxed)) <
                         options_.lone_sync_max;
  const bool settle_here = by != RunBy::caller_claims && !ops_waiting() && settler_idle() &&
                           (by == RunBy::writer || fast_disk);
  if (settle_here && by == RunBy::caller) {
    // The claims its jobs woke run as soon as they are durable, ahead of
    // the answer (the batch is one op, so its notice may go first): a
    // waiting worker starts without waiting for the enqueue's answer to be
    // written.
    s.first_change = 0;
    return settle(std::span(&s, 1), [this]() REQUIRES(turn_) { run_woken_claims(); });
  }
  hand_over(std::move(s), settle_here);
}

void Writer::notify(const Listener* listener, ChangeNotice& notice) {
  if (!listener || !*listener) return;
  try {
    (*listener)(notice);
  } catch (const std::exception& e) {
    spdlog::error("store change listener threw: {}", e.what());
  }
}

// A claim is answered as soon as it ran when every job it could take was
// already durable: no earlier op of this batch made a job runnable (an
// insert, retry, promotion, resume…), and every earlier batch is settled (or
// the answer waits in line behind them, ahead of this batch's fsync). Its
// lease is written in this batch; if the commit fails or the server dies
// first, the job is still queued and the worker's next heartbeat or complete
// is refused — the job runs again, as after any lost lease. This saves a
// claim its fsync wait: enqueue to start costs one fsync, not two. Nor may a
// read earlier in the batch still be waiting for its answer: answers go out
// in the order the ops ran, so a watcher subscribing in its snapshot read's
// callback sees the claim's event.
bool Writer::run_ops(Ops& ops, Batch& batch, bool refuse, std::size_t& first_change) {
  bool read_waiting = false;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    auto& op = ops[i];
    if (refuse && op->writes()) continue;  // answered with read_only_ after the batch
    const auto changes_before = batch.notice().job_change_count();
    op->run(batch);
    if (batch.failed()) return false;
    if (first_change == ops.size() && batch.notice().job_change_count() > changes_before) {
      first_change = i;
    }
    read_waiting = read_waiting || !op->writes();
    if (op->may_answer_early() && !read_waiting && !batch.notice().any_runnable()) {
      if (settler_idle()) {
        finish(*op, nullptr);
        op->set_answered();
      } else {
        Settlement early{.early = true};
        early.ops.push_back(std::move(op));  // leaves a null in the batch
        hand_over(std::move(early), false);
      }
    }
  }
  return true;
}

core::Result<void> Writer::begin(bool writes) {
  return Query((*sql_)[writes ? Sql::begin_immediate : Sql::begin_deferred]).run();
}

core::Result<void> Writer::commit(bool writes) {
  if (writes) {
    if (auto saved = save_queues(); !saved) return saved;
  }
  return Query((*sql_)[Sql::commit]).run();
}

core::Result<void> Writer::save_queues() {
  for (const auto& [name, row] : queues_.batch()) {
    if (auto r = save_queue_row(*sql_, name, row); !r) return r;
  }
  return {};
}

void Writer::abort_batch(Ops& ops, const core::Error& error, bool writes) {
  // The transaction may or may not still be open; ROLLBACK makes sure.
  if (!sqlite3_get_autocommit(db_->handle())) (void)Query((*sql_)[Sql::rollback]).run();
  queues_.batch_drop();
  keys_.batch_drop();
  const std::string reason = db_->broken()               ? db_->broken_reason()
                             : db_->last_error().empty() ? error.message
                                                         : db_->last_error();
  core::Error failure = read_only_error(reason, true);
  if (writes) {
    spdlog::error("{}", failure.message);
    read_only_ = failure;
    next_probe_ = std::chrono::steady_clock::now() + options_.recovery_probe;
  } else {
    failure.message = fmt::format("read from {} failed: {}", path_, reason);
  }
  Settlement s{.ops = std::move(ops), .failed = std::move(failure)};  // no notice goes out
  hand_over(std::move(s), settler_idle());
}

core::Error Writer::read_only_error(std::string_view reason, bool recoverable) const {
  return core::make_error(
      core::errc::unavailable,
      recoverable
          ? fmt::format("store is read-only after a failed write to {}: {}; writes resume by "
                        "themselves once the disk takes them again",
                        path_, reason)
          : fmt::format("store is read-only after a failed write to {}: {}; restart the server",
                        path_, reason));
}

void Writer::probe_writable() {
  const auto now = std::chrono::steady_clock::now();
  if (now < next_probe_) return;
  next_probe_ = now + options_.recovery_probe;
  db_->clear_broken();
  const auto stamp = std::to_string(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count());
  auto probed = begin(true);
  if (probed) {
    Query q((*sql_)[Sql::setting_probe]);
    q.bind_text(1, stamp);
    probed = q.run();
  }
  if (probed) probed = Query((*sql_)[Sql::commit]).run();
  if (!probed) {
    if (!sqlite3_get_autocommit(db_->handle())) (void)Query((*sql_)[Sql::rollback]).run();
    db_->clear_broken();
    return;
  }
  spdlog::warn("{} takes writes again: the store is writable", path_);
  read_only_.reset();
}

void Writer::finish(Op& op, const core::Error* failure) {
  try {
    op.finish(failure);
  } catch (const std::exception& e) {
    spdlog::error("store callback threw: {}", e.what());
  }
}

// ---- Settling ----------------------------------------------------------------

bool Writer::settler_idle() {
  core::MutexLock lock(settle_mutex_);
  return settling_.empty() && !settler_busy_;
}

bool Writer::ops_waiting() {
  core::MutexLock lock(mutex_);
  return !pending_.empty() || taken_;
}

std::optional<core::Error> Writer::sync_failure() {
  core::MutexLock lock(settle_mutex_);
  return sync_failed_;
}

void Writer::hand_over(Settlement s, bool settle_here) {
  if (settle_here) return settle(std::span(&s, 1));
  {
    core::MutexLock lock(settle_mutex_);
    if (s.sync) ++waiting_syncs_;
    settling_.push_back(std::move(s));
  }
  settle_wake_.notify_one();
}

// At most one committed batch waits for the next fsync: while it waits, ops
// gather for the batch after it instead of being committed in small batches
// that each rewrite the same hot pages.
void Writer::wait_for_settler() {
  core::MutexLock lock(settle_mutex_);
  settle_taken_.wait(settle_mutex_,
                     [this]() REQUIRES(settle_mutex_) { return waiting_syncs_ == 0; });
}

// Takes every batch committed meanwhile at once: one fsync makes all of
// them durable (it covers everything written to the WAL before it), so the
// batches the writer commits during one fsync share the next.
void Writer::settle_loop() {
  core::MutexLock lock(settle_mutex_);
  std::vector<Settlement> run;
  for (;;) {
    settle_wake_.wait(settle_mutex_, [this]() REQUIRES(settle_mutex_) {
      return settler_stop_ || !settling_.empty();
    });
    if (settling_.empty()) return;  // stopping, and everything is settled
    run.swap(settling_);
    settler_busy_ = true;
    waiting_syncs_ = 0;
    lock.unlock();
    settle_taken_.notify_one();
    settle(run);
    run.clear();
    lock.lock();
    settler_busy_ = false;
  }
}

// The fsync that makes every batch committed so far durable; after a failed
// one every later one fails too (the pages it lost are not written again).
std::optional<core::Error> Writer::sync_wal() {
  if (auto earlier = sync_failure()) return earlier;
  const auto began = std::chrono::steady_clock::now();
  auto synced = wal_.sync();
  const auto took = std::chrono::steady_clock::now() - began;
  last_sync_ns_.store(std::chrono::duration_cast<std::chrono::nanoseconds>(took).count(),
                      std::memory_order_relaxed);
  if (fsync_seconds_) fsync_seconds_->observe(std::chrono::duration<double>(took).count());
  if (synced) return std::nullopt;
  core::Error failure = read_only_error(synced.error().message, false);
  spdlog::error("{}", failure.message);
  core::MutexLock lock(settle_mutex_);
  sync_failed_ = failure;
  return failure;
}

// Runs on the writer thread or the settler thread, never on both at once,
// and settles batches in the order they committed. After a failed fsync
// every batch that wrote fails (its changes sit on top of what may not have
// reached the disk), and so does every claim answered early after it: it
// may have taken a job of such a batch. Reads are still answered.
void Writer::settle(std::span<Settlement> run, const std::function<void()>& after_notice) {
  const auto any = [&](bool Settlement::*flag) {
    return std::any_of(run.begin(), run.end(), [flag](const Settlement& s) { return s.*flag; });
  };
  const auto failure = any(&Settlement::sync)    ? sync_wal()
                       : any(&Settlement::early) ? sync_failure()
                                                 : std::nullopt;
  for (auto& s : run) {
    if ((s.sync || s.early) && failure && !s.failed) s.failed = failure;
    answer(s, after_notice);
  }
}

void Writer::answer(Settlement& s, const std::function<void()>& after_notice) {
  if (s.failed) {
    for (auto& op : s.ops) {
      if (op && !op->answered()) finish(*op, &*s.failed);
    }
    return;
  }
  const auto notice = [&] {
    if (!s.notice) return;
    notify(s.listener.get(), *s.notice);
    if (after_notice) after_notice();
  };
  for (std::size_t i = 0; i < s.ops.size(); ++i) {
    if (i == s.first_change) notice();
    auto& op = s.ops[i];
    if (!op || op->answered()) continue;
    finish(*op, s.refused && op->writes() ? &*s.refused : nullptr);
  }
  if (s.first_change >= s.ops.size()) notice();
}

}  // namespace errand::store::sqlite
