#include "store/copy/source.hpp"

#include "store/sqlite/schema.hpp"

#include <fmt/format.h>

#include <filesystem>

namespace errand::store::copy {
namespace {

core::Error in_use_or(const core::Error& e, const std::string& dir) {
  if (e.message.find("locked") == std::string::npos) return e;
  return core::make_error(
      core::errc::unavailable,
      fmt::format("the SQLite database in {} is locked by a running errand server: stop the "
                  "server using {} first",
                  dir, dir));
}

// The version before prepare_schema migrates it. Reading takes the lock a
// running server holds, so this is where a busy directory is found.
core::Result<int> version_of(sqlite::Db& db) {
  if (auto r = db.exec("PRAGMA busy_timeout=2000"); !r) return r.error();
  auto exists = db.query_text(
      "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_version'");
  if (!exists) return exists.error();
  if (*exists == "0") return 0;
  auto version = db.query_text("SELECT coalesce(max(version), 0) FROM schema_version");
  if (!version) return version.error();
  return std::stoi(*version);
}

}  // namespace

core::Result<Source> open_source(const std::string& dir) {
  const auto path = std::filesystem::path(dir) / "errand.db";
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return core::make_error(
        core::errc::not_found,
        fmt::format("{} holds no Errand database (no errand.db): give the directory a server "
                    "ran with (--data DIR)",
                    dir),
        "from");
  }
  auto db = sqlite::Db::open(path.string());
  if (!db) return db.error();
  auto version = version_of(**db);
  if (!version) return in_use_or(version.error(), dir);
  if (*version == 0) {
    return core::make_error(core::errc::not_found,
                            fmt::format("{} has no Errand schema: nothing to copy", path.string()),
                            "from");
  }
  if (auto prepared = sqlite::prepare_schema(**db); !prepared) {
    return in_use_or(prepared.error(), dir);
  }
  return Source{.db = std::move(*db), .version_before = *version};
}

core::Result<std::int64_t> for_each_row(
    sqlite::Db& db, const std::string& sql,
    const std::function<core::Result<void>(const sqlite::Query&)>& row) {
  auto prepared = db.prepare(sql, "copy_read");
  if (!prepared) return prepared.error();
  sqlite::Stmt stmt(db, *prepared, "copy_read");
  sqlite::Query q(stmt);
  std::int64_t rows = 0;
  for (;;) {
    auto more = q.step();
    if (!more) return more.error();
    if (!*more) return rows;
    if (auto done = row(q); !done) return done.error();
    ++rows;
  }
}

core::Result<std::int64_t> integer_of(sqlite::Db& db, const std::string& sql) {
  std::int64_t value = 0;
  auto rows = for_each_row(db, sql, [&](const sqlite::Query& q) -> core::Result<void> {
    value = q.int_at(0);
    return {};
  });
  if (!rows) return rows.error();
  return value;
}

}  // namespace errand::store::copy
