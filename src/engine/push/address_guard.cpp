#include "engine/push/address_guard.hpp"

#include <fmt/format.h>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <vector>

namespace errand::engine::push {
namespace ip = boost::asio::ip;

namespace {

// An address as 16 bytes; IPv4 in the first 4.
struct Bytes {
  std::array<unsigned char, 16> b{};
  unsigned width = 0;  // 32 or 128 bits
};

Bytes bytes_of(const ip::address& a) {
  Bytes out;
  if (a.is_v4()) {
    auto v4 = a.to_v4().to_bytes();
    std::copy(v4.begin(), v4.end(), out.b.begin());
    out.width = 32;
  } else {
    out.b = a.to_v6().to_bytes();
    out.width = 128;
  }
  return out;
}

bool prefix_matches(const Bytes& net, const Bytes& a, unsigned prefix) {
  for (unsigned i = 0; i < prefix / 8; ++i) {
    if (net.b[i] != a.b[i]) return false;
  }
  unsigned rest = prefix % 8;
  if (rest == 0) return true;
  auto mask = static_cast<unsigned char>(0xFF << (8 - rest));
  return (net.b[prefix / 8] & mask) == (a.b[prefix / 8] & mask);
}

// An IPv4-mapped IPv6 address reaches the IPv4 host, so it is judged as one.
ip::address unmapped(const ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return ip::make_address_v4(ip::v4_mapped, a.to_v6());
  }
  return a;
}

struct Range {
  const char* network;
  unsigned prefix;
  std::string_view reason;
};

// IANA special-purpose registries, most specific first where ranges nest.
constexpr std::array kV4Ranges{
    Range{"255.255.255.255", 32, "broadcast"}, Range{"0.0.0.0", 8, "unspecified"},
    Range{"10.0.0.0", 8, "private"},           Range{"100.64.0.0", 10, "shared"},
    Range{"127.0.0.0", 8, "loopback"},         Range{"169.254.0.0", 16, "link-local"},
    Range{"172.16.0.0", 12, "private"},        Range{"192.0.0.0", 24, "reserved"},
    Range{"192.0.2.0", 24, "documentation"},   Range{"192.168.0.0", 16, "private"},
    Range{"198.18.0.0", 15, "benchmarking"},   Range{"198.51.100.0", 24, "documentation"},
    Range{"203.0.113.0", 24, "documentation"}, Range{"224.0.0.0", 4, "multicast"},
    Range{"240.0.0.0", 4, "reserved"},
};

constexpr std::array kV6Ranges{
    Range{"100::", 64, "reserved"},           Range{"2001:2::", 48, "benchmarking"},
    Range{"2001:db8::", 32, "documentation"}, Range{"fc00::", 7, "unique local"},
    Range{"fe80::", 10, "link-local"},        Range{"fec0::", 10, "site-local"},
    Range{"ff00::", 8, "multicast"},
};

struct ParsedRange {
  Bytes network;
  unsigned prefix;
  std::string_view reason;
};

template <std::size_t N>
std::vector<ParsedRange> parse_ranges(const std::array<Range, N>& ranges) {
  std::vector<ParsedRange> out;
  for (const auto& r : ranges)
    out.push_back({bytes_of(ip::make_address(r.network)), r.prefix, r.reason});
  return out;
}

std::string_view range_reason(const ip::address& a) {
  static const std::vector<ParsedRange> v4 = parse_ranges(kV4Ranges);
  static const std::vector<ParsedRange> v6 = parse_ranges(kV6Ranges);
  const Bytes bytes = bytes_of(a);
  for (const auto& r : a.is_v4() ? v4 : v6) {
    if (prefix_matches(r.network, bytes, r.prefix)) return r.reason;
  }
  return {};
}

// IPv6 forms that carry an IPv4 address: the host reached is (or is routed
// as) that IPv4 address, so an internal one must not slip through. Covers
// IPv4-compatible (::/96), NAT64 well-known (64:ff9b::/96) and 6to4
// (2002::/16) addresses; IPv4-mapped ones are unmapped before.
std::optional<ip::address_v4> embedded_v4(const ip::address_v6& a) {
  const auto b = a.to_bytes();
  auto v4_at = [&](std::size_t offset) {
    return ip::address_v4(
        ip::address_v4::bytes_type{b[offset], b[offset + 1], b[offset + 2], b[offset + 3]});
  };
  auto starts_with = [&](std::initializer_list<unsigned char> head) {
    return std::equal(head.begin(), head.end(), b.begin());
  };
  if (starts_with({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})) return v4_at(12);
  if (starts_with({0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0})) return v4_at(12);
  if (starts_with({0x20, 0x02})) return v4_at(2);
  return std::nullopt;
}

std::string_view article(std::string_view reason) {
  const bool vowel = reason.find_first_of("aeio") == 0 || reason == "unspecified";
  return vowel ? "an" : "a";
}

core::Error bad_cidr(std::string_view field, std::string_view text, std::string_view why) {
  return core::invalid(std::string(field), fmt::format("{}: \"{}\": {}", field, text, why));
}

}  // namespace

