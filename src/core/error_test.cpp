#include "core/error.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace errand::core {
namespace {

TEST(Errc, StableNames) {
  EXPECT_EQ(errc_name(errc::ok), "ok");
  EXPECT_EQ(errc_name(errc::invalid_argument), "invalid_argument");
  EXPECT_EQ(errc_name(errc::not_found), "not_found");
  EXPECT_EQ(errc_name(errc::conflict), "conflict");
  EXPECT_EQ(errc_name(errc::payload_too_large), "payload_too_large");
  EXPECT_EQ(errc_name(errc::unauthorized), "unauthorized");
  EXPECT_EQ(errc_name(errc::forbidden), "forbidden");
  EXPECT_EQ(errc_name(errc::unavailable), "unavailable");
  EXPECT_EQ(errc_name(errc::internal), "internal");
  EXPECT_EQ(errc_name(errc::method_not_allowed), "method_not_allowed");
  EXPECT_EQ(errc_name(errc::too_many_requests), "too_many_requests");
}

TEST(Errc, ErrorCodeCategory) {
  const boost::system::error_code ec = errc::conflict;
  EXPECT_STREQ(ec.category().name(), "errand");
  EXPECT_EQ(ec.message(), "conflict");
  EXPECT_EQ(ec.value(), 3);
  EXPECT_EQ(make_error(errc::not_found, "no such job", "id").error_code(),
            make_error_code(errc::not_found));
}

TEST(Error, InvalidCarriesFieldAndMessage) {
  const Error e = invalid("delay", "delay is bad");
  EXPECT_EQ(e.code, errc::invalid_argument);
  EXPECT_EQ(e.field, "delay");
  EXPECT_EQ(e.message, "delay is bad");
  EXPECT_TRUE(make_error(errc::conflict, "stale lease").field.empty());
}

TEST(Result, ValueOfAnErrorThrowsWithCodeAndMessage) {
  Result<int> r = invalid("queue", "queue must be short");
  ASSERT_FALSE(r);
  try {
    (void)r.value();
    FAIL() << "value() did not throw";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "invalid_argument: queue must be short");
  }
}

}  // namespace
}  // namespace errand::core
