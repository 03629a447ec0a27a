#include "api/host_policy.hpp"

#include <fmt/format.h>
#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <cctype>

namespace errand::api {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool is_ip_literal(const std::string& name) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(name, ec);
  return !ec;
}

bool is_host_name(std::string_view name) {
  return !name.empty() && name.size() <= 253 && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
  });
}

}  // namespace

std::string host_name_of(std::string_view host) {
  std::string_view name = host;
  if (!name.empty() && name.front() == '[') {
    const auto close = name.find(']');
    if (close == std::string_view::npos) return {};
    const auto rest = name.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return {};
    name = name.substr(1, close - 1);
  } else if (const auto colon = name.find(':'); colon != std::string_view::npos) {
    if (name.find(':', colon + 1) != std::string_view::npos) return {};  // unbracketed IPv6
    name = name.substr(0, colon);
  }
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return lower(name);
}

bool HostPolicy::allows(std::string_view host_header) const {
  if (host_header.empty()) return true;
  const auto name = host_name_of(host_header);
  if (name.empty()) return false;
  if (name == "localhost" || is_ip_literal(name)) return true;
  return std::find(allowed.begin(), allowed.end(), name) != allowed.end();
}

core::Result<std::string> parse_allowed_host(std::string_view text, std::string_view field) {
  auto name = lower(text);
  if (!name.empty() && name.back() == '.') name.pop_back();
  if (is_host_name(name) || is_ip_literal(name)) return name;
  return core::invalid(std::string(field),
                       fmt::format("{} must be a host name such as errand.internal (no scheme, "
                                   "port or path); got \"{}\"",
                                   field, text));
}

}  // namespace errand::api
