#include "engine/push/http_client.hpp"

#include "asio/tls_client.hpp"
#include "core/duration.hpp"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/url/parse.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <deque>
#include <optional>
#include <stdexcept>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

namespace errand::engine::push {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

namespace {

constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);
// Serverless platforms add many headers; 64 KiB leaves room without letting
// a peer stream headers forever.
constexpr std::uint32_t kMaxResponseHeader = 64 * 1024;

// Where a request goes, from its URL.
struct Target {
  bool tls = false;
  std::string host;       // to resolve and verify: a name, or an address without brackets
  std::string port;       // numeric
  std::string authority;  // "host:port" for messages ("[::1]:443" for IPv6)
  std::string host_header;
  std::string path;    // path and query, "/" at least
  std::string origin;  // pool key
};

core::Result<Target> parse_target(std::string_view url) {
  auto bad = [&](std::string_view why) {
    return core::invalid("url", fmt::format("push URL \"{}\" {}", url, why));
  };
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return bad("is not a valid URL");
  const auto& u = *parsed;
  Target t;
  if (u.scheme_id() == boost::urls::scheme::https) {
    t.tls = true;
  } else if (u.scheme_id() != boost::urls::scheme::http) {
    return bad("must start with http:// or https://");
  }
  t.host = u.host_address();
  if (t.host.empty()) return bad("has no host");
  const std::string_view default_port = t.tls ? "443" : "80";
  if (u.has_port()) {
    // Boost.URL accepts any digits as a port; a socket needs 1..65535.
    const std::string digits(u.port());
    if (digits.empty() || digits.size() > 5 || std::stoul(digits) == 0 ||
        std::stoul(digits) > 65535) {
      return bad("has an invalid port");
    }
    t.port = std::to_string(std::stoul(digits));
  } else {
    t.port = default_port;
  }
  const std::string host_in_url(u.encoded_host());
  t.authority = host_in_url + ":" + t.port;
  t.host_header = t.port == default_port ? host_in_url : t.authority;
  t.path = u.encoded_path().empty() ? "/" : std::string(u.encoded_path());
  if (u.has_query()) t.path += "?" + std::string(u.encoded_query());
  std::string lower_host = t.host;
  for (char& c : lower_host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  t.origin = (t.tls ? "https://" : "http://") + lower_host + ":" + t.port;
  return t;
}

std::string endpoint_text(const tcp::endpoint& ep) {
  const auto a = ep.address();
  const std::string host = a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
  return host + ":" + std::to_string(ep.port());
}

core::Error unavailable(std::string message) {
  return core::make_error(core::errc::unavailable, std::move(message));
}

// One keep-alive connection. Owned by one post() while in use, by the pool
// while idle; never both.
struct Connection {
  using Plain = beast::tcp_stream;
  using Tls = ssl::stream<beast::tcp_stream>;

  explicit Connection(const asio::any_io_executor& ex) : stream(std::in_place_index<0>, ex) {}
  Connection(const asio::any_io_executor& ex, ssl::context& ctx)
      : stream(std::in_place_index<1>, ex, ctx) {}

  beast::tcp_stream& tcp() {
    return stream.index() == 0 ? std::get<0>(stream) : std::get<1>(stream).next_layer();
  }

  // Idle connections the peer has closed (or written to unasked) are not
  // worth a request: a non-blocking peek tells without consuming anything.
  bool looks_alive() {
    auto& socket = tcp().socket();
    if (!socket.is_open()) return false;
    char byte = 0;
    const auto n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }

  void close() {
    error_code ec;
    tcp().socket().shutdown(tcp::socket::shutdown_both, ec);
    tcp().close();
  }

  std::variant<Plain, Tls> stream;
  beast::flat_buffer buffer;
  bool reused = false;  // has served a response: may have gone stale while idle
  Clock::time_point idle_until{};
};

using Request = http::request<http::string_body>;

Request build_request(const Target& target, const HttpRequest& in, std::string_view user_agent) {
  Request req{http::verb::post, target.path, 11};
  for (const auto& h : in.headers) req.insert(h.name, h.value);
  for (auto field : {http::field::host, http::field::content_length, http::field::user_agent,
                     http::field::connection, http::field::transfer_encoding}) {
    req.erase(field);
  }
  req.set(http::field::host, target.host_header);
  req.set(http::field::user_agent, user_agent);
  req.set(http::field::connection, "keep-alive");
  req.body() = in.body;
  req.prepare_payload();
  return req;
}

std::string tls_failure(const error_code& ec, SSL* ssl) {
  return tls::failure_text(ec, ssl);
}

struct Exchanged {
  HttpResponse response;
  bool keep = false;  // the connection may serve another request
};

struct ExchangeFailure {
  core::Error error;
  bool stale = false;  // a reused connection failed before any byte of a response
};

}  // namespace

std::string_view HttpResponse::header(std::string_view name) const {
  for (const auto& h : headers) {
    if (beast::iequals(h.name, name)) return h.value;
  }
  return {};
}

struct HttpClient::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::any_io_executor ex, HttpClientOptions opts)
      : executor(std::move(ex)), options(std::move(opts)), idle_timer(executor) {
    auto made = tls::make_client_context(options.ca_file);
    if (!made.context) {
      throw std::runtime_error(
          fmt::format("cannot load the push CA file {}: {}", options.ca_file, made.error));
    }
    tls_context = std::move(made.context);
  }

  asio::any_io_executor executor;
  HttpClientOptions options;
  std::shared_ptr<ssl::context> tls_context;
  std::unordered_map<std::string, std::deque<std::unique_ptr<Connection>>> idle;  // newest last
  std::size_t idle_count = 0;
  std::size_t connections_opened = 0;
  asio::steady_timer idle_timer;  // the next idle expiry, while any connection is idle
  bool idle_timer_armed = false;

  static asio::awaitable<core::Result<HttpResponse>> post(std::shared_ptr<Impl> self,
                                                          HttpRequest request);

  std::unique_ptr<Connection> take_idle(const std::string& origin) {
    auto it = idle.find(origin);
    while (it != idle.end() && !it->second.empty()) {
      auto conn = std::move(it->second.back());
      it->second.pop_back();
      --idle_count;
      if (conn->looks_alive()) return conn;
      conn->close();
    }
    return nullptr;
  }

  void put_idle(const std::string& origin, std::unique_ptr<Connection> conn) {
    auto& list = idle[origin];
    if (list.size() >= options.max_idle_per_host) {
      conn->close();
      return;
    }
    conn->idle_until = Clock::now() + options.idle_timeout;
    list.push_back(std::move(conn));
    ++idle_count;
    arm_idle_timer();
  }

  void arm_idle_timer() {
    if (idle_timer_armed || idle_count == 0) return;
    auto next = Clock::time_point::max();
    for (const auto& [origin, list] : idle) {
      if (!list.empty()) next = std::min(next, list.front()->idle_until);
    }
    idle_timer_armed = true;
    idle_timer.expires_at(next);
    idle_timer.async_wait([weak = weak_from_this()](error_code ec) {
      auto self = weak.lock();
      if (ec || !self) return;  // cancelled: close_idle() has reset the state
      self->idle_timer_armed = false;
      self->expire_idle(Clock::now());
      self->arm_idle_timer();
    });
  }

  void expire_idle(Clock::time_point now) {
    for (auto it = idle.begin(); it != idle.end();) {
      auto& list = it->second;
      while (!list.empty() && list.front()->idle_until <= now) {
        list.front()->close();
        list.pop_front();
        --idle_count;
      }
      it = list.empty() ? idle.erase(it) : std::next(it);
    }
  }

  void close_idle() {
    idle_timer.cancel();
    idle_timer_armed = false;
    for (auto& [origin, list] : idle) {
      for (auto& conn : list) conn->close();
    }
    idle.clear();
    idle_count = 0;
  }

  asio::awaitable<core::Result<std::vector<tcp::endpoint>>> resolve(const Target& t,
                                                                    Clock::time_point deadline);
  asio::awaitable<core::Result<std::unique_ptr<Connection>>> open(const Target& t);
  asio::awaitable<core::Result<void>> handshake(Connection& conn, const Target& t,
                                                Clock::time_point deadline);
  asio::awaitable<boost::system::result<Exchanged, ExchangeFailure>> exchange(Connection& conn,
                                                                              const Request& req,
                                                                              const Target& t,
                                                                              core::Millis timeout);
};

