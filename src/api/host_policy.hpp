// Which Host headers a server without API keys answers (DNS rebinding).
//
// A keyless server trusts every loopback client. A web page on
// rebind.evil.example whose name is made to resolve to 127.0.0.1 is such a
// client to the server, and the browser treats the server's answers as that
// page's own: it could enqueue, read payloads and push secrets. Its requests
// carry `Host: rebind.evil.example:PORT`, so a keyless server answers only
// Host values that name it: an IP address (a literal cannot be rebound),
// `localhost`, or a name given with --allowed-host. Immutable: thread-safe.
#pragma once

#include "core/error.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace errand::api {

struct HostPolicy {
  // Extra host names (lower case, no port) that name this server.
  std::vector<std::string> allowed;

  // Whether a Host header value ("127.0.0.1:8740", "[::1]", "localhost",
  // "errand.internal:8740") names this server. An empty Host (HTTP/1.0
  // tools; browsers always send one) is allowed.
  bool allows(std::string_view host_header) const;
};

// The host name part of a Host header, lower case, without port, brackets
// or a trailing dot ("" when malformed).
std::string host_name_of(std::string_view host_header);

// Checks an --allowed-host value: a host name or IP address without port.
// Errors: invalid_argument naming `field`.
core::Result<std::string> parse_allowed_host(std::string_view text, std::string_view field);

}  // namespace errand::api
