// HttpClient against loopback servers run by the test on the same
// single-threaded io_context as the client: each step runs the io_context
// until the client's post() completes, so nothing waits on the clock except
// the time-outs under test. HTTPS uses a CA and server certificates made here
// with OpenSSL and written to a temporary directory.
#include "engine/push/http_client.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <stdlib.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace errand::engine::push {
namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using core::errc;
using core::Millis;

constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);

// ---- Test certificates (OpenSSL EVP/X509, in memory, saved as PEM) ----

using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Cert = std::unique_ptr<X509, decltype(&X509_free)>;

Key make_key() {
  Key key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  if (!key) throw std::runtime_error("EVP_EC_gen failed");
  return key;
}

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) throw std::runtime_error("bad extension " + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// A certificate for `key` named `common_name`, signed by `issuer` (or
// self-signed when issuer is null). `alt_names` e.g. "DNS:localhost,IP:127.0.0.1"
// makes a server certificate; empty makes a CA.
Cert make_cert(EVP_PKEY* key, const std::string& common_name, const std::string& alt_names,
               X509* issuer, EVP_PKEY* issuer_key) {
  static long serial = 1;
  Cert cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509* signer = issuer ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  add_extension(cert.get(), signer, NID_subject_key_identifier, "hash");
  add_extension(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
  if (alt_names.empty()) {
    add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    add_extension(cert.get(), signer, NID_subject_alt_name, alt_names);
    add_extension(cert.get(), signer, NID_ext_key_usage, "serverAuth");
  }
  if (!X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256())) {
    throw std::runtime_error("X509_sign failed");
  }
  return cert;
}

void write_pem(const std::filesystem::path& path, X509* cert, EVP_PKEY* key = nullptr) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(path.c_str(), "w"), BIO_free);
  if (!bio || !PEM_write_bio_X509(bio.get(), cert) ||
      (key && !PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr))) {
    throw std::runtime_error("cannot write " + path.string());
  }
}

// A test CA and server identities it signed, as PEM files in a fresh directory.
struct TestPki {
  std::filesystem::path dir;
  std::filesystem::path ca_pem;
  std::filesystem::path localhost_pem;  // certificate + key for localhost and 127.0.0.1
  std::filesystem::path other_pem;      // certificate + key for other.example only

  TestPki() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "errand-push-tls-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    dir = tmpl;
    ca_pem = dir / "ca.pem";
    localhost_pem = dir / "localhost.pem";
    other_pem = dir / "other.pem";
    Key ca_key = make_key();
    Cert ca = make_cert(ca_key.get(), "Errand Test CA", "", nullptr, nullptr);
    write_pem(ca_pem, ca.get());
    Key server_key = make_key();
    Cert localhost = make_cert(server_key.get(), "localhost", "DNS:localhost,IP:127.0.0.1",
                               ca.get(), ca_key.get());
    write_pem(localhost_pem, localhost.get(), server_key.get());
    Cert other =
        make_cert(server_key.get(), "other.example", "DNS:other.example", ca.get(), ca_key.get());
    write_pem(other_pem, other.get(), server_key.get());
  }
  ~TestPki() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

// ---- Loopback servers ----

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

class Server;
// What a server does with one accepted connection (the n-th, from 0).
using Script = std::function<asio::awaitable<void>(tcp::socket&, Server&, std::size_t n)>;

// Accepts connections on a loopback port and runs `script` on each, or, when
// given a TLS context, does the handshake and echoes. stop() closes the
// listener and every connection, so the io_context can run out of work.
class Server {
 public:
  Server(asio::io_context& ioc, Script script, std::shared_ptr<ssl::context> tls = nullptr,
         asio::ip::address address = asio::ip::address_v4::loopback())
      : acceptor_(ioc, {address, 0}), script_(std::move(script)), tls_(std::move(tls)) {
    asio::co_spawn(ioc, accept_loop(), [](std::exception_ptr) {});
  }