// The resolver cannot be given a deadline, so a timer cancels it.
asio::awaitable<core::Result<std::vector<tcp::endpoint>>> HttpClient::Impl::resolve(
    const Target& t, Clock::time_point deadline) {
  auto resolver = std::make_shared<tcp::resolver>(executor);
  asio::steady_timer timer(executor, deadline);
  timer.async_wait([weak = std::weak_ptr<tcp::resolver>(resolver)](error_code ec) {
    if (auto r = weak.lock(); r && !ec) r->cancel();
  });
  auto [ec, results] = co_await resolver->async_resolve(t.host, t.port, kAwait);
  timer.cancel();
  if (ec == asio::error::operation_aborted && Clock::now() >= deadline) {
    co_return unavailable(fmt::format("resolve {}: no answer within {}", t.host,
                                      core::format_duration(options.connect_timeout)));
  }
  if (ec) co_return unavailable(fmt::format("resolve {}: {}", t.host, ec.message()));
  std::vector<tcp::endpoint> endpoints;
  for (const auto& entry : results) endpoints.push_back(entry.endpoint());
  co_return endpoints;
}

asio::awaitable<core::Result<std::unique_ptr<Connection>>> HttpClient::Impl::open(const Target& t) {
  const auto deadline = Clock::now() + options.connect_timeout;
  auto resolved = co_await resolve(t, deadline);
  if (!resolved) co_return resolved.error();
  // Every address is checked, not just the first: a name may resolve to a
  // public and an internal address at once.
  std::vector<tcp::endpoint> allowed;
  std::optional<core::Error> refused;
  for (const auto& ep : *resolved) {
    auto ok = options.addresses.check(ep.address());
    if (ok) {
      allowed.push_back(ep);
    } else if (!refused) {
      refused = ok.error();
    }
  }
  if (allowed.empty()) {
    co_return refused ? *refused : unavailable(fmt::format("resolve {}: no address", t.host));
  }
  auto conn = t.tls ? std::make_unique<Connection>(executor, *tls_context)
                    : std::make_unique<Connection>(executor);
  auto& stream = conn->tcp();
  core::Error last_error;
  bool connected = false;
  for (const auto& ep : allowed) {
    stream.close();
    stream.expires_at(deadline);
    auto [ec] = co_await stream.async_connect(ep, kAwait);
    if (!ec) {
      connected = true;
      break;
    }
    if (ec == beast::error::timeout) {
      last_error =
          unavailable(fmt::format("connect to {}: no connection within {}", endpoint_text(ep),
                                  core::format_duration(options.connect_timeout)));
      break;  // the whole budget is spent
    }
    last_error = unavailable(fmt::format("connect to {}: {}", endpoint_text(ep), ec.message()));
  }
  if (!connected) co_return last_error;
  ++connections_opened;
  error_code ignored;
  stream.socket().set_option(tcp::no_delay(true), ignored);
  if (t.tls) {
    auto shaken = co_await handshake(*conn, t, deadline);
    if (!shaken) co_return shaken.error();
  }
  stream.expires_never();
  co_return conn;
}

