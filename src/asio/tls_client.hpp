// TLS for Errand's HTTP clients (the C++ client library and push delivery):
// the client context, the per-connection check of the server, and OpenSSL's
// errors as text a user can act on.
//
// A client context speaks TLS 1.2 or later and trusts the system's CA store
// (when the host has one) plus the PEM certificates of an optional CA file.
// prepare_client() then makes one connection check the server's chain and
// that it was issued for the host name or IP address the URL names (the
// handshake fails with "certificate verify failed (hostname mismatch)"
// otherwise), and sends the name as SNI. Thread-safe: a context may be
// shared by connections on any threads once made.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>

#include <memory>
#include <string>

namespace errand::tls {

// A client context, or null with `error` saying why the CA file cannot be
// used (OpenSSL's reason, e.g. "no certificate or crl found").
struct ClientContext {
  std::shared_ptr<boost::asio::ssl::context> context;
  std::string error;
};
ClientContext make_client_context(const std::string& ca_file);

// Before a client handshake with `host` (a name, or an IP address without
// brackets): SNI for names, and when `verify`, the peer's chain and its name
// or address. False when OpenSSL refuses the settings.
bool prepare_client(SSL* ssl, const std::string& host, bool verify);

// OpenSSL's reason for a TLS failure ("certificate verify failed"), with why
// the peer's chain was refused when known ("(hostname mismatch)"); other
// errors' own message. `ssl` may be null.
std::string failure_text(const boost::system::error_code& ec, SSL* ssl);

}  // namespace errand::tls
