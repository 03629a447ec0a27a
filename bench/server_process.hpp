// An `errand server` child process for the benchmark: started on a free
// loopback port with its own temporary data directory, stopped (SIGTERM,
// then SIGKILL) and its directory removed when this object goes away.
//
// The server's output is drained by a thread so a chatty server never blocks
// on a full pipe. Not thread-safe: one owner.
#pragma once

#include <chrono>
#include <string>
#include <thread>

#include <sys/types.h>

namespace errand::bench {

class ServerProcess {
 public:
  // Starts `errand_path server --listen 127.0.0.1:0 --data <temp dir>` and
  // waits up to `timeout` for its "errand listening on URL" line. Throws
  // std::runtime_error (with the server's output so far) on failure.
  ServerProcess(const std::string& errand_path, std::chrono::seconds timeout);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  const std::string& url() const noexcept { return url_; }
  const std::string& data_dir() const noexcept { return data_dir_; }

 private:
  void stop() noexcept;

  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string temp_dir_;
  std::string data_dir_;
  std::string url_;
  std::thread drain_;
};

}  // namespace errand::bench
