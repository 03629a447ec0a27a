// Credentials as the server reads them (api/auth, api/host_policy,
// api/session): job tokens (with and without a scope), signal tokens, API
// keys given as ROLE:SECRET, bearer values checked against the keys, Host
// headers, and the dashboard's session cookie in a Cookie header. Only
// tokens this server signed verify; nothing crashes.
#include "api/auth.hpp"
#include "api/host_policy.hpp"
#include "api/session.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace errand;
  static const api::Auth auth({{api::Role::admin, "fuzz-admin-secret-0001"}}, std::string(32, 'k'),
                              false);
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto now = core::TimePoint{std::chrono::milliseconds{1'774'746'000'000}};
  const auto dot = text.find('.');
  const auto job_id = text.substr(0, dot);
  if (auto scope = auth.verify_token(text, job_id, now)) {
    // Only a token made here verifies: remaking it gives the same text.
    const auto expiry = text.substr(dot + 1, text.find_first_of(".~", dot + 1) - dot - 1);
    std::int64_t seconds = 0;
    for (char c : expiry) seconds = seconds * 10 + (c - '0');
    if (auth.make_token(job_id, core::TimePoint{std::chrono::seconds{seconds}}, *scope) != text) {
      std::abort();
    }
  }
  if (auto ref = auth.verify_signal_token(text)) {
    if (auth.make_signal_token(ref->job_id, ref->nonce) != text) std::abort();
  }
  (void)api::parse_api_key(text);
  (void)auth.role_of(text);
  api::Request req;
  req.authorization = "Bearer " + std::string(text);
  (void)auth.check(req, api::Access::read_job, job_id, now);
  (void)api::host_name_of(text);
  (void)api::parse_allowed_host(text, "host");
  // The session id is the errand_session cookie's value, without the
  // pairs' separator; an id only as 64 hex digits, and what the login's
  // Set-Cookie sets reads back as the same id.
  const auto id = api::cookie_value(text, api::kSessionCookie);
  if (id.find(';') != std::string_view::npos) std::abort();
  if (api::is_session_id(id)) {
    const api::Session session{.id = std::string(id)};
    const auto set = api::session_cookie(session, std::chrono::hours(12));
    if (api::cookie_value(set, api::kSessionCookie) != id) std::abort();
  }
  return 0;
}