  std::string url(std::string_view path = "/hook") const {
    const auto ep = acceptor_.local_endpoint();
    const auto a = ep.address();
    const std::string host = a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
    return std::string(tls_ ? "https" : "http") + "://" + host + ":" + std::to_string(ep.port()) +
           std::string(path);
  }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  std::size_t accepted() const { return sockets_.size(); }

  void stop() {
    boost::system::error_code ec;
    acceptor_.close(ec);
    for (auto& s : sockets_) s->close(ec);
  }

  std::vector<Request> requests;  // every request read, in order

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto socket = std::make_shared<tcp::socket>(acceptor_.get_executor());
      auto [ec] = co_await acceptor_.async_accept(*socket, kAwait);
      if (ec) co_return;
      sockets_.push_back(socket);
      auto session = tls_ ? tls_echo(*socket) : script_(*socket, *this, sockets_.size() - 1);
      asio::co_spawn(acceptor_.get_executor(), std::move(session), [](std::exception_ptr) {});
    }
  }

  asio::awaitable<void> tls_echo(tcp::socket& socket);

  tcp::acceptor acceptor_;
  Script script_;
  std::shared_ptr<ssl::context> tls_;
  std::vector<std::shared_ptr<tcp::socket>> sockets_;
};

template <class Stream>
asio::awaitable<bool> read_request(Stream& s, beast::flat_buffer& buffer, Server& server) {
  Request req;
  auto [ec, n] = co_await http::async_read(s, buffer, req, kAwait);
  if (ec) co_return false;
  server.requests.push_back(std::move(req));
  co_return true;
}

template <class Stream>
asio::awaitable<void> respond(Stream& s, Response res) {
  res.prepare_payload();
  co_await http::async_write(s, res, kAwait);
}

Response echo_response(const Request& req, bool keep_alive = true) {
  Response res{http::status::created, 11};
  res.set(http::field::content_type, "application/json");
  res.set("X-Echo-Target", req.target());
  res.set("X-Errand-Test", "first");
  res.insert("X-Errand-Test", "second");
  res.keep_alive(keep_alive);
  res.body() = "echo:" + req.body();
  return res;
}

template <class Stream>
asio::awaitable<void> echo_forever(Stream& s, Server& server) {
  beast::flat_buffer buffer;
  while (co_await read_request(s, buffer, server)) {
    co_await respond(s, echo_response(server.requests.back()));
  }
}

asio::awaitable<void> Server::tls_echo(tcp::socket& socket) {
  ssl::stream<tcp::socket&> stream(socket, *tls_);
  auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, kAwait);
  if (!ec) co_await echo_forever(stream, *this);
}

// Scripts.

asio::awaitable<void> echo(tcp::socket& s, Server& server, std::size_t) {
  co_await echo_forever(s, server);
}

asio::awaitable<void> answer_then_close(tcp::socket& s, Server& server, std::size_t) {
  beast::flat_buffer buffer;
  if (!co_await read_request(s, buffer, server)) co_return;
  co_await respond(s, echo_response(server.requests.back(), false));
  boost::system::error_code ec;
  s.shutdown(tcp::socket::shutdown_both, ec);
  s.close(ec);
}

// The first connection answers once, then closes when the next request
// arrives, as a server whose keep-alive time-out just ended does; later
// connections echo.
asio::awaitable<void> close_on_second_request(tcp::socket& s, Server& server, std::size_t n) {
  if (n > 0) {
    co_await echo_forever(s, server);
    co_return;
  }
  beast::flat_buffer buffer;
  if (!co_await read_request(s, buffer, server)) co_return;
  co_await respond(s, echo_response(server.requests.back()));
  if (!co_await read_request(s, buffer, server)) co_return;
  boost::system::error_code ec;
  s.close(ec);
}

asio::awaitable<void> close_without_answer(tcp::socket& s, Server& server, std::size_t) {
  beast::flat_buffer buffer;
  if (!co_await read_request(s, buffer, server)) co_return;
  boost::system::error_code ec;
  s.close(ec);
}

