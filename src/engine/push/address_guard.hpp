// Which network addresses push delivery may reach.
//
// A producer key can set a queue's push URL, so by default Errand refuses to
// connect to loopback, private, link-local and other non-public addresses:
// a push URL must not become a way to reach internal services. The check is
// made on every resolved address, at every connection (so DNS cannot swap a
// public name for an internal address later). `--push-allow-private` lifts
// it; `--push-allow CIDR` (or `[push] allow` in errand.toml) lifts it for
// listed networks only. Plain value types and pure functions: thread-safe.
#pragma once

#include "core/error.hpp"

#include <boost/asio/ip/address.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace errand::engine::push {

// A network: an address and a prefix length ("10.0.0.0/8", "fd00::/8"); a
// bare address is a /32 (IPv4) or /128 (IPv6).
struct Cidr {
  boost::asio::ip::address network;
  unsigned prefix = 0;
  bool contains(const boost::asio::ip::address& a) const;
  std::string to_string() const;
};

// Errors: invalid_argument naming `field`, e.g. `push.allow[1]: "10.0.0.0/33":
// the prefix length must be 0-32 for an IPv4 network`.
core::Result<Cidr> parse_cidr(std::string_view text, std::string_view field = "push.allow");

// Not a public unicast address: unspecified, loopback, private (RFC 1918),
// shared (100.64.0.0/10), link-local, unique local (fc00::/7), site-local,
// multicast, broadcast, documentation/benchmark ranges, and IPv4-mapped or
// -compatible IPv6 forms of any of these. Names why, e.g. "loopback".
// Empty string: public.
std::string_view non_public_reason(const boost::asio::ip::address& a);

struct AddressPolicy {
  bool allow_private = false;
  std::vector<Cidr> allowed;  // reachable even when not public

  // Errors: forbidden, e.g. "127.0.0.1 is a loopback address: push delivery
  // to non-public addresses needs --push-allow-private or --push-allow".
  core::Result<void> check(const boost::asio::ip::address& a) const;
};

// What can be known of a push URL when its queue is configured, before any
// connection: a host that is an IP literal, or `localhost` (or a name under
// `.localhost`, which resolvers answer with loopback), that `policy`
// refuses. Other names pass: they are checked at every connection. Errors:
// invalid_argument naming `field`, e.g. `push.url: http://127.0.0.1:3000/
// is a loopback address, and this server refuses push delivery to non-public
// addresses: start it with --push-allow-private (development) or
// --push-allow 127.0.0.1/32`.
core::Result<void> check_push_url(std::string_view url, const AddressPolicy& policy,
                                  std::string_view field = "push.url");

}  // namespace errand::engine::push
