#include "api/server.hpp"

#include "api/errors.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

#include <array>
#include <atomic>
#include <mutex>
#include <unordered_map>

namespace errand::api {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
using asio::ip::tcp;

namespace {

bool is_loopback(const asio::ip::address& a) {
  if (a.is_loopback()) return true;
  return a.is_v6() && a.to_v6().is_v4_mapped() &&
         asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).is_loopback();
}

http::response<http::string_body> to_beast(Response r, unsigned version, bool keep_alive) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), version};
  res.set(http::field::server, "errand");
  res.set(http::field::content_type, r.content_type);
  res.set(http::field::cache_control, "no-store");
  for (auto& [name, value] : r.headers) res.set(name, value);
  res.body() = std::move(r.body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

core::Result<Request> to_request(const http::request<http::string_body>& req,
                                 const std::string& remote, bool loopback) {
  Request out;
  out.method = std::string(req.method_string());
  auto url = boost::urls::parse_origin_form(req.target());
  if (!url) return core::invalid("target", "the request target is not a valid URL path");
  out.path = std::string(url->path());
  for (auto param : url->params()) out.query[std::string(param.key)] = std::string(param.value);
  out.body = req.body();
  out.authorization = std::string(req[http::field::authorization]);
  out.origin = std::string(req[http::field::origin]);
  out.last_event_id = std::string(req["Last-Event-ID"]);
  out.host = std::string(req[http::field::host]);
  out.cookie = std::string(req[http::field::cookie]);
  out.csrf_token = std::string(req["X-CSRF-Token"]);
  out.if_none_match = std::string(req[http::field::if_none_match]);
  out.remote_address = remote;
  out.loopback = loopback;
  return out;
}

// The head of a streamed response: chunked, and the connection closes after.
http::response<http::empty_body> stream_head(const Response& r, unsigned version) {
  http::response<http::empty_body> res{static_cast<http::status>(r.status), version};
  res.set(http::field::server, "errand");
  res.set(http::field::content_type, r.content_type);
  res.set(http::field::cache_control, "no-store");
  for (auto& [name, value] : r.headers) res.set(name, value);
  res.keep_alive(false);
  res.chunked(true);
  return res;
}

// A streamed body written as HTTP/1.1 chunks straight to the socket.
class ChunkSink final : public StreamSink {
 public:
  // Shared with wakers, which may outlive the sink.
  struct Signal {
    explicit Signal(asio::any_io_executor executor) : timer(executor) {}
    asio::steady_timer timer;
    bool woken = false;
  };

  ChunkSink(beast::tcp_stream& stream, const std::atomic<bool>& stopping,
            core::Millis write_timeout)
      : stream_(stream),
        stopping_(stopping),
        write_timeout_(write_timeout),
        signal_(std::make_shared<Signal>(stream.get_executor())) {}
  ~ChunkSink() override { signal_->timer.cancel(); }

  awaitable<bool> write(std::string_view data) override {
    if (stopping_ || failed_) co_return false;
    if (data.empty()) co_return true;
    const auto size = fmt::format("{:x}\r\n", data.size());
    const std::array<asio::const_buffer, 3> pieces{asio::buffer(size), asio::buffer(data),
                                                   asio::buffer("\r\n", 2)};
    co_return co_await send(pieces);
  }

  awaitable<void> wait(core::Millis timeout) override {
    if (!signal_->woken && !stopping_) {
      signal_->timer.expires_after(timeout);
      boost::system::error_code ec;
      co_await signal_->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    signal_->woken = false;
  }

  std::function<void()> waker() override {
    return [weak = std::weak_ptr<Signal>(signal_), executor = stream_.get_executor()] {
      asio::post(executor, [weak] {
        if (auto signal = weak.lock()) {
          signal->woken = true;
          signal->timer.cancel();
        }
      });
    };
  }

  bool stopping() const override { return stopping_; }

  // The last chunk, after the producer returned.
  awaitable<void> finish() {
    if (failed_) co_return;
    const std::array<asio::const_buffer, 1> last{asio::buffer("0\r\n\r\n", 5)};
    co_await send(last);
  }

 private:
  template <class Buffers>
  awaitable<bool> send(const Buffers& buffers) {
    boost::system::error_code ec;
    stream_.expires_after(write_timeout_);
    co_await asio::async_write(stream_, buffers, asio::redirect_error(asio::use_awaitable, ec));
    stream_.expires_never();
    if (ec) failed_ = true;
    co_return !ec;
  }

  beast::tcp_stream& stream_;
  const std::atomic<bool>& stopping_;
  core::Millis write_timeout_;
  std::shared_ptr<Signal> signal_;
  bool failed_ = false;
};

}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  struct Connection {
    beast::tcp_stream* stream;
    std::atomic<bool> idle{true};
    // Set while a response streams: ends its wait so it sees the stop.
    std::function<void()> stop_stream;
  };

  Impl(asio::io_context& io, const Router& router, Services& services, ServerOptions options)
      : io(io), router(router), services(services), options(std::move(options)), acceptor(io) {}

  awaitable<void> accept_loop() {
    auto self = shared_from_this();
    while (!stopping) {
      boost::system::error_code ec;
      auto socket = co_await acceptor.async_accept(asio::make_strand(io),
                                                   asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (stopping || ec == asio::error::operation_aborted) break;
        spdlog::warn("accept failed: {}", ec.message());
        continue;
      }
      // Answers and SSE events go out as soon as they are written, not held
      // back by Nagle's algorithm until the peer acknowledges earlier data.
      boost::system::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      auto executor = socket.get_executor();
      asio::co_spawn(executor, session(std::move(socket)), asio::detached);
    }
  }

  awaitable<void> session(tcp::socket socket) {
    auto self = shared_from_this();
    boost::system::error_code ec;
    const auto remote = socket.remote_endpoint(ec);
    const bool loopback = !ec && is_loopback(remote.address());
    const std::string remote_text = ec ? "?" : remote.address().to_string();
    beast::tcp_stream stream(std::move(socket));
    auto connection = std::make_shared<Connection>();
    connection->stream = &stream;
    const auto ticket = add_connection(connection);
    try {
      co_await serve(stream, *connection, remote_text, loopback);
    } catch (const std::exception& e) {
      spdlog::error("connection from {} failed: {}", remote_text, e.what());
    }
    remove_connection(ticket);
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream.socket().close(ec);
  }

  // Sends a complete error response; the connection is closed after it.
  awaitable<void> send_error(beast::tcp_stream& stream, core::errc code, std::string message,
                             int status_override = 0) {
    Response r = error_response(core::make_error(code, std::move(message)));
    if (status_override) r.status = status_override;
    auto res = to_beast(std::move(r), 11, false);
    boost::system::error_code ec;
    stream.expires_after(options.read_timeout);
    co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
  }

  awaitable<void> serve(beast::tcp_stream& stream, Connection& connection,
                        const std::string& remote, bool loopback) {
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(options.max_header));
      parser.body_limit(options.max_body);
      connection.idle = true;
      if (stopping) co_return;
      stream.expires_after(options.idle_timeout);
      boost::system::error_code ec;
      co_await http::async_read_header(stream, buffer, parser,
                                       asio::redirect_error(asio::use_awaitable, ec));
      connection.idle = false;
      if (ec == http::error::header_limit) {
        co_return co_await send_error(stream, core::errc::invalid_argument,
                                      "the request head is larger than the limit", 431);
      }
      if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
          ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
          ec == asio::error::eof) {
        co_return;
      }
      if (ec) {
        co_return co_await send_error(stream, core::errc::invalid_argument,
                                      "malformed HTTP request: " + ec.message());
      }
      if (parser.content_length() && *parser.content_length() > options.max_body) {
        co_return co_await send_error(
            stream, core::errc::payload_too_large,
            fmt::format("the request body is larger than {} bytes", options.max_body));
      }
      if (beast::iequals(parser.get()[http::field::expect], "100-continue")) {
        http::response<http::empty_body> cont{http::status::continue_, 11};
        co_await http::async_write(stream, cont, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
      }
      stream.expires_after(options.read_timeout);
      co_await http::async_read(stream, buffer, parser,
                                asio::redirect_error(asio::use_awaitable, ec));
      if (ec == http::error::body_limit) {
        co_return co_await send_error(
            stream, core::errc::payload_too_large,
            fmt::format("the request body is larger than {} bytes", options.max_body));
      }
      if (ec) co_return;
      const auto& req = parser.get();
      Response response;
      if (auto request = to_request(req, remote, loopback)) {
        // A long-poll may legitimately outlast the idle time-out.
        stream.expires_never();
        response = co_await router.dispatch(*request, services);
      } else {
        response = error_response(request.error());
      }
      if (response.stream) co_return co_await write_stream(stream, connection, response, req);
      const bool keep_alive = req.keep_alive() && !stopping;
      auto res = to_beast(std::move(response), req.version(), keep_alive);
      if (req.method() == http::verb::head) res.body().clear();
      stream.expires_after(options.read_timeout);
      co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
      if (ec || !keep_alive) co_return;
    }
  }

  // Writes a streamed response; the connection closes after it.
  awaitable<void> write_stream(beast::tcp_stream& stream, Connection& connection,
                               Response& response, const http::request<http::string_body>& req) {
    auto head = stream_head(response, req.version());
    http::response_serializer<http::empty_body> serializer{head};
    boost::system::error_code ec;
    stream.expires_after(options.read_timeout);
    co_await http::async_write_header(stream, serializer,
                                      asio::redirect_error(asio::use_awaitable, ec));
    if (ec || req.method() == http::verb::head) co_return;
    ChunkSink sink(stream, stopping, options.read_timeout);
    {
      std::lock_guard lock(mutex);
      connection.stop_stream = sink.waker();
    }
    if (!stopping) co_await response.stream(sink);
    {
      std::lock_guard lock(mutex);
      connection.stop_stream = nullptr;
    }
    co_await sink.finish();
  }

  std::uint64_t add_connection(std::shared_ptr<Connection> c) {
    std::lock_guard lock(mutex);
    const auto ticket = next_ticket++;
    connections.emplace(ticket, std::move(c));
    return ticket;
  }

  void remove_connection(std::uint64_t ticket) {
    std::lock_guard lock(mutex);
    connections.erase(ticket);
  }

  void close_idle() {
    std::lock_guard lock(mutex);
    for (auto& [ticket, c] : connections) {
      if (c->stop_stream) c->stop_stream();
      auto stream_executor = c->stream->get_executor();
      asio::post(stream_executor, [c = c, self = shared_from_this(), ticket = ticket] {
        std::lock_guard inner(self->mutex);
        if (self->connections.count(ticket) && c->idle) c->stream->cancel();
      });
    }
  }

  asio::io_context& io;
  const Router& router;
  Services& services;
  ServerOptions options;
  tcp::acceptor acceptor;
  std::atomic<bool> stopping{false};
  std::mutex mutex;
  std::uint64_t next_ticket = 1;
  std::unordered_map<std::uint64_t, std::shared_ptr<Connection>> connections;
};

HttpServer::HttpServer(asio::io_context& io, const Router& router, Services& services,
                       ServerOptions options)
    : impl_(std::make_shared<Impl>(io, router, services, std::move(options))) {}

HttpServer::~HttpServer() {
  stop();
}

core::Result<tcp::endpoint> HttpServer::listen() {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(impl_->options.host, ec);
  if (ec) {
    return core::invalid("listen", fmt::format("\"{}\" is not an IP address", impl_->options.host));
  }
  const tcp::endpoint endpoint(address, impl_->options.port);
  auto& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return core::make_error(core::errc::unavailable,
                            fmt::format("cannot listen on {}:{}: {}", impl_->options.host,
                                        impl_->options.port, ec.message()),
                            "listen");
  }
  return acceptor.local_endpoint();
}

void HttpServer::start() {
  asio::co_spawn(impl_->acceptor.get_executor(), impl_->accept_loop(), asio::detached);
}

void HttpServer::stop() {
  if (impl_->stopping.exchange(true)) return;
  asio::post(impl_->acceptor.get_executor(), [impl = impl_] {
    boost::system::error_code ec;
    impl->acceptor.close(ec);
  });
  impl_->close_idle();
}

}  // namespace errand::api
