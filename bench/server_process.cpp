#include "server_process.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <stdexcept>
#include <vector>

#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace errand::bench {
namespace {

std::string make_temp_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "errand-bench-XXXXXX").string();
  if (!::mkdtemp(pattern.data()))
    throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
  return pattern;
}

pid_t spawn(const std::vector<std::string>& argv, int out_fd) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out_fd, STDERR_FILENO);
  posix_spawn_file_actions_addclose(&actions, out_fd);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
  return pid;
}

// Reads `fd` until a line matches `listening` or the deadline passes; returns
// the URL, or "" with everything read so far in `seen`.
std::string wait_for_listening(int fd, std::chrono::steady_clock::time_point deadline,
                               std::string& seen) {
  static const std::regex listening(R"(errand listening on (http://\S+))");
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return {};
    pollfd p{fd, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return {};
    auto n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return {};  // the server exited
    seen.append(buf, static_cast<std::size_t>(n));
    std::smatch m;
    if (std::regex_search(seen, m, listening)) return m[1].str();
  }
}

}  // namespace

ProcessMemory process_memory(pid_t pid) {
  ProcessMemory m;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    auto kib = [&line] { return std::strtoll(line.c_str() + line.find(':') + 1, nullptr, 10); };
    if (line.rfind("VmRSS:", 0) == 0) m.rss_bytes = kib() * 1024;
    if (line.rfind("VmHWM:", 0) == 0) m.peak_rss_bytes = kib() * 1024;
  }
  return m;
}

std::int64_t directory_bytes(const std::string& dir) {
  std::error_code ec;
  std::int64_t total = 0;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code size_ec;
    if (!it->is_regular_file(size_ec)) continue;
    auto size = it->file_size(size_ec);
    if (!size_ec) total += static_cast<std::int64_t>(size);
  }
  return total;
}

ServerProcess::ServerProcess(std::string errand_path, std::chrono::seconds timeout,
                             std::vector<std::string> extra_args, std::string store_url)
    : ServerProcess(
          std::move(errand_path), timeout, std::move(extra_args),
          store_url.empty() ? nullptr : std::make_shared<PgSchema>(std::move(store_url))) {}

ServerProcess::ServerProcess(std::string errand_path, std::chrono::seconds timeout,
                             std::vector<std::string> extra_args, std::shared_ptr<PgSchema> schema)
    : errand_path_(std::move(errand_path)),
      extra_args_(std::move(extra_args)),
      schema_(std::move(schema)) {
  temp_dir_ = make_temp_dir();
  data_dir_ = temp_dir_ + "/data";
  try {
    spawn_and_wait("127.0.0.1:0", timeout);
  } catch (...) {
    stop();
    throw;
  }
}

ServerProcess::~ServerProcess() {
  stop();
}

void ServerProcess::spawn_and_wait(const std::string& listen, std::chrono::seconds timeout) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  out_fd_ = fds[0];
  spawned_at_ = std::chrono::steady_clock::now();
  std::vector<std::string> argv{errand_path_, "server", "--listen", listen};
  if (schema_) {
    argv.insert(argv.end(), {"--store", schema_->server_store_url()});
  } else {
    argv.insert(argv.end(), {"--data", data_dir_});
  }
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  try {
    pid_ = spawn(argv, fds[1]);
  } catch (...) {
    ::close(fds[1]);
    throw;
  }
  ::close(fds[1]);
  std::string seen;
  url_ = wait_for_listening(out_fd_, std::chrono::steady_clock::now() + timeout, seen);
  if (url_.empty()) {
    throw std::runtime_error("errand server did not report listening within " +
                             std::to_string(timeout.count()) + "s; its output:\n" + seen);
  }
  drain_ = std::thread([fd = out_fd_] {
    char buf[4096];
    while (::read(fd, buf, sizeof buf) > 0) {
    }
  });
}

std::int64_t ServerProcess::data_bytes() const {
  return schema_ ? schema_->bytes() : directory_bytes(data_dir_);
}

void ServerProcess::kill9() {
  if (pid_ > 0) ::kill(pid_, SIGKILL);
  reap();
}

void ServerProcess::restart(std::chrono::seconds timeout) {
  reap();
  // The same port, so clients keep their URL; the listener sets SO_REUSEADDR.
  const auto port = url_.substr(url_.rfind(':') + 1);
  spawn_and_wait("127.0.0.1:" + port, timeout);
}

// Waits for the child to exit (it has been signalled) and closes its pipe.
void ServerProcess::reap() noexcept {
  if (pid_ > 0) {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  if (drain_.joinable()) drain_.join();  // ends at EOF: the child has exited
  if (out_fd_ >= 0) ::close(out_fd_);
  out_fd_ = -1;
}

void ServerProcess::stop() noexcept {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    // A graceful stop finishes requests in flight; give it a few seconds.
    for (int i = 0; i < 100 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i) ::usleep(50'000);
    if (::waitpid(pid_, &status, WNOHANG) == 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
    pid_ = -1;
  }
  reap();
  schema_.reset();  // the last server of a shared schema drops it
  if (!temp_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(temp_dir_, ec);
    temp_dir_.clear();
  }
}

}  // namespace errand::bench
