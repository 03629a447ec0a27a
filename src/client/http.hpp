// A small synchronous HTTP/1.1 client for talking to one Errand server.
//
// `HttpClient` sends one request and returns the status and body. It keeps a
// pool of idle keep-alive connections: each call takes one (or opens one),
// uses it alone, and puts it back if the server kept it open, so one
// HttpClient may be shared by any number of threads (the pool is the only
// shared state and is mutex-guarded). Every network step has a time-out;
// a call whose kept-alive connection turns out to have been closed by the
// server is retried once on a fresh connection. Network failures come back
// as a `SendFailure`: an `errc::unavailable` error ("cannot reach errand at
// URL: ...") and whether the server may have received the request, which is
// what decides if another server may be sent it too (client/failover.hpp).
// Nothing throws.
//
// https:// URLs speak TLS 1.2 or later: the server's certificate must chain
// to the system's CA store or the client's CA file (make_tls_context) and
// name the URL's host (or IP address).
//
// This header is Beast-free on purpose (the connection lives in http.cpp),
// so users of the client library do not compile Beast.
#pragma once

#include "core/error.hpp"
#include "core/time.hpp"

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace boost::asio::ssl {
class context;
}

namespace errand::client {

// Where the server is: parsed from "http[s]://host:port[/base]".
struct Endpoint {
  std::string url;          // as given, without a trailing '/', for messages
  bool tls = false;         // https://
  std::string host;         // name or address to resolve (IPv6 without brackets)
  std::string port;         // "80" (http) or "443" (https) when the URL names none
  std::string host_header;  // "host:port" as written in the URL
  std::string base_path;    // "" or "/prefix" (no trailing '/'), prepended to targets
};

// Accepts `http://host[:port][/path]` and `https://...`. User info,
// queries and fragments are refused with `invalid_argument` (field "url").
core::Result<Endpoint> parse_endpoint(std::string_view url);

enum class Method { get, post, put, del };

std::string_view method_name(Method m) noexcept;

struct HttpRequest {
  Method method = Method::get;
  std::string target;  // path and query, e.g. "/v1/jobs?limit=10"
  std::string body;    // JSON text; empty: no body
  // Time allowed for the whole response once the request is written.
  // Zero: the client's default. A long-poll claim passes wait + margin.
  core::Millis read_timeout{0};
};

struct HttpResponse {
  int status = 0;
  std::string body;
};

// A request that got no answer.
struct SendFailure {
  core::Error error;  // unavailable: "cannot reach errand at URL: why"
  // False when no connection was made, or it broke before the whole request
  // was written (or, being a kept-alive one, before any answer: see above):
  // the server cannot have acted on it. True when the request was sent and
  // the answer never came (reset, closed, timed out): it may have been.
  bool may_have_arrived = false;
};

// Used by boost::system::result<T, SendFailure>::value() on a failure.
[[noreturn]] void throw_exception_from_error(const SendFailure& f,
                                             const boost::source_location& loc);

using SendResult = boost::system::result<HttpResponse, SendFailure>;

// The TLS settings https:// endpoints use: the system's CA store plus the
// PEM certificates of `ca_file` (empty: none), e.g. a private CA's. Share
// one between clients. Errors: invalid_argument, field "ca_file", naming
// the file and why it cannot be used.
core::Result<std::shared_ptr<boost::asio::ssl::context>> make_tls_context(
    const std::string& ca_file);

struct HttpOptions {
  std::string bearer;  // sent as "Authorization: Bearer <bearer>" when not empty
  core::Millis connect_timeout{5'000};
  core::Millis io_timeout{30'000};  // write, and read unless the request says otherwise
  std::size_t max_idle_connections = 8;
  std::string user_agent = "errand-client/0.1";
  // For an https:// endpoint (make_tls_context); null: the system's CA store.
  std::shared_ptr<boost::asio::ssl::context> tls;
};

class HttpClient {
 public:
  HttpClient(Endpoint endpoint, HttpOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends `request` and reads the whole response. Any status is a value;
  // only a failure to connect, write or read (or a time-out) is a failure.
  // Thread-safe.
  SendResult send(const HttpRequest& request);

  const Endpoint& endpoint() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace errand::client
