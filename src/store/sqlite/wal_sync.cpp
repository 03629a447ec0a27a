#include "store/sqlite/wal_sync.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include <fcntl.h>
#include <unistd.h>

namespace errand::store::sqlite {
namespace {

core::Error io_error(std::string_view what, const std::string& path, int err) {
  return core::make_error(core::errc::unavailable,
                          fmt::format("cannot {} {}: {}", what, path, std::strerror(err)));
}

}  // namespace

core::Result<WalSync> WalSync::open(std::string wal_path, std::function<bool()> fail) {
  const int fd = ::open(wal_path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return io_error("open", wal_path, errno);
  WalSync out(fd, std::move(wal_path), std::move(fail));
  // The WAL's directory entry, so a crash cannot lose the file itself.
  const auto dir = std::filesystem::path(out.path_).parent_path().string();
  const int dir_fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return io_error("open directory", dir, errno);
  const int synced = ::fsync(dir_fd);
  const int err = errno;
  ::close(dir_fd);
  if (synced != 0) return io_error("fsync directory", dir, err);
  return out;
}

WalSync::WalSync(WalSync&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      path_(std::move(other.path_)),
      fail_(std::move(other.fail_)) {}

WalSync& WalSync::operator=(WalSync&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
    fail_ = std::move(other.fail_);
  }
  return *this;
}

WalSync::~WalSync() {
  if (fd_ >= 0) ::close(fd_);
}

core::Result<void> WalSync::sync() const {
  if (fail_ && fail_()) return io_error("fdatasync", path_, EIO);
  if (::fdatasync(fd_) != 0) return io_error("fdatasync", path_, errno);
  return {};
}

}  // namespace errand::store::sqlite
