// The server's TLS certificate: the PEM files `--tls-cert` and `--tls-key`
// name, loaded into a server context (TLS 1.2 or later, HTTP/1.1).
//
// `load_tls_context` reads both files into a new context and checks that
// the key is the certificate's; it changes nothing else, so a config check
// may call it before anything is applied, and HttpServer::reload_tls() calls
// it to make the context new connections get (connections keep the one they
// started with). Thread-safe: it touches only its own context.
#pragma once

#include "core/error.hpp"

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <string>

namespace errand::api {

struct TlsFiles {
  std::string cert;  // PEM: the server's certificate, then any intermediate CAs
  std::string key;   // PEM: its private key (unencrypted)
  bool enabled() const noexcept { return !cert.empty() || !key.empty(); }
};

// A server context with the certificate chain and key of `files`.
// Errors: invalid_argument, field "tls_cert" or "tls_key", naming the file
// and OpenSSL's reason, e.g. "cannot load the TLS key /etc/errand/key.pem:
// key values mismatch (it is not the key of the certificate in cert.pem)".
core::Result<std::shared_ptr<boost::asio::ssl::context>> load_tls_context(const TlsFiles& files);

}  // namespace errand::api
