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

// Crockford base32 digit of `c`, or -1.
int digit(char c) {
  const auto at = kAlphabet.find(c);
  return at == std::string_view::npos ? -1 : static_cast<int>(at);
}

bool all_crockford(std::string_view id) {
  return std::all_of(id.begin(), id.end(), [](char c) { return digit(c) >= 0; });
}

}  // namespace

std::string format_job_id(std::int64_t id) {
  auto v = static_cast<std::uint64_t>(std::max<std::int64_t>(id, 0));
  std::string out(kJobIdLength, '0');
  for (auto i = kJobIdLength; i-- > 0;) {
    out[i] = kAlphabet[static_cast<unsigned>(v & 31)];
    v >>= 5;
  }
  return out;
}

std::optional<std::int64_t> parse_job_id(std::string_view id) {
  // 13 characters carry 65 bits: a first character above '7' would not fit.
  if (id.size() != kJobIdLength || id[0] > '7' || !all_crockford(id)) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : id) v = (v << 5) | static_cast<std::uint64_t>(digit(c));
  return static_cast<std::int64_t>(v);
}

std::int64_t job_id_floor(TimePoint t) {
  constexpr std::int64_t kMaxMs = (std::int64_t{1} << (63 - kJobIdSequenceBits)) - 1;
  return std::clamp<std::int64_t>(to_unix_ms(t), 0, kMaxMs) << kJobIdSequenceBits;
}

std::int64_t next_job_id(std::int64_t last, TimePoint now) {
  return std::max(job_id_floor(now), last + 1);
}

bool is_legacy_id(std::string_view id) {
  return id.size() == kLegacyIdLength && id[0] <= '7' && all_crockford(id);
}

std::int64_t legacy_id_ms(std::string_view id) {
  std::int64_t ms = 0;
  for (char c : id.substr(0, 10)) ms = ms * 32 + std::max(digit(c), 0);
  return ms;
}

bool is_valid_id(std::string_view id) {
  return parse_job_id(id).has_value() || is_legacy_id(id);
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
