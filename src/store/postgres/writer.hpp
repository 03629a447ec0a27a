// The PostgreSQL store's single writer thread: group commit in the style of
// the SQLite store's writer (store/sqlite/writer.hpp), over one connection.
//
// Callers submit Ops. The writer takes everything pending (up to
// StoreOptions::max_batch, and at most 64: see writer.cpp), opens one
// transaction, runs each op inside its own SAVEPOINT (a failing op rolls
// back only itself), adds the batch's queue-count deltas, NOTIFYs
// `<schema>_jobs` once per queue the batch made runnable, and COMMITs (synchronous_commit = on:
// durable when COMMIT returns). Only then does each op's callback run, in submission order, and the
// change listener with the batch's merged ChangeNotice (just before the first op that changed a
// job's state in the notice, else after all callbacks). Reads run in the same batches, so they see
// every change submitted before them.
//
// Failures: a deadlock or serialization failure with another server rolls
// the batch back and runs it again (a few times). A connection found lost
// before COMMIT was sent (typically: the database restarted while the
// writer was idle) is opened again at once and the batch run again — the
// server rolled back what it had of it. If that fails, or the connection is
// lost during COMMIT (its outcome unknown: the message says so), every op of
// the batch gets errc::unavailable ("the database connection was lost: …"),
// never a success; the writer then reconnects with backoff (100 ms doubling
// to 5 s, or at once after retry_connection_now()), answering ops that come
// meanwhile with errc::unavailable, and serves later ops once connected
// again. connected() is false while disconnected.
//
// Ownership: the Writer owns its connection and the queue book, touched only
// by the writer thread. submit() and close() are thread-safe; callbacks run
// on the writer thread with no lock held.
#pragma once

#include "core/metrics.hpp"
#include "core/mutex.hpp"
#include "store/common/keys.hpp"
#include "store/postgres/conn.hpp"
#include "store/postgres/notice.hpp"
#include "store/postgres/notifier.hpp"
#include "store/postgres/queue_book.hpp"
#include "store/store.hpp"

#include <atomic>
#include <chrono>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace errand::store::postgres {

// What an operation's body may use. Valid only during the body's run.
struct OpContext {
  Conn& db;
  QueueBook& queues;
  KeyBook& keys;
  NoticeBuilder& notice;  // this operation's contribution to the batch notice
  const StoreOptions& options;
};

// The running transaction of one batch, as ops see it.
class Batch {
 public:
  Batch(Conn& db, QueueBook& queues, KeyBook& keys, const StoreOptions& options)
      : db_(db), ctx_{db, queues, keys, op_notice_, options} {}

  // Runs `body` inside its own savepoint; an error result rolls back exactly
  // the body's changes (rows, queue deltas and notice).
  template <class T, class F>
  core::Result<T> isolated(F& body) {
    begin_op();
    core::Result<T> result = guarded<T>(body);
    std::optional<core::Error> failed;
    if (!result) failed = result.error();
    end_op(failed ? &*failed : nullptr);
    return result;
  }

  // Whether the transaction itself failed: nothing of the batch may commit.
  bool failed() const { return db_.lost() || failure_.has_value(); }
  // The batch failed on a deadlock or serialization failure with another
  // session: running it again may well succeed.
  bool retry() const { return retry_; }
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
  void begin_op();
  void end_op(const core::Error* error);

  Conn& db_;
  NoticeBuilder op_notice_;
  NoticeBuilder batch_notice_;
  OpContext ctx_;
  std::optional<core::Error> failure_;
  bool retry_ = false;
  // The savepoint "op" of a kept op is open, not yet released.
  bool savepoint_kept_ = false;
};

// One queued unit of work. run() may be called more than once (a batch
// retried after a deadlock); finish() exactly once.
class Op {
 public:
  explicit Op(bool writes) : writes_(writes) {}
  virtual ~Op() = default;
  bool writes() const { return writes_; }
  virtual void run(Batch& batch) = 0;
  virtual void finish(const core::Error* failure) = 0;

 private:
  bool writes_;
};

