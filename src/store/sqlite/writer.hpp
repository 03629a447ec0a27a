// The SQLite store's single writer thread: a group-commit queue in the style
// of leveldb's writer queue.
//
// Callers submit Ops (a body plus its callback). The writer takes everything
// pending (up to StoreOptions::max_batch), opens one transaction, runs each
// write op inside its own SAVEPOINT (a failing op rolls back only itself),
// writes the changed queue rows, and COMMITs. The batch is then settled: the
// WAL is fsync'd (one fsync for the whole batch) and only then does each
// op's callback run, in submission order, and the change listener with the
// batch's merged ChangeNotice (after all callbacks, or just before the first
// op that changed a job's state in the notice). Reads run in the same batch
// and so see every change submitted before them.
//
// Settling is pipelined: when more ops are already waiting, the batch goes to
// the settler thread, which fsyncs and answers it while the writer runs the
// next batch's statements (the fsync was a third of the writer's time under
// load). Batches are settled strictly in commit order, so no answer reveals a
// change before everything committed before it is durable. With nothing
// waiting, the writer settles the batch itself.
//
// A lone request runs on its caller's thread: a small one (Op::may_run_here)
// submitted in a store::RunHere scope while the writer is idle, nothing waits
// and requests come at least StoreOptions::lone_interval apart on average;
// its batch runs, commits and settles right there, before submit() returns. That spares the two
// thread hand-offs (to the writer and back) that cost a lone request more CPU than its SQL on this
// kind of machine. Whoever runs batches holds the turn (turn_): the writer thread for each of its
// batches, or such a caller for its one. Such a caller waits for the batch's fsync only while the
// disk syncs fast (the last fsync took under StoreOptions::lone_sync_max); else the settler fsyncs
// and answers it, so a slow disk does not hold up the caller's thread (an HTTP thread, which serves
// every connection). For the same reason checkpoints run on the writer thread only
// (Writer::checkpoint), never inside a caller's COMMIT.
//
// If BEGIN, a savepoint or COMMIT fails (or SQLite reports an I/O-level error),
// or an fsync of the WAL fails, every op of the batch (and of the batches
// committed after it and not yet settled) gets errc::unavailable and the
// writer refuses all later writes with errc::unavailable until the store is
// reopened; reads still run.
//
// Between batches the writer steps its chores (Chore), one slice after
// each batch, outside any transaction.
//
// Ownership: the Writer owns the connection, its statements and the queue
// book, all touched only by the holder of the turn. submit() and close() are
// thread-safe; callbacks run on the writer or the settler thread (or on the
// caller's, for a request run there) with no lock held.
#pragma once

#include "core/metrics.hpp"
#include "core/mutex.hpp"
#include "store/common/keys.hpp"
#include "store/common/notice.hpp"
#include "store/sqlite/db.hpp"
#include "store/sqlite/queue_book.hpp"
#include "store/sqlite/statements.hpp"
#include "store/sqlite/wal_sync.hpp"
#include "store/store.hpp"

#include <atomic>
#include <chrono>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <thread>
#include <vector>

namespace errand::store::sqlite {

// What an operation's body may use. Valid only during the body's run.
struct OpContext {
  Statements& sql;
  QueueBook& queues;
  KeyBook& keys;
  NoticeBuilder& notice;  // this operation's contribution to the batch notice
  const StoreOptions& options;
  std::int64_t& last_job_id;  // the highest job id handed out (core::next_job_id)
};

// The running transaction of one batch, as ops see it.
class Batch {
 public:
  Batch(Db& db, Statements& sql, QueueBook& queues, KeyBook& keys, const StoreOptions& options,
        std::int64_t& last_job_id)
      : db_(db), ctx_{sql, queues, keys, op_notice_, options, last_job_id} {}

  // Runs `body` inside its own savepoint; an error result rolls back exactly
  // the body's changes (rows, queue counts and notice).
  template <class T, class F>
  core::Result<T> isolated(F& body) {
    if (auto begun = begin_op(); !begun) return {boost::system::in_place_error, begun.error()};
    core::Result<T> result = guarded<T>(body);
    end_op(result.has_value());
    return result;
  }
  // Runs body(ctx, i) for each i < n as if each ran isolated(), with one
  // savepoint for all of them: the per-item savepoints (two statements each
  // and a copy of every page an item touches) are what a batch of acks
  // spends most on besides its updates. An item that fails before it changed
  // a row has nothing to roll back; the bodies must keep that true of their
  // queue-book and notice edits too (they follow the row writes). When an
  // item fails after it changed a row, everything is rolled back and each
  // item runs again in its own savepoint.
  template <class T, class F>
  std::vector<core::Result<T>> isolated_each(std::size_t n, F& body) {
    std::vector<core::Result<T>> results;
    results.reserve(n);
    auto all = [&](OpContext& c) -> core::Result<void> {
      for (std::size_t i = 0; i < n; ++i) {
        const auto changes = total_changes();
        auto result = body(c, i);
        if (!result && total_changes() != changes) return undo_all();
        results.push_back(std::move(result));
      }
      return {};
    };
    if (isolated<void>(all) || failed()) return results;
    results.clear();
    for (std::size_t i = 0; i < n && !failed(); ++i) {
      auto one = [&](OpContext& c) { return body(c, i); };
      results.push_back(isolated<T>(one));
    }
    return results;
  }
  // Runs a body that changes nothing.
  template <class T, class F>
  core::Result<T> read(F& body) {
    return guarded<T>(body);
  }

