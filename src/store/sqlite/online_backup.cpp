#include "store/sqlite/online_backup.hpp"

#include "core/id.hpp"
#include "store/sqlite/backup.hpp"
#include "store/sqlite/writer.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <future>

namespace errand::store::sqlite {
namespace {

// 1 MiB of 4 KiB pages: a slice takes about a millisecond, which is what a
// write that arrives meanwhile waits at most.
constexpr int kPagesPerSlice = 256;

using Copied = core::Result<CopyFigures>;

class BackupChore final : public Chore {
 public:
  BackupChore(std::string path, std::promise<Copied> copied)
      : path_(std::move(path)), copied_(std::move(copied)) {}

  bool step(Db& db) override {
    if (!copy_) {
      auto started = DatabaseCopy::start(db.handle(), path_);
      if (!started) return answer(started.error());
      copy_ = std::move(*started);
    }
    auto done = copy_->step(kPagesPerSlice);
    if (!done) return answer(done.error());
    if (!*done) return false;
    auto figures = copy_->finish();
    if (!figures) return answer(figures.error());
    copy_.reset();
    copied_.set_value(*figures);
    return true;
  }

  void abandon() override {
    answer(core::make_error(core::errc::unavailable,
                            "the server is stopping: the backup was abandoned", "database"));
  }

 private:
  // Ends the chore with `error`; an unfinished copy's file is deleted.
  bool answer(core::Error error) {
    copy_.reset();
    copied_.set_value(std::move(error));
    return true;
  }

  std::string path_;
  std::promise<Copied> copied_;
  std::unique_ptr<DatabaseCopy> copy_;
};

// An empty write batch: answered after the WAL's next fsync, which covers
// every commit the copy may hold.
core::Result<void> wait_for_durability(Writer& writer) {
  std::promise<core::Result<Unit>> promise;
  auto future = promise.get_future();
  writer.submit(make_op<Unit>(
      true, [](OpContext&) -> core::Result<Unit> { return Unit{}; },
      Callback<Unit>([&promise](core::Result<Unit> r) { promise.set_value(std::move(r)); })));
  auto synced = future.get();
  if (!synced) return synced.error();
  return {};
}

std::string backup_name() {
  const auto now =
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  return fmt::format("errand-backup-{:%Y%m%dT%H%M%SZ}-{}.db", now, core::random_hex(3));
}

}  // namespace

OnlineBackup::OnlineBackup(Writer& writer, std::string db_path)
    : writer_(writer), db_path_(std::move(db_path)) {}

OnlineBackup::~OnlineBackup() {
  close();
}

void OnlineBackup::close() {
  std::thread last;
  {
    core::MutexLock lock(mutex_);
    last.swap(thread_);
  }
  if (last.joinable()) last.join();
}

core::Result<void> OnlineBackup::check_identity(const DatabaseBackupParams& p) const {
  if (!p.device && !p.inode) return {};
  struct stat st {};
  if (::stat(db_path_.c_str(), &st) != 0 || !p.device || !p.inode ||
      static_cast<std::uint64_t>(st.st_dev) != *p.device ||
      static_cast<std::uint64_t>(st.st_ino) != *p.inode) {
    return core::make_error(
        core::errc::conflict,
        fmt::format("this server's database is {}, not the file named by device and inode",
                    db_path_),
        "database");
  }
  return {};
}

void OnlineBackup::start(DatabaseBackupParams p, Callback<DatabaseBackup> done) {
  if (auto ok = check_identity(p); !ok) return done(ok.error());
  core::MutexLock lock(mutex_);
  if (running_) {
    lock.unlock();
    return done(core::make_error(
        core::errc::conflict,
        fmt::format("a backup of {} is running already; try again when it is done", db_path_),
        "database"));
  }
  running_ = true;
  // The last backup's thread has answered: it ends at once.
  std::thread previous = std::move(thread_);
  const auto path = (std::filesystem::path(db_path_).parent_path() / backup_name()).string();
  thread_ =
      std::thread([this, path, done = std::move(done)]() mutable { run(path, std::move(done)); });
  lock.unlock();
  if (previous.joinable()) previous.join();
}

void OnlineBackup::run(std::string path, Callback<DatabaseBackup> done) {
  const auto started = std::chrono::steady_clock::now();
  std::promise<Copied> copied;
  auto future = copied.get_future();
  writer_.add_chore(std::make_unique<BackupChore>(path, std::move(copied)));
  Copied figures = core::make_error(core::errc::internal, "the backup ended without an answer");
  try {
    figures = future.get();
  } catch (const std::future_error&) {  // the chore threw (the writer logged it)
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
  core::Result<void> durable;
  if (figures) durable = sync_file(path);
  if (figures && durable) durable = wait_for_durability(writer_);
  core::Result<DatabaseBackup> result = DatabaseBackup{};
  if (!figures) {
    result = figures.error();
  } else if (!durable) {
    std::error_code ec;
    std::filesystem::remove(path, ec);
    result = durable.error();
  } else {
    result = DatabaseBackup{.file = std::filesystem::path(path).filename().string(),
                            .pages = figures->pages,
                            .bytes = figures->bytes,
                            .took = std::chrono::duration_cast<core::Millis>(
                                std::chrono::steady_clock::now() - started)};
  }
  {
    core::MutexLock lock(mutex_);
    running_ = false;
  }
  done(std::move(result));
}

}  // namespace errand::store::sqlite
