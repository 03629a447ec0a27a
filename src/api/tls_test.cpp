// load_tls_context: the certificate and key files a server is given, with
// pairs made by the openssl command at test time.
#include "api/tls.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace errand::api {
namespace {
namespace fs = std::filesystem;

class LoadTlsContext : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ =
        new fs::path(fs::temp_directory_path() / ("errand-tls-test-" + std::to_string(::getpid())));
    fs::create_directories(*dir_);
    for (const char* name : {"a", "b"}) {
      const auto command = "cd " + dir_->string() +
                           " && openssl req -x509 -newkey ec -pkeyopt "
                           "ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=" +
                           name + " -keyout " + name + ".key -out " + name + ".pem >/dev/null 2>&1";
      ASSERT_EQ(std::system(command.c_str()), 0) << command;
    }
  }
  static void TearDownTestSuite() {
    std::error_code ignored;
    fs::remove_all(*dir_, ignored);
    delete dir_;
  }
  static std::string path(const std::string& name) { return (*dir_ / name).string(); }

  static fs::path* dir_;
};
fs::path* LoadTlsContext::dir_ = nullptr;

TEST_F(LoadTlsContext, LoadsAMatchingPair) {
  auto context = load_tls_context({.cert = path("a.pem"), .key = path("a.key")});
  ASSERT_TRUE(context) << context.error().message;
  EXPECT_NE(*context, nullptr);
}

TEST_F(LoadTlsContext, NamesAMissingFile) {
  auto no_cert = load_tls_context({.cert = path("none.pem"), .key = path("a.key")});
  ASSERT_FALSE(no_cert);
  EXPECT_EQ(no_cert.error().field, "tls_cert");
  EXPECT_NE(no_cert.error().message.find(path("none.pem")), std::string::npos);
  EXPECT_NE(no_cert.error().message.find("No such file"), std::string::npos);
  auto no_key = load_tls_context({.cert = path("a.pem"), .key = path("none.key")});
  ASSERT_FALSE(no_key);
  EXPECT_EQ(no_key.error().field, "tls_key");
  EXPECT_NE(no_key.error().message.find(path("none.key")), std::string::npos);
}

TEST_F(LoadTlsContext, NamesTheKeyOfAnotherCertificate) {
  auto context = load_tls_context({.cert = path("a.pem"), .key = path("b.key")});
  ASSERT_FALSE(context);
  EXPECT_EQ(context.error().field, "tls_key");
  EXPECT_NE(context.error().message.find(path("b.key")), std::string::npos);
  EXPECT_NE(context.error().message.find("not the key of the certificate"), std::string::npos)
      << context.error().message;
}

TEST_F(LoadTlsContext, RefusesFilesThatAreNotPem) {
  std::ofstream(path("junk.pem")) << "not a certificate\n";
  auto cert = load_tls_context({.cert = path("junk.pem"), .key = path("a.key")});
  ASSERT_FALSE(cert);
  EXPECT_EQ(cert.error().field, "tls_cert");
  EXPECT_NE(cert.error().message.find("cannot load the TLS certificate"), std::string::npos);
  auto key = load_tls_context({.cert = path("a.pem"), .key = path("junk.pem")});
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().field, "tls_key");
}

TEST_F(LoadTlsContext, NeedsBothFiles) {
  auto cert_only = load_tls_context({.cert = path("a.pem"), .key = ""});
  ASSERT_FALSE(cert_only);
  EXPECT_EQ(cert_only.error().field, "tls_key");
  auto key_only = load_tls_context({.cert = "", .key = path("a.key")});
  ASSERT_FALSE(key_only);
  EXPECT_EQ(key_only.error().field, "tls_cert");
}

}  // namespace
}  // namespace errand::api
