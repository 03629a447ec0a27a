// `errand backup` and `errand restore`: a SQLite data directory copied
// while its server runs, and a data directory made from such a copy.
//
// A backup is a directory that is itself a data directory: `errand.db`, a
// single-file SQLite database (no -wal beside it), and `secret` when the
// source directory has one (the job-token secret of a directory made
// before the secret moved into the database). `errand server --data OUT`
// would start on it as it is; `errand restore` checks it first and never
// changes it.
//
// backup: when no server holds DIR's database, it is copied directly (and
// locked meanwhile, so no server starts on it); when one does, the running
// server is asked for the copy (POST /v1/admin/backup, through --server /
// ERRAND_URL with an admin --key / ERRAND_KEY), which it writes into DIR,
// and the copy is moved into OUT. Either way the result is checked (PRAGMA
// quick_check) before it gets its name. restore: the backup is checked in
// full (PRAGMA integrity_check, its schema version), then copied into the
// new directory and fsync'd before it gets its name.
//
// Exit codes: 0 done; 1 a failure, one line on stderr naming the argument
// at fault (no database in DIR, OUT not empty, not a backup, damaged, a
// newer schema, the server unreachable or refusing); 2 a usage error.
#pragma once

#include "cli/job_commands.hpp"

#include <CLI/CLI.hpp>

namespace errand::cli {

void add_backup_commands(CLI::App& app, const GlobalOptions& options);

}  // namespace errand::cli
