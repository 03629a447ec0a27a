#include "cli/backup_commands.hpp"

#include "store/sqlite/backup.hpp"
#include "store/sqlite/schema.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <boost/json.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace errand::cli {
namespace fs = std::filesystem;
namespace json = boost::json;
namespace sq = store::sqlite;

namespace {

constexpr const char* kDatabase = "errand.db";
constexpr const char* kSecret = "secret";
// A backup of a large database may take long; the server answers when done.
constexpr core::Millis kBackupWait{24 * 3'600'000};

core::Error failure(std::string message) {
  return core::make_error(core::errc::internal, std::move(message));
}

std::string size_text(std::int64_t bytes) {
  if (bytes < 1024 * 1024) return fmt::format("{:.1f} KiB", static_cast<double>(bytes) / 1024.0);
  return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// A directory a command writes into: new, or empty. Errors name `what`.
core::Result<void> check_new_dir(const fs::path& dir, const std::string& what) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return {};
  if (!fs::is_directory(dir, ec)) {
    return failure(fmt::format("{} {} exists and is not a directory", what, dir.string()));
  }
  if (!fs::is_empty(dir, ec)) {
    return failure(fmt::format("{} {} is not empty", what, dir.string()));
  }
  return {};
}

// What a command wrote, removed again unless it completes: the staged
// file, and the directory when the command made it.
class Staging {
 public:
  Staging(fs::path dir, fs::path file) : dir_(std::move(dir)), file_(std::move(file)) {}
  ~Staging() {
    if (kept_) return;
    std::error_code ec;
    fs::remove(file_, ec);
    for (const auto& file : made_) fs::remove(file, ec);
    if (made_dir_) fs::remove(dir_, ec);  // only if empty now
  }
  core::Result<void> make_dir() {
    std::error_code ec;
    made_dir_ = fs::create_directories(dir_, ec);
    if (ec) return failure(fmt::format("cannot create {}: {}", dir_.string(), ec.message()));
    fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::replace, ec);
    return {};
  }
  // Gives the staged file its name (after it was checked), durably.
  core::Result<void> keep_as(const fs::path& name) {
    std::error_code ec;
    fs::rename(file_, name, ec);
    if (ec) return failure(fmt::format("cannot rename {}: {}", file_.string(), ec.message()));
    if (auto synced = sq::sync_file(name.string()); !synced) return synced.error();
    kept_ = true;
    return {};
  }
  // Another file this command made, removed too unless it completes.
  void made(fs::path file) { made_.push_back(std::move(file)); }
  const fs::path& file() const { return file_; }

 private:
  fs::path dir_;
  fs::path file_;
  std::vector<fs::path> made_;
  bool made_dir_ = false;
  bool kept_ = false;
};

// `from`'s secret file (a data directory made before the secret moved into
// the database) into `to`, if there is one: true when copied.
core::Result<bool> copy_secret(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  if (!fs::exists(from / kSecret, ec)) return false;
  fs::copy_file(from / kSecret, to / kSecret, fs::copy_options::overwrite_existing, ec);
  if (ec)
    return failure(fmt::format("cannot copy {}: {}", (from / kSecret).string(), ec.message()));
  if (auto synced = sq::sync_file((to / kSecret).string()); !synced) return synced.error();
  return true;
}

// ---- backup ------------------------------------------------------------------

struct BackupArgs {
  std::string data;
  std::string out;
};

// The running server's copy, written into its data directory (which is
// `dir`: the server checks the database file is its own), moved to `staged`.
core::Result<std::string> backup_from_server(const fs::path& dir, const fs::path& staged,
                                             const GlobalOptions& g) {
  struct stat st {};
  const auto db = dir / kDatabase;
  if (::stat(db.c_str(), &st) != 0) return failure(fmt::format("cannot stat {}", db.string()));
  auto client = connect(g);
  const json::value body = json::object{{"device", static_cast<std::uint64_t>(st.st_dev)},
                                        {"inode", static_cast<std::uint64_t>(st.st_ino)}};
  auto answer = client.call("POST", "/v1/admin/backup", body, kBackupWait);
  if (!answer) {
    auto e = answer.error();
    const char* hint = e.code == core::errc::unauthorized || e.code == core::errc::forbidden
                           ? " (pass an admin key with --key or ERRAND_KEY)"
                       : e.message.starts_with("cannot reach errand at")
                           ? " (point --server or ERRAND_URL at the server using it)"
                           : "";
    e.message = fmt::format(
        "{} is in use by a running server, and asking it for the copy "
        "failed: {}{}",
        dir.string(), e.message, hint);
    return e;
  }
  const auto* file = answer->is_object() ? answer->as_object().if_contains("file") : nullptr;
  if (!file || !file->is_string()) {
    return failure(fmt::format("the server at {} answered without a file name", client.url()));
  }
  const auto copy = dir / std::string(file->as_string());
  std::error_code ec;
  fs::copy_file(copy, staged, ec);
  std::error_code ignored;
  fs::remove(copy, ignored);
  if (ec) return failure(fmt::format("cannot copy {}: {}", copy.string(), ec.message()));
  if (auto synced = sq::sync_file(staged.string()); !synced) return synced.error();
  return client.current_url();
}