// Reads the request, then waits for more that never comes (until stop()).
asio::awaitable<void> never_answer(tcp::socket& s, Server& server, std::size_t) {
  beast::flat_buffer buffer;
  while (co_await read_request(s, buffer, server)) {
  }
}

Script body_of(std::size_t size) {
  return [size](tcp::socket& s, Server& server, std::size_t) -> asio::awaitable<void> {
    beast::flat_buffer buffer;
    while (co_await read_request(s, buffer, server)) {
      Response res{http::status::ok, 11};
      res.body() = std::string(size, 'x');
      co_await respond(s, std::move(res));
    }
  };
}

asio::awaitable<void> continue_then_echo(tcp::socket& s, Server& server, std::size_t) {
  beast::flat_buffer buffer;
  if (!co_await read_request(s, buffer, server)) co_return;
  const std::string interim = "HTTP/1.1 100 Continue\r\n\r\n";
  co_await asio::async_write(s, asio::buffer(interim), kAwait);
  co_await respond(s, echo_response(server.requests.back()));
}

// ---- Fixture ----

HttpClientOptions local_options() {
  HttpClientOptions o;
  o.addresses.allow_private = true;
  o.connect_timeout = Millis{5'000};
  return o;
}

class HttpClientTest : public testing::Test {
 protected:
  void TearDown() override {
    client_.reset();
    for (auto& s : servers_) s->stop();
    ioc_.restart();
    ioc_.run();  // returns once every session has seen its socket closed
  }

  Server& serve(Script script, std::shared_ptr<ssl::context> tls = nullptr,
                asio::ip::address address = asio::ip::address_v4::loopback()) {
    servers_.push_back(std::make_unique<Server>(ioc_, std::move(script), std::move(tls), address));
    return *servers_.back();
  }

  Server& serve_tls(const std::filesystem::path& identity_pem) {
    auto tls = std::make_shared<ssl::context>(ssl::context::tls_server);
    tls->use_certificate_chain_file(identity_pem.string());
    tls->use_private_key_file(identity_pem.string(), ssl::context::pem);
    return serve(echo, std::move(tls));
  }

  HttpClient& client(HttpClientOptions options = local_options()) {
    client_ = std::make_unique<HttpClient>(ioc_.get_executor(), std::move(options));
    return *client_;
  }

  // Runs the io_context until this post() completes.
  core::Result<HttpResponse> post(const std::string& url, std::string body = "{}",
                                  Millis timeout = Millis{5'000},
                                  std::vector<HttpHeader> headers = {}) {
    std::optional<core::Result<HttpResponse>> out;
    HttpRequest request{
        .url = url, .headers = std::move(headers), .body = std::move(body), .timeout = timeout};
    asio::co_spawn(ioc_, client_->post(std::move(request)),
                   [&](std::exception_ptr e, core::Result<HttpResponse> r) {
                     if (e) std::rethrow_exception(e);
                     out = std::move(r);
                     ioc_.stop();
                   });
    ioc_.restart();
    ioc_.run();
    return std::move(*out);
  }

  asio::io_context ioc_;
  std::vector<std::unique_ptr<Server>> servers_;
  std::unique_ptr<HttpClient> client_;
};

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.rfind(prefix, 0) == 0;
}

// ---- Plain HTTP ----

TEST_F(HttpClientTest, PostsAndReadsTheWholeResponse) {
  auto& server = serve(echo);
  auto& c = client();
  auto r = post(server.url("/hook?attempt=1"), R"({"job":1})", Millis{5'000},
                {{"Content-Type", "application/json"},
                 {"X-Custom", "v"},
                 {"Host", "evil.example"},
                 {"Connection", "close"}});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 201u);
  EXPECT_EQ(r->body, R"(echo:{"job":1})");
  EXPECT_EQ(r->header("x-echo-target"), "/hook?attempt=1");
  EXPECT_EQ(r->header("X-ECHO-TARGET"), "/hook?attempt=1");
  EXPECT_EQ(r->header("x-errand-test"), "first");  // the first of two
  EXPECT_EQ(r->header("content-type"), "application/json");
  EXPECT_EQ(r->header("absent"), "");

  ASSERT_EQ(server.requests.size(), 1u);
  const auto& seen = server.requests[0];
  EXPECT_EQ(seen.method(), http::verb::post);
  EXPECT_EQ(seen.target(), "/hook?attempt=1");
  EXPECT_EQ(seen[http::field::host], "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(seen[http::field::user_agent], "errand");
  EXPECT_EQ(seen[http::field::content_type], "application/json");
  EXPECT_EQ(seen[http::field::content_length], "9");
  EXPECT_EQ(seen["X-Custom"], "v");
  EXPECT_EQ(seen.count(http::field::host), 1u);
  EXPECT_TRUE(seen.keep_alive());
  EXPECT_EQ(c.stats().idle, 1u);
}

TEST_F(HttpClientTest, EmptyPathIsSlash) {
  auto& server = serve(echo);
  client();
  auto r = post(server.url(""));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(server.requests.at(0).target(), "/");
}

TEST_F(HttpClientTest, Ipv6LiteralHostHeader) {
  boost::system::error_code ec;
  tcp::acceptor probe(ioc_);
  probe.open(tcp::v6(), ec);
  if (!ec) probe.bind({asio::ip::address_v6::loopback(), 0}, ec);
  if (ec) GTEST_SKIP() << "no IPv6 loopback here: " << ec.message();
  probe.close();
  auto& server = serve(echo, nullptr, asio::ip::address_v6::loopback());
  client();
  auto r = post(server.url());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(server.requests.at(0)[http::field::host], "[::1]:" + std::to_string(server.port()));
}

TEST_F(HttpClientTest, KeepAliveReusesOneConnection) {
  auto& server = serve(echo);
  auto& c = client();
  for (int i = 0; i < 3; ++i) {
    auto r = post(server.url(), std::to_string(i));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->body, "echo:" + std::to_string(i));
  }
  EXPECT_EQ(c.stats().connections_opened, 1u);
  EXPECT_EQ(server.accepted(), 1u);
  EXPECT_EQ(c.stats().idle, 1u);
}

TEST_F(HttpClientTest, RetriesOnceWhenAKeptAliveConnectionWasClosed) {
  auto& server = serve(close_on_second_request);
  auto& c = client();
  ASSERT_TRUE(post(server.url(), "first"));
  auto r = post(server.url(), "second");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, "echo:second");
  EXPECT_EQ(c.stats().connections_opened, 2u);
  ASSERT_EQ(server.requests.size(), 3u);  // the second one twice: dropped, then answered
}

