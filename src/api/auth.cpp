#include "api/auth.hpp"

#include "core/id.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <sys/stat.h>
#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <future>

namespace errand::api {
namespace {

std::array<unsigned char, 32> sha256(std::string_view s) {
  std::array<unsigned char, 32> out{};
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), out.data());
  return out;
}

std::string base64url(const unsigned char* data, std::size_t n) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((n * 4 + 2) / 3);
  for (std::size_t i = 0; i < n; i += 3) {
    const std::uint32_t chunk = (std::uint32_t{data[i]} << 16) |
                                (i + 1 < n ? std::uint32_t{data[i + 1]} << 8 : 0) |
                                (i + 2 < n ? std::uint32_t{data[i + 2]} : 0);
    out.push_back(kAlphabet[(chunk >> 18) & 63]);
    out.push_back(kAlphabet[(chunk >> 12) & 63]);
    if (i + 1 < n) out.push_back(kAlphabet[(chunk >> 6) & 63]);
    if (i + 2 < n) out.push_back(kAlphabet[chunk & 63]);
  }
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string_view bearer(std::string_view header) {
  constexpr std::string_view kPrefix = "Bearer ";
  if (header.size() > kPrefix.size() && (header.substr(0, kPrefix.size()) == kPrefix ||
                                         header.substr(0, kPrefix.size()) == "bearer ")) {
    return header.substr(kPrefix.size());
  }
  return {};
}

}  // namespace

std::string_view to_string(Role role) noexcept {
  switch (role) {
    case Role::admin:
      return "admin";
    case Role::producer:
      return "producer";
    case Role::worker:
      return "worker";
    case Role::metrics:
      return "metrics";
  }
  return "unknown";
}

core::Result<ApiKey> parse_api_key(std::string_view text) {
  const auto colon = text.find(':');
  const auto role = text.substr(0, colon);
  const auto secret = colon == std::string_view::npos ? std::string_view{} : text.substr(colon + 1);
  ApiKey key{Role::admin, std::string(secret)};
  if (role == "admin") {
    key.role = Role::admin;
  } else if (role == "producer") {
    key.role = Role::producer;
  } else if (role == "worker") {
    key.role = Role::worker;
  } else if (role == "metrics") {
    key.role = Role::metrics;
  } else {
    return core::invalid("key",
                         "a key must be ROLE:SECRET with ROLE admin, producer, worker or metrics");
  }
  if (secret.size() < 16) {
    return core::invalid("key",
                         fmt::format("the {} key's secret must be at least 16 characters", role));
  }
  return key;
}

Auth::Auth(std::vector<ApiKey> keys, std::string token_secret, bool insecure,
           std::string_view dashboard_password)
    : token_mac_(std::make_unique<core::HmacSha256>(token_secret)), insecure_(insecure) {
  set_keys(keys);
  if (!dashboard_password.empty()) {
    password_digest_ = sha256(dashboard_password);
    has_password_ = true;
  }
}

void Auth::set_keys(const std::vector<ApiKey>& keys) {
  auto set = std::make_shared<KeySet>();
  for (const auto& k : keys) set->push_back({k.role, sha256(k.secret)});
  keys_.store(std::move(set));
}

std::optional<Role> Auth::role_of(std::string_view secret) const {
  return find_key(*keys_.load(), secret);
}

bool Auth::is_dashboard_password(std::string_view password) const {
  const auto digest = sha256(password);
  return has_password_ && CRYPTO_memcmp(password_digest_.data(), digest.data(), digest.size()) == 0;
}

std::optional<Role> Auth::find_key(const KeySet& keys, std::string_view secret) {
  const auto digest = sha256(secret);
  std::optional<Role> found;
  // Compare against every key so the time taken does not depend on which matched.
  for (const auto& k : keys) {
    if (CRYPTO_memcmp(k.digest.data(), digest.data(), digest.size()) == 0) found = k.role;
  }
  return found;
}

core::Result<Grant> Auth::check(const Request& req, Access access, std::string_view job_id,
                                core::TimePoint now) const {
  if (access == Access::open) return Grant::full;
  const auto presented = bearer(req.authorization);
  const auto keys = keys_.load();  // one set for the whole check
  if (access == Access::read_job) {
    // A job token comes as ?token= or as the bearer value (when it is not a key).
    auto token_it = req.query.find("token");
    std::string_view token;
    if (token_it != req.query.end()) {
      token = token_it->second;
    } else if (!presented.empty() && !find_key(*keys, presented) &&
               std::count(presented.begin(), presented.end(), '.') == 2) {
      token = presented;
    }
    if (!token.empty()) {
      if (const auto scope = verify_token(token, job_id, now)) {
        return scope->payload ? Grant::job_token_payload : Grant::job_token;
      }
      return core::make_error(core::errc::unauthorized,
                              "the job token is invalid, expired or for another job", "token");
    }
  }
  if (keys->empty()) {
    if (req.loopback || insecure_) return Grant::full;
    return core::make_error(core::errc::forbidden,
                            "this server has no API keys configured and answers only loopback "
                            "clients; start it with --key ROLE:SECRET");
  }
  if (presented.empty() && access == Access::worker_or_lease) return Grant::lease;
  if (presented.empty()) {
    return core::make_error(core::errc::unauthorized,
                            "missing API key: send Authorization: Bearer <key>", "authorization");
  }
  const auto key = find_key(*keys, presented);
  if (!key) return core::make_error(core::errc::unauthorized, "wrong API key", "authorization");
  const Role role = *key;
  const bool allowed =
      role == Role::admin ||
      ((access == Access::producer || access == Access::read_job) && role == Role::producer) ||
      ((access == Access::worker || access == Access::worker_or_lease) && role == Role::worker) ||
      (access == Access::metrics && role == Role::metrics);
  if (allowed) return Grant::full;
  return core::make_error(core::errc::forbidden,
                          fmt::format("a {} key may not do this", to_string(role)),
                          "authorization");
}

