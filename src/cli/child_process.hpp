// One command run by `errand work`: spawned with posix_spawn in a process
// group of its own (so a signal reaches everything it started), its stdin fed
// from memory and its stdout and stderr read through pipes with poll(2) —
// never blocking the caller for longer than the time-out it passes.
//
// Exit is watched through a pidfd, so the caller learns of it at once. When
// the command exits, anything it left running in its group is killed: a job
// is over when its command is. Signals are sent to the whole group.
//
// Owned and driven by one thread (the job's handler thread); not thread-safe.
// The destructor kills and reaps a command still running. POSIX/Linux only.
#pragma once

#include "cli/work_protocol.hpp"
#include "core/error.hpp"
#include "core/time.hpp"

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace errand::cli {

struct ChildSpec {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH
  std::vector<std::string> env;   // "NAME=value" set on top of ours
  std::string stdin_data;         // written, then stdin is closed
};

class ChildProcess {
 public:
  // Output lines, without their '\n'; `from_stderr` tells the stream.
  using LineSink = std::function<void(std::string_view line, bool from_stderr)>;

  // Fails with `internal` when the command cannot be started (not found,
  // not executable): the message names it.
  static core::Result<std::unique_ptr<ChildProcess>> spawn(const ChildSpec& spec);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Feeds stdin and reads output for up to `timeout`, or until the command
  // exits. Returns its exit status once it has exited and every line it
  // wrote was passed to `sink`; then the process is reaped.
  std::optional<ExitStatus> pump(core::Millis timeout, const LineSink& sink);
  // Sends `signal` (SIGTERM, SIGKILL) to the command's process group.
  void signal_group(int signal);
  pid_t pid() const noexcept { return pid_; }

 private:
  ChildProcess() = default;
  bool read_stream(int index, const LineSink& sink);
  void write_stdin();
  std::optional<ExitStatus> exited();
  ExitStatus finish(ExitStatus status, const LineSink& sink);
  void close_fd(int& fd);

  pid_t pid_ = -1;
  int pidfd_ = -1;
  int stdin_fd_ = -1;
  int out_fds_[2] = {-1, -1};  // stdout, stderr
  std::string stdin_data_;
  std::size_t stdin_written_ = 0;
  LineSplitter splitters_[2];
  bool reaped_ = false;
};

}  // namespace errand::cli
