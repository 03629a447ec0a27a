// The PostgreSQL side of `errand copy`: the checks and writes the copy's
// one transaction makes on the target schema. Every function runs on the
// caller's connection, inside its transaction. Not thread-safe.
#pragma once

#include "core/error.hpp"
#include "store/postgres/conn.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace errand::store::copy {

// Locks every table of the schema against writers (a server starting on it
// waits for the copy's commit) and refuses a schema holding any row.
// Errors: conflict, naming what the schema holds and `shown`.
core::Result<void> lock_and_check_empty(postgres::Conn& conn, const std::string& schema,
                                        const std::string& shown);

// One COPY … FROM STDIN (text format): rows are appended to row() and
// end_row() sends them in large pieces. finish() ends the COPY and returns
// the server's verdict (a bad value fails the whole transaction).
class CopyIn {
 public:
  static core::Result<CopyIn> start(postgres::Conn& conn, std::string_view table,
                                    const std::vector<std::string_view>& columns);
  std::string& row() { return buffer_; }
  // Ends the current row; sends the buffer when it is large.
  core::Result<void> end_row();
  core::Result<void> finish();

 private:
  explicit CopyIn(postgres::Conn& conn) : conn_(&conn) {}
  core::Result<void> send();
  postgres::Conn* conn_;
  std::string buffer_;
};

// Sets job_seq so that next_job_id's sequence part starts above every
// copied id's: a new id cannot equal a copied one even in the same
// millisecond.
core::Result<void> set_job_seq(postgres::Conn& conn, const std::string& schema);

// Adds a queue row for any queue that has jobs but none, and sets every
// queue's job counts to what its jobs say. Returns the queues whose counts
// changed.
core::Result<std::vector<std::string>> recount_queues(postgres::Conn& conn);

// The single integer `sql` selects.
core::Result<std::int64_t> integer_of(postgres::Conn& conn, const char* name, std::string sql);

}  // namespace errand::store::copy
