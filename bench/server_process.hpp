// An `errand server` child process for the benchmarks: started on a free
// loopback port with its own temporary data directory (every acknowledgement
// fsync'd: the server's default), stopped (SIGTERM, then SIGKILL) and its
// directory removed when this object goes away.
//
// For the crash workload it can also be killed with SIGKILL and started
// again on the same port and data directory, and it reports the server's
// memory (from /proc) and the size of its data directory.
//
// On PostgreSQL the server keeps its jobs in a schema (postgres.hpp's
// PgSchema): a fresh one of its own, or one shared with the other servers of
// a measurement, so that several act as one service.
//
// The server's output is drained by a thread so a chatty server never blocks
// on a full pipe. Not thread-safe: one owner.
#pragma once

#include "postgres.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <sys/types.h>

namespace errand::bench {

// Resident memory of a process, from /proc/<pid>/status; 0 when unknown.
struct ProcessMemory {
  std::int64_t rss_bytes = 0;       // VmRSS
  std::int64_t peak_rss_bytes = 0;  // VmHWM
};

ProcessMemory process_memory(pid_t pid);

// Total size of the regular files under `dir`, recursively (0 if missing).
std::int64_t directory_bytes(const std::string& dir);

class ServerProcess {
 public:
  // Starts `errand_path server --listen 127.0.0.1:0 --data <temp dir>`,
  // then `extra_args` (e.g. "--push-allow-private"; kept for restart()), and
  // waits up to `timeout` for its "errand listening on URL" line. Throws
  // std::runtime_error (with the server's output so far) on failure.
  // With a `store_url` (a postgres:// URL without `schema`), the server keeps
  // its jobs there instead, in a fresh schema of its own, dropped (with psql)
  // when this object goes away.
  ServerProcess(std::string errand_path, std::chrono::seconds timeout,
                std::vector<std::string> extra_args = {}, std::string store_url = {});
  // The same on PostgreSQL in `schema`, which other servers may share: it is
  // dropped when the last of its owners lets go of it. The first server
  // started on a schema creates it; start the others after it has answered.
  ServerProcess(std::string errand_path, std::chrono::seconds timeout,
                std::vector<std::string> extra_args, std::shared_ptr<PgSchema> schema);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  const std::string& url() const noexcept { return url_; }
  const std::string& data_dir() const noexcept { return data_dir_; }
  pid_t pid() const noexcept { return pid_; }
  // When the current server process was spawned.
  std::chrono::steady_clock::time_point spawned_at() const noexcept { return spawned_at_; }

  ProcessMemory memory() const { return process_memory(pid_); }
  // The data directory's size, or on PostgreSQL the schema's tables and
  // indexes (pg_total_relation_size, through psql).
  std::int64_t data_bytes() const;

  // SIGKILL, reaped; the data directory stays.
  void kill9();
  // Starts the server again on the same port and data directory and waits
  // up to `timeout` for its listening line; throws as the constructor does.
  void restart(std::chrono::seconds timeout);

 private:
  void spawn_and_wait(const std::string& listen, std::chrono::seconds timeout);
  void reap() noexcept;
  void stop() noexcept;

  std::string errand_path_;
  std::vector<std::string> extra_args_;
  std::shared_ptr<PgSchema> schema_;  // null: SQLite in data_dir_
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string temp_dir_;
  std::string data_dir_;
  std::string url_;
  std::chrono::steady_clock::time_point spawned_at_{};
  std::thread drain_;
};

}  // namespace errand::bench