bool Cidr::contains(const ip::address& a) const {
  ip::address net = network;
  unsigned bits = prefix;
  // "::ffff:10.0.0.0/104" and "10.0.0.0/8" name the same hosts.
  if (net.is_v6() && net.to_v6().is_v4_mapped() && bits >= 96) {
    net = unmapped(net);
    bits -= 96;
  }
  const ip::address host = unmapped(a);
  if (net.is_v4() != host.is_v4()) return false;
  return prefix_matches(bytes_of(net), bytes_of(host), bits);
}

std::string Cidr::to_string() const {
  return network.to_string() + "/" + std::to_string(prefix);
}

core::Result<Cidr> parse_cidr(std::string_view text, std::string_view field) {
  const auto slash = text.find('/');
  const std::string address_text(text.substr(0, slash));
  boost::system::error_code ec;
  const ip::address address = ip::make_address(address_text, ec);
  if (ec || address_text.empty() || (address.is_v6() && address.to_v6().scope_id() != 0)) {
    return bad_cidr(field, text, "not an IP address or network (e.g. 10.0.0.0/8 or fd00::/8)");
  }
  const unsigned width = address.is_v4() ? 32 : 128;
  const std::string_view family = address.is_v4() ? "IPv4" : "IPv6";
  Cidr cidr{address, width};
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    unsigned prefix = 0;
    auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (digits.empty() || err != std::errc{} || end != digits.data() + digits.size() ||
        prefix > width) {
      return bad_cidr(
          field, text,
          fmt::format("the prefix length must be 0-{} for an {} network", width, family));
    }
    cidr.prefix = prefix;
  }
  // Host bits set is almost always a typo (10.1.2.3/8 for 10.0.0.0/8): say so
  // rather than guess which was meant.
  Cidr masked = cidr;
  Bytes b = bytes_of(address);
  for (unsigned bit = cidr.prefix; bit < width; ++bit) {
    b.b[bit / 8] &= static_cast<unsigned char>(~(0x80u >> (bit % 8)));
  }
  if (address.is_v4()) {
    masked.network = ip::address_v4({b.b[0], b.b[1], b.b[2], b.b[3]});
  } else {
    masked.network = ip::address_v6(b.b);
  }
  if (masked.network != cidr.network) {
    return bad_cidr(field, text,
                    fmt::format("host bits are set; the network is {}", masked.to_string()));
  }
  return cidr;
}

std::string_view non_public_reason(const ip::address& given) {
  const ip::address a = unmapped(given);
  if (a.is_v4()) return range_reason(a);
  const ip::address_v6 v6 = a.to_v6();
  if (v6.is_unspecified()) return "unspecified";
  if (v6.is_loopback()) return "loopback";
  if (auto v4 = embedded_v4(v6)) {
    if (auto reason = non_public_reason(ip::address(*v4)); !reason.empty()) return reason;
  }
  return range_reason(a);
}

core::Result<void> AddressPolicy::check(const ip::address& a) const {
  const std::string_view reason = non_public_reason(a);
  if (reason.empty() || allow_private) return {};
  for (const auto& cidr : allowed) {
    if (cidr.contains(a)) return {};
  }
  return core::make_error(
      core::errc::forbidden,
      fmt::format("{} is {} {} address: push delivery to non-public addresses needs "
                  "--push-allow-private or --push-allow",
                  a.to_string(), article(reason), reason));
}

namespace {

bool is_localhost_name(std::string host) {
  std::transform(host.begin(), host.end(), host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (!host.empty() && host.back() == '.') host.pop_back();
  return host == "localhost" ||
         (host.size() > 10 && host.compare(host.size() - 10, 10, ".localhost") == 0);
}

}  // namespace

core::Result<void> check_push_url(std::string_view url, const AddressPolicy& policy,
                                  std::string_view field) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return {};  // the URL's own validation reports it
  std::optional<ip::address> address;
  switch (parsed->host_type()) {
    case boost::urls::host_type::ipv4:
      address = ip::address(ip::make_address_v4(parsed->host_ipv4_address().to_uint()));
      break;
    case boost::urls::host_type::ipv6:
      address = ip::address(ip::address_v6(parsed->host_ipv6_address().to_bytes()));
      break;
    case boost::urls::host_type::name:
      if (is_localhost_name(parsed->host())) address = ip::make_address_v4("127.0.0.1");
      break;
    default:
      break;
  }
  if (!address) return {};
  const std::string_view reason = non_public_reason(*address);
  if (auto ok = policy.check(*address); ok) return {};
  const auto network =
      address->is_v4() ? address->to_string() + "/32" : address->to_string() + "/128";
  return core::invalid(
      std::string(field),
      fmt::format("{}: {} is {} {} address, and this server refuses push delivery to non-public "
                  "addresses: start it with --push-allow-private (development) or --push-allow {}",
                  field, parsed->host(), article(reason), reason, network));
}

}  // namespace errand::engine::push
