#include "api/tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <boost/asio/ssl/error.hpp>

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace errand::api {
namespace ssl = boost::asio::ssl;

namespace {

// OpenSSL's reason ("no such file", "bad end line") rather than Asio's
// generic message, when there is one.
std::string reason_of(const boost::system::error_code& ec) {
  if (ec.category() == boost::asio::error::get_ssl_category()) {
    if (const char* r = ERR_reason_error_string(static_cast<unsigned long>(ec.value()))) return r;
  }
  return ec.message();
}

// Empty when `path` can be opened for reading, else why not.
std::string unreadable(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return std::strerror(errno);
  std::fclose(f);
  return {};
}

// The first error OpenSSL queued (and clears the queue).
std::string openssl_reason() {
  const unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  const char* r = code ? ERR_reason_error_string(code) : nullptr;
  return r ? r : "unknown error";
}

}  // namespace

core::Result<std::shared_ptr<ssl::context>> load_tls_context(const TlsFiles& files) {
  if (files.cert.empty()) return core::invalid("tls_cert", "--tls-key needs --tls-cert too");
  if (files.key.empty()) return core::invalid("tls_key", "--tls-cert needs --tls-key too");
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  if (auto why = unreadable(files.cert); !why.empty()) {
    return core::invalid("tls_cert",
                         fmt::format("cannot read the TLS certificate {}: {}", files.cert, why));
  }
  if (auto why = unreadable(files.key); !why.empty()) {
    return core::invalid("tls_key", fmt::format("cannot read the TLS key {}: {}", files.key, why));
  }
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(files.cert, ec);
  if (ec) {
    return core::invalid("tls_cert", fmt::format("cannot load the TLS certificate {}: {}",
                                                 files.cert, reason_of(ec)));
  }
  auto mismatch = [&](const std::string& reason) {
    return core::invalid("tls_key", fmt::format("cannot load the TLS key {}: {} (it is not the key "
                                                "of the certificate in {})",
                                                files.key, reason, files.cert));
  };
  ctx->use_private_key_file(files.key, ssl::context::pem, ec);
  if (ec) {
    // OpenSSL checks the pair as it loads the key when it can.
    if (ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH &&
        ec.category() == boost::asio::error::get_ssl_category()) {
      return mismatch(reason_of(ec));
    }
    return core::invalid("tls_key",
                         fmt::format("cannot load the TLS key {}: {}", files.key, reason_of(ec)));
  }
  ERR_clear_error();
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) return mismatch(openssl_reason());
  return ctx;
}

}  // namespace errand::api
