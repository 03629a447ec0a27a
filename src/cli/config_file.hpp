// `errand server --config FILE`: the server's TOML config file (toml++).
//
// For now it declares cron schedules, one `[[schedule]]` table each:
//
//   [[schedule]]
//   name = "nightly-report"          # required
//   cron = "0 3 * * *"               # required
//   timezone = "Europe/Berlin"       # default UTC
//   queue = "reports"                # required
//   type = "report"
//   payload = { kind = "daily" }     # a table (any TOML value), or a JSON string
//   priority = 5
//   max_attempts = 3
//   overlap = "skip"                 # or "allow" (default)
//   paused = false
//   catch_up = "2h"                  # default 1h
//
// Queues (push endpoints), one `[[queue]]` table each; the file sets the
// queue's `concurrency` and `push` at every start (a queue without `push`
// is in pull mode), and keeps its pause flag, rate limit and defaults:
//
//   [[queue]]
//   name = "emails"
//   concurrency = 20                 # optional
//   push = { url = "https://app.example.com/api/errand", timeout = "30s",
//            concurrency = 10, headers = { x-bypass = "…" } }
//
// and the push dispatcher's server-wide settings (flags override nothing:
// a flag or the file may turn an allowance on):
//
//   [push]
//   allow_private = false            # --push-allow-private
//   allow = ["10.1.0.0/16"]          # --push-allow CIDR
//   insecure_tls = false             # --push-insecure-tls
//   ca_file = "/etc/errand/ca.pem"   # --push-ca-file
//
// and the server's own limits (a flag given on the command line wins):
//
//   [server]
//   max_connections = 1000           # --max-connections
//   max_queues = 10000               # --max-queues
//   allowed_hosts = ["errand.internal"]  # --allowed-host (added to the flags')
//   store = "postgres://errand@db/app?schema=errand"  # --store / ERRAND_STORE win
//   # file names relative to this file's directory
//   key_file = "/etc/errand/keys"    # API keys, one ROLE:SECRET a line (with --key-file's)
//   cors_origins = ["https://app.example.com"]  # added to --cors-origin's
//   tls_cert = "/etc/errand/cert.pem"  # --tls-cert / --tls-key win
//   tls_key = "/etc/errand/key.pem"
//
// On SIGHUP or POST /v1/admin/reload the server reads the file again (and
// the key files) and applies its keys, CORS origins, queues, schedules and
// TLS files (cli/reload.hpp); the rest of [server], [push] and `store` apply
// at start only.
//
// At start the server creates or updates every schedule of the file and
// removes those the file created earlier but no longer lists (schedules made
// through the API are left alone, unless the file names them: then the file
// takes them over). `load_config_file` reads and validates everything before
// the server changes anything; its errors name the file, line, table and key.
// Functions of their arguments; not thread-safe with respect to `engine`.
#pragma once

#include "core/error.hpp"
#include "core/push.hpp"
#include "core/queue_config.hpp"
#include "core/schedule.hpp"
#include "engine/engine.hpp"

#include <boost/asio/io_context.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace errand::cli {

struct QueueDecl {
  std::string name;
  std::optional<std::int64_t> concurrency;
  std::optional<core::PushConfig> push;
};

struct PushSettings {
  bool allow_private = false;
  std::vector<std::string> allow;  // CIDR text, validated
  bool insecure_tls = false;
  std::string ca_file;
};

struct ServerSettings {
  std::optional<std::int64_t> max_connections;  // 1 … 1,000,000
  std::optional<std::int64_t> max_queues;       // 1 … 10,000,000
  std::optional<std::string> store;             // --store (checked by parse_store)
  std::vector<std::string> allowed_hosts;       // validated, lower case
  std::string key_file;                         // "" none; read (and checked) by the caller
  std::vector<std::string> cors_origins;        // validated
  std::string tls_cert, tls_key;                // both or neither
};

struct ConfigFile {
  std::string path;
  std::vector<core::ScheduleSpec> schedules;  // validated, source config
  std::vector<QueueDecl> queues;              // validated
  PushSettings push;
  ServerSettings server;
};

// Reads and validates `path`. Errors (invalid_argument) read like
//   errand.toml:9: [[schedule]] 2 "nightly", key "cron": cron: field 2 (hour): 25 is out of range
//   0-23
core::Result<ConfigFile> load_config_file(const std::string& path);

// load_config_file's reading of a file's text, reading no file: `path`
// names it in errors, and the file names in [server] are relative to its
// directory.
core::Result<ConfigFile> parse_config_text(std::string_view text, const std::string& path);

// Applies the file's queues and schedules through the engine
// (cli/config_apply.cpp: the parsing above needs no engine). Errors come
// from the store (and the engine's checks of a queue's push URL).
boost::asio::awaitable<core::Result<engine::ScheduleSync>> apply_config(engine::Engine& engine,
                                                                        const ConfigFile& config);

// apply_config, running `io` until done: call before the server starts.
core::Result<engine::ScheduleSync> apply_config_file(boost::asio::io_context& io,
                                                     engine::Engine& engine,
                                                     const ConfigFile& config);

}  // namespace errand::cli
