#include "api/server.hpp"

#include "core/metrics.hpp"
#include "core/mutex.hpp"

#include "api/errors.hpp"
#include "api/request_head.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
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
#include <boost/beast/ssl.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <type_traits>
#include <unordered_map>

namespace errand::api {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using asio::awaitable;
using asio::ip::tcp;

namespace {

// A connection is one of two stream types; the code that serves it is a
// template over them, so the plain one pays nothing for TLS.
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
template <class Stream>
constexpr bool kIsTls = std::is_same_v<Stream, TlsStream>;

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

// A streamed body written as HTTP/1.1 chunks straight to the stream.
template <class Stream>
class ChunkSink final : public StreamSink {
 public:
  // Shared with wakers and the peer watch's read, which may outlive the sink.
  // Touched only on the connection's strand.
  struct Signal {
    explicit Signal(asio::any_io_executor executor) : timer(executor) {}
    asio::steady_timer timer;
    bool woken = false;
    bool peer_gone = false;           // the client closed or reset the connection
    bool watching = false;            // the sink (and so its socket) lives: the read may read again
    bool reading = false;             // TLS: a read through the stream is pending
    std::array<char, 512> dropped{};  // what a client sends while its stream runs
  };

  ChunkSink(Stream& stream, const std::atomic<bool>& stopping, core::Millis write_timeout)
      : stream_(stream),
        stopping_(stopping),
        write_timeout_(write_timeout),
        signal_(std::make_shared<Signal>(stream.get_executor())) {}
  ~ChunkSink() override {
    signal_->watching = false;
    signal_->timer.cancel();
  }

  // Keeps a read pending on the socket while the body streams, so that a
  // client that goes away is seen at once (end of file or reset) rather than
  // at the next write, a keep-alive up to 15 s later: its stream ends and
  // frees its slot (StreamLimits). Whatever the client sends meanwhile is
  // dropped. The read ends when the connection closes (plain), or at
  // end_watch() (TLS).
  void watch_peer() {
    signal_->watching = true;
    if constexpr (kIsTls<Stream>) {
      // A TLS stream is read through (an alert or close_notify is data to
      // the socket); the pending read must not inherit a write's deadline.
      beast::get_lowest_layer(stream_).expires_never();
      read_peer_tls(stream_, signal_);
    } else {
      read_peer(stream_.socket(), signal_);
    }
  }

