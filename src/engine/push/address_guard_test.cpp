#include "engine/push/address_guard.hpp"

#include <gtest/gtest.h>
#include <ostream>

namespace errand::engine::push {
namespace {
using boost::asio::ip::make_address;
using core::errc;

TEST(ParseCidr, NetworksAndBareAddresses) {
  auto v4 = parse_cidr("10.0.0.0/8");
  ASSERT_TRUE(v4) << v4.error().message;
  EXPECT_EQ(v4->network, make_address("10.0.0.0"));
  EXPECT_EQ(v4->prefix, 8u);
  EXPECT_EQ(v4->to_string(), "10.0.0.0/8");

  auto v6 = parse_cidr("fd00::/8");
  ASSERT_TRUE(v6) << v6.error().message;
  EXPECT_EQ(v6->prefix, 8u);
  EXPECT_EQ(v6->to_string(), "fd00::/8");

  EXPECT_EQ(parse_cidr("192.168.1.7")->prefix, 32u);
  EXPECT_EQ(parse_cidr("::1")->prefix, 128u);
  EXPECT_EQ(parse_cidr("0.0.0.0/0")->prefix, 0u);
  EXPECT_EQ(parse_cidr("::/0")->prefix, 0u);
}

TEST(ParseCidr, ErrorsNameTheFieldAndTheText) {
  auto too_long = parse_cidr("10.0.0.0/33", "push.allow[1]");
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().code, errc::invalid_argument);
  EXPECT_EQ(too_long.error().field, "push.allow[1]");
  EXPECT_EQ(too_long.error().message,
            "push.allow[1]: \"10.0.0.0/33\": the prefix length must be 0-32 for an IPv4 network");

  auto v6 = parse_cidr("fd00::/129");
  ASSERT_FALSE(v6);
  EXPECT_EQ(v6.error().field, "push.allow");
  EXPECT_EQ(v6.error().message,
            "push.allow: \"fd00::/129\": the prefix length must be 0-128 for an IPv6 network");

  for (const char* bad : {"", "/8", "10.0.0/8", "example.com", "10.0.0.0/", "10.0.0.0/x",
                          "10.0.0.0/-1", "10.0.0.0/8/8", "10.0.0.0 /8", "fe80::1%1"}) {
    auto r = parse_cidr(bad, "push.allow[0]");
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, errc::invalid_argument) << bad;
    EXPECT_EQ(r.error().field, "push.allow[0]") << bad;
    EXPECT_EQ(r.error().message.rfind("push.allow[0]: \"" + std::string(bad) + "\": ", 0), 0u)
        << r.error().message;
  }
}

TEST(ParseCidr, HostBitsSetIsRefusedWithTheNetwork) {
  auto r = parse_cidr("10.1.2.3/8");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "push.allow: \"10.1.2.3/8\": host bits are set; the network is 10.0.0.0/8");
  EXPECT_FALSE(parse_cidr("fd00::1/8"));
}

TEST(Cidr, Contains) {
  const Cidr ten = *parse_cidr("10.0.0.0/8");
  EXPECT_TRUE(ten.contains(make_address("10.255.0.1")));
  EXPECT_FALSE(ten.contains(make_address("11.0.0.1")));
  EXPECT_FALSE(ten.contains(make_address("::1")));
  // An IPv4-mapped address reaches the IPv4 host.
  EXPECT_TRUE(ten.contains(make_address("::ffff:10.1.2.3")));

  const Cidr odd = *parse_cidr("172.16.0.0/12");
  EXPECT_TRUE(odd.contains(make_address("172.31.255.255")));
  EXPECT_FALSE(odd.contains(make_address("172.32.0.0")));

  const Cidr ula = *parse_cidr("fd00::/8");
  EXPECT_TRUE(ula.contains(make_address("fd12:3456::1")));
  EXPECT_FALSE(ula.contains(make_address("fc00::1")));
  EXPECT_FALSE(ula.contains(make_address("10.0.0.1")));

  EXPECT_TRUE(parse_cidr("0.0.0.0/0")->contains(make_address("8.8.8.8")));
  EXPECT_TRUE(parse_cidr("::ffff:10.0.0.0/104")->contains(make_address("10.9.9.9")));
  EXPECT_TRUE(parse_cidr("127.0.0.1")->contains(make_address("127.0.0.1")));
  EXPECT_FALSE(parse_cidr("127.0.0.1")->contains(make_address("127.0.0.2")));
}