// Empty when no server held the database; else the server's URL.
core::Result<std::string> make_copy(const fs::path& dir, const fs::path& staged,
                                    const GlobalOptions& g) {
  auto copied =
      sq::copy_database_file((dir / kDatabase).string(), staged.string(), sq::SourceAccess::locked);
  if (copied) return std::string();
  if (copied.error().code != core::errc::unavailable) return copied.error();
  return backup_from_server(dir, staged, g);
}

core::Result<void> check_backup_args(const fs::path& dir, const fs::path& out) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return failure(fmt::format("--data {}: no such directory", dir.string()));
  }
  if (!fs::exists(dir / kDatabase, ec)) {
    return failure(fmt::format("--data {} holds no Errand database (no {}): nothing to back up",
                               dir.string(), kDatabase));
  }
  if (auto fresh = check_new_dir(out, "OUT"); !fresh) {
    auto e = fresh.error();
    e.message += ": give a new (or empty) directory for the backup";
    return e;
  }
  return {};
}

int run_backup(const BackupArgs& a, const GlobalOptions& g) {
  const auto start = std::chrono::steady_clock::now();
  const fs::path dir(a.data), out(a.out);
  ::umask(077);  // the copy holds payloads and secrets: owner only
  auto result = [&]() -> core::Result<std::string> {
    if (auto ok = check_backup_args(dir, out); !ok) return ok.error();
    Staging staging(out, out / ".errand.db.partial");
    if (auto made = staging.make_dir(); !made) return made.error();
    auto server = make_copy(dir, staging.file(), g);
    if (!server) return server.error();
    auto secret = copy_secret(dir, out);
    if (!secret) return secret.error();
    if (*secret) staging.made(out / kSecret);
    auto facts = sq::check_database_file(staging.file().string(), sq::CheckDepth::quick);
    if (!facts) return facts.error();
    if (auto kept = staging.keep_as(out / kDatabase); !kept) return kept.error();
    return fmt::format(
        "backed up {} job{} (schema version {}, {}) of {} into {} in {:.2f}s{}\n"
        "restore it with: errand restore {} --data NEWDIR\n",
        facts->jobs, facts->jobs == 1 ? "" : "s", facts->schema_version, size_text(facts->bytes),
        dir.string(), (out / kDatabase).string(), seconds_since(start),
        server->empty() ? " (no server was using it)"
                        : fmt::format(", copied by the server at {} as it ran", *server),
        out.string());
  }();
  if (!result) {
    std::cerr << "errand: " << result.error().message << "\n";
    return 1;
  }
  std::cout << *result;
  return 0;
}

// ---- restore -----------------------------------------------------------------

struct RestoreArgs {
  std::string backup;
  std::string data;
  bool force = false;
};

struct BackupSource {
  fs::path database;
  std::optional<fs::path> dir;  // a backup directory (its secret file comes along)
};

core::Result<BackupSource> find_backup(const fs::path& backup) {
  std::error_code ec;
  if (fs::is_directory(backup, ec)) {
    if (!fs::exists(backup / kDatabase, ec)) {
      return failure(fmt::format("BACKUP {} holds no {}: not a backup made by errand backup",
                                 backup.string(), kDatabase));
    }
    return BackupSource{.database = backup / kDatabase, .dir = backup};
  }
  if (!fs::exists(backup, ec)) {
    return failure(fmt::format("BACKUP {}: no such file or directory", backup.string()));
  }
  return BackupSource{.database = backup};
}

// The target: new, empty, or (with --force) a directory whose database is
// replaced, when no server uses it.
core::Result<void> check_target(const fs::path& data, bool force) {
  auto fresh = check_new_dir(data, "--data");
  if (fresh) return {};
  std::error_code ec;
  if (!force || !fs::is_directory(data, ec)) {
    auto e = fresh.error();
    e.message += force ? ""
                       : ": restore into a new directory, or pass --force to replace the "
                         "database in it";
    return e;
  }
  if (fs::exists(data / kDatabase, ec) && sq::database_in_use((data / kDatabase).string())) {
    return failure(
        fmt::format("--data {} is in use by a running server: stop it first", data.string()));
  }
  return {};
}