asio::awaitable<core::Result<void>> HttpClient::Impl::handshake(Connection& conn, const Target& t,
                                                                Clock::time_point deadline) {
  auto& tls = std::get<Connection::Tls>(conn.stream);
  if (!tls::prepare_client(tls.native_handle(), t.host, !options.insecure_tls)) {
    co_return unavailable(fmt::format("TLS handshake with {}: cannot set the server name", t.host));
  }
  conn.tcp().expires_at(deadline);
  auto [hec] = co_await tls.async_handshake(ssl::stream_base::client, kAwait);
  if (hec == beast::error::timeout) {
    co_return unavailable(fmt::format("TLS handshake with {}: no answer within {}", t.host,
                                      core::format_duration(options.connect_timeout)));
  }
  if (hec) {
    co_return unavailable(
        fmt::format("TLS handshake with {}: {}", t.host, tls_failure(hec, tls.native_handle())));
  }
  co_return core::Result<void>{};
}

asio::awaitable<boost::system::result<Exchanged, ExchangeFailure>> HttpClient::Impl::exchange(
    Connection& conn, const Request& req, const Target& t, core::Millis timeout) {
  auto timed_out = [&](bool partial) {
    return ExchangeFailure{
        unavailable(fmt::format("no {}response from {} within {}", partial ? "complete " : "",
                                t.authority, core::format_duration(timeout))),
        false};
  };
  // One deadline for writing the request and reading the whole response.
  conn.tcp().expires_after(timeout);
  auto [wec, written] =
      co_await std::visit([&](auto& s) { return http::async_write(s, req, kAwait); }, conn.stream);
  if (wec == beast::error::timeout) co_return timed_out(false);
  if (wec) {
    co_return ExchangeFailure{
        unavailable(fmt::format("send the request to {}: {}", t.authority, wec.message())),
        conn.reused};
  }
  for (;;) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(options.max_response_body);
    parser.header_limit(kMaxResponseHeader);
    auto [rec, read] = co_await std::visit(
        [&](auto& s) { return http::async_read(s, conn.buffer, parser, kAwait); }, conn.stream);
    if (rec == beast::error::timeout) co_return timed_out(parser.got_some());
    if (rec == http::error::body_limit) {
      co_return ExchangeFailure{
          unavailable(fmt::format("response body over {} bytes", options.max_response_body)),
          false};
    }
    if (rec) {
      co_return ExchangeFailure{
          unavailable(fmt::format("read the response from {}: {}", t.authority, rec.message())),
          conn.reused && !parser.got_some()};
    }
    const unsigned status = parser.get().result_int();
    // Interim answers (100 Continue, 103 Early Hints) precede the real one.
    if (status >= 100 && status < 200 && status != 101) continue;
    Exchanged out;
    // A body ended by closing the connection, or bytes after the response,
    // leave nothing to reuse; nor does a switch of protocols.
    out.keep =
        parser.get().keep_alive() && !parser.need_eof() && conn.buffer.size() == 0 && status != 101;
    auto res = parser.release();
    out.response.status = status;
    for (const auto& field : res) {
      out.response.headers.push_back(
          {std::string(field.name_string()), std::string(field.value())});
    }
    out.response.body = std::move(res.body());
    conn.tcp().expires_never();
    conn.reused = true;
    co_return out;
  }
}