struct ReasonCase {
  const char* address;
  const char* reason;
};

void PrintTo(const ReasonCase& c, std::ostream* os) {
  *os << c.address;
}

class NonPublicReason : public testing::TestWithParam<ReasonCase> {};

TEST_P(NonPublicReason, NamesTheRange) {
  EXPECT_EQ(non_public_reason(make_address(GetParam().address)), GetParam().reason)
      << GetParam().address;
}

INSTANTIATE_TEST_SUITE_P(
    Ranges, NonPublicReason,
    testing::Values(
        // IPv4
        ReasonCase{"0.0.0.0", "unspecified"}, ReasonCase{"0.1.2.3", "unspecified"},
        ReasonCase{"127.0.0.1", "loopback"}, ReasonCase{"127.255.255.254", "loopback"},
        ReasonCase{"10.0.0.1", "private"}, ReasonCase{"172.16.0.1", "private"},
        ReasonCase{"172.31.255.255", "private"}, ReasonCase{"192.168.1.1", "private"},
        ReasonCase{"100.64.0.1", "shared"}, ReasonCase{"100.127.255.255", "shared"},
        ReasonCase{"169.254.169.254", "link-local"}, ReasonCase{"192.0.0.8", "reserved"},
        ReasonCase{"192.0.2.1", "documentation"}, ReasonCase{"198.51.100.1", "documentation"},
        ReasonCase{"203.0.113.1", "documentation"}, ReasonCase{"198.18.0.1", "benchmarking"},
        ReasonCase{"198.19.255.255", "benchmarking"}, ReasonCase{"224.0.0.1", "multicast"},
        ReasonCase{"239.255.255.255", "multicast"}, ReasonCase{"240.0.0.1", "reserved"},
        ReasonCase{"255.255.255.255", "broadcast"},
        // IPv4 neighbours of those ranges are public
        ReasonCase{"8.8.8.8", ""}, ReasonCase{"1.1.1.1", ""}, ReasonCase{"172.32.0.1", ""},
        ReasonCase{"100.128.0.1", ""}, ReasonCase{"192.169.0.1", ""}, ReasonCase{"11.0.0.1", ""},
        ReasonCase{"223.255.255.255", ""},
        // IPv6
        ReasonCase{"::", "unspecified"}, ReasonCase{"::1", "loopback"},
        ReasonCase{"fe80::1", "link-local"}, ReasonCase{"febf::1", "link-local"},
        ReasonCase{"fc00::1", "unique local"}, ReasonCase{"fd12:3456::1", "unique local"},
        ReasonCase{"fec0::1", "site-local"}, ReasonCase{"ff02::1", "multicast"},
        ReasonCase{"2001:db8::1", "documentation"}, ReasonCase{"2001:2::1", "benchmarking"},
        ReasonCase{"100::1", "reserved"}, ReasonCase{"2606:4700::1111", ""},
        ReasonCase{"2001:4860:4860::8888", ""},
        // IPv4-mapped, -compatible and other IPv6 forms carrying an IPv4 address
        ReasonCase{"::ffff:127.0.0.1", "loopback"}, ReasonCase{"::ffff:10.1.2.3", "private"},
        ReasonCase{"::ffff:169.254.169.254", "link-local"}, ReasonCase{"::ffff:8.8.8.8", ""},
        ReasonCase{"::127.0.0.1", "loopback"}, ReasonCase{"::192.168.0.1", "private"},
        ReasonCase{"64:ff9b::10.0.0.1", "private"}, ReasonCase{"64:ff9b::8.8.8.8", ""},
        ReasonCase{"2002:7f00:1::", "loopback"}, ReasonCase{"2002:a00:1::1", "private"}));

