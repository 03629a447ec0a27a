#include "client/http.hpp"

#include "asio/tls_client.hpp"
#include "core/duration.hpp"
#include "core/mutex.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/url/parse.hpp>

#include <optional>
#include <utility>
#include <variant>
#include <vector>

namespace errand::client {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

// Big enough for a page of 1000 jobs with large payloads; a bound all the same.
constexpr std::uint64_t kMaxResponseBody = 1ull << 30;

// One keep-alive connection with its own single-threaded io_context. A call
// runs asynchronous operations on it to completion: that makes the call
// synchronous while still honouring tcp_stream's time-outs, which Beast
// applies only to asynchronous operations.
struct Connection {
  using Tls = ssl::stream<beast::tcp_stream>;
  explicit Connection(ssl::context* tls) {
    if (tls) stream.emplace<Tls>(ioc, *tls);
  }
  asio::io_context ioc{1};
  std::variant<beast::tcp_stream, Tls> stream{std::in_place_index<0>, ioc};
  beast::flat_buffer buffer;
  bool reused = false;  // has already served a request (may have gone stale)

  beast::tcp_stream& tcp() {
    return std::visit([](auto& s) -> beast::tcp_stream& { return beast::get_lowest_layer(s); },
                      stream);
  }
  // Calls f with the stream requests go over (plain or TLS).
  template <class F>
  decltype(auto) with_stream(F&& f) {
    return std::visit(std::forward<F>(f), stream);
  }
};

template <class Start>
beast::error_code run_op(Connection& c, Start&& start) {
  beast::error_code result = asio::error::would_block;
  std::forward<Start>(start)([&result](beast::error_code ec, auto&&...) { result = ec; });
  c.ioc.restart();
  c.ioc.run();
  return result;
}

http::verb to_verb(Method m) {
  switch (m) {
    case Method::get:
      return http::verb::get;
    case Method::post:
      return http::verb::post;
    case Method::put:
      return http::verb::put;
    case Method::del:
      return http::verb::delete_;
  }
  return http::verb::get;
}

constexpr std::string_view kSendStep = "send the request";

// How one attempt at an exchange went wrong.
struct ExchangeFailure {
  beast::error_code ec;
  bool stale = false;     // a reused connection failed before any response byte
  std::string_view step;  // kSendStep, or "read the response"
};

}  // namespace

std::string_view method_name(Method m) noexcept {
  switch (m) {
    case Method::get:
      return "GET";
    case Method::post:
      return "POST";
    case Method::put:
      return "PUT";
    case Method::del:
      return "DELETE";
  }
  return "GET";
}

core::Result<Endpoint> parse_endpoint(std::string_view url) {
  auto bad = [&](std::string why) {
    return core::invalid("url", "server URL " + std::string(url) + " " + why);
  };
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return bad("is not a valid URL (expected http://host:port)");
  const auto& u = *parsed;
  const bool tls = u.scheme_id() == boost::urls::scheme::https;
  if (!tls && u.scheme_id() != boost::urls::scheme::http)
    return bad("must start with http:// or https://");
  if (u.has_userinfo()) return bad("must not contain user information");
  if (u.has_query() || u.has_fragment()) return bad("must not contain a query or fragment");
  Endpoint ep;
  ep.tls = tls;
  ep.host = u.host_address();
  if (ep.host.empty()) return bad("has no host");
  ep.port = u.has_port() ? std::string(u.port()) : tls ? "443" : "80";
  // Boost.URL accepts any digits as a port; a socket needs 1..65535.
  if (ep.port.empty() || ep.port.size() > 5 || std::stoul(ep.port) == 0 ||
      std::stoul(ep.port) > 65535) {
    return bad("has an invalid port");
  }
  ep.host_header = u.encoded_host_and_port();
  ep.base_path = u.encoded_path();
  while (!ep.base_path.empty() && ep.base_path.back() == '/') ep.base_path.pop_back();
  ep.url = (tls ? "https://" : "http://") + ep.host_header + ep.base_path;
  return ep;
}

core::Result<std::shared_ptr<ssl::context>> make_tls_context(const std::string& ca_file) {
  auto made = tls::make_client_context(ca_file);
  if (!made.context) {
    return core::invalid("ca_file", "cannot load the CA file " + ca_file + ": " + made.error);
  }
  return std::move(made.context);
}

struct HttpClient::Impl {
  Endpoint endpoint;
  HttpOptions options;
  std::optional<core::Error> setup_error;  // the TLS context could not be made
  core::Mutex mutex;
  std::vector<std::unique_ptr<Connection>> idle GUARDED_BY(mutex);

  core::Error unreachable(std::string_view why) const {
    return core::make_error(core::errc::unavailable,
                            "cannot reach errand at " + endpoint.url + ": " + std::string(why));
  }

  std::unique_ptr<Connection> take_idle() EXCLUDES(mutex) {
    core::MutexLock lock(mutex);
    if (idle.empty()) return nullptr;
    auto c = std::move(idle.back());
    idle.pop_back();
    return c;
  }

  void put_idle(std::unique_ptr<Connection> c) EXCLUDES(mutex) {
    core::MutexLock lock(mutex);
    if (idle.size() < options.max_idle_connections) idle.push_back(std::move(c));
  }