// Run by root, a file the restore writes gets the owner of the directory it
// goes into: a service's user (systemd's DynamicUser) can open it then.
void own_like(const fs::path& dir, const fs::path& file) {
  struct stat st {};
  if (::geteuid() != 0 || ::stat(dir.c_str(), &st) != 0) return;
  if (::chown(file.c_str(), st.st_uid, st.st_gid) != 0) {
    std::cerr << "errand: warning: cannot give " << file.string() << " the owner of "
              << dir.string() << "\n";
  }
}

// Puts the checked copy in place of whatever database `data` held.
core::Result<bool> install(Staging& staging, const fs::path& data, const BackupSource& source) {
  std::error_code ec;
  for (const char* stale : {"errand.db-wal", "errand.db-shm", "errand.db-journal"}) {
    fs::remove(data / stale, ec);
  }
  auto secret = source.dir ? copy_secret(*source.dir, data) : core::Result<bool>(false);
  if (!secret) return secret.error();
  if (*secret) {
    own_like(data, data / kSecret);
  } else {
    fs::remove(data / kSecret, ec);  // a stale one must not sign tokens
  }
  own_like(data, staging.file());
  if (auto kept = staging.keep_as(data / kDatabase); !kept) return kept.error();
  return *secret;
}

std::string restored_text(const sq::DatabaseFacts& facts, const fs::path& data, bool secret) {
  auto text = fmt::format("restored {} job{} (schema version {}, {}) into {}\n", facts.jobs,
                          facts.jobs == 1 ? "" : "s", facts.schema_version, size_text(facts.bytes),
                          data.string());
  if (facts.token_secret || secret) text += "job tokens issued before the backup keep working\n";
  if (facts.schema_version < sq::kSchemaVersion) {
    text += fmt::format("a server migrates it from schema version {} to {} when it opens it\n",
                        facts.schema_version, sq::kSchemaVersion);
  }
  return text + fmt::format("start a server on it: errand server --data {}\n", data.string());
}

int run_restore(const RestoreArgs& a) {
  const fs::path backup(a.backup), data(a.data);
  ::umask(077);
  auto result = [&]() -> core::Result<std::string> {
    auto source = find_backup(backup);
    if (!source) return source.error();
    auto facts = sq::check_database_file(source->database.string(), sq::CheckDepth::full);
    if (!facts) {
      auto e = facts.error();
      if (e.code == core::errc::invalid_argument || e.code == core::errc::not_found) {
        e.message = fmt::format("BACKUP is not an Errand backup: {}", e.message);
      }
      return e;
    }
    if (auto ok = check_target(data, a.force); !ok) return ok.error();
    Staging staging(data, data / ".errand.db.restoring");
    if (auto made = staging.make_dir(); !made) return made.error();
    std::error_code ec;
    fs::remove(staging.file(), ec);
    auto copied = sq::copy_database_file(source->database.string(), staging.file().string(),
                                         sq::SourceAccess::read_only);
    if (!copied) return copied.error();
    auto secret = install(staging, data, *source);
    if (!secret) return secret.error();
    return restored_text(*facts, data, *secret);
  }();
  if (!result) {
    std::cerr << "errand: " << result.error().message << "\n";
    return 1;
  }
  std::cout << *result;
  return 0;
}

}  // namespace

void add_backup_commands(CLI::App& app, const GlobalOptions& options) {
  auto backup = std::make_shared<BackupArgs>();
  auto* cmd = app.add_subcommand(
      "backup",
      "Copy a SQLite data directory, also while its server runs, into a new directory that is "
      "itself a data directory");
  cmd->add_option("--data", backup->data, "The data directory to back up (holds errand.db)")
      ->required();
  cmd->add_option(
         "OUT", backup->out,
         "A new (or empty) directory for the backup: errand.db, and secret when DIR has one")
      ->required();
  cmd->callback([backup, &options] { std::exit(run_backup(*backup, options)); });

  auto restore = std::make_shared<RestoreArgs>();
  auto* restore_cmd = app.add_subcommand(
      "restore", "Check a backup made by errand backup and make a new data directory of it");
  restore_cmd
      ->add_option("BACKUP", restore->backup,
                   "The backup: a directory made by errand backup, or an errand.db file")
      ->required();
  restore_cmd->add_option("--data", restore->data, "The new data directory (new or empty)")
      ->required();
  restore_cmd->add_flag("--force", restore->force,
                        "Replace the database of a directory that is not empty (its server must "
                        "be stopped)");
  restore_cmd->callback([restore] { std::exit(run_restore(*restore)); });
}

}  // namespace errand::cli
