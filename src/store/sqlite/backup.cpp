#include "store/sqlite/backup.hpp"

#include "store/sqlite/db.hpp"
#include "store/sqlite/schema.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sqlite3.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace errand::store::sqlite {
namespace fs = std::filesystem;
namespace {

core::Error io_error(std::string_view what, const std::string& path, int err) {
  return core::make_error(core::errc::unavailable,
                          fmt::format("cannot {} {}: {}", what, path, std::strerror(err)));
}

bool is_busy(int rc) {
  return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
}

// A plain connection to a file that must exist (never created here).
class Connection {
 public:
  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() { sqlite3_close_v2(db_); }

  int open(const std::string& path, bool read_only) {
    const int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
    if (rc == SQLITE_OK) sqlite3_extended_result_codes(db_, 1);
    return rc;
  }
  // The first column of each row of `sql` (at most `max_rows`), or the
  // result code that stopped it.
  int rows(const std::string& sql, std::vector<std::string>& out, std::size_t max_rows = 1) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr);
    while (rc == SQLITE_OK || rc == SQLITE_ROW) {
      rc = sqlite3_step(stmt);
      if (rc != SQLITE_ROW) break;
      if (out.size() < max_rows) {
        const auto* text = sqlite3_column_text(stmt, 0);
        out.emplace_back(text ? reinterpret_cast<const char*>(text) : "");
      }
    }
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
  }
  std::string message() const { return db_ ? sqlite3_errmsg(db_) : "out of memory"; }
  sqlite3* handle() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

// Opens the file and reads from it, so a lock held by a server shows now.
core::Result<void> open_and_read(Connection& c, const std::string& path, bool read_only) {
  int rc = c.open(path, read_only);
  std::vector<std::string> row;
  if (rc == SQLITE_OK && !read_only) {
    // Held until closed: no server starts on the file while it is copied.
    rc = c.rows("PRAGMA locking_mode=EXCLUSIVE", row);
    row.clear();
  }
  if (rc == SQLITE_OK) rc = c.rows("SELECT count(*) FROM sqlite_schema", row);
  if (rc == SQLITE_OK) return {};
  if (is_busy(rc)) {
    return core::make_error(core::errc::unavailable,
                            fmt::format("{} is in use (locked by a running errand server)", path));
  }
  if ((rc & 0xff) == SQLITE_NOTADB) {
    return core::make_error(core::errc::invalid_argument,
                            fmt::format("{} is not a SQLite database", path));
  }
  return core::make_error(core::errc::internal,
                          fmt::format("cannot read {}: {}", path, c.message()));
}

bool has_sqlite_header(const std::string& path) {
  static constexpr char kMagic[16] = "SQLite format 3";  // and its NUL
  char head[16] = {};
  std::ifstream in(path, std::ios::binary);
  in.read(head, sizeof head);
  return in.gcount() == sizeof head && std::memcmp(head, kMagic, sizeof head) == 0;
}

core::Result<std::int64_t> count_of(Connection& c, const std::string& path,
                                    const std::string& sql) {
  std::vector<std::string> row;
  const int rc = c.rows(sql, row);
  if (rc != SQLITE_OK || row.empty()) {
    return core::make_error(core::errc::internal,
                            fmt::format("cannot read {}: {}", path, c.message()));
  }
  return std::stoll(row[0]);
}

}  // namespace

// ---- DatabaseCopy ---------------------------------------------------------------

DatabaseCopy::DatabaseCopy(std::unique_ptr<Db> dest, sqlite3_backup* backup, std::string path)
    : dest_(std::move(dest)), backup_(backup), path_(std::move(path)) {}

core::Result<std::unique_ptr<DatabaseCopy>> DatabaseCopy::start(sqlite3* source,
                                                                const std::string& dest_path) {
  std::error_code ec;
  if (fs::exists(dest_path, ec)) {
    return core::make_error(core::errc::conflict, fmt::format("{} exists already", dest_path));
  }
  auto dest = Db::open(dest_path);
  if (!dest) return dest.error();
  // The copy is written once and fsync'd at the end: no journal, no syncs
  // on the way. Exclusive locking keeps the WAL index of the short WAL
  // phase in finish() in memory (no -shm file beside the copy).
  core::Result<void> set;
  for (const char* pragma :
       {"PRAGMA locking_mode=EXCLUSIVE", "PRAGMA journal_mode=OFF", "PRAGMA synchronous=OFF"}) {
    if (set) set = (*dest)->exec(pragma);
  }
  sqlite3_backup* backup =
      set ? sqlite3_backup_init((*dest)->handle(), "main", source, "main") : nullptr;
  if (!backup) {
    const std::string why = set ? sqlite3_errmsg((*dest)->handle()) : set.error().message;
    dest->reset();
    fs::remove(dest_path, ec);
    return core::make_error(core::errc::internal,
                            fmt::format("cannot start a backup into {}: {}", dest_path, why));
  }
  return std::unique_ptr<DatabaseCopy>(new DatabaseCopy(std::move(*dest), backup, dest_path));
}

DatabaseCopy::~DatabaseCopy() {
  if (backup_) sqlite3_backup_finish(backup_);
  dest_.reset();
  if (finished_) return;
  std::error_code ec;
  for (const char* suffix : {"", "-journal", "-wal", "-shm"}) fs::remove(path_ + suffix, ec);
}

core::Result<bool> DatabaseCopy::step(int pages) {
  const int rc = sqlite3_backup_step(backup_, pages);
  if (rc == SQLITE_DONE) return true;
  if (rc == SQLITE_OK) return false;
  if (is_busy(rc)) {
    return core::make_error(core::errc::unavailable,
                            fmt::format("the database is busy; the backup into {} stopped", path_));
  }
  return core::make_error(core::errc::internal,
                          fmt::format("the backup into {} failed: {} ({})", path_,
                                      sqlite3_errmsg(dest_->handle()), sqlite3_errstr(rc)));
}

