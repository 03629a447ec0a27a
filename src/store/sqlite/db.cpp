#include "store/sqlite/db.hpp"

#include <fmt/format.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <mutex>
#include <utility>

namespace errand::store::sqlite {
namespace {

// Codes after which SQLite may have rolled the transaction back on its own,
// or the file can no longer be trusted: the batch must not be committed.
bool is_fatal(int rc) {
  switch (rc & 0xff) {
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_NOMEM:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PROTOCOL:
      return true;
    default:
      return false;
  }
}

// Memory statistics make SQLite take a global mutex on every allocation; we
// never read them. Must happen before SQLite initializes, so it is best effort.
void configure_sqlite_once() {
  static std::once_flag once;
  std::call_once(once, [] { (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
}

}  // namespace

core::Result<std::unique_ptr<Db>> Db::open(const std::string& path) {
  configure_sqlite_once();
  sqlite3* handle = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &handle, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = handle ? sqlite3_errmsg(handle) : sqlite3_errstr(rc);
    sqlite3_close(handle);
    return core::make_error(core::errc::unavailable,
                            fmt::format("cannot open database {}: {}", path, message));
  }
  sqlite3_extended_result_codes(handle, 1);
  // Payloads, push secrets and header values live here: owner only, also for
  // files an older version created 0644. SQLite gives new -wal and -shm files
  // the database's mode.
  for (const char* suffix : {"", "-wal", "-shm"}) ::chmod((path + suffix).c_str(), 0600);
  return std::unique_ptr<Db>(new Db(handle, path));
}

Db::~Db() {
  sqlite3_close_v2(db_);
}

core::Error Db::error(int rc, std::string_view what) {
  std::string_view detail = sqlite3_errmsg(db_);
  std::string_view generic = sqlite3_errstr(rc);
  std::string message =
      detail == generic
          ? fmt::format("sqlite error in {} on {}: {}", what, path_, detail)
          : fmt::format("sqlite error in {} on {}: {} ({})", what, path_, detail, generic);
  last_error_ = detail;
  if (is_fatal(rc) && broken_.empty()) broken_ = last_error_;
  return core::make_error(core::errc::internal, std::move(message));
}

core::Result<void> Db::exec(const std::string& sql) {
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return error(rc, sql);
  return {};
}

core::Result<std::string> Db::query_text(const std::string& sql) {
  auto prepared = prepare(sql, "query_text");
  if (!prepared) return prepared.error();
  Stmt stmt(*this, *prepared, "query_text");
  Query q(stmt);
  auto row = q.step();
  if (!row) return row.error();
  return *row ? std::string(q.text_at(0)) : std::string();
}

core::Result<sqlite3_stmt*> Db::prepare(std::string_view sql, std::string_view name) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return error(rc, fmt::format("preparing {}", name));
  return stmt;
}

Stmt::~Stmt() {
  sqlite3_finalize(stmt_);
}

Stmt::Stmt(Stmt&& other) noexcept
    : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)), name_(other.name_) {}

Stmt& Stmt::operator=(Stmt&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    db_ = other.db_;
    stmt_ = std::exchange(other.stmt_, nullptr);
    name_ = other.name_;
  }
  return *this;
}

Query::~Query() {
  sqlite3_reset(stmt_.stmt_);
}

void Query::note_bind(int rc) {
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

Query& Query::bind_int(int index, std::int64_t value) {
  note_bind(sqlite3_bind_int64(stmt_.stmt_, index, value));
  return *this;
}

Query& Query::bind_real(int index, double value) {
  note_bind(sqlite3_bind_double(stmt_.stmt_, index, value));
  return *this;
}

Query& Query::bind_text(int index, std::string_view value) {
  // A null pointer would bind SQL NULL; an empty view means the empty string.
  const char* data = value.data() ? value.data() : "";
  note_bind(
      sqlite3_bind_text64(stmt_.stmt_, index, data, value.size(), SQLITE_STATIC, SQLITE_UTF8));
  return *this;
}

Query& Query::bind_null(int index) {
  note_bind(sqlite3_bind_null(stmt_.stmt_, index));
  return *this;
}

Query& Query::bind_text_or_null(int index, std::string_view value) {
  return value.empty() ? bind_null(index) : bind_text(index, value);
}

Query& Query::bind_opt_time(int index, const std::optional<core::TimePoint>& t) {
  return t ? bind_time(index, *t) : bind_null(index);
}

core::Result<bool> Query::step() {
  if (bind_rc_ != SQLITE_OK) return stmt_.db_->error(bind_rc_, stmt_.name_);
  const int rc = sqlite3_step(stmt_.stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return stmt_.db_->error(rc, stmt_.name_);
}

core::Result<void> Query::run() {
  for (;;) {
    auto row = step();
    if (!row) return row.error();
    if (!*row) return {};
  }
}

bool Query::is_null(int col) const {
  return sqlite3_column_type(stmt_.stmt_, col) == SQLITE_NULL;
}

std::int64_t Query::int_at(int col) const {
  return sqlite3_column_int64(stmt_.stmt_, col);
}

double Query::real_at(int col) const {
  return sqlite3_column_double(stmt_.stmt_, col);
}

std::string_view Query::text_at(int col) const {
  const auto* text = sqlite3_column_text(stmt_.stmt_, col);
  if (!text) return {};
  return {reinterpret_cast<const char*>(text),
          static_cast<std::size_t>(sqlite3_column_bytes(stmt_.stmt_, col))};
}

std::optional<core::TimePoint> Query::opt_time_at(int col) const {
  if (is_null(col)) return std::nullopt;
  return time_at(col);
}

}  // namespace errand::store::sqlite
