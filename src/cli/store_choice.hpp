// `errand server --store`: which Store backend, and where.
//
//   sqlite:DIR                       the embedded store in DIR (as --data DIR)
//   postgres://USER:PASS@HOST:PORT/DB?schema=errand&sslmode=require
//   postgresql://…                   the same
//
// A PostgreSQL URL is libpq's (every libpq parameter works, e.g. `host=` a
// Unix socket directory) plus Errand's own `schema` (default "errand"),
// which is taken out before the URL reaches libpq. `shown` is the URL with
// its password replaced by "***": the only form Errand ever prints.
// Pure functions.
#pragma once

#include "core/error.hpp"

#include <string>
#include <string_view>

namespace errand::cli {

struct StoreChoice {
  enum class Kind { sqlite, postgres };
  Kind kind = Kind::sqlite;
  std::string dir;                // sqlite: the data directory
  std::string conninfo;           // postgres: the URL for libpq (no `schema`)
  std::string schema = "errand";  // postgres: Errand's schema
  std::string shown;              // for messages and logs: no password
};

// Errors: invalid_argument naming `field` and saying which forms exist.
core::Result<StoreChoice> parse_store(std::string_view spec, std::string_view field = "--store");

// `url` (any scheme://user:password@… form) with the password of its user
// part and any `password=` parameter replaced by "***".
std::string redact_store_url(std::string_view url);

// Overwrites, in place, the password of every PostgreSQL URL among the
// process's arguments (so `ps` and /proc/PID/cmdline no longer show it).
void scrub_passwords(int argc, char** argv);

}  // namespace errand::cli
