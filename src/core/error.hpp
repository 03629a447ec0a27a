// Errand's one error type.
//
// Every fallible operation below main() returns `Result<T>`: a value or an
// `Error` carrying a code from `errc`, a human message, and the request field
// at fault (empty when no single field is to blame). The API layer maps the
// code to an HTTP status in exactly one place (api/errors). Exceptions are used
// only at start-up and in main(). Plain value types: thread-compatible.
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <string>
#include <string_view>

namespace errand::core {

enum class errc {
  ok = 0,
  invalid_argument = 1,    // 400: malformed or out-of-range input
  not_found = 2,           // 404: unknown job, queue, route
  conflict = 3,            // 409: stale lease, wrong state for the operation
  payload_too_large = 4,   // 413: body or payload over its limit
  unauthorized = 5,        // 401: missing or wrong key/token
  forbidden = 6,           // 403: the key's role may not do this
  unavailable = 7,         // 503: the store refuses writes (failed fsync) or is stopping
  internal = 8,            // 500: a bug or an unexpected storage failure
  method_not_allowed = 9,  // 405
  too_many_requests = 10,  // 429: a rate or resource limit; the answer says which
};

const boost::system::error_category& errand_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), errand_category()};
}

// The stable machine-readable name of a code ("invalid_argument", ...).
std::string_view errc_name(errc e) noexcept;

struct Error {
  errc code = errc::internal;
  std::string message;
  std::string field;  // request field at fault, e.g. "delay" or "jobs[3].queue"

  boost::system::error_code error_code() const noexcept { return make_error_code(code); }
};

// Used by boost::system::result<T, Error>::value() when it holds an error.
[[noreturn]] void throw_exception_from_error(const Error& e, const boost::source_location& loc);

template <class T>
using Result = boost::system::result<T, Error>;

inline Error make_error(errc code, std::string message, std::string field = {}) {
  return Error{code, std::move(message), std::move(field)};
}
inline Error invalid(std::string field, std::string message) {
  return Error{errc::invalid_argument, std::move(message), std::move(field)};
}

}  // namespace errand::core

namespace boost::system {
template <>
struct is_error_code_enum<errand::core::errc> : std::true_type {};
}  // namespace boost::system