  // TLS: stops the peer watch, cancelling the read through the stream and
  // waiting for it: the stream must outlive every operation on it. (A plain
  // watch reads the socket, which outlives the sink, and just stops.)
  awaitable<void> end_watch() {
    signal_->watching = false;
    if constexpr (kIsTls<Stream>) {
      boost::system::error_code ignored;
      if (signal_->reading) beast::get_lowest_layer(stream_).socket().cancel(ignored);
      while (signal_->reading) {
        signal_->timer.expires_after(std::chrono::hours(1));
        boost::system::error_code ec;
        co_await signal_->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
    }
  }

  awaitable<bool> write(std::string_view data) override {
    if (stopping_ || failed_ || signal_->peer_gone) co_return false;
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

  bool stopping() const override { return stopping_ || signal_->peer_gone; }

  // The last chunk, after the producer returned.
  awaitable<void> finish() {
    if (failed_ || signal_->peer_gone) co_return;
    const std::array<asio::const_buffer, 1> last{asio::buffer("0\r\n\r\n", 5)};
    co_await send(last);
  }

 private:
  template <class Buffers>
  awaitable<bool> send(const Buffers& buffers) {
    boost::system::error_code ec;
    auto& lowest = beast::get_lowest_layer(stream_);
    lowest.expires_after(write_timeout_);
    co_await asio::async_write(stream_, buffers, asio::redirect_error(asio::use_awaitable, ec));
    lowest.expires_never();
    if (ec) failed_ = true;
    co_return !ec;
  }

  // The handler runs on the socket's executor, the connection's strand; it
  // touches the socket only while the sink lives (the socket outlives it).
  static void read_peer(tcp::socket& socket, std::shared_ptr<Signal> signal) {
    auto buffer = asio::buffer(signal->dropped);
    socket.async_read_some(
        buffer, [&socket, signal = std::move(signal)](boost::system::error_code ec, std::size_t) {
          if (!signal->watching) return;
          if (!ec) return read_peer(socket, signal);
          signal->peer_gone = true;
          signal->woken = true;
          signal->timer.cancel();
        });
  }

  static void read_peer_tls(Stream& stream, std::shared_ptr<Signal> signal) {
    signal->reading = true;
    auto buffer = asio::buffer(signal->dropped);
    stream.async_read_some(
        buffer, [&stream, signal = std::move(signal)](boost::system::error_code ec, std::size_t) {
          signal->reading = false;
          if (!signal->watching) {
            signal->timer.cancel();  // end_watch() waits for this
            return;
          }
          if (!ec) {
            beast::get_lowest_layer(stream).expires_never();
            return read_peer_tls(stream, signal);
          }
          signal->peer_gone = true;
          signal->woken = true;
          signal->timer.cancel();
        });
  }

  Stream& stream_;
  const std::atomic<bool>& stopping_;
  core::Millis write_timeout_;
  std::shared_ptr<Signal> signal_;
  bool failed_ = false;
};

constexpr std::chrono::seconds kLogInterval{10};
// A refused request's connection is drained this long (or this much) after
// the answer, so the client reads the answer rather than a reset.
constexpr core::Millis kLingerTime{1'000};
constexpr std::size_t kLingerBytes = 1 << 20;
// How long a TLS connection's close waits for the peer's close_notify.
constexpr core::Millis kTlsShutdownTime{1'000};

// A plain HTTP request on a TLS port: OpenSSL sees "GET " where a TLS
// record should be.
bool is_http_on_tls(const boost::system::error_code& ec) {
  return ec.category() == asio::error::get_ssl_category() &&
         ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_HTTP_REQUEST;
}

std::string tls_reason(const boost::system::error_code& ec) {
  if (ec.category() == asio::error::get_ssl_category()) {
    if (const char* r = ERR_reason_error_string(static_cast<unsigned long>(ec.value()))) return r;
  }
  return ec.message();
}

// Counts a recurring event and says when to log it: at the first, then at
// most once per interval, with how many happened since the last line.
class LogEvery {
 public:
  // The number to report now, or 0 when the line is not due.
  std::size_t note() {
    ++count_;
    const auto now = std::chrono::steady_clock::now();
    if (logged_ && now - last_ < kLogInterval) return 0;
    logged_ = true;
    last_ = now;
    return std::exchange(count_, 0);
  }

 private:
  std::size_t count_ = 0;
  bool logged_ = false;
  std::chrono::steady_clock::time_point last_{};
};

bool out_of_descriptors(const boost::system::error_code& ec) {
  return ec == asio::error::no_descriptors ||
         ec == boost::system::errc::too_many_files_open_in_system ||
         ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
}

std::int64_t steady_now() {
  return std::chrono::steady_clock::now().time_since_epoch().count();
}

}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  // A connection as its session sees it.
  struct Connection {
    beast::tcp_stream* stream;
    std::atomic<bool> idle{true};
    std::atomic<std::int64_t> idle_since{steady_now()};  // steady clock ticks
    std::uint64_t ticket = 0;  // its key in `connections`, set before it serves
  };
  // An open connection as the server keeps it (in `connections`).
  struct Tracked {
    std::shared_ptr<Connection> connection;
    bool evicting = false;  // being closed to make room
    // Set while a response streams: ends its wait so it sees the stop.
    std::function<void()> stop_stream;
  };

  Impl(asio::io_context& io, const Router& router, Services& services, ServerOptions options)
      : io(io), router(router), services(services), options(std::move(options)), acceptor(io) {
    reserve_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  }
  ~Impl() {
    if (reserve_fd >= 0) ::close(reserve_fd);
  }

  // Out of descriptors the listener stays readable, so accepting again at
  // once would spin. The reserve descriptor is given up to accept and close
  // what waits in the backlog: those clients see a prompt close, not a hang.
  void shed_backlog() {
    if (reserve_fd >= 0) ::close(reserve_fd);
    const int listener = acceptor.native_handle();
    for (int i = 0; i < 64; ++i) {
      pollfd waiting{listener, POLLIN, 0};
      if (::poll(&waiting, 1, 0) != 1) break;
      const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) break;
      ::close(fd);
    }
    reserve_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  }

  awaitable<void> accept_loop() {
    auto self = shared_from_this();
    asio::steady_timer backoff(acceptor.get_executor());
    LogEvery accept_failures, refusals;
    while (!stopping) {
      boost::system::error_code ec;
      auto socket = co_await acceptor.async_accept(asio::make_strand(io),
                                                   asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (stopping || ec == asio::error::operation_aborted) break;
        const bool starved = out_of_descriptors(ec);
        if (starved) shed_backlog();
        if (const auto n = accept_failures.note()) {
          spdlog::warn("accept failed {} time(s) in the last {}s: {}{}", n, kLogInterval.count(),
                       ec.message(),
                       starved ? " (out of file descriptors: lower --max-connections or raise "
                                 "ulimit -n; waiting connections are closed)"
                               : "");
        }
        backoff.expires_after(std::chrono::milliseconds(starved ? 50 : 10));
        co_await backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      if (!make_room()) {
        if (const auto n = refusals.note()) {
          spdlog::warn(
              "{} connection(s) refused in the last {}s: {} are open (--max-connections) "
              "and none is idle",
              n, kLogInterval.count(), options.max_connections);
        }
        refuse_busy(socket);
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
    if (options.tls.enabled()) {
      // The certificate current now, for this connection's whole life.
      const auto context = current_tls();
      TlsStream stream(std::move(socket), *context);
      co_await run(stream, remote_text, loopback);
    } else {
      beast::tcp_stream stream(std::move(socket));
      co_await run(stream, remote_text, loopback);
    }
  }

  template <class Stream>
  awaitable<void> run(Stream& stream, const std::string& remote, bool loopback) {
    auto& lowest = beast::get_lowest_layer(stream);
    auto connection = std::make_shared<Connection>();
    connection->stream = &lowest;
    const auto ticket = add_connection(connection);
    // The TLS handshake and the first request head share one deadline.
    lowest.expires_after(options.header_timeout);
    bool shaken = true;
    try {
      if constexpr (kIsTls<Stream>) shaken = co_await handshake(stream, remote);
      if (shaken) co_await serve(stream, *connection, remote, loopback);
    } catch (const std::exception& e) {
      spdlog::error("connection from {} failed: {}", remote, e.what());
    }
    remove_connection(ticket);
    boost::system::error_code ec;
    if constexpr (kIsTls<Stream>) {
      // close_notify, so the client knows the answer was not cut short;
      // its own close_notify is waited for only briefly.
      if (shaken && lowest.socket().is_open()) {
        lowest.expires_after(kTlsShutdownTime);
        co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
      }
    }
    lowest.socket().shutdown(tcp::socket::shutdown_send, ec);
    lowest.socket().close(ec);
  }

  // The TLS handshake; false when it failed (a plain HTTP request is
  // answered with a 400 saying to use https).
  awaitable<bool> handshake(TlsStream& stream, const std::string& remote) {
    boost::system::error_code ec;
    co_await stream.async_handshake(ssl::stream_base::server,
                                    asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) co_return true;
    if (is_http_on_tls(ec)) {
      Response r = error_response(
          core::make_error(core::errc::invalid_argument,
                           "this port speaks HTTPS (TLS): use an https:// URL, not http://"));
      co_await refuse(stream.next_layer(), std::move(r), 11);
    } else {
      spdlog::debug("TLS handshake with {} failed: {}", remote, tls_reason(ec));
    }
    co_return false;
  }

  std::shared_ptr<ssl::context> current_tls() EXCLUDES(tls_mutex) {
    core::MutexLock lock(tls_mutex);
    return tls_context;
  }

  // A connection over --max-connections: on plain HTTP a 503 with a JSON
  // error is written without waiting (what the socket buffer takes), then
  // the connection is closed; a TLS client just sees the close.
  template <class Socket>
  void refuse_busy(Socket& socket) {
    if (!options.tls.enabled()) {
      static const std::string kBusy = [] {
        const std::string body =
            R"({"error":{"code":"unavailable","message":"the server has --max-connections )"
            R"(connections open and none idle: try again shortly"}})";
        return "HTTP/1.1 503 Service Unavailable\r\nServer: errand\r\n"
               "Content-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\n"
               "Content-Length: " +
               std::to_string(body.size()) + "\r\n\r\n" + body;
      }();
      (void)::send(socket.native_handle(), kBusy.data(), kBusy.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      ::shutdown(socket.native_handle(), SHUT_WR);
    }
    boost::system::error_code ignored;
    socket.close(ignored);
  }

  // Below max_connections: true. At it: closes the connection idle longest
  // to make room (true), or says there is none to close (false).
  bool make_room() EXCLUDES(mutex) {
    core::MutexLock lock(mutex);
    if (connections.size() - evicting < options.max_connections) return true;
    std::uint64_t victim = 0;
    std::int64_t oldest = 0;
    for (const auto& [ticket, tracked] : connections) {
      if (!tracked.connection->idle || tracked.evicting) continue;
      const auto since = tracked.connection->idle_since.load();
      if (victim == 0 || since < oldest) {
        victim = ticket;
        oldest = since;
      }
    }
    if (victim == 0) return false;
    auto& tracked = connections.at(victim);
    tracked.evicting = true;
    ++evicting;
    auto c = tracked.connection;
    asio::post(c->stream->get_executor(), [c, self = shared_from_this(), victim] {
      core::MutexLock inner(self->mutex);
      if (self->connections.count(victim) && c->idle) c->stream->cancel();
    });
    return true;
  }

  // Answers a request refused before its body was read and closes the
  // connection: the send side first, then what the client still sends is
  // read and dropped for a moment, so that it reads the answer (closing with
  // unread data would reset the connection under it).
  // Counts an answer in the metrics (errand_http_requests_total and, when
  // `started` is known, errand_http_request_seconds) and writes its request
  // line. Unrouted requests (route empty) share the route and method label
  // "unmatched", so labels stay bounded whatever paths and methods clients
  // send.
  void count(std::string_view request_id, std::string_view route, std::string_view method,
             int status, std::size_t bytes,
             std::optional<std::chrono::steady_clock::time_point> started) {
    constexpr std::string_view kUnmatched = "unmatched";
    const auto r = route.empty() ? kUnmatched : route;
    const auto verb = route.empty() ? kUnmatched : method;
    const double took =
        started ? std::chrono::duration<double>(std::chrono::steady_clock::now() - *started).count()
                : 0.0;
    if (auto* m = services.metrics) {
      m->http_requests.at({r, verb, std::to_string(status)}).add();
      if (started) m->http_seconds.at({r, verb}).observe(took);
    }
    const auto level = options.log_requests ? spdlog::level::info : spdlog::level::debug;
    if (!spdlog::should_log(level)) return;
    if (options.json_logs) {
      spdlog::log(level,
                  R"({{"msg":"request","request_id":"{}","method":"{}","route":"{}","status":{},)"
                  R"("duration_ms":{:.3f},"bytes":{}}})",
                  request_id, verb, r, status, took * 1000, bytes);
    } else {
      spdlog::log(level, "{} {} {} {:.3f}ms {}B request_id={}", verb, r, status, took * 1000, bytes,
                  request_id);
    }
  }

  // With TLS the answer is followed by a plain TCP close, not close_notify:
  // the answer's length says where it ends, and what the client still
  // sends is dropped undecrypted.
  template <class Stream>
  awaitable<void> refuse(Stream& stream, Response r, unsigned version) {
    auto res = to_beast(std::move(r), version, false);
    boost::system::error_code ec;
    auto& lowest = beast::get_lowest_layer(stream);
    lowest.expires_after(options.read_timeout);
    co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    lowest.socket().shutdown(tcp::socket::shutdown_send, ec);
    std::array<char, 16384> dropped;
    std::size_t total = 0;
    lowest.expires_after(kLingerTime);
    while (!ec && total < kLingerBytes) {
      total += co_await lowest.async_read_some(asio::buffer(dropped),
                                               asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  // Sends a complete error response; the connection is closed after it.
  template <class Stream>
  awaitable<void> send_error(Stream& stream, core::errc code, std::string message,
                             int status_override = 0) {
    Response r = error_response(core::make_error(code, std::move(message)));
    if (status_override) r.status = status_override;
    auto res = to_beast(std::move(r), 11, false);
    boost::system::error_code ec;
    beast::get_lowest_layer(stream).expires_after(options.read_timeout);
    co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
  }

  template <class Stream>
  awaitable<void> serve(Stream& stream, Connection& connection, const std::string& remote,
                        bool loopback) {
    auto& lowest = beast::get_lowest_layer(stream);
    beast::flat_buffer buffer;
    for (bool first = true;; first = false) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(options.max_header));
      // The route's limit is set once the head is admitted: a declared size
      // over it then gets a clear 413, not a parse error.
      parser.body_limit(boost::none);
      connection.idle_since = steady_now();
      connection.idle = true;
      if (stopping) co_return;
      // The first head's deadline (header_timeout) was set with the connection.
      if (!first) lowest.expires_after(options.idle_timeout);
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
          ec == asio::error::eof || ec == ssl::error::stream_truncated) {
        co_return;
      }
      if (ec) {
        co_return co_await send_error(stream, core::errc::invalid_argument,
                                      "malformed HTTP request: " + ec.message());
      }
      auto& req = parser.get();
      auto request = to_request(req, remote, loopback);
      // Host, route, credentials and the body's size, before the body is read.
      // (Named answers: GCC 12 mishandles temporaries in a co_await expression.)
      Admission admission;
      if (request) {
        admission = co_await router.admit(*request, services);
      } else {
        admission.refusal = error_response(request.error());
      }
      const auto max_body =
          admission.max_body ? std::min(admission.max_body, options.max_body) : options.max_body;
      if (!admission.refusal && parser.content_length() && *parser.content_length() > max_body) {
        admission.refusal = error_response(
            core::make_error(core::errc::payload_too_large,
                             fmt::format("the request body is larger than {} bytes", max_body)));
      }
      const std::string request_id = request_id_of(req);
      if (admission.refusal) {
        admission.refusal->headers.emplace_back("X-Request-Id", request_id);
        count(request_id, admission.route, request ? request->method : std::string_view{},
              admission.refusal->status, admission.refusal->body.size(), std::nullopt);
        co_return co_await refuse(stream, std::move(*admission.refusal), req.version());
      }
      parser.body_limit(max_body);
      if (beast::iequals(req[http::field::expect], "100-continue")) {
        http::response<http::empty_body> cont{http::status::continue_, 11};
        co_await http::async_write(stream, cont, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
      }
      lowest.expires_after(options.read_timeout);
      co_await http::async_read(stream, buffer, parser,
                                asio::redirect_error(asio::use_awaitable, ec));
      if (ec == http::error::body_limit) {
        co_return co_await send_error(
            stream, core::errc::payload_too_large,
            fmt::format("the request body is larger than {} bytes", max_body));
      }
      if (ec) co_return;
      request->body = std::move(req.body());
      // A long-poll may legitimately outlast the idle time-out.
      lowest.expires_never();
      const auto started = std::chrono::steady_clock::now();
      Response response = co_await router.dispatch(*request, services, admission.grant);
      response.headers.emplace_back("X-Request-Id", request_id);
      count(request_id, response.route, request->method, response.status, response.body.size(),
            started);
      if (response.stream) co_return co_await write_stream(stream, connection, response, req);
      const bool keep_alive = req.keep_alive() && !stopping;
      auto res = to_beast(std::move(response), req.version(), keep_alive);
      if (req.method() == http::verb::head) res.body().clear();
      lowest.expires_after(options.read_timeout);
      co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
      if (ec || !keep_alive) co_return;
    }
  }

  // Writes a streamed response; the connection closes after it.
  template <class Stream>
  awaitable<void> write_stream(Stream& stream, Connection& connection, Response& response,
                               const http::request<http::string_body>& req) {
    auto head = stream_head(response, req.version());
    http::response_serializer<http::empty_body> serializer{head};
    boost::system::error_code ec;
    beast::get_lowest_layer(stream).expires_after(options.read_timeout);
    co_await http::async_write_header(stream, serializer,
                                      asio::redirect_error(asio::use_awaitable, ec));
    if (ec || req.method() == http::verb::head) co_return;
    ChunkSink<Stream> sink(stream, stopping, options.read_timeout);
    sink.watch_peer();
    set_stop_stream(connection.ticket, sink.waker());
    // The watch must end before the stream does, even when the producer throws.
    std::exception_ptr failure;
    try {
      if (!stopping) co_await response.stream(sink);
    } catch (...) {
      failure = std::current_exception();
    }
    set_stop_stream(connection.ticket, nullptr);
    if (!failure) co_await sink.finish();
    if constexpr (kIsTls<Stream>) co_await sink.end_watch();
    if (failure) std::rethrow_exception(failure);
  }

  // Sets (or, with nullptr, clears) what ends the streamed response of
  // connection `ticket`.
  void set_stop_stream(std::uint64_t ticket, std::function<void()> stop) EXCLUDES(mutex) {
    core::MutexLock lock(mutex);
    if (const auto it = connections.find(ticket); it != connections.end()) {
      it->second.stop_stream = std::move(stop);
    }
  }

  std::uint64_t add_connection(std::shared_ptr<Connection> c) EXCLUDES(mutex) {
    core::MutexLock lock(mutex);
    const auto ticket = next_ticket++;
    c->ticket = ticket;
    connections.emplace(ticket, Tracked{.connection = std::move(c)});
    return ticket;
  }

  void remove_connection(std::uint64_t ticket) EXCLUDES(mutex) {
    core::MutexLock lock(mutex);
    const auto it = connections.find(ticket);
    if (it == connections.end()) return;
    if (it->second.evicting) --evicting;
    connections.erase(it);
  }

  void close_idle() EXCLUDES(mutex) {
    core::MutexLock lock(mutex);
    for (auto& [ticket, tracked] : connections) {
      if (tracked.stop_stream) tracked.stop_stream();
      auto c = tracked.connection;
      auto stream_executor = c->stream->get_executor();
      asio::post(stream_executor, [c, self = shared_from_this(), ticket = ticket] {
        core::MutexLock inner(self->mutex);
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
  core::Mutex mutex;
  std::uint64_t next_ticket GUARDED_BY(mutex) = 1;
  std::unordered_map<std::uint64_t, Tracked> connections GUARDED_BY(mutex);
  // Connections being closed to make room.
  std::size_t evicting GUARDED_BY(mutex) = 0;
  int reserve_fd = -1;  // given up to shed the backlog when out of descriptors
  core::Mutex tls_mutex;
  // New connections take it.
  std::shared_ptr<ssl::context> tls_context GUARDED_BY(tls_mutex);
};

HttpServer::HttpServer(asio::io_context& io, const Router& router, Services& services,
                       ServerOptions options)
    : impl_(std::make_shared<Impl>(io, router, services, std::move(options))) {}

HttpServer::~HttpServer() {
  stop();
}

core::Result<tcp::endpoint> HttpServer::listen() {
  if (impl_->options.tls.enabled()) {
    auto context = load_tls_context(impl_->options.tls);
    if (!context) return context.error();
    core::MutexLock lock(impl_->tls_mutex);
    impl_->tls_context = std::move(*context);
  }
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

core::Result<void> HttpServer::reload_tls() {
  if (!impl_->options.tls.enabled()) {
    return core::invalid("tls", "this server does not use TLS (no --tls-cert and --tls-key)");
  }
  auto context = load_tls_context(impl_->options.tls);
  if (!context) return context.error();
  core::MutexLock lock(impl_->tls_mutex);
  impl_->tls_context = std::move(*context);
  return {};
}

void HttpServer::use_tls(std::shared_ptr<boost::asio::ssl::context> context) {
  core::MutexLock lock(impl_->tls_mutex);
  impl_->tls_context = std::move(context);
}

bool HttpServer::tls() const noexcept {
  return impl_->options.tls.enabled();
}

}  // namespace errand::api
