// The API's error object, the one JSON form of a core::Error on the wire:
//
//   {"error": {"code": "invalid_argument", "message": "…", "field": "delay"}}
//
// is the body of every error answer (written by api/errors, the one place
// where an error becomes an HTTP answer); the per-item results of
// POST /v1/acks and POST /v1/jobs/bulk carry the inner object with the code
// and message only. Written by the server, read by the C++ client
// (client/wire). Pure functions: thread-safe.
#pragma once

#include "core/error.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace errand::core {

// Which members the inner object shows.
enum class ErrorMembers {
  all,               // code, message, and field when the error names one
  code_and_message,  // an item of POST /v1/acks or POST /v1/jobs/bulk
};

// The inner object: {"code", "message", "field"?}.
boost::json::object error_to_json(const Error& e, ErrorMembers members = ErrorMembers::all);
// The body of an error answer: {"error": {"code", "message", "field"?}}.
std::string error_body_json(const Error& e);

// The errc of an API code name ("not_found" -> errc::not_found); nullopt if
// unknown (a code of a newer server).
std::optional<errc> errc_from_name(std::string_view name) noexcept;

// Reads the inner object (`path` names it in errors). A code this build does
// not know, or none, reads as `unknown`; an absent message or field as "".
// Errors: invalid_argument when it is not an object or a member is not a
// string, naming it ("results[1].error.code").
Result<Error> error_from_json(const boost::json::value& v, errc unknown,
                              std::string path = "error");
// Reads the body of an error answer; nullopt when it is not
// {"error": {…}} as error_from_json reads it.
std::optional<Error> error_from_body(std::string_view body, errc unknown);

}  // namespace errand::core
