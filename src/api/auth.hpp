// Who may do what: API keys with roles, per-job read tokens, and the
// loopback-only rule for a server without keys.
//
// Keys are compared in constant time (SHA-256 digests compared with
// CRYPTO_memcmp), and never logged. A job token is
// "<job id>.<expiry unix seconds>[~<field>…].<base64url HMAC-SHA256(secret,
// everything before the last dot)>" and grants reading that one job until it
// expires: its status, plus each "~<field>" of its scope (the enqueue's
// token_scope; today only "~payload"). A token without a scope is the first
// format, so tokens issued before scopes existed keep working; a scope this
// server does not know makes the token invalid. Thread-safe: the keys may be
// replaced (set_keys, on a configuration reload) while requests are checked;
// a request sees the old set or the new one, never a mix.
#pragma once

#include "api/http_types.hpp"
#include "core/error.hpp"
#include "core/hmac.hpp"
#include "core/shared_value.hpp"
#include "core/time.hpp"
#include "store/store.hpp"

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace errand::api {

enum class Role { admin, producer, worker, metrics };

// What a route requires.
enum class Access {
  open,      // anyone (health)
  read_job,  // admin or producer key, or the job's own token
  producer,  // admin or producer
  worker,    // admin or worker
  // admin or worker, or no key at all: the body's lease_id then authorizes
  // the request for that one job's current attempt (a push handler's
  // progress report)
  worker_or_lease,
  admin,    // admin only
  metrics,  // admin or metrics (GET /metrics)
};

struct ApiKey {
  Role role;
  std::string secret;
};

// Parses "ROLE:SECRET"; the secret must be at least 16 characters.
core::Result<ApiKey> parse_api_key(std::string_view text);
std::string_view to_string(Role role) noexcept;

// What a request that passed Auth::check may see.
enum class Grant {
  full,               // a key (or no keys and a loopback client): everything its route offers
  job_token,          // a job's read token: the job's status only (no payload-adjacent logs)
  job_token_payload,  // a job's read token whose scope holds "payload": status and payload
  lease,              // no key: only the job whose current lease the request names
};

bool is_job_token(Grant grant) noexcept;

// What a job token shows beyond the job's status (POST /v1/jobs token_scope).
struct TokenScope {
  bool payload = false;
};

class Auth {
 public:
  // `token_secret`: the server's signing secret (32+ bytes).
  // `dashboard_password`: also logs in to the dashboard (empty: none).
  Auth(std::vector<ApiKey> keys, std::string token_secret, bool insecure,
       std::string_view dashboard_password = {});

  bool has_keys() const { return !keys_.load()->empty(); }
  std::size_t key_count() const { return keys_.load()->size(); }
  // Replaces the keys (configuration reload). A server's mode (keys, or
  // loopback-only without) is the caller's to keep.
  void set_keys(const std::vector<ApiKey>& keys);
  bool has_dashboard_password() const { return has_password_; }
  // The role of the key with this secret, if any (constant time).
  std::optional<Role> role_of(std::string_view secret) const;
  // Whether `password` is the dashboard password (constant time).
  bool is_dashboard_password(std::string_view password) const;
  // Whether a client with no credentials may act as admin: no keys are
  // configured and it connected from loopback (or --insecure).
  bool open_to(const Request& req) const { return !has_keys() && (req.loopback || insecure_); }

  // Checks a request against the access a route requires. `job_id` is the
  // job a read_job route is about. Errors: unauthorized, forbidden.
  core::Result<Grant> check(const Request& req, Access access, std::string_view job_id,
                            core::TimePoint now) const;

  std::string make_token(std::string_view job_id, core::TimePoint expires,
                         TokenScope scope = {}) const;
  // The token's scope when it is a current token for `job_id`; nullopt when it
  // is altered, expired, another job's, or names a scope not known here.
  std::optional<TokenScope> verify_token(std::string_view token, std::string_view job_id,
                                         core::TimePoint now) const;

  // A signal URL's token: "<job id>.<nonce>.<base64url HMAC-SHA256(secret,
  // "signal:" + everything before the last dot)>". It names one wait of one
  // job (the nonce); whether that wait is still open is the store's to say.
  std::string make_signal_token(std::string_view job_id, std::string_view nonce) const;
  struct SignalRef {
    std::string job_id;
    std::string nonce;
  };
  // The job and wait the token names; nullopt when it is not one this
  // server's secret signed.
  std::optional<SignalRef> verify_signal_token(std::string_view token) const;

 private:
  struct StoredKey {
    Role role;
    std::array<unsigned char, 32> digest;
  };
  using KeySet = std::vector<StoredKey>;
  static std::optional<Role> find_key(const KeySet& keys, std::string_view secret);

  core::SharedValue<KeySet> keys_;
  std::array<unsigned char, 32> password_digest_{};
  bool has_password_ = false;
  std::unique_ptr<core::HmacSha256> token_mac_;
  bool insecure_;
};

// The token signing secret a data directory made before the secret moved
// into the store kept in `<data_dir>/secret`; nullopt when there is none.
// Errors: internal when the file is there but shorter than 32 bytes.
core::Result<std::optional<std::string>> load_secret_file(const std::string& data_dir);

// The token signing secret every server on `store` shares: the store's
// "token_secret" setting, made at first start from `candidate` (the old
// secret file's value, so old tokens stay valid) or 32 random bytes.
core::Result<std::string> load_or_create_secret(store::Store& store,
                                                std::optional<std::string> candidate);

}  // namespace errand::api
