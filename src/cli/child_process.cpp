#include "cli/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstring>

extern char** environ;

namespace errand::cli {

namespace {

std::vector<std::string> merged_environment(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  auto overridden = [&](std::string_view entry) {
    const auto name = entry.substr(0, entry.find('=') + 1);
    for (const auto& e : extra)
      if (e.starts_with(name)) return true;
    return false;
  };
  for (char** e = environ; e && *e; ++e)
    if (!overridden(*e)) env.emplace_back(*e);
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// The child starts with default signal handling and nothing blocked,
// whatever `errand work` itself blocks or ignores (SIGPIPE, SIGTERM, ...).
struct SpawnAttributes {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;

  SpawnAttributes(int in, int out, int err) {
    posix_spawnattr_init(&attr);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigfillset(&defaults);
    sigdelset(&defaults, SIGKILL);
    sigdelset(&defaults, SIGSTOP);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(
        &attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in, 0);
    posix_spawn_file_actions_adddup2(&actions, out, 1);
    posix_spawn_file_actions_adddup2(&actions, err, 2);
    // Our HTTP connections and other jobs' pipes are not the command's business.
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  }
  ~SpawnAttributes() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
};

struct Pipe {
  int read = -1, write = -1;
  bool open() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return false;
    read = fds[0];
    write = fds[1];
    return true;
  }
};

void close_if_open(int fd) {
  if (fd >= 0) ::close(fd);
}

void set_nonblocking(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

}  // namespace

core::Result<std::unique_ptr<ChildProcess>> ChildProcess::spawn(const ChildSpec& spec) {
  if (spec.argv.empty()) return core::invalid("command", "no command to run");
  Pipe in, out, err;
  if (!in.open() || !out.open() || !err.open()) {
    const auto message = fmt::format("cannot create pipes: {}", std::strerror(errno));
    for (int fd : {in.read, in.write, out.read, out.write, err.read, err.write}) close_if_open(fd);
    return core::make_error(core::errc::internal, message);
  }
  auto argv_strings = spec.argv;
  auto env_strings = merged_environment(spec.env);
  auto argv = c_strings(argv_strings);
  auto envp = c_strings(env_strings);
  std::unique_ptr<ChildProcess> child(new ChildProcess());
  int rc = 0;
  {
    SpawnAttributes attrs(in.read, out.write, err.write);
    rc = posix_spawnp(&child->pid_, argv[0], &attrs.actions, &attrs.attr, argv.data(), envp.data());
  }
  for (int fd : {in.read, out.write, err.write}) ::close(fd);
  child->stdin_fd_ = in.write;
  child->out_fds_[0] = out.read;
  child->out_fds_[1] = err.read;
  if (rc != 0) {
    child->pid_ = -1;
    return core::make_error(core::errc::internal,
                            fmt::format("cannot run {}: {}", spec.argv[0], std::strerror(rc)));
  }
  child->pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, child->pid_, 0));
  for (int fd : {in.write, out.read, err.read}) set_nonblocking(fd);
  child->stdin_data_ = spec.stdin_data;
  child->write_stdin();
  return child;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !reaped_) {
    signal_group(SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  for (int* fd : {&pidfd_, &stdin_fd_, &out_fds_[0], &out_fds_[1]}) close_fd(*fd);
}

void ChildProcess::close_fd(int& fd) {
  close_if_open(fd);
  fd = -1;
}

void ChildProcess::signal_group(int signal) {
  if (pid_ > 0 && !reaped_) ::kill(-pid_, signal);
}

void ChildProcess::write_stdin() {
  while (stdin_fd_ >= 0 && stdin_written_ < stdin_data_.size()) {
    const auto n = ::write(stdin_fd_, stdin_data_.data() + stdin_written_,
                           stdin_data_.size() - stdin_written_);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n < 0) break;  // EPIPE: the command does not read its stdin; that is its right
    stdin_written_ += static_cast<std::size_t>(n);
  }
  close_fd(stdin_fd_);
}

// Reads what is available now; false at end of stream.
bool ChildProcess::read_stream(int index, const LineSink& sink) {
  char buffer[16 * 1024];
  for (;;) {
    const auto n = ::read(out_fds_[index], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return true;
    if (n <= 0) {
      splitters_[index].finish([&](std::string_view l) { sink(l, index == 1); });
      close_fd(out_fds_[index]);
      return false;
    }
    splitters_[index].feed({buffer, static_cast<std::size_t>(n)},
                           [&](std::string_view l) { sink(l, index == 1); });
  }
}

std::optional<ExitStatus> ChildProcess::exited() {
  siginfo_t info{};
  // WNOWAIT: learn the status but keep the zombie, so the group id stays
  // ours until the group has been cleaned up.
  if (waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0 ||
      info.si_pid == 0) {
    return std::nullopt;
  }
  if (info.si_code == CLD_EXITED) return ExitStatus{.code = info.si_status};
  return ExitStatus{.signaled = true, .signal = info.si_status};
}

ExitStatus ChildProcess::finish(ExitStatus status, const LineSink& sink) {
  for (int i = 0; i < 2; ++i)
    if (out_fds_[i] >= 0) read_stream(i, sink);
  signal_group(SIGKILL);
  // The group is dead now, so the pipes reach end of stream promptly.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while ((out_fds_[0] >= 0 || out_fds_[1] >= 0) && std::chrono::steady_clock::now() < deadline) {
    pollfd fds[2] = {{out_fds_[0], POLLIN, 0}, {out_fds_[1], POLLIN, 0}};
    ::poll(fds, 2, 100);
    for (int i = 0; i < 2; ++i)
      if (out_fds_[i] >= 0 && fds[i].revents) read_stream(i, sink);
  }
  waitpid(pid_, nullptr, 0);
  reaped_ = true;
  close_fd(stdin_fd_);
  return status;
}

std::optional<ExitStatus> ChildProcess::pump(core::Millis timeout, const LineSink& sink) {
  if (reaped_) return std::nullopt;
  // Without a pidfd (old kernels) exit is noticed on the next call instead.
  pollfd fds[4] = {{out_fds_[0], POLLIN, 0},
                   {out_fds_[1], POLLIN, 0},
                   {stdin_fd_, POLLOUT, 0},
                   {pidfd_, POLLIN, 0}};
  const int wait_ms = static_cast<int>(std::max<std::int64_t>(0, timeout.count()));
  const int n = ::poll(fds, 4, wait_ms);
  if (n > 0) {
    for (int i = 0; i < 2; ++i)
      if (out_fds_[i] >= 0 && fds[i].revents) read_stream(i, sink);
    if (stdin_fd_ >= 0 && fds[2].revents) write_stdin();
  }
  if (auto status = exited()) return finish(*status, sink);
  return std::nullopt;
}

}  // namespace errand::cli
