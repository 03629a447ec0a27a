// The SQLite store's database_backup: a copy of the database taken while
// the store serves.
//
// The copy is a Chore of the writer (writer.hpp): the writer copies a slice
// of pages after each batch, on its own connection and outside any
// transaction, so writes keep going meanwhile (each waits for at most one
// slice) and the changes they make are written into the copy as they
// commit (store/sqlite/backup.hpp). When the last slice is copied, the
// copy holds the database as it stood then. A thread of the backup's own
// then fsyncs the copy (which can take a while for a large file: never on
// the writer thread) and waits for an empty write batch of the writer,
// whose fsync of the WAL makes everything the copy holds durable too, before
// it answers.
//
// One backup at a time. Thread-safe; close() after the writer's close().
#pragma once

#include "core/mutex.hpp"
#include "store/store.hpp"

#include <string>
#include <thread>

namespace errand::store::sqlite {

class Writer;

class OnlineBackup {
 public:
  // `db_path`: the database file; copies go into its directory.
  OnlineBackup(Writer& writer, std::string db_path);
  ~OnlineBackup();
  OnlineBackup(const OnlineBackup&) = delete;
  OnlineBackup& operator=(const OnlineBackup&) = delete;

  // Store::database_backup.
  void start(DatabaseBackupParams p, Callback<DatabaseBackup> done) EXCLUDES(mutex_);
  // Waits for a backup in progress to end (the writer is closed first, which
  // abandons it). Safe twice.
  void close() EXCLUDES(mutex_);

 private:
  core::Result<void> check_identity(const DatabaseBackupParams& p) const;
  void run(std::string path, Callback<DatabaseBackup> done) EXCLUDES(mutex_);

  Writer& writer_;
  const std::string db_path_;
  core::Mutex mutex_;
  bool running_ GUARDED_BY(mutex_) = false;
  // The last backup's (joined before the next starts).
  std::thread thread_ GUARDED_BY(mutex_);
};

}  // namespace errand::store::sqlite