// The first connection answers keep-alive, then the server hangs up (as one
// whose idle time-out ended does); later connections echo.
asio::awaitable<void> hang_up_after_answer(tcp::socket& s, Server& server, std::size_t n) {
  if (n > 0) {
    co_await echo_forever(s, server);
    co_return;
  }
  beast::flat_buffer buffer;
  if (!co_await read_request(s, buffer, server)) co_return;
  co_await respond(s, echo_response(server.requests.back()));
  boost::system::error_code ec;
  s.close(ec);
}

TEST_F(HttpClientTest, ServerClosingAnIdleConnectionCostsNothing) {
  auto& server = serve(hang_up_after_answer);
  auto& c = client();
  ASSERT_TRUE(post(server.url(), "a"));
  // Whether the close arrived before this post (the pooled connection is
  // dropped) or after its request was written (it is retried), it succeeds.
  auto r = post(server.url(), "b");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, "echo:b");
  EXPECT_EQ(c.stats().connections_opened, 2u);
}

TEST_F(HttpClientTest, HonoursConnectionClose) {
  auto& server = serve(answer_then_close);
  auto& c = client();
  auto first = post(server.url(), "1");
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->header("connection"), "close");
  EXPECT_EQ(c.stats().idle, 0u);
  auto second = post(server.url(), "2");
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(c.stats().connections_opened, 2u);
  EXPECT_EQ(server.requests.size(), 2u);  // no request was lost on a closed connection
}

