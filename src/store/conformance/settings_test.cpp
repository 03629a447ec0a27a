// Conformance: setting_get_or_put — the first value stored under a name is
// the one every later caller gets, across a reopen.
#include "store/conformance/harness.hpp"

namespace errand::store::conformance {
namespace {

std::string get_or_put(Store& store, std::string name, std::string value) {
  auto got = call<std::string>([&](auto done) {
    store.setting_get_or_put({.name = std::move(name), .value = std::move(value)}, done);
  });
  EXPECT_TRUE(got) << got.error().message;
  return got ? *got : std::string();
}

TEST_P(SettingsTest, TheFirstValueIsKept) {
  EXPECT_EQ(get_or_put(store(), "token_secret", "first"), "first");
  EXPECT_EQ(get_or_put(store(), "token_secret", "second"), "first");
  EXPECT_EQ(get_or_put(store(), "other", "x"), "x");
}

TEST_P(SettingsTest, KeptAcrossAReopen) {
  EXPECT_EQ(get_or_put(store(), "token_secret", "first"), "first");
  reopen();
  EXPECT_EQ(get_or_put(store(), "token_secret", "second"), "first");
}

}  // namespace
}  // namespace errand::store::conformance
