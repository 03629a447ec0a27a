// `errand copy`: moves everything a SQLite data directory holds into an
// empty PostgreSQL schema, so a user who outgrows one server keeps every
// job, queue, schedule and the job-token secret (tokens issued by the old
// server stay valid: they are signed with that secret and name job ids that
// do not change), and the dashboard sessions still live at `now` (with the
// session key they are digested under, so a logged-in browser stays logged
// in; the expired ones are left out and counted).
//
// The SQLite database is opened the way the SQLite store opens it: it is
// migrated to the latest version first, and the exclusive lock a running
// server holds makes the copy refuse; the copy holds that lock itself until
// it is done, so no server can start on the directory meanwhile. Nothing in
// the SQLite database changes apart from a schema migration.
//
// The PostgreSQL schema is created or migrated (as `errand migrate`), then
// filled in ONE transaction with COPY FROM STDIN: all or nothing. A schema
// that already holds any job, queue, schedule, setting, log or sample is
// refused, naming what it holds. Within the transaction, after the rows:
// job_seq is set past every copied id's sequence, so ids made by the new
// servers cannot collide with copied ones; each queue's job counts are
// recomputed from its jobs; then every table's row count, and the job count
// per queue and state, are checked against the SQLite database's.
// Running jobs stay running with their leases.
//
// Blocking; not thread-safe (one copy at a time per process).
#pragma once

#include "core/error.hpp"
#include "core/state.hpp"
#include "core/time.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace errand::store::copy {

struct CopyOptions {
  std::string sqlite_dir;  // the data directory (holds errand.db)
  // The token secret an older data directory keeps in `<dir>/secret`
  // (api::load_secret_file), copied when the settings table has none.
  std::optional<std::string> legacy_secret;
  std::string conninfo;  // libpq URL or key=value string, without Errand's ?schema=
  std::string schema;    // the target schema, [a-z_][a-z0-9_]{0,62}
  std::string shown;     // the target for messages: no password
  // Dashboard sessions expired at this instant are left out.
  core::TimePoint now;
};

struct CopySummary {
  std::int64_t jobs = 0;
  std::array<std::int64_t, std::size(core::kAllStates)> jobs_by_state{};
  std::int64_t job_logs = 0;
  std::int64_t job_push = 0;
  std::int64_t queues = 0;
  std::int64_t schedules = 0;
  std::int64_t schedule_fires = 0;
  std::int64_t stats_samples = 0;
  std::int64_t settings = 0;
  std::int64_t sessions = 0;          // live dashboard sessions copied
  std::int64_t expired_sessions = 0;  // left out
  // The token secret reached the target (from settings or the secret file).
  bool token_secret = false;
  bool token_secret_from_file = false;
  // Jobs made before SQLite schema version 7: copied under their integer id
  // only (PostgreSQL has no column for the 26-character one).
  std::int64_t legacy_id_jobs = 0;
  // job_logs / job_push rows whose job no longer exists: left out.
  std::int64_t orphan_rows = 0;
  // Queues whose stored job counts disagreed with their jobs (recomputed).
  std::vector<std::string> recounted_queues;
  int sqlite_version_before = 0;      // < sqlite_version when the copy migrated it first
  int sqlite_version = 0;             // the version it has now (the latest)
  std::chrono::milliseconds took{0};  // the PostgreSQL transaction, BEGIN to COMMIT
};

// Copies `options.sqlite_dir` into `options.schema`. Errors (one line each,
// never the password): not_found (no database in the directory);
// unavailable (the directory is in use by a server: "stop the server using
// DIR first"; PostgreSQL unreachable); conflict (the target schema is not
// empty, naming what it holds); internal (a newer SQLite or PostgreSQL
// schema, SQL errors, counts that do not match after the copy — nothing is
// committed then).
core::Result<CopySummary> copy_sqlite_to_postgres(const CopyOptions& options);

}  // namespace errand::store::copy
