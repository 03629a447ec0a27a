#include "tls_client.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>

namespace errand::tls {
namespace asio = boost::asio;
namespace ssl = asio::ssl;

ClientContext make_client_context(const std::string& ca_file) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);
  boost::system::error_code ec;
  context->set_default_verify_paths(ec);  // a host without a CA store can still use ca_file
  if (!ca_file.empty()) {
    context->load_verify_file(ca_file, ec);
    if (ec) return {nullptr, failure_text(ec, nullptr)};
  }
  return {std::move(context), {}};
}

bool prepare_client(SSL* ssl, const std::string& host, bool verify) {
  boost::system::error_code not_address;
  asio::ip::make_address(host, not_address);
  const bool is_address = !not_address;
  // SNI carries names only (RFC 6066).
  if (!is_address && SSL_set_tlsext_host_name(ssl, host.c_str()) != 1) return false;
  if (!verify) {
    SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);
    return true;
  }
  SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
  // OpenSSL checks the name (or address) with the chain, and records why it
  // refused ("hostname mismatch", "IP address mismatch").
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  return is_address ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1
                    : SSL_set1_host(ssl, host.c_str()) == 1;
}

std::string failure_text(const boost::system::error_code& ec, SSL* ssl) {
  if (ec.category() != asio::error::get_ssl_category()) return ec.message();
  const char* reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()));
  std::string text = reason ? reason : ec.message();
  const long verify = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
  if (verify != X509_V_OK) text += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
  return text;
}

}  // namespace errand::tls
