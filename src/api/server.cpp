#include "api/server.hpp"

#include "api/errors.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

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
  out.remote_address = remote;
  out.loopback = loopback;
  return out;
}

}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  struct Connection {
    beast::tcp_stream* stream;
    std::atomic<bool> idle{true};
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
      const bool keep_alive = req.keep_alive() && !stopping;
      auto res = to_beast(std::move(response), req.version(), keep_alive);
      if (req.method() == http::verb::head) res.body().clear();
      stream.expires_after(options.read_timeout);
      co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
      if (ec || !keep_alive) co_return;
    }
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
