#include "core/id.hpp"

#include <openssl/rand.h>
#include <sys/random.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace errand::core {
namespace {

constexpr std::string_view kAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

void os_random(unsigned char* out, std::size_t n) {
  std::size_t got = 0;
  while (got < n) {
    // getrandom(2) never returns short for <= 256 bytes once the pool is ready.
    const auto r = ::getrandom(out + got, n - got, 0);
    if (r > 0) got += static_cast<std::size_t>(r);
  }
}

// Random bytes for the calling thread, drawn from OpenSSL's DRBG a block at a
// time: a claim needs a lease id per job, and one getrandom(2) or RAND_bytes
// call per id was a visible share of a claim's cost.
class RandomBuffer {
 public:
  void fill(unsigned char* out, std::size_t n) {
    while (n > 0) {
      if (used_ == block_.size()) refill();
      const std::size_t take = std::min(n, block_.size() - used_);
      std::memcpy(out, block_.data() + used_, take);
      std::memset(block_.data() + used_, 0, take);  // handed out bytes do not linger
      used_ += take;
      out += take;
      n -= take;
    }
  }

 private:
  void refill() {
    if (RAND_bytes(block_.data(), static_cast<int>(block_.size())) != 1) {
      os_random(block_.data(), block_.size());
    }
    used_ = 0;
  }
  std::array<unsigned char, 512> block_{};
  std::size_t used_ = block_.size();
};

}  // namespace

IdGenerator::IdGenerator() = default;

std::string IdGenerator::next(TimePoint now) {
  std::array<std::uint8_t, 16> bytes{};
  {
    std::lock_guard lock(mutex_);
    auto ms = to_unix_ms(now);
    if (ms <= last_ms_) {
      // Same (or earlier) millisecond: keep the timestamp, bump the random part,
      // so ids stay strictly increasing for this generator.
      ms = last_ms_;
      for (int i = 9; i >= 0; --i) {
        if (++last_random_[i] != 0) break;
      }
    } else {
      last_ms_ = ms;
      // Fresh OS randomness each millisecond: ids from many servers sharing a
      // database must not collide.
      os_random(last_random_.data(), last_random_.size());
      last_random_[0] &= 0x7f;  // leave room to increment without overflow
    }
    for (int i = 0; i < 6; ++i) bytes[i] = static_cast<std::uint8_t>(ms >> (8 * (5 - i)));
    for (int i = 0; i < 10; ++i) bytes[6 + i] = last_random_[i];
  }
  // 128 bits -> 26 base32 characters (the first carries only 3 bits).
  std::string out(26, '0');
  __extension__ using Uint128 = unsigned __int128;
  Uint128 v = 0;
  for (auto b : bytes) v = (v << 8) | b;
  for (int i = 25; i >= 0; --i) {
    out[i] = kAlphabet[static_cast<unsigned>(v & 31)];
    v >>= 5;
  }
  return out;
}

std::string id_floor(TimePoint t) {
  // The first 10 characters carry the 48-bit millisecond time exactly.
  auto ms =
      static_cast<std::uint64_t>(std::max<std::int64_t>(to_unix_ms(t), 0)) & ((1ULL << 48) - 1);
  std::string out(26, '0');
  for (int i = 9; i >= 0; --i) {
    out[i] = kAlphabet[static_cast<unsigned>(ms & 31)];
    ms >>= 5;
  }
  return out;
}

bool is_valid_id(std::string_view id) {
  if (id.size() != 26 || id[0] > '7') return false;
  for (char c : id) {
    if (kAlphabet.find(c) == std::string_view::npos) return false;
  }
  return true;
}

std::string random_hex(std::size_t n) {
  std::string raw(n, '\0');
  thread_local RandomBuffer buffer;
  buffer.fill(reinterpret_cast<unsigned char*>(raw.data()), n);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (unsigned char c : raw) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

}  // namespace errand::core