template <class T, class F>
class TypedOp final : public Op {
 public:
  TypedOp(bool writes, F body, Callback<T> done)
      : Op(writes), body_(std::move(body)), done_(std::move(done)) {}
  void run(Batch& batch) override { result_.emplace(batch.isolated<T>(body_)); }
  void finish(const core::Error* failure) override {
    if (failure) return done_(core::Result<T>(boost::system::in_place_error, *failure));
    if (!result_) {
      return done_(
          core::Result<T>(boost::system::in_place_error,
                          core::make_error(core::errc::internal, "operation did not run")));
    }
    done_(std::move(*result_));
  }

 private:
  F body_;
  Callback<T> done_;
  std::optional<core::Result<T>> result_;
};

template <class T, class F>
std::unique_ptr<Op> make_op(bool writes, F body, Callback<T> done) {
  return std::make_unique<TypedOp<T, F>>(writes, std::move(body), std::move(done));
}

class Writer {
 public:
  // `db`: connected (schema migrated). `conninfo` and `schema` are for
  // reconnecting; `channel` is the NOTIFY channel.
  // `before_commit`: a test's fault hook, called just before each COMMIT.
  Writer(std::unique_ptr<Conn> db, std::string conninfo, std::string schema, StoreOptions options,
         Notifier& notifier, std::function<void()> before_commit = {},
         core::metrics::Histogram* commit_seconds = nullptr,
         core::metrics::Histogram* fsync_seconds = nullptr);
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  void start();
  // Queues `op`; after close() it is answered at once with errc::unavailable.
  void submit(std::unique_ptr<Op> op) EXCLUDES(mutex_);
  // Runs every op already submitted, stops the thread, closes the connection.
  void close() EXCLUDES(mutex_);
  bool connected() const { return connected_.load(); }
  // While disconnected: the next op (or the backoff timer, whichever comes
  // first) reconnects without waiting out the backoff — the LISTEN
  // connection just got through, so the database is back.
  void retry_connection_now() EXCLUDES(mutex_);
  // The backend pid of the writer's session (0 while disconnected): the
  // LISTEN thread skips the notifications this store sent itself.
  int backend_pid() const { return backend_pid_.load(); }

 private:
  using Ops = std::vector<std::unique_ptr<Op>>;
  using Clock = std::chrono::steady_clock;

  void loop();
  bool take(Ops& ops) EXCLUDES(mutex_);
  void run_batch(Ops& ops);
  // One attempt: BEGIN, the ops, the queue deltas, NOTIFY, COMMIT.
  // `committing` is set once COMMIT is sent: a lost connection then leaves
  // the outcome unknown.
  core::Result<void> attempt(Ops& ops, Batch& batch, std::size_t& first_change, bool& committing);
  // The attempt's end, from the queue deltas to COMMIT; `began` for the
  // commit metrics.
  core::Result<void> commit(Batch& batch, Clock::time_point began, bool& committing);
  void answer(Ops& ops, std::optional<ChangeNotice> notice, std::size_t first_change);
  void fail_all(Ops& ops, const core::Error& error);
  void lost(const core::Error& error);
  void reconnect();
  static void finish(Op& op, const core::Error* failure);

  std::unique_ptr<Conn> db_;
  const std::string conninfo_;
  const std::string schema_;
  const std::string channel_;
  const StoreOptions options_;
  Notifier& notifier_;
  std::function<void()> before_commit_;
  core::metrics::Histogram* const commit_seconds_;  // null: not observed
  core::metrics::Histogram* const fsync_seconds_;
  QueueBook queues_;
  KeyBook keys_;

  std::atomic<bool> connected_{true};
  std::atomic<int> backend_pid_{0};
  std::string lost_reason_;
  std::chrono::milliseconds backoff_{0};
  Clock::time_point next_attempt_{};
  // The writer thread, as loop() starts: what the debug assertions of
  // "writer thread only" compare with.
  std::thread::id writer_thread_;

  core::Mutex mutex_;
  core::CondVar wake_;  // an op pending, closing, or retry now
  std::deque<std::unique_ptr<Op>> pending_ GUARDED_BY(mutex_);
  bool closing_ GUARDED_BY(mutex_) = false;
  bool retry_now_ GUARDED_BY(mutex_) = false;  // retry_connection_now() was called
  std::thread thread_;
};

}  // namespace errand::store::postgres
