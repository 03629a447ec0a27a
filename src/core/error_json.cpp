#include "core/error_json.hpp"

#include "core/json_reader.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace errand::core {
namespace json = boost::json;

json::object error_to_json(const Error& e, ErrorMembers members) {
  json::object inner{{"code", errc_name(e.code)}, {"message", e.message}};
  if (members == ErrorMembers::all && !e.field.empty()) inner["field"] = e.field;
  return inner;
}

std::string error_body_json(const Error& e) {
  return json::serialize(json::object{{"error", error_to_json(e)}});
}

std::optional<errc> errc_from_name(std::string_view name) noexcept {
  for (int i = 1; i <= static_cast<int>(errc::too_many_requests); ++i) {
    auto code = static_cast<errc>(i);
    if (errc_name(code) == name) return code;
  }
  return std::nullopt;
}

Result<Error> error_from_json(const json::value& v, errc unknown, std::string path) {
  JsonReader r(v, std::move(path));
  Error e;
  e.code = errc_from_name(r.str("code", false)).value_or(unknown);
  e.message = r.str("message", false);
  e.field = r.str("field", false);
  // Result<Error> holds an Error either way: say which.
  if (auto ok = r.status(); !ok) return {boost::system::in_place_error, ok.error()};
  return {boost::system::in_place_value, std::move(e)};
}

std::optional<Error> error_from_body(std::string_view body, errc unknown) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto* inner = v.get_object().if_contains("error");
  if (!inner || !inner->is_object()) return std::nullopt;
  auto e = error_from_json(*inner, unknown);
  if (!e) return std::nullopt;
  return std::move(*e);
}

}  // namespace errand::core