asio::awaitable<core::Result<HttpResponse>> HttpClient::Impl::post(std::shared_ptr<Impl> self,
                                                                   HttpRequest request) {
  auto target = parse_target(request.url);
  if (!target) co_return target.error();
  const Request req = build_request(*target, request, self->options.user_agent);
  auto conn = self->take_idle(target->origin);
  for (;;) {
    if (!conn) {
      auto opened = co_await self->open(*target);
      if (!opened) co_return opened.error();
      conn = std::move(*opened);
    }
    auto got = co_await self->exchange(*conn, req, *target, request.timeout);
    if (got) {
      if (got->keep) {
        self->put_idle(target->origin, std::move(conn));
      } else {
        conn->close();
      }
      co_return std::move(got->response);
    }
    conn->close();
    // A kept-alive connection the peer closed while it sat idle fails before
    // any byte of a response: the request is sent once more on a fresh
    // connection (a fresh one is never stale, so this happens at most once).
    if (!got.error().stale) co_return std::move(got.error().error);
    conn.reset();
  }
}

HttpClient::HttpClient(asio::any_io_executor executor, HttpClientOptions options)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(options))) {}

HttpClient::~HttpClient() {
  impl_->close_idle();
}

asio::awaitable<core::Result<HttpResponse>> HttpClient::post(HttpRequest request) {
  return Impl::post(impl_, std::move(request));
}

void HttpClient::close_idle() {
  impl_->close_idle();
}

HttpClientStats HttpClient::stats() const {
  return {.connections_opened = impl_->connections_opened, .idle = impl_->idle_count};
}

}  // namespace errand::engine::push
