// HMAC-SHA256 with the key schedule done once.
//
// Signing job tokens (and, later, push deliveries) happens per job, so the
// inner and outer key pads are hashed once at construction and each
// signature only copies those digest states. `sign` is const and
// thread-safe (each thread uses its own scratch context).
#pragma once

#include <array>
#include <string>
#include <string_view>

typedef struct evp_md_ctx_st EVP_MD_CTX;

namespace errand::core {

class HmacSha256 {
 public:
  using Digest = std::array<unsigned char, 32>;

  explicit HmacSha256(std::string_view key);
  ~HmacSha256();
  HmacSha256(const HmacSha256&) = delete;
  HmacSha256& operator=(const HmacSha256&) = delete;

  Digest sign(std::string_view message) const;
  std::string sign_hex(std::string_view message) const;

 private:
  EVP_MD_CTX* inner_;  // SHA-256 state after (key ^ ipad)
  EVP_MD_CTX* outer_;  // SHA-256 state after (key ^ opad)
};

}  // namespace errand::core
