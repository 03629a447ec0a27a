#include "core/error.hpp"

#include <stdexcept>

namespace errand::core {
namespace {

class Category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "errand"; }
  std::string message(int ev) const override {
    return std::string(errc_name(static_cast<errc>(ev)));
  }
};

}  // namespace

const boost::system::error_category& errand_category() noexcept {
  static const Category category;
  return category;
}

std::string_view errc_name(errc e) noexcept {
  switch (e) {
    case errc::ok:
      return "ok";
    case errc::invalid_argument:
      return "invalid_argument";
    case errc::not_found:
      return "not_found";
    case errc::conflict:
      return "conflict";
    case errc::payload_too_large:
      return "payload_too_large";
    case errc::unauthorized:
      return "unauthorized";
    case errc::forbidden:
      return "forbidden";
    case errc::unavailable:
      return "unavailable";
    case errc::internal:
      return "internal";
    case errc::method_not_allowed:
      return "method_not_allowed";
    case errc::too_many_requests:
      return "too_many_requests";
  }
  return "unknown";
}

void throw_exception_from_error(const Error& e, const boost::source_location&) {
  throw std::runtime_error(std::string(errc_name(e.code)) + ": " + e.message);
}

}  // namespace errand::core
