#include "core/id.hpp"

#include <sys/random.h>

namespace errand::core {
namespace {

constexpr std::string_view kAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

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
      std::size_t got = 0;
      while (got < last_random_.size()) {
        const auto r = ::getrandom(last_random_.data() + got, last_random_.size() - got, 0);
        if (r > 0) got += static_cast<std::size_t>(r);
      }
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

bool is_valid_id(std::string_view id) {
  if (id.size() != 26 || id[0] > '7') return false;
  for (char c : id) {
    if (kAlphabet.find(c) == std::string_view::npos) return false;
  }
  return true;
}

std::string random_hex(std::size_t n) {
  std::string raw(n, '\0');
  std::size_t got = 0;
  while (got < n) {
    // getrandom(2) never returns short for <= 256 bytes once the pool is ready.
    const auto r = ::getrandom(raw.data() + got, n - got, 0);
    if (r > 0) got += static_cast<std::size_t>(r);
  }
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