  core::Result<std::unique_ptr<Connection>> open() const {
    auto c = std::make_unique<Connection>(endpoint.tls ? options.tls.get() : nullptr);
    beast::error_code ec;
    tcp::resolver resolver(c->ioc);
    auto results = resolver.resolve(endpoint.host, endpoint.port, ec);
    if (ec) return unreachable(ec.message());
    auto& stream = c->tcp();
    stream.expires_after(options.connect_timeout);
    ec = run_op(*c, [&](auto handler) { stream.async_connect(results, std::move(handler)); });
    if (ec == beast::error::timeout) {
      return unreachable("no connection within " + core::format_duration(options.connect_timeout));
    }
    if (ec) return unreachable(ec.message());
    stream.socket().set_option(tcp::no_delay(true), ec);
    if (endpoint.tls) {
      // The handshake shares the connect time-out.
      auto& tls_stream = std::get<Connection::Tls>(c->stream);
      if (!tls::prepare_client(tls_stream.native_handle(), endpoint.host, true)) {
        return unreachable("TLS handshake: cannot set the server name " + endpoint.host);
      }
      ec = run_op(*c, [&](auto handler) {
        tls_stream.async_handshake(ssl::stream_base::client, std::move(handler));
      });
      if (ec == beast::error::timeout) {
        return unreachable("no TLS handshake within " +
                           core::format_duration(options.connect_timeout));
      }
      if (ec) {
        return unreachable("TLS handshake failed: " +
                           tls::failure_text(ec, tls_stream.native_handle()));
      }
    }
    stream.expires_never();
    return c;
  }

  http::request<http::string_body> build(const HttpRequest& r) const {
    http::request<http::string_body> req{to_verb(r.method), endpoint.base_path + r.target, 11};
    req.set(http::field::host, endpoint.host_header);
    req.set(http::field::user_agent, options.user_agent);
    req.set(http::field::accept, "application/json");
    if (!options.bearer.empty()) req.set(http::field::authorization, "Bearer " + options.bearer);
    if (!r.body.empty()) {
      req.set(http::field::content_type, "application/json");
      req.body() = r.body;
    }
    req.keep_alive(true);
    req.prepare_payload();
    return req;
  }

  // One request/response on `c`. On success `keep` says whether the server
  // left the connection open for another request.
  boost::system::result<HttpResponse, ExchangeFailure> exchange(
      Connection& c, const http::request<http::string_body>& req, core::Millis read_timeout,
      bool& keep) const {
    c.tcp().expires_after(options.io_timeout);
    auto ec = run_op(c, [&](auto handler) {
      c.with_stream([&](auto& s) { http::async_write(s, req, std::move(handler)); });
    });
    if (ec) return ExchangeFailure{ec, c.reused && ec != beast::error::timeout, kSendStep};
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxResponseBody);
    c.tcp().expires_after(read_timeout);
    ec = run_op(c, [&](auto handler) {
      c.with_stream([&](auto& s) { http::async_read(s, c.buffer, parser, std::move(handler)); });
    });
    if (ec) {
      bool stale = c.reused && !parser.got_some() && ec != beast::error::timeout;
      return ExchangeFailure{ec, stale, "read the response"};
    }
    auto res = parser.release();
    keep = res.keep_alive();
    c.tcp().expires_never();
    c.reused = true;
    return HttpResponse{static_cast<int>(res.result_int()), std::move(res.body())};
  }

  SendFailure failure(const ExchangeFailure& f, core::Millis read_timeout) const {
    // A request not wholly written cannot be acted on; one written may have been.
    const bool written = f.step != kSendStep;
    if (f.ec == beast::error::timeout) {
      auto limit = written ? read_timeout : options.io_timeout;
      return {unreachable("no response within " + core::format_duration(limit)), written};
    }
    return {unreachable("cannot " + std::string(f.step) + ": " + f.ec.message()), written};
  }

  SendResult send(const HttpRequest& r) {
    if (setup_error) return SendFailure{*setup_error, false};
    auto req = build(r);
    auto read_timeout = r.read_timeout.count() > 0 ? r.read_timeout : options.io_timeout;
    auto conn = take_idle();
    // A kept-alive connection may have been closed by the server while idle;
    // the request then never reached it, so one retry on a new one is safe.
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (!conn) {
        auto opened = open();
        if (!opened) return SendFailure{opened.error(), false};
        conn = std::move(*opened);
      }
      bool keep = false;
      auto got = exchange(*conn, req, read_timeout, keep);
      if (got) {
        if (keep) put_idle(std::move(conn));
        return std::move(*got);
      }
      if (!got.error().stale || attempt == 1) return failure(got.error(), read_timeout);
      conn.reset();
    }
    return SendFailure{unreachable("unexpected retry loop exit"), true};
  }
};

HttpClient::HttpClient(Endpoint endpoint, HttpOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->endpoint = std::move(endpoint);
  impl_->options = std::move(options);
  if (impl_->endpoint.tls && !impl_->options.tls) {
    auto made = make_tls_context({});
    if (made) {
      impl_->options.tls = std::move(*made);
    } else {
      impl_->setup_error = made.error();
    }
  }
}

HttpClient::~HttpClient() = default;

void throw_exception_from_error(const SendFailure& f, const boost::source_location& loc) {
  core::throw_exception_from_error(f.error, loc);
}

SendResult HttpClient::send(const HttpRequest& request) {
  return impl_->send(request);
}

const Endpoint& HttpClient::endpoint() const noexcept {
  return impl_->endpoint;
}

}  // namespace errand::client
