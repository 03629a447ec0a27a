// Several URLs for one Errand service, and the rules for moving between them.
//
// Errand servers sharing one PostgreSQL database serve any call alike, so a
// client given every node's URL can carry on when one of them dies. It sends
// each call to the *current* URL and stays there (sticky) until that URL
// fails: no connection, the connection lost before an answer, or a `503`
// `unavailable` answer (the node lost its database, or is stopping). Then
// the next URL in the list becomes current.
//
// Moving on never sends a call twice that the first server may have acted
// on, unless the call is idempotent: a request that never reached a server,
// or that a server refused with a `503` saying it changed nothing
// (docs/API.md, Errors), goes to the next URL at once; one that was sent and
// got no answer goes again only when repeating it is harmless (reads, claims,
// heartbeats, an enqueue with an idempotency key, ...). Otherwise its caller
// gets the error and its next call goes to the next URL. When every URL
// failed, the error names each with its reason.
//
// `parse_url_list` and the policy functions are pure; `UrlRing` is
// thread-safe (one atomic); `send_with_failover` is as thread-safe as the
// `send` it is given. Internal to the client library, unit-tested in
// failover_test.cpp (and through `Client` in client_test.cpp).
#pragma once

#include "client/client.hpp"
#include "client/http.hpp"
#include "core/error.hpp"

#include <atomic>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace errand::client {

// "http://a:8740,http://b:8740" (spaces around the commas allowed) -> each
// URL parsed by `parse_endpoint`, in order. An empty list or entry, a URL
// given twice, or one that `parse_endpoint` refuses is `invalid_argument`
// naming `field` and the entry.
core::Result<std::vector<Endpoint>> parse_url_list(std::string_view text,
                                                   std::string_view field = "url");
// The same for URLs already split (ClientOptions::urls); each entry must be
// one URL (no commas).
core::Result<std::vector<Endpoint>> parse_url_list(const std::vector<std::string>& urls,
                                                   std::string_view field = "url");

namespace detail {

// Whether a call may be sent again after an attempt the server may have
// acted on (the connection was lost after the request was written).
enum class Idempotent : bool { no, yes };

// How one attempt on one URL ended.
enum class AttemptEnd {
  answered,   // the server answered (anything but a 503 `unavailable`): the call's result
  not_sent,   // no connection, or it broke before the request was written
  lost,       // sent, and the connection broke or timed out before the answer
  refused,    // 503 `unavailable`, which changed nothing
  uncertain,  // 503 `unavailable` whose change "may or may not have been made"
};

// What follows an attempt that did not get the call's answer.
struct NextStep {
  bool move_on = false;  // make the next URL current
  bool resend = false;   // and send this call there now
};

NextStep after(AttemptEnd end, Idempotent idempotent) noexcept;

// Which of N URLs is current. Starts at the first.
class UrlRing {
 public:
  explicit UrlRing(std::size_t size) : size_(size == 0 ? 1 : size) {}
  std::size_t size() const noexcept { return size_; }
  std::size_t current() const noexcept { return current_.load(std::memory_order_relaxed); }
  // The URL at `index` failed: the one after it becomes current, unless
  // another call has already moved away from `index` (many calls failing on
  // one dead server move on once, not once each). True when this call moved.
  bool failed(std::size_t index) noexcept;

 private:
  std::size_t size_;
  std::atomic<std::size_t> current_{0};
};

// One attempt's end, with the answer or why there was none.
struct Attempt {
  AttemptEnd end = AttemptEnd::answered;
  HttpResponse response;  // when answered
  core::Error error;      // otherwise: the failure, or the 503's error
};

// The attempt that `HttpClient::send` returned.
Attempt attempt_from(SendResult sent);

struct FailoverCall {
  const std::vector<std::string>& urls;  // for messages; urls.size() == ring.size()
  UrlRing& ring;
  Idempotent idempotent = Idempotent::no;
  std::function<Attempt(std::size_t url_index)> send;
  std::function<void(const Failover&)> on_failover;  // may be empty
};

// Sends the call to the current URL, then on through the list as `after`
// allows, each URL at most once. Returns the first answer, or the error
// (code `unavailable`): with a single URL the failure as it is (a 503's is
// the server's own error); with several, one that names every URL tried and
// why it failed, or, when the call was not sent again, says so and where
// the next call goes.
core::Result<HttpResponse> send_with_failover(const FailoverCall& call);

}  // namespace detail
}  // namespace errand::client
