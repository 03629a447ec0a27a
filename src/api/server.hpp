// The HTTP/1.1 server: accepts connections, reads requests with limits and
// time-outs, hands each to the Router, writes the response, keeps the
// connection alive. The only unit that does HTTP I/O (Beast's reads and
// writes); api/request_head.hpp reads a parsed head into a Request.
//
// Each connection is a coroutine on its own strand. `stop()` closes the
// listener and idle connections; requests in flight are answered and their
// connections then closed. Thread-safe: the io_context may run on several
// threads.
//
// Staying answerable: at most `max_connections` are open; at the limit the
// connection idle longest (waiting for a request head) is closed to make
// room for a new one, and a new one is refused only when none is idle. A new
// connection must send its first request head within `header_timeout`. A
// request's head is checked (Host, route, credentials, body limit) before
// its body is read: a refused request costs no body's memory. Out of file
// descriptors, accepting backs off, closes what waits in the backlog with a
// reserve descriptor, and logs once per interval.
//
// TLS: with `tls` files set, every connection is HTTPS (TLS 1.2 or later;
// the handshake and the first request head share `header_timeout`), and a
// plain HTTP request gets a 400 saying to use https. Each connection keeps
// the certificate it started with; reload_tls() gives new connections the
// files' current contents without touching open ones (event streams go on).
#pragma once

#include "api/router.hpp"
#include "api/tls.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <memory>
#include <string>

namespace errand::api {

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8740;             // 0: pick a free port
  std::size_t max_body = 64 << 20;       // bytes of a request body (413 beyond)
  std::size_t max_header = 16 << 10;     // bytes of the request head (431 beyond)
  core::Millis idle_timeout{60'000};     // keep-alive idle / waiting for the request head
  core::Millis header_timeout{10'000};   // a new connection's first request head
  core::Millis read_timeout{30'000};     // reading a request's body; writing a response
  std::size_t max_connections = 10'000;  // open at once (idle ones make room for new ones)
  // One line per request (request id, method, route pattern, status,
  // duration, bytes): at info level when set, else at debug level. Never
  // the path's ids, the query, headers or bodies.
  bool log_requests = false;
  bool json_logs = false;  // the request lines' fields as a JSON object (--log-format json)
  TlsFiles tls;            // --tls-cert and --tls-key; none: plain HTTP
};

class HttpServer {
 public:
  HttpServer(boost::asio::io_context& io, const Router& router, Services& services,
             ServerOptions options);
  ~HttpServer();

  // Loads the TLS files (when set), binds and listens; returns the bound
  // endpoint (the real port for port 0). Errors name the file or address.
  core::Result<boost::asio::ip::tcp::endpoint> listen();
  // Starts accepting (after listen()).
  void start();
  // Stops accepting and closes idle connections. Safe twice and before start.
  void stop();

  // Reads the TLS files again (after listen()) into a new context that
  // connections accepted from now on use; open connections keep theirs. On
  // any error (load_tls_context's) the current certificate stays. Without
  // TLS: invalid_argument. Thread-safe.
  core::Result<void> reload_tls();
  // Gives connections accepted from now on `context` (load_tls_context's,
  // loaded by a configuration reload that checked everything first). Only
  // on a server with TLS. Thread-safe.
  void use_tls(std::shared_ptr<boost::asio::ssl::context> context);
  bool tls() const noexcept;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace errand::api