TEST(AddressPolicy, RefusesNonPublicAddressesByDefault) {
  AddressPolicy policy;
  EXPECT_TRUE(policy.check(make_address("93.184.216.34")));
  EXPECT_TRUE(policy.check(make_address("2606:4700::1111")));

  auto loopback = policy.check(make_address("127.0.0.1"));
  ASSERT_FALSE(loopback);
  EXPECT_EQ(loopback.error().code, errc::forbidden);
  EXPECT_EQ(loopback.error().message,
            "127.0.0.1 is a loopback address: push delivery to non-public addresses needs "
            "--push-allow-private or --push-allow");

  auto unspecified = policy.check(make_address("0.0.0.0"));
  ASSERT_FALSE(unspecified);
  EXPECT_EQ(unspecified.error().message.rfind("0.0.0.0 is an unspecified address: ", 0), 0u);

  auto mapped = policy.check(make_address("::ffff:10.0.0.1"));
  ASSERT_FALSE(mapped);
  EXPECT_EQ(mapped.error().message.rfind("::ffff:10.0.0.1 is a private address: ", 0), 0u);
}

TEST(AddressPolicy, AllowPrivateLiftsTheCheck) {
  AddressPolicy policy{.allow_private = true};
  for (const char* a : {"127.0.0.1", "10.0.0.1", "::1", "fd00::1", "169.254.169.254"}) {
    EXPECT_TRUE(policy.check(make_address(a))) << a;
  }
}

TEST(AddressPolicy, AllowedNetworksOnly) {
  AddressPolicy policy{.allowed = {*parse_cidr("10.1.0.0/16"), *parse_cidr("fd00::/8")}};
  EXPECT_TRUE(policy.check(make_address("10.1.2.3")));
  EXPECT_TRUE(policy.check(make_address("::ffff:10.1.2.3")));
  EXPECT_TRUE(policy.check(make_address("fd00::5")));
  EXPECT_TRUE(policy.check(make_address("8.8.8.8")));  // public stays reachable
  auto other = policy.check(make_address("10.2.0.1"));
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, errc::forbidden);
  EXPECT_FALSE(policy.check(make_address("127.0.0.1")));
  EXPECT_FALSE(policy.check(make_address("fc00::1")));
}

}  // namespace
}  // namespace errand::engine::push

namespace errand::engine::push {
namespace {

TEST(CheckPushUrl, RefusesLiteralNonPublicHostsNamingTheFieldAndTheFlag) {
  AddressPolicy policy;
  auto refused = check_push_url("http://127.0.0.1:3000/api/errand", policy);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, core::errc::invalid_argument);
  EXPECT_EQ(refused.error().field, "push.url");
  EXPECT_EQ(refused.error().message,
            "push.url: 127.0.0.1 is a loopback address, and this server refuses push delivery to "
            "non-public addresses: start it with --push-allow-private (development) or "
            "--push-allow 127.0.0.1/32");
  EXPECT_FALSE(check_push_url("http://10.1.2.3/x", policy));
  EXPECT_FALSE(check_push_url("http://[::1]:8080/x", policy));
  EXPECT_FALSE(check_push_url("http://localhost:3000/x", policy));
  EXPECT_FALSE(check_push_url("http://app.localhost/x", policy));
}

TEST(CheckPushUrl, NamesPassAndThePolicyLiftsTheCheck) {
  EXPECT_TRUE(check_push_url("https://my-app.vercel.app/api/errand", AddressPolicy{}));
  EXPECT_TRUE(check_push_url("http://93.184.216.34/x", AddressPolicy{}));
  EXPECT_TRUE(check_push_url("http://127.0.0.1:3000/x", AddressPolicy{.allow_private = true}));
  AddressPolicy listed{.allowed = {*parse_cidr("10.1.0.0/16")}};
  EXPECT_TRUE(check_push_url("http://10.1.2.3/x", listed));
  EXPECT_FALSE(check_push_url("http://10.2.0.1/x", listed));
}

}  // namespace
}  // namespace errand::engine::push
