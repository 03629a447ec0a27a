// Copies of the SQLite database, made with SQLite's online backup API, and
// the checks a copy must pass before a server may start on it.
//
// `DatabaseCopy` copies one open connection's database into a new file a
// slice of pages at a time. Changes the SOURCE CONNECTION makes between
// slices are written into the copy as they happen (SQLite's backup API does
// this for the connection the backup reads from), so stepping on the
// writer's own connection between its batches yields the database as it
// stood at the last step: consistent, with every commit before it. The copy
// is a single file in rollback-journal mode (no -wal beside it). Not
// thread-safe: a DatabaseCopy is used on its source connection's thread.
//
// `copy_database_file` copies a database nobody is using (a stopped
// server's, or a backup) in one go; `check_database_file` reads a file the
// way `errand restore` judges a backup. Both blocking; thread-safe.
#pragma once

#include "core/error.hpp"

#include <cstdint>
#include <memory>
#include <string>

struct sqlite3;
struct sqlite3_backup;

namespace errand::store::sqlite {

class Db;

// What a finished copy holds.
struct CopyFigures {
  std::int64_t pages = 0;
  std::int64_t bytes = 0;
};

class DatabaseCopy {
 public:
  // Creates `dest_path`, which must not exist yet, and starts copying
  // `source`'s main database into it. Errors: conflict when dest_path
  // exists; unavailable when it cannot be created (naming it and why).
  static core::Result<std::unique_ptr<DatabaseCopy>> start(sqlite3* source,
                                                           const std::string& dest_path);
  // An unfinished copy is abandoned: its file is deleted.
  ~DatabaseCopy();
  DatabaseCopy(const DatabaseCopy&) = delete;
  DatabaseCopy& operator=(const DatabaseCopy&) = delete;

  // Copies up to `pages` more pages (-1: all the rest); true once the copy
  // is complete. Errors: unavailable when the source is busy (locked by
  // another process), internal for I/O errors and the like, each naming the
  // files. After an error the copy is useless: destroy it.
  core::Result<bool> step(int pages);
  // After step() returned true: ends the backup, turns the copy into a
  // rollback-journal database and closes it. The file is written but not
  // fsync'd (sync_file does that, off the source's thread if need be).
  core::Result<CopyFigures> finish();

  std::int64_t pages_total() const;
  const std::string& path() const { return path_; }

 private:
  DatabaseCopy(std::unique_ptr<Db> dest, sqlite3_backup* backup, std::string path);
  std::unique_ptr<Db> dest_;
  sqlite3_backup* backup_;
  std::string path_;
  bool finished_ = false;
};

// fsyncs the file at `path` and its directory. Errors: unavailable.
core::Result<void> sync_file(const std::string& path);

// How copy_database_file opens its source.
enum class SourceAccess {
  // Read-write, never changed, and locked exclusively for the copy, so a
  // server cannot start on it meanwhile (a data directory's database).
  locked,
  read_only,  // a backup, which may sit on read-only media
};

// Copies the database at `source_path` into the new file `dest_path`
// (finished and fsync'd). Errors: not_found (no such file); unavailable
// (it is locked: a server is using it — the message says "is in use");
// conflict (dest_path exists); invalid_argument (not a SQLite database);
// internal (I/O).
core::Result<CopyFigures> copy_database_file(const std::string& source_path,
                                             const std::string& dest_path, SourceAccess access);

// Whether a running server holds the database at `path` (its lock).
bool database_in_use(const std::string& path);

// What a database file holds, as far as a restore needs to know.
struct DatabaseFacts {
  int schema_version = 0;
  std::int64_t jobs = 0;
  std::int64_t bytes = 0;
  bool token_secret = false;  // the settings table holds the job-token secret
};

enum class CheckDepth {
  quick,  // PRAGMA quick_check: every page readable, the B-trees well formed
  full,   // PRAGMA integrity_check: also every index agrees with its table
};

// Opens `path` read-only and checks that it is an intact Errand database
// this build can serve (its schema version at most kSchemaVersion; older
// ones are migrated by the server that opens them). Errors (each naming
// the file): not_found; invalid_argument when it is not a SQLite database
// or not an Errand one; internal when it is damaged (the check's first
// findings) or newer than this build; unavailable when a running server
// holds it.
core::Result<DatabaseFacts> check_database_file(const std::string& path, CheckDepth depth);

}  // namespace errand::store::sqlite
