// The pure half of api/session.hpp: the session cookie read and written,
// the shape of an id, secrets compared. Apart from session.cpp's store
// coroutines so that it is fuzzed without them (fuzz/fuzz_tokens.cpp).
#include "api/session.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <chrono>

namespace errand::api {

bool is_session_id(std::string_view id) {
  return id.size() == 64 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string_view cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const auto end = header.find(';');
    auto pair = header.substr(0, end);
    header = end == std::string_view::npos ? std::string_view{} : header.substr(end + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
      auto value = pair.substr(eq + 1);
      while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
      return value;
    }
  }
  return {};
}

std::string session_cookie(const Session& session, core::Millis ttl) {
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(ttl).count();
  return fmt::format("{}={}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict", kSessionCookie,
                     session.id, seconds);
}

std::string cleared_session_cookie() {
  return fmt::format("{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict", kSessionCookie);
}

bool same_secret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace errand::api