std::string Auth::make_token(std::string_view job_id, core::TimePoint expires,
                             TokenScope scope) const {
  const auto expiry = std::chrono::duration_cast<std::chrono::seconds>(expires.time_since_epoch());
  auto signed_part = fmt::format("{}.{}", job_id, expiry.count());
  // "~" keeps the token's two dots (a bearer value is told from a key by
  // them) and needs no escaping in a URL.
  if (scope.payload) signed_part += "~payload";
  const auto digest = token_mac_->sign(signed_part);
  auto mac = base64url(digest.data(), digest.size());
  return fmt::format("{}.{}", signed_part, mac);
}

std::string Auth::make_signal_token(std::string_view job_id, std::string_view nonce) const {
  const auto signed_part = fmt::format("{}.{}", job_id, nonce);
  const auto digest = token_mac_->sign("signal:" + signed_part);
  return fmt::format("{}.{}", signed_part, base64url(digest.data(), digest.size()));
}

std::optional<Auth::SignalRef> Auth::verify_signal_token(std::string_view token) const {
  if (token.size() > 256) return std::nullopt;
  const auto last_dot = token.rfind('.');
  if (last_dot == std::string_view::npos) return std::nullopt;
  const auto signed_part = token.substr(0, last_dot);
  const auto first_dot = signed_part.find('.');
  if (first_dot == std::string_view::npos || first_dot == 0 ||
      first_dot + 1 == signed_part.size()) {
    return std::nullopt;
  }
  const auto digest = token_mac_->sign("signal:" + std::string(signed_part));
  if (!constant_time_equal(base64url(digest.data(), digest.size()), token.substr(last_dot + 1))) {
    return std::nullopt;
  }
  return SignalRef{std::string(signed_part.substr(0, first_dot)),
                   std::string(signed_part.substr(first_dot + 1))};
}

std::optional<TokenScope> Auth::verify_token(std::string_view token, std::string_view job_id,
                                             core::TimePoint now) const {
  const auto last_dot = token.rfind('.');
  if (last_dot == std::string_view::npos) return std::nullopt;
  const auto signed_part = token.substr(0, last_dot);
  const auto first_dot = signed_part.find('.');
  if (first_dot == std::string_view::npos) return std::nullopt;
  const auto digest = token_mac_->sign(signed_part);
  const auto expected = base64url(digest.data(), digest.size());
  if (!constant_time_equal(expected, token.substr(last_dot + 1))) return std::nullopt;
  if (signed_part.substr(0, first_dot) != job_id) return std::nullopt;
  auto rest = signed_part.substr(first_dot + 1);
  const auto expiry_text = rest.substr(0, rest.find('~'));
  std::int64_t expiry = 0;
  auto [ptr, ec] =
      std::from_chars(expiry_text.data(), expiry_text.data() + expiry_text.size(), expiry);
  if (ec != std::errc{} || ptr != expiry_text.data() + expiry_text.size()) return std::nullopt;
  if (std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count() >= expiry) {
    return std::nullopt;
  }
  TokenScope scope;
  rest.remove_prefix(expiry_text.size());
  while (!rest.empty()) {  // "~field~field"
    rest.remove_prefix(1);
    const auto field = rest.substr(0, rest.find('~'));
    if (field != "payload") return std::nullopt;  // a scope from a newer server: not ours to grant
    scope.payload = true;
    rest.remove_prefix(field.size());
  }
  return scope;
}

bool is_job_token(Grant grant) noexcept {
  return grant == Grant::job_token || grant == Grant::job_token_payload;
}

core::Result<std::optional<std::string>> load_secret_file(const std::string& data_dir) {
  const auto path = std::filesystem::path(data_dir) / "secret";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::optional<std::string>();
  std::ifstream in(path, std::ios::binary);
  std::string secret((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (secret.size() >= 32) return std::optional<std::string>(std::move(secret));
  return core::make_error(core::errc::internal,
                          fmt::format("{} is shorter than 32 bytes; delete it to make a new one "
                                      "(existing job tokens stop working)",
                                      path.string()));
}

core::Result<std::string> load_or_create_secret(store::Store& store,
                                                std::optional<std::string> candidate) {
  std::promise<core::Result<std::string>> promise;
  auto future = promise.get_future();
  store.setting_get_or_put(
      {.name = "token_secret", .value = candidate ? std::move(*candidate) : core::random_hex(32)},
      [&promise](core::Result<std::string> r) { promise.set_value(std::move(r)); });
  auto secret = future.get();
  if (!secret) return secret.error();
  if (secret->size() < 32) {
    return core::make_error(core::errc::internal,
                            "the store's token secret is shorter than 32 bytes");
  }
  return secret;
}

}  // namespace errand::api
