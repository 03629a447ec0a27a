// A libpq connection and the few things the PostgreSQL store does with it:
// run a named, parameterized statement (prepared on first use, text
// format), read the rows, and tell a lost connection from an SQL error.
//
// Errors: a statement that fails because the connection broke (PQstatus
// bad, SQLSTATE class 08, the server shutting down) is errc::unavailable
// with "the database connection was lost: …" and marks the Conn lost(); any
// other failure is errc::internal with the server's message (the SQLSTATE is
// kept for the writer, which retries a batch after a deadlock).
//
// Messages never carry the password: they are built from PQhost/PQport/
// PQdb/PQuser, never from the conninfo, and the password is masked out of
// libpq's own text too.
//
// Thread-safety: none; one thread owns a Conn at a time.
#pragma once

#include "core/error.hpp"
#include "core/time.hpp"

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace errand::store::postgres {

// A named SQL text: the same names as the SQLite store's statements.
struct Statement {
  const char* name;
  std::string sql;
};

// An array parameter in PostgreSQL's text form: {a,b,c}. The elements are
// written as they are, so only for ones with nothing to quote (numbers, hex).
std::string plain_array(const std::vector<std::string>& items);
// An array of text, each element quoted ("" and \\ escaped); nullopt is NULL.
std::string text_array(const std::vector<std::optional<std::string_view>>& items);
std::string text_array(const std::vector<std::string>& items);

// Text-format parameters of one statement ($1, $2, … in order).
class Params {
 public:
  Params& text(std::string_view v);
  Params& text_or_null(std::string_view v);  // empty: NULL
  Params& integer(std::int64_t v);
  Params& opt_integer(std::optional<std::int64_t> v);
  Params& time(core::TimePoint t);
  Params& opt_time(const std::optional<core::TimePoint>& t);
  Params& real(double v);
  Params& boolean(bool v);
  Params& null();

  int size() const { return static_cast<int>(values_.size()); }
  const char* const* values() const;

 private:
  std::vector<std::optional<std::string>> values_;
  mutable std::vector<const char*> pointers_;
};

// The rows a statement returned. Owns its PGresult.
class Rows {
 public:
  Rows() = default;
  explicit Rows(PGresult* r) : result_(r, &PQclear) {}

  int size() const { return result_ ? PQntuples(result_.get()) : 0; }
  bool empty() const { return size() == 0; }
  // Rows changed by an INSERT/UPDATE/DELETE.
  std::int64_t affected() const;
  bool is_null(int row, int col) const { return PQgetisnull(result_.get(), row, col) != 0; }
  std::string_view text(int row, int col) const;
  std::int64_t integer(int row, int col) const;
  std::optional<std::int64_t> opt_integer(int row, int col) const;
  double real(int row, int col) const;
  bool boolean(int row, int col) const;
  core::TimePoint time(int row, int col) const { return core::from_unix_ms(integer(row, col)); }
  std::optional<core::TimePoint> opt_time(int row, int col) const;

 private:
  std::shared_ptr<PGresult> result_;
};

// One statement of Conn::run_together and its parameters.
struct Step {
  const Statement* statement;
  Params params;
};

// Where a connection goes, for messages: "host:port/db as user".
std::string describe(PGconn* conn);
// `message` with every occurrence of the conninfo's password replaced.
std::string mask_password(std::string message, const std::string& conninfo);

class Conn {
 public:
  // Connects and prepares the session: synchronous_commit = on, search_path
  // = `schema` (then public), the application name. Errors, naming host and
  // port and the server's message, never the password: forbidden when the
  // server refused (wrong password, missing database or role, privilege),
  // else unavailable (not reachable, starting up: worth trying again).
  static core::Result<std::unique_ptr<Conn>> open(const std::string& conninfo,
                                                  const std::string& schema);
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // Runs `s` (prepared on first use on this connection) with `p`, in one
  // round trip with any deferred steps.
  core::Result<Rows> run(const Statement& s, const Params& p = {});
  // Runs `steps` in their order in one round trip (libpq's pipeline mode),
  // after any deferred ones, with the outcome of running them one by one:
  // every result (the deferred steps' left out), or the first failure,
  // after which no step runs (a transaction it was in is aborted).
  core::Result<std::vector<Rows>> run_together(const std::vector<Step>& steps);
  // Runs SQL text without parameters (may hold several statements).
  core::Result<void> exec(std::string_view sql);
  // Sends `step` ahead of the next statement this connection runs, in the
  // same round trip; a failure of it is that statement's. For statements
  // whose rows nobody reads, such as BEGIN and SAVEPOINT.
  void defer(Step step) { deferred_.push_back(std::move(step)); }

  bool lost() const { return lost_; }
  // The SQLSTATE of the last failed statement ("" if none).
  const std::string& last_sqlstate() const { return sqlstate_; }
  PGconn* handle() { return conn_; }
  int backend_pid() const { return PQbackendPID(conn_); }
  const std::string& where() const { return where_; }

 private:
  Conn(PGconn* conn, std::string conninfo);
  core::Error failure(PGresult* r, std::string_view what);
  core::Result<void> prepare(const Statement& s);
  core::Result<void> send_pipeline(const std::vector<Step>& steps);
  core::Result<std::vector<Rows>> read_pipeline(const std::vector<Step>& steps);
  core::Error pipeline_broken(std::string_view what);

  PGconn* conn_;
  std::string conninfo_;  // for masking only: never put in a message
  std::string where_;
  std::unordered_set<std::string> prepared_;
  std::vector<Step> deferred_;  // see defer()
  std::string sqlstate_;
  bool lost_ = false;
};

// Whether libpq can use `conninfo` at all: its syntax, the parameter names
// and the port numbers (which libpq itself checks only when connecting).
// Errors: invalid_argument, the password masked — a mistake in the URL,
// which no waiting cures.
core::Result<void> check_conninfo(const std::string& conninfo);

// The error a lost connection gives every op of its batch.
core::Error connection_lost(std::string_view detail);

}  // namespace errand::store::postgres
