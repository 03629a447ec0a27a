// Job ids: 26-character, time-sortable, unique strings (the ULID layout:
// 48-bit millisecond timestamp then 80 random bits, Crockford base32).
// Ids made by one generator sort in creation order even within the same
// millisecond (the random part is incremented). Thread-safe.
#pragma once

#include "core/time.hpp"

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace errand::core {

class IdGenerator {
 public:
  IdGenerator();
  std::string next(TimePoint now);

 private:
  std::mutex mutex_;
  std::int64_t last_ms_ = -1;
  std::array<std::uint8_t, 10> last_random_{};
};

// Ids look like "01JDQ7Z3K5X9V2M4N6P8R0T2W4" (uppercase Crockford base32).
bool is_valid_id(std::string_view id);

// The smallest id a job created at `t` can have: ids of jobs created at or
// after `t` sort at or after it (time ranges over ids).
std::string id_floor(TimePoint t);

// Cryptographically random bytes, hex-encoded (lease ids, secrets).
std::string random_hex(std::size_t bytes);

}  // namespace errand::core