TEST_F(HttpClientTest, AFreshConnectionThatFailsIsNotRetried) {
  auto& server = serve(close_without_answer);
  auto& c = client();
  auto r = post(server.url());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::unavailable);
  EXPECT_TRUE(starts_with(r.error().message,
                          "read the response from 127.0.0.1:" + std::to_string(server.port())))
      << r.error().message;
  EXPECT_EQ(c.stats().connections_opened, 1u);
  EXPECT_EQ(server.requests.size(), 1u);
}

TEST_F(HttpClientTest, InterimResponsesAreSkipped) {
  auto& server = serve(continue_then_echo);
  client();
  auto r = post(server.url(), "x");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 201u);
  EXPECT_EQ(r->body, "echo:x");
}

TEST_F(HttpClientTest, IdleConnectionsCloseAfterIdleTimeout) {
  auto& server = serve(echo);
  auto options = local_options();
  options.idle_timeout = Millis{50};
  auto& c = client(options);
  ASSERT_TRUE(post(server.url()));
  EXPECT_EQ(c.stats().idle, 1u);
  // Runs until the idle timer has fired (the time-out under test, not a sleep).
  ioc_.restart();
  for (int i = 0; i < 10'000 && c.stats().idle > 0; ++i) ioc_.run_one_for(std::chrono::seconds(5));
  EXPECT_EQ(c.stats().idle, 0u);
  ASSERT_TRUE(post(server.url()));
  EXPECT_EQ(c.stats().connections_opened, 2u);
}

TEST_F(HttpClientTest, CloseIdleLeavesNoWork) {
  auto& server = serve(echo);
  auto options = local_options();
  options.idle_timeout = Millis{3'600'000};
  auto& c = client(options);
  const std::string url = server.url();
  ASSERT_TRUE(post(url));
  c.close_idle();
  EXPECT_EQ(c.stats().idle, 0u);
  server.stop();
  ioc_.restart();
  ioc_.run();              // would wait for the idle time-out (an hour) if a timer were left
  auto after = post(url);  // the server is gone; the client still works
  ASSERT_FALSE(after);
  EXPECT_TRUE(starts_with(after.error().message, "connect to 127.0.0.1:")) << after.error().message;
}

TEST_F(HttpClientTest, ConnectionRefusedNamesTheAddress) {
  unsigned short port = 0;
  {
    tcp::acceptor closed(ioc_, {asio::ip::address_v4::loopback(), 0});
    port = closed.local_endpoint().port();
  }
  client();
  auto r = post("http://127.0.0.1:" + std::to_string(port) + "/hook");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::unavailable);
  EXPECT_EQ(r.error().message,
            "connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused");
}

TEST_F(HttpClientTest, NoResponseWithinTheTimeout) {
  auto& server = serve(never_answer);
  client();
  auto r = post(server.url(), "{}", Millis{200});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::unavailable);
  EXPECT_EQ(r.error().message,
            "no response from 127.0.0.1:" + std::to_string(server.port()) + " within 200ms");
  EXPECT_EQ(server.requests.size(), 1u);
}

TEST_F(HttpClientTest, ResponseBodyOverTheLimit) {
  auto& server = serve(body_of(2000));
  auto options = local_options();
  options.max_response_body = 1000;
  client(options);
  auto r = post(server.url());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::unavailable);
  EXPECT_EQ(r.error().message, "response body over 1000 bytes");

  auto& small = serve(body_of(1000));
  auto ok = post(small.url());
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->body.size(), 1000u);
}

