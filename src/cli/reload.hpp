// Configuration without a restart. On SIGHUP and on POST /v1/admin/reload
// the server reads its config file (--config) and key files (--key-file,
// the file's key_file) again, checks all of it, and only then applies it:
// API keys, CORS origins, queues, schedules and the TLS certificate. A file
// that does not parse, a key or an origin that is not valid, a certificate
// that does not load: the reload is refused whole, its error (file, line,
// reason) logged and answered, and the running configuration kept.
//
// What only a restart changes: the listen address, the store, the limits,
// [push], whether TLS is on, and whether the server has API keys at all (a
// reload that would leave none is refused).
#pragma once

#include "api/auth.hpp"
#include "api/cors.hpp"
#include "cli/config_file.hpp"
#include "core/error.hpp"
#include "engine/engine.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <atomic>
#include <functional>
#include <string>
#include <vector>

namespace errand::cli {

// What the command line (and the environment) say of access; read at start.
struct AccessFlags {
  std::vector<std::string> keys;          // --key and ERRAND_KEYS: "ROLE:SECRET"
  std::string key_file;                   // --key-file ("" none)
  std::vector<std::string> cors_origins;  // --cors-origin
  bool insecure = false;
  bool loopback = true;  // the server listens on a loopback address
};

struct AccessConfig {
  std::vector<api::ApiKey> keys;
  std::vector<std::string> cors_origins;
};

// "ROLE:SECRET" items of a comma-separated list (ERRAND_KEYS).
std::vector<std::string> split_keys(std::string_view list);

// The keys and CORS origins of the flags plus the file's [server]
// (key_file, cors_origins), the key files read now. Refused (invalid_argument,
// naming the flag or file and line, never a secret): a key that does not
// parse, an unreadable key file, a non-loopback server without keys (unless
// insecure), CORS origins on a server without keys (unless insecure).
core::Result<AccessConfig> resolve_access(const AccessFlags& flags, const ServerSettings& file);

// Loads a TLS certificate and key pair and returns what installs it in the
// server; not called on a server without TLS.
using TlsLoader = std::function<core::Result<std::function<void()>>(const std::string& cert,
                                                                    const std::string& key)>;

class Reloader {
 public:
  struct Targets {
    api::Auth& auth;
    api::CorsPolicy& cors;
    engine::Engine& engine;
    TlsLoader tls;  // empty: the server has no TLS
  };
  // `config`: the --config file ("" none); `tls_flags`: --tls-cert and
  // --tls-key ("" none; they win over the file's).
  Reloader(AccessFlags flags, std::string config, std::string tls_cert_flag,
           std::string tls_key_flag, Targets targets);

  // Reads, checks and applies; says what it applied: {"config", "keys",
  // "cors_origins", "queues", "schedules": {"created", "updated",
  // "removed"}, "tls"}. Errors: invalid_argument (the file, line and
  // reason; nothing applied), conflict (another reload is running), the
  // store's (keys, origins and TLS were applied; queues or schedules may be
  // in part). Thread-safe; run it on the server's io_context.
  boost::asio::awaitable<core::Result<boost::json::object>> reload();

  // Logs the outcome of a reload started by `what` ("SIGHUP").
  static void log(std::string_view what, const core::Result<boost::json::object>& done);

 private:
  AccessFlags flags_;
  std::string config_;
  std::string tls_cert_flag_, tls_key_flag_;
  Targets targets_;
  std::atomic<bool> running_{false};
};

}  // namespace errand::cli
