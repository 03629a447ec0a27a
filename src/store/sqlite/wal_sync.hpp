// Makes the write-ahead log durable from outside SQLite.
//
// The writer commits with synchronous=NORMAL (SQLite writes the WAL but does
// not fsync it at COMMIT) and calls sync() before it answers the batch: so
// the fsync of one batch can run on another thread while the next batch's
// statements run. fdatasync on our own descriptor of the WAL flushes the
// file, whoever wrote it. In exclusive locking mode the WAL file lives as
// long as the connection (it is reset and overwritten, never unlinked), so
// the descriptor stays valid; its directory entry is made durable once, at
// open.
#pragma once

#include "core/error.hpp"

#include <functional>
#include <string>

namespace errand::store::sqlite {

class WalSync {
 public:
  // `wal_path`: the database's WAL, which must exist. `fail`: fault injection
  // for tests, asked before each sync; true fails it as an I/O error would.
  static core::Result<WalSync> open(std::string wal_path, std::function<bool()> fail = {});
  WalSync(WalSync&& other) noexcept;
  WalSync& operator=(WalSync&& other) noexcept;
  WalSync(const WalSync&) = delete;
  WalSync& operator=(const WalSync&) = delete;
  ~WalSync();

  // fdatasync of the WAL. Errors: unavailable, naming the file and the cause.
  // Thread-safe (the descriptor is only read).
  core::Result<void> sync() const;

 private:
  WalSync(int fd, std::string path, std::function<bool()> fail)
      : fd_(fd), path_(std::move(path)), fail_(std::move(fail)) {}
  int fd_ = -1;
  std::string path_;
  std::function<bool()> fail_;
};

}  // namespace errand::store::sqlite