  // Whether the transaction itself failed: nothing of the batch may commit.
  bool failed() const { return db_.broken() || failure_.has_value(); }
  core::Error failure() const;
  NoticeBuilder& notice() { return batch_notice_; }

 private:
  template <class T, class F>
  core::Result<T> guarded(F& body) {
    try {
      return body(ctx_);
    } catch (const std::exception& e) {
      return {boost::system::in_place_error, unexpected(e)};
    }
  }
  static core::Error unexpected(const std::exception& e);
  static core::Error undo_all();
  std::int64_t total_changes() const;
  core::Result<void> begin_op();
  void end_op(bool keep);

  Db& db_;
  NoticeBuilder op_notice_;
  NoticeBuilder batch_notice_;
  OpContext ctx_;
  std::optional<core::Error> failure_;
};

// One queued unit of work. finish() is called exactly once, after the batch
// committed (failure == nullptr) or failed — or, for an op that may answer
// early, right after it ran (see Writer::run_ops).
class Op {
 public:
  explicit Op(bool writes, bool early = false) : writes_(writes), early_(early) {}
  virtual ~Op() = default;
  bool writes() const { return writes_; }
  // A claim: its answer may go out before the commit (it acknowledges nothing
  // the caller wrote; the lease it grants becomes durable with the batch).
  bool may_answer_early() const { return early_; }
  bool answered() const { return answered_; }
  void set_answered() { answered_ = true; }
  // A request small enough to run on its caller's thread when it is alone
  // (Writer::run_here): a few rows, answered after its fsync. Not a claim
  // (its answer goes out before the fsync, which would then hold up the
  // caller), nor a verb that may touch many rows (bulk changes, timers,
  // searches, cancels): those would hold up the caller's thread, and every
  // connection it serves, for longer than the trip to the writer costs. (A
  // complete that releases many waiting children is the one exception left:
  // it runs here when alone.)
  bool may_run_here() const { return run_here_; }
  void allow_run_here() { run_here_ = !early_; }
  virtual void run(Batch& batch) = 0;
  virtual void finish(const core::Error* failure) = 0;

 private:
  bool writes_;
  bool early_;
  bool answered_ = false;
  bool run_here_ = false;
};

// An op whose body returns one Result<T> for one callback.
template <class T, class F>
class TypedOp final : public Op {
 public:
  TypedOp(bool writes, F body, Callback<T> done, bool early = false)
      : Op(writes, early), body_(std::move(body)), done_(std::move(done)) {}
  void run(Batch& batch) override {
    result_.emplace(writes() ? batch.isolated<T>(body_) : batch.read<T>(body_));
  }
  void finish(const core::Error* failure) override {
    if (failure) return done_(core::Result<T>(boost::system::in_place_error, *failure));
    if (!result_) return done_(core::Result<T>(boost::system::in_place_error, not_run()));
    done_(std::move(*result_));
  }

 private:
  static core::Error not_run() {
    return core::make_error(core::errc::internal, "operation did not run");
  }
  F body_;
  Callback<T> done_;
  std::optional<core::Result<T>> result_;
};

// Work the writer does a slice at a time between its batches, outside any
// transaction, with its own connection (a step of an online backup): one
// slice after each batch, so a waiting write never waits for more than one
// slice. Runs on the writer thread only.
class Chore {
 public:
  virtual ~Chore() = default;
  // One slice; true when the chore is done (it is then dropped).
  virtual bool step(Db& db) = 0;
  // The writer is closing first: the chore's last call, with the
  // connection still open.
  virtual void abandon() = 0;
};

template <class T, class F>
std::unique_ptr<Op> make_op(bool writes, F body, Callback<T> done, bool early = false) {
  return std::make_unique<TypedOp<T, F>>(writes, std::move(body), std::move(done), early);
}

class Writer {
 public:
  using Listener = std::function<void(const ChangeNotice&)>;

