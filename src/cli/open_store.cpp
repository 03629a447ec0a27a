#include "cli/open_store.hpp"

#include "api/auth.hpp"
#include "store/sqlite/sqlite_store.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <filesystem>

namespace errand::cli {
namespace {

// The data directory holds push secrets, the token secret and every payload:
// only the server's user may read it. New files are 0600 (umask), the
// directory 0700, also when an older version created it 0755.
core::Result<void> make_private_data_dir(const std::string& dir) {
  ::umask(077);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, ec);
  if (ec) {
    return core::make_error(
        core::errc::unavailable,
        fmt::format("cannot make {} private (mode 0700): {}", dir, ec.message()), "data");
  }
  return {};
}

// What a start creates in a data directory, so that a start that fails
// before it listens (a port in use, a bad config file) leaves a new
// directory as it found it: nothing is kept that no server ever served.
std::function<void()> fresh_data_undo(const std::string& dir_name) {
  const std::filesystem::path dir(dir_name);
  std::error_code ec;
  const bool dir_existed = std::filesystem::exists(dir, ec);
  const bool db_existed = std::filesystem::exists(dir / "errand.db", ec);
  return [=] {
    std::error_code ec;
    if (!db_existed) {
      for (const char* name : {"errand.db", "errand.db-wal", "errand.db-shm", "errand.db-journal"})
        std::filesystem::remove(dir / name, ec);
    }
    if (!dir_existed) std::filesystem::remove(dir, ec);  // only if it is empty now
  };
}

core::Result<OpenedStore> open_sqlite(const StoreChoice& choice, core::metrics::Metrics* metrics) {
  OpenedStore out;
  out.undo = fresh_data_undo(choice.dir);
  if (auto ok = make_private_data_dir(choice.dir); !ok) return ok.error();
  store::SqliteOptions options{.dir = choice.dir, .store = {}};
  if (metrics) {
    options.commit_seconds = &metrics->store_commit_seconds.at({"sqlite"});
    options.fsync_seconds = &metrics->store_fsync_seconds.at({"sqlite"});
  }
  auto store = store::SqliteStore::open(std::move(options));
  if (!store) {
    out.undo();
    return store.error();
  }
  out.store = std::move(*store);
  auto legacy = api::load_secret_file(choice.dir);
  if (!legacy) {
    out.store->close();
    return legacy.error();
  }
  out.legacy_secret = std::move(*legacy);
  out.description = fmt::format("data in {} (SQLite, every acknowledgement fsync'd)",
                                std::filesystem::absolute(choice.dir).lexically_normal().string());
  return out;
}

}  // namespace

core::Result<OpenedStore> open_postgres(const StoreChoice& choice, core::Millis wait,
                                        const core::Clock* clock, core::metrics::Metrics* metrics);
core::Result<int> migrate_postgres(const StoreChoice& choice);

core::Result<OpenedStore> open_store(const StoreChoice& choice, core::Millis wait,
                                     const core::Clock* clock, core::metrics::Metrics* metrics) {
  if (choice.kind == StoreChoice::Kind::sqlite) return open_sqlite(choice, metrics);
  return open_postgres(choice, wait, clock, metrics);
}

core::Result<int> migrate_store(const StoreChoice& choice) {
  if (choice.kind == StoreChoice::Kind::sqlite) {
    return core::invalid("--store",
                         "errand migrate is for PostgreSQL; a SQLite data directory is migrated "
                         "when a server opens it");
  }
  return migrate_postgres(choice);
}

}  // namespace errand::cli
