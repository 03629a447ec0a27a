#include "cli/node_identity.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <array>

#ifndef ERRAND_VERSION
#define ERRAND_VERSION "unknown"
#endif

namespace errand::cli {
namespace {

std::string host_name() {
  std::array<char, 256> name{};
  if (::gethostname(name.data(), name.size() - 1) != 0 || name[0] == '\0') return "localhost";
  return name.data();
}

}  // namespace

core::Result<std::string> node_address(const std::string& advertise,
                                       const boost::asio::ip::tcp::endpoint& bound, bool tls) {
  if (!advertise.empty()) {
    const bool http = advertise.rfind("http://", 0) == 0 && advertise.size() > 7;
    const bool https = advertise.rfind("https://", 0) == 0 && advertise.size() > 8;
    if (!(http || https) || advertise.find_first_of(" \t\r\n") != std::string::npos) {
      return core::invalid("--advertise-url",
                           fmt::format("--advertise-url must be an http:// or https:// URL, e.g. "
                                       "http://errand-1.internal:8740; got \"{}\"",
                                       advertise));
    }
    return advertise;
  }
  const auto a = bound.address();
  const auto host = a.is_unspecified() ? host_name()
                    : a.is_v6()        ? "[" + a.to_string() + "]"
                                       : a.to_string();
  return fmt::format("{}://{}:{}", tls ? "https" : "http", host, bound.port());
}

core::Node node_identity(std::string address, StoreChoice::Kind store, core::TimePoint now) {
  return {.id = core::make_node_id(),
          .name = host_name(),
          .address = std::move(address),
          .version = ERRAND_VERSION,
          .store = store == StoreChoice::Kind::postgres ? "postgres" : "sqlite",
          .started_at = now,
          .last_seen = now,
          .stopped_at = std::nullopt,
          .figures = {}};
}

}  // namespace errand::cli