core::Result<CopyFigures> DatabaseCopy::finish() {
  const int rc = sqlite3_backup_finish(std::exchange(backup_, nullptr));
  if (rc != SQLITE_OK) {
    return core::make_error(
        core::errc::internal,
        fmt::format("the backup into {} failed: {}", path_, sqlite3_errmsg(dest_->handle())));
  }
  // The copied header says WAL, as the source's does: reading it turns the
  // connection to WAL mode, and this turns the file back into a plain
  // single-file database (its -wal is checkpointed and deleted).
  auto mode = dest_->query_text("PRAGMA journal_mode=DELETE");
  if (!mode) return mode.error();
  if (*mode != "delete") {
    return core::make_error(
        core::errc::internal,
        fmt::format("cannot turn {} into a single-file database (journal mode {})", path_, *mode));
  }
  auto pages = dest_->query_text("PRAGMA page_count");
  if (!pages) return pages.error();
  dest_.reset();
  finished_ = true;
  std::error_code ec;
  const auto bytes = fs::file_size(path_, ec);
  return CopyFigures{.pages = std::stoll(*pages),
                     .bytes = ec ? 0 : static_cast<std::int64_t>(bytes)};
}

std::int64_t DatabaseCopy::pages_total() const {
  return backup_ ? sqlite3_backup_pagecount(backup_) : 0;
}

// ---- files ----------------------------------------------------------------------

core::Result<void> sync_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error("open", path, errno);
  const int synced = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (synced != 0) return io_error("fsync", path, err);
  auto dir = fs::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return io_error("open directory", dir, errno);
  const int dir_synced = ::fsync(dir_fd);
  const int dir_err = errno;
  ::close(dir_fd);
  if (dir_synced != 0) return io_error("fsync directory", dir, dir_err);
  return {};
}

core::Result<CopyFigures> copy_database_file(const std::string& source_path,
                                             const std::string& dest_path, SourceAccess access) {
  std::error_code ec;
  if (!fs::is_regular_file(source_path, ec)) {
    return core::make_error(core::errc::not_found, fmt::format("there is no {}", source_path));
  }
  Connection source;
  if (auto opened = open_and_read(source, source_path, access == SourceAccess::read_only);
      !opened) {
    return opened.error();
  }
  auto copy = DatabaseCopy::start(source.handle(), dest_path);
  if (!copy) return copy.error();
  auto done = (*copy)->step(-1);
  if (!done) return done.error();
  if (!*done) {
    return core::make_error(core::errc::internal,
                            fmt::format("the backup into {} stopped early", dest_path));
  }
  auto figures = (*copy)->finish();
  if (!figures) return figures.error();
  if (auto synced = sync_file(dest_path); !synced) {
    fs::remove(dest_path, ec);
    return synced.error();
  }
  return figures;
}

bool database_in_use(const std::string& path) {
  Connection c;
  auto opened = open_and_read(c, path, false);
  return !opened && opened.error().code == core::errc::unavailable;
}

core::Result<DatabaseFacts> check_database_file(const std::string& path, CheckDepth depth) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    return core::make_error(core::errc::not_found, fmt::format("there is no {}", path));
  }
  if (!fs::is_regular_file(path, ec) || !has_sqlite_header(path)) {
    return core::make_error(core::errc::invalid_argument,
                            fmt::format("{} is not a SQLite database", path));
  }
  Connection c;
  if (auto opened = open_and_read(c, path, true); !opened) return opened.error();
  std::vector<std::string> findings;
  const int rc = c.rows(depth == CheckDepth::full ? "PRAGMA integrity_check" : "PRAGMA quick_check",
                        findings, 3);
  if (is_busy(rc)) {
    return core::make_error(core::errc::unavailable,
                            fmt::format("{} is in use (locked by a running errand server)", path));
  }
  if (rc != SQLITE_OK || findings.empty() || findings[0] != "ok") {
    std::string found =
        rc != SQLITE_OK ? c.message() : fmt::format("{}", fmt::join(findings, "; "));
    return core::make_error(core::errc::internal, fmt::format("{} is damaged: {}", path, found));
  }
  auto tables = count_of(
      c, path,
      "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN ('schema_version', "
      "'jobs')");
  if (!tables) return tables.error();
  if (*tables != 2) {
    return core::make_error(
        core::errc::invalid_argument,
        fmt::format("{} is a SQLite database, but not an Errand one (no schema_version and jobs "
                    "tables)",
                    path));
  }
  auto version = count_of(c, path, "SELECT coalesce(max(version), 0) FROM schema_version");
  if (!version) return version.error();
  if (*version > kSchemaVersion) {
    return core::make_error(
        core::errc::internal,
        fmt::format("{} has schema version {}, newer than this errand's {}: use a newer errand",
                    path, *version, kSchemaVersion));
  }
  DatabaseFacts facts{.schema_version = static_cast<int>(*version)};
  auto jobs = count_of(c, path, "SELECT count(*) FROM jobs");
  if (!jobs) return jobs.error();
  facts.jobs = *jobs;
  auto settings = count_of(
      c, path, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'settings'");
  if (!settings) return settings.error();
  if (*settings > 0) {
    auto secret = count_of(c, path, "SELECT count(*) FROM settings WHERE name = 'token_secret'");
    if (!secret) return secret.error();
    facts.token_secret = *secret > 0;
  }
  facts.bytes = static_cast<std::int64_t>(fs::file_size(path, ec));
  return facts;
}

}  // namespace errand::store::sqlite