TEST_F(HttpClientTest, AddressPolicyRefusesLoopback) {
  auto& server = serve(echo);
  HttpClientOptions options;  // allow_private = false
  auto& c = client(options);
  auto r = post(server.url());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::forbidden);
  EXPECT_EQ(r.error().message,
            "127.0.0.1 is a loopback address: push delivery to non-public addresses needs "
            "--push-allow-private or --push-allow");
  EXPECT_EQ(server.accepted(), 0u);
  EXPECT_EQ(c.stats().connections_opened, 0u);
}

TEST_F(HttpClientTest, AddressPolicyAllowedNetwork) {
  auto& server = serve(echo);
  HttpClientOptions options;
  options.addresses.allowed.push_back(*parse_cidr("127.0.0.0/8"));
  client(options);
  auto r = post(server.url());
  ASSERT_TRUE(r) << r.error().message;
}

TEST_F(HttpClientTest, InvalidUrl) {
  client();
  for (const char* url : {"ftp://example.com/x", "http://127.0.0.1:99999/", "http://127.0.0.1:0/",
                          "not a url", "http:///path"}) {
    auto r = post(url);
    ASSERT_FALSE(r) << url;
    EXPECT_EQ(r.error().code, errc::invalid_argument) << url;
    EXPECT_NE(r.error().message.find(url), std::string::npos) << r.error().message;
  }
}

// ---- HTTPS ----

class HttpsClientTest : public HttpClientTest {
 protected:
  static void SetUpTestSuite() { pki_ = new TestPki(); }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }
  static HttpClientOptions trusting() {
    auto o = local_options();
    o.ca_file = pki_->ca_pem.string();
    return o;
  }
  static std::string localhost_url(const Server& server) {
    return "https://localhost:" + std::to_string(server.port()) + "/hook";
  }

  static TestPki* pki_;
};
TestPki* HttpsClientTest::pki_ = nullptr;

TEST_F(HttpsClientTest, TrustedThroughCaFile) {
  auto& server = serve_tls(pki_->localhost_pem);
  auto& c = client(trusting());
  for (int i = 0; i < 2; ++i) {
    auto r = post(localhost_url(server), "tls");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->status, 201u);
    EXPECT_EQ(r->body, "echo:tls");
  }
  EXPECT_EQ(c.stats().connections_opened, 1u);
  EXPECT_EQ(server.requests.at(0)[http::field::host], "localhost:" + std::to_string(server.port()));
}

TEST_F(HttpsClientTest, IpAddressInTheCertificate) {
  auto& server = serve_tls(pki_->localhost_pem);
  client(trusting());
  auto r = post(server.url());  // https://127.0.0.1:port
  ASSERT_TRUE(r) << r.error().message;
}

TEST_F(HttpsClientTest, UnknownCaFailsVerification) {
  auto& server = serve_tls(pki_->localhost_pem);
  client();
  auto r = post(localhost_url(server));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::unavailable);
  EXPECT_TRUE(
      starts_with(r.error().message, "TLS handshake with localhost: certificate verify failed"))
      << r.error().message;
}

TEST_F(HttpsClientTest, InsecureTlsSkipsVerification) {
  auto& server = serve_tls(pki_->other_pem);
  auto options = local_options();
  options.insecure_tls = true;
  client(options);
  auto r = post(localhost_url(server));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 201u);
}

TEST_F(HttpsClientTest, WrongHostNameFailsVerification) {
  auto& server = serve_tls(pki_->other_pem);
  client(trusting());
  auto r = post(localhost_url(server));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::unavailable);
  EXPECT_EQ(r.error().message,
            "TLS handshake with localhost: certificate verify failed (hostname mismatch)");
}

TEST_F(HttpsClientTest, UnreadableCaFileThrowsNamingIt) {
  auto options = local_options();
  options.ca_file = (pki_->dir / "missing.pem").string();
  try {
    HttpClient c(ioc_.get_executor(), options);
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("missing.pem"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace errand::engine::push
