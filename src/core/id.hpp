// Job ids: 64-bit, time-ordered integers shown as 13 Crockford base32
// characters ("0" to "7" first, so they sort as text in number order). The
// value is the creation millisecond (unix time) shifted left by 20 bits plus
// a sequence within that millisecond, so it fits a SQL rowid / bigint and
// leaves room for 1,048,576 ids per millisecond; it stays below 2^63 until
// the year 2248. The store assigns them (strictly increasing per store).
//
// Databases made before schema version 7 gave jobs 26-character ULIDs
// (48-bit millisecond time then 80 random bits); those jobs keep them, so
// both forms are valid ids.
#pragma once

#include "core/time.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace errand::core {

inline constexpr int kJobIdSequenceBits = 20;
inline constexpr std::size_t kJobIdLength = 13;
inline constexpr std::size_t kLegacyIdLength = 26;

// "0000000000001", … : always kJobIdLength characters. `id` must be >= 0.
std::string format_job_id(std::int64_t id);

// The value of a kJobIdLength-character id; nullopt for anything else
// (legacy ids included).
std::optional<std::int64_t> parse_job_id(std::string_view id);

// The smallest id of a job created at `t` (0 before 1970): ids of jobs
// created at or after `t` are at or above it.
std::int64_t job_id_floor(TimePoint t);

// The next id after `last` for a job created at `now`: the floor of `now`,
// or `last + 1` when that is not above `last` (same millisecond, or a clock
// that went back).
std::int64_t next_job_id(std::int64_t last, TimePoint now);

// A 26-character ULID of a database made before schema version 7.
bool is_legacy_id(std::string_view id);
// The millisecond time in a legacy id (its first 10 characters).
std::int64_t legacy_id_ms(std::string_view id);

// A job id of either form: what the API accepts where it takes an id.
bool is_valid_id(std::string_view id);

// Cryptographically random bytes, hex-encoded (lease ids, secrets).
std::string random_hex(std::size_t bytes);

}  // namespace errand::core
