#include "core/hmac.hpp"

#include <openssl/evp.h>

#include <memory>
#include <stdexcept>

namespace errand::core {
namespace {

constexpr std::size_t kBlock = 64;

struct CtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

EVP_MD_CTX* scratch() {
  thread_local std::unique_ptr<EVP_MD_CTX, CtxDeleter> ctx(EVP_MD_CTX_new());
  return ctx.get();
}

EVP_MD_CTX* padded_state(const std::array<unsigned char, kBlock>& key, unsigned char pad) {
  std::array<unsigned char, kBlock> block{};
  for (std::size_t i = 0; i < kBlock; ++i) block[i] = key[i] ^ pad;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx, block.data(), block.size()) != 1) {
    EVP_MD_CTX_free(ctx);
    throw std::runtime_error("OpenSSL cannot initialise SHA-256");
  }
  return ctx;
}

}  // namespace

HmacSha256::HmacSha256(std::string_view key) {
  std::array<unsigned char, kBlock> block{};
  if (key.size() > kBlock) {
    unsigned int len = 0;
    EVP_Digest(key.data(), key.size(), block.data(), &len, EVP_sha256(), nullptr);
  } else {
    std::copy(key.begin(), key.end(), block.begin());
  }
  inner_ = padded_state(block, 0x36);
  outer_ = padded_state(block, 0x5c);
}

HmacSha256::~HmacSha256() {
  EVP_MD_CTX_free(inner_);
  EVP_MD_CTX_free(outer_);
}

HmacSha256::Digest HmacSha256::sign(std::string_view message) const {
  EVP_MD_CTX* ctx = scratch();
  Digest inner_digest{};
  Digest out{};
  unsigned int len = 0;
  EVP_MD_CTX_copy_ex(ctx, inner_);
  EVP_DigestUpdate(ctx, message.data(), message.size());
  EVP_DigestFinal_ex(ctx, inner_digest.data(), &len);
  EVP_MD_CTX_copy_ex(ctx, outer_);
  EVP_DigestUpdate(ctx, inner_digest.data(), inner_digest.size());
  EVP_DigestFinal_ex(ctx, out.data(), &len);
  return out;
}

std::string HmacSha256::sign_hex(std::string_view message) const {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto digest = sign(message);
  std::string out;
  out.reserve(64);
  for (unsigned char c : digest) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

}  // namespace errand::core
