// A thin RAII layer over one SQLite connection and its prepared statements.
//
// `Db` owns the sqlite3 handle; `Stmt` owns one named prepared statement;
// `Query` is a statement in use for one execution (bind, step, read columns)
// and resets it when it goes out of scope. SQLite result codes become
// core::Error here, and codes that leave the transaction in doubt (I/O error,
// disk full, corruption) mark the connection `broken`, which the writer turns
// into a store-wide refusal of writes. Not thread-safe: after open, only the
// store's writer thread touches a Db and its statements.
#pragma once

#include "core/error.hpp"
#include "core/time.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace errand::store::sqlite {

class Db {
 public:
  // Opens (creating if missing) the database file at `path`.
  static core::Result<std::unique_ptr<Db>> open(const std::string& path);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Runs SQL text without results: schema and pragmas only, never hot paths.
  core::Result<void> exec(const std::string& sql);
  // A single-value pragma or query, e.g. "PRAGMA journal_mode=WAL" -> "wal".
  core::Result<std::string> query_text(const std::string& sql);
  core::Result<sqlite3_stmt*> prepare(std::string_view sql, std::string_view name);

  // An Error for result code `rc` of `what`; records fatal codes in broken().
  core::Error error(int rc, std::string_view what);
  // Set once a fatal error happened: the current transaction is in doubt.
  bool broken() const { return !broken_.empty(); }
  const std::string& broken_reason() const { return broken_; }
  void clear_broken() { broken_.clear(); }
  // SQLite's own message for the most recent error.
  const std::string& last_error() const { return last_error_; }

  const std::string& path() const { return path_; }
  sqlite3* handle() const { return db_; }

 private:
  Db(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  std::string path_;
  std::string broken_;
  std::string last_error_;
};

// One prepared statement, named after what it does (the same names in every
// backend), prepared once and reused for the connection's lifetime.
class Stmt {
 public:
  Stmt() = default;
  Stmt(Db& db, sqlite3_stmt* stmt, std::string_view name) : db_(&db), stmt_(stmt), name_(name) {}
  ~Stmt();
  Stmt(Stmt&& other) noexcept;
  Stmt& operator=(Stmt&& other) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

 private:
  friend class Query;
  Db* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  std::string_view name_;  // points at a static string
};

// One execution of a Stmt. Bound text is not copied: it must outlive step().
class Query {
 public:
  explicit Query(Stmt& stmt) : stmt_(stmt) {}
  ~Query();
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  Query& bind_int(int index, std::int64_t value);
  Query& bind_real(int index, double value);
  Query& bind_text(int index, std::string_view value);
  Query& bind_null(int index);
  Query& bind_text_or_null(int index, std::string_view value);  // empty -> NULL
  Query& bind_time(int index, core::TimePoint t) { return bind_int(index, core::to_unix_ms(t)); }
  Query& bind_opt_time(int index, const std::optional<core::TimePoint>& t);

  // Advances: true when a row is ready, false when done.
  core::Result<bool> step();
  // Steps to completion, ignoring any rows.
  core::Result<void> run();

  bool is_null(int col) const;
  std::int64_t int_at(int col) const;
  double real_at(int col) const;
  std::string_view text_at(int col) const;
  core::TimePoint time_at(int col) const { return core::from_unix_ms(int_at(col)); }
  std::optional<core::TimePoint> opt_time_at(int col) const;

 private:
  void note_bind(int rc);
  Stmt& stmt_;
  int bind_rc_ = 0;
};

}  // namespace errand::store::sqlite
