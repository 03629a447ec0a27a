// The HTTP(S) client push delivery uses: POST a body to a URL and read the
// whole response, over a keep-alive connection pool.
//
// One pool per origin (scheme, host, port) keeps idle HTTP/1.1 connections
// for reuse (at most `max_idle_per_host`, each closed after `idle_timeout`).
// A request sent on a reused connection that the peer had already closed
// (the write fails, or the read ends before any byte of a response) is sent
// once more on a fresh connection. Every new connection resolves the host,
// checks each address against the AddressPolicy (refused ones are skipped;
// if none is left the request fails with `forbidden`), connects within
// `connect_timeout`, and for https does the TLS handshake (SNI, certificate
// chain against the system store plus `ca_file`, host-name verification)
// within the same budget. `timeout` then bounds writing the request and
// reading the whole response. Redirects are not followed.
//
// Errors are core::Error with code `unavailable` (network, TLS, time-outs,
// oversize responses) or `forbidden` (address policy), and a message a user
// can act on, e.g. "connect to 127.0.0.1:9: Connection refused",
// "TLS handshake with example.com: certificate verify failed",
// "no response from example.com:443 within 30s", "response body over 2162688 bytes".
//
// Thread-safety: not thread-safe; use one HttpClient from one strand (or
// one thread). post() may be awaited concurrently many times on that strand.
// Destroy after every post() has finished (close() makes idle connections go).
#pragma once

#include "core/error.hpp"
#include "core/time.hpp"
#include "engine/push/address_guard.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace errand::engine::push {

struct HttpClientOptions {
  AddressPolicy addresses;
  bool insecure_tls = false;  // skip certificate and host-name verification (development)
  std::string ca_file;        // extra trusted CA certificates (PEM) besides the system store
  core::Millis connect_timeout{10'000};  // resolve + connect + TLS handshake
  std::size_t max_response_body = 2 * 1024 * 1024 + 64 * 1024;
  std::size_t max_idle_per_host = 64;
  core::Millis idle_timeout{30'000};
  std::string user_agent = "errand";
};

struct HttpHeader {
  std::string name;
  std::string value;
};

struct HttpRequest {
  std::string url;  // absolute http:// or https:// URL (validated by the caller)
  // Sent as given; the client sets Host, Content-Length, User-Agent and
  // Connection itself.
  std::vector<HttpHeader> headers;
  std::string body;              // POSTed
  core::Millis timeout{30'000};  // writing the request + reading the response
};

struct HttpResponse {
  unsigned status = 0;
  std::vector<HttpHeader> headers;
  std::string body;
  // The first header of that name (case-insensitive); empty if absent.
  std::string_view header(std::string_view name) const;
};

struct HttpClientStats {
  std::size_t connections_opened = 0;  // ever
  std::size_t idle = 0;                // idle pooled connections now
};

class HttpClient {
 public:
  // Errors at construction (unreadable ca_file) throw std::runtime_error
  // naming the file: this happens at server start.
  HttpClient(boost::asio::any_io_executor executor, HttpClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  boost::asio::awaitable<core::Result<HttpResponse>> post(HttpRequest request);

  // Closes every idle connection; later post() calls still work.
  void close_idle();
  HttpClientStats stats() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace errand::engine::push
