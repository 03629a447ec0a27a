// The API's own request and response types, free of Beast, so that route
// handlers compile without the HTTP machinery (which lives in server.cpp).
#pragma once

#include "core/time.hpp"

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace errand::api {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string path;    // decoded path, no query
  // The path as sent (percent-encoded): routes match its segments, so an
  // encoded '/' inside a segment (a key "team/a") stays in that segment.
  // Empty: the same as `path`.
  std::string raw_path;
  std::map<std::string, std::string> query;  // decoded query parameters (last wins)
  std::string body;
  std::string authorization;  // the Authorization header, verbatim
  std::string origin;         // the Origin header, verbatim (CORS)
  std::string last_event_id;  // the Last-Event-ID header (a resuming EventSource)
  std::string host;           // the Host header
  std::string cookie;         // the Cookie header (the dashboard's session)
  std::string csrf_token;     // the X-CSRF-Token header (the dashboard's writes)
  std::string if_none_match;  // the If-None-Match header (cached assets)
  std::string traceparent;    // the W3C trace context headers, verbatim (core/trace.hpp)
  std::string tracestate;
  std::string remote_address;
  bool loopback = false;  // the client connected from a loopback address
};

// Where a streaming response writes its body (implemented by the server).
// Used only from the producer's coroutine, on its connection's executor.
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  // Sends `data` now (the caller keeps it alive until the write completes).
  // False once the client is gone, the write timed out or the server is
  // stopping: the producer should then return.
  virtual boost::asio::awaitable<bool> write(std::string_view data) = 0;
  // Waits until the waker is called, the server stops, or `timeout` passes.
  virtual boost::asio::awaitable<void> wait(core::Millis timeout) = 0;
  // Ends the current or next wait(); may be called from any thread, and
  // after the stream has ended (it then does nothing).
  virtual std::function<void()> waker() = 0;
  virtual bool stopping() const = 0;
};

// Writes a streaming body until it returns; the server then ends the
// response and closes the connection.
using StreamProducer = std::function<boost::asio::awaitable<void>(StreamSink&)>;

struct Response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  // Set: the body is streamed (chunked) by this producer instead of `body`.
  StreamProducer stream;
  // The pattern of the route that answered ("/v1/jobs/:id"); empty when no
  // route matched. For metrics and logs: never the raw path.
  std::string_view route;
};

}  // namespace errand::api