  // `wal`: the fsync of db's WAL (db commits with synchronous=NORMAL).
  // `last_job_id`: the highest job id in the database (0 if none).
  Writer(std::unique_ptr<Db> db, std::unique_ptr<Statements> sql, QueueBook queues,
         std::int64_t last_job_id, StoreOptions options, WalSync wal,
         std::function<bool()> fail_commit, core::metrics::Histogram* commit_seconds = nullptr,
         core::metrics::Histogram* fsync_seconds = nullptr);
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  void start();
  void set_listener(Listener listener) EXCLUDES(mutex_);
  // Queues `op`; after close() it is answered at once with errc::unavailable.
  void submit(std::unique_ptr<Op> op) EXCLUDES(mutex_);
  // Queues `chore` behind the chores already queued; after close() it is
  // abandoned at once.
  void add_chore(std::unique_ptr<Chore> chore) EXCLUDES(mutex_);
  // Runs every op already submitted, abandons the chores, stops the thread,
  // closes the database.
  void close() EXCLUDES(mutex_);

 private:
  using Ops = std::vector<std::unique_ptr<Op>>;
  // What a batch leaves to answer, in order, once its changes are durable.
  struct Settlement {
    Ops ops;  // null where an op was answered already
    std::shared_ptr<const Listener> listener;
    std::optional<ChangeNotice> notice;
    std::size_t first_change = 0;        // the notice goes out before this op
    bool sync = false;                   // fsync the WAL first (the batch wrote)
    bool early = false;                  // claims answered ahead of their batch's fsync
    std::optional<core::Error> refused;  // the answer of writes a read-only store refused
    std::optional<core::Error> failed;   // the answer of every op: the batch failed
  };

  void loop();
  // Waits for ops or a chore; false when closing and no op is left.
  bool take(Ops& ops, std::shared_ptr<const Listener>& listener) EXCLUDES(mutex_);
  // Counts a submission; whether requests come far enough apart on average
  // to run one on its caller's thread.
  bool note_submit(std::chrono::steady_clock::time_point now) REQUIRES(mutex_);
  // Runs `op` as a batch of its own on this thread if it is still a lone
  // request (see the top); false (op untouched) when it must go to the writer.
  bool run_here(std::unique_ptr<Op>& op) EXCLUDES(mutex_, turn_);
  // Queues `op` for the writer (answers it at once after close()).
  void enqueue(std::unique_ptr<Op> op) EXCLUDES(mutex_);
  void step_chore() REQUIRES(turn_) EXCLUDES(mutex_);
  void abandon_chores() EXCLUDES(mutex_);
  // Runs the claims a caller's batch woke (its listener submitted them), on
  // the caller's thread, when they are all that waits; else wakes the writer
  // for what waits. Called right after the batch's notice went out (before
  // its answer) when the caller settles it, and again as run_here ends.
  void run_woken_claims() REQUIRES(turn_) EXCLUDES(mutex_);
  // Who runs a batch: the writer thread; a caller on its own thread
  // (run_here), settling it itself while the disk syncs fast; or a caller
  // running claims it woke, whose fsync is the settler's.
  enum class RunBy { writer, caller, caller_claims };
  void run_batch(Ops& ops, std::shared_ptr<const Listener> listener, RunBy by = RunBy::writer)
      REQUIRES(turn_);
  // SQLite's WAL hook: notes the WAL's size after each commit (and so turns
  // SQLite's own checkpoint off).
  static int wal_hook(void* self, sqlite3* db, const char* name, int pages);
  // A passive checkpoint once the WAL holds kCheckpointPages; writer thread.
  void checkpoint() REQUIRES(turn_);
  // `first_change`: set to the index of the first op that changed a job's
  // state in the notice (left alone when none did).
  bool run_ops(Ops& ops, Batch& batch, bool refuse, std::size_t& first_change) REQUIRES(turn_);
  static void notify(const Listener* listener, ChangeNotice& notice);
  core::Result<void> begin(bool writes) REQUIRES(turn_);
  core::Result<void> commit(bool writes) REQUIRES(turn_);
  core::Result<void> save_queues() REQUIRES(turn_);
  void abort_batch(Ops& ops, const core::Error& error, bool writes) REQUIRES(turn_);
  // `recoverable`: a failed transaction (writes resume once a probe write
  // commits); else a failed fsync (what the disk was given may be lost:
  // only a restart, which replays the WAL as the disk has it, is safe).
  core::Error read_only_error(std::string_view reason, bool recoverable) const;
  // Read-only after a failed transaction: tries one write (at most every
  // options_.recovery_probe) and, when it commits, makes the store
  // writable again.
  void probe_writable() REQUIRES(turn_);
  static void finish(Op& op, const core::Error* failure);
  static int commit_hook(void* self);

