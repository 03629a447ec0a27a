// The SQLite side of `errand copy`: a data directory's database, opened the
// way the SQLite store opens it (exclusive locking, migrated to the latest
// schema), so a running server makes the open fail and, once open, no
// server can start on the directory until the copy closes it.
// Not thread-safe.
#pragma once

#include "core/error.hpp"
#include "store/sqlite/db.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace errand::store::copy {

struct Source {
  std::unique_ptr<sqlite::Db> db;
  int version_before = 0;  // the schema version found, before any migration
};

// Errors: not_found (no errand.db in `dir`); unavailable (a server is using
// it: "stop the server using DIR first"); internal (newer schema, I/O).
core::Result<Source> open_source(const std::string& dir);

// Runs `sql`, calling `row` on each row (an error from it stops the run and
// is returned); returns how many rows there were.
core::Result<std::int64_t> for_each_row(
    sqlite::Db& db, const std::string& sql,
    const std::function<core::Result<void>(const sqlite::Query&)>& row);

// The single integer `sql` selects (0 for NULL).
core::Result<std::int64_t> integer_of(sqlite::Db& db, const std::string& sql);

}  // namespace errand::store::copy