  // Settling: by the writer itself when the settler is idle and no op waits,
  // else by the settler thread, in commit order.
  bool settler_idle() EXCLUDES(settle_mutex_);
  bool ops_waiting() EXCLUDES(mutex_);
  void hand_over(Settlement s, bool settle_here) EXCLUDES(settle_mutex_);
  void wait_for_settler() EXCLUDES(settle_mutex_);
  // `after_notice`: called right after a settlement's change notice went
  // out, before its answers (a caller's, to run the claims it woke).
  void settle(std::span<Settlement> run, const std::function<void()>& after_notice = {})
      EXCLUDES(settle_mutex_);
  void answer(Settlement& s, const std::function<void()>& after_notice);
  void settle_loop() EXCLUDES(settle_mutex_);
  std::optional<core::Error> sync_wal() EXCLUDES(settle_mutex_);
  std::optional<core::Error> sync_failure() EXCLUDES(settle_mutex_);

  std::unique_ptr<Db> db_;
  std::unique_ptr<Statements> sql_;
  QueueBook queues_;
  KeyBook keys_;
  std::int64_t last_job_id_;
  const StoreOptions options_;
  const std::string path_;
  WalSync wal_;
  std::function<bool()> fail_commit_;
  core::metrics::Histogram* const commit_seconds_;  // null: not observed
  core::metrics::Histogram* const fsync_seconds_;

  // Held by whoever runs a batch or a chore: the writer thread, or a caller
  // running its lone request (run_here). db_, sql_, queues_, keys_ and
  // last_job_id_ are touched only by its holder.
  core::Mutex turn_ ACQUIRED_BEFORE(mutex_);
  // set after a failed write transaction
  std::optional<core::Error> read_only_ GUARDED_BY(turn_);
  std::chrono::steady_clock::time_point next_probe_ GUARDED_BY(turn_){};
  // Pages in the WAL after the last commit (set by wal_hook, during a COMMIT,
  // so by the turn's holder).
  int wal_pages_ = 0;
  // How long the last fsync of the WAL took (ns), for run_here's callers.
  std::atomic<std::int64_t> last_sync_ns_{0};

  core::Mutex mutex_;
  core::CondVar wake_;  // an op or a chore pending, or closing
  std::deque<std::unique_ptr<Op>> pending_ GUARDED_BY(mutex_);
  // The front one is stepped (and removed by the writer thread only).
  std::deque<std::unique_ptr<Chore>> chores_ GUARDED_BY(mutex_);
  std::shared_ptr<const Listener> listener_ GUARDED_BY(mutex_);
  bool closing_ GUARDED_BY(mutex_) = false;
  // The writer thread is between taking work and waiting for more.
  bool writer_busy_ GUARDED_BY(mutex_) = false;
  // It took ops and has not yet got the turn to run them.
  bool taken_ GUARDED_BY(mutex_) = false;
  // The thread running a batch in run_here (none: no caller does): what it
  // submits meanwhile does not wake the writer thread, which could not run
  // it before the caller lets go of the turn (run_woken_claims).
  std::thread::id caller_ GUARDED_BY(mutex_);
  // A request run on its caller's thread filled the WAL: the writer
  // checkpoints it.
  bool checkpoint_due_ GUARDED_BY(mutex_) = false;
  // When the last op was submitted, and the moving average of the gaps
  // between submissions (each at most twice lone_interval).
  std::chrono::steady_clock::time_point last_submit_ GUARDED_BY(mutex_) =
      std::chrono::steady_clock::now();
  std::chrono::steady_clock::duration mean_gap_ GUARDED_BY(mutex_){};
  std::thread thread_;

  core::Mutex settle_mutex_;
  core::CondVar settle_wake_;  // a batch to settle, or stop
  std::vector<Settlement> settling_ GUARDED_BY(settle_mutex_);
  // The settler thread is settling one now.
  bool settler_busy_ GUARDED_BY(settle_mutex_) = false;
  // Batches in settling_ that need an fsync.
  int waiting_syncs_ GUARDED_BY(settle_mutex_) = 0;
  core::CondVar settle_taken_;  // the settler took settling_
  bool settler_stop_ GUARDED_BY(settle_mutex_) = false;
  // The first failed fsync.
  std::optional<core::Error> sync_failed_ GUARDED_BY(settle_mutex_);
  std::thread settler_;
};

}  // namespace errand::store::sqlite
