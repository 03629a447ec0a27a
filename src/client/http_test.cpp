#include "client/http.hpp"
#include "client/test_peer.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

namespace errand::client {
namespace {
using namespace test_peer;
using core::errc;
using core::Millis;

TEST(ParseEndpoint, HostAndPort) {
  auto ep = parse_endpoint("http://127.0.0.1:8740");
  ASSERT_TRUE(ep) << ep.error().message;
  EXPECT_EQ(ep->host, "127.0.0.1");
  EXPECT_EQ(ep->port, "8740");
  EXPECT_EQ(ep->host_header, "127.0.0.1:8740");
  EXPECT_EQ(ep->base_path, "");
  EXPECT_EQ(ep->url, "http://127.0.0.1:8740");
}

TEST(ParseEndpoint, DefaultPortIpv6AndBasePath) {
  auto plain = parse_endpoint("http://localhost/");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->port, "80");
  EXPECT_EQ(plain->url, "http://localhost");
  auto v6 = parse_endpoint("http://[::1]:9000");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->host_header, "[::1]:9000");
  auto base = parse_endpoint("http://jobs.internal:80/errand/");
  ASSERT_TRUE(base);
  EXPECT_EQ(base->base_path, "/errand");
  EXPECT_EQ(base->url, "http://jobs.internal:80/errand");
}

TEST(ParseEndpoint, Https) {
  auto ep = parse_endpoint("https://jobs.example.com/");
  ASSERT_TRUE(ep) << ep.error().message;
  EXPECT_TRUE(ep->tls);
  EXPECT_EQ(ep->port, "443");
  EXPECT_EQ(ep->url, "https://jobs.example.com");
  auto plain = parse_endpoint("http://jobs.example.com:8740");
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->tls);
}

TEST(MakeTlsContext, NamesAnUnusableCaFile) {
  EXPECT_TRUE(make_tls_context(""));
  auto missing = make_tls_context("/nonexistent/ca.pem");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().field, "ca_file");
  EXPECT_NE(missing.error().message.find("/nonexistent/ca.pem"), std::string::npos);
}

TEST(ParseEndpoint, RefusesWhatItCannotUse) {
  for (const char* bad : {"ftp://h", "localhost:8740", "127.0.0.1:8740", "http://",
                          "http://u:p@h:1", "http://h:1/?q=1", "http://h:99999", ""}) {
    auto ep = parse_endpoint(bad);
    ASSERT_FALSE(ep) << bad;
    EXPECT_EQ(ep.error().code, errc::invalid_argument) << bad;
    EXPECT_EQ(ep.error().field, "url") << bad;
  }
  EXPECT_NE(parse_endpoint("ftp://x").error().message.find("https://"), std::string::npos);
}

HttpClient make_client(const std::string& url, Millis io_timeout = Millis{5'000}) {
  HttpOptions o;
  o.bearer = "s3cret";
  o.io_timeout = io_timeout;
  return HttpClient(*parse_endpoint(url), o);
}

TEST(HttpClient, SendsHeadersAndReusesTheConnection) {
  std::mutex mu;
  std::vector<http::request<http::string_body>> seen;
  Peer peer({[&](tcp::socket& s) {
    boost::beast::flat_buffer buf;
    for (int i = 0; i < 2; ++i) {
      http::request<http::string_body> req;
      if (!read_request(s, buf, req)) return;
      {
        std::lock_guard lock(mu);
        seen.push_back(req);
      }
      answer(s, req, R"({"n":)" + std::to_string(i) + "}");
    }
  }});
  auto client = make_client(peer.url() + "/base");
  auto first = client.send({Method::post, "/v1/jobs", R"({"queue":"q"})"});
  ASSERT_TRUE(first) << first.error().error.message;
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(first->body, R"({"n":0})");
  auto second = client.send({Method::get, "/v1/queues"});
  ASSERT_TRUE(second) << second.error().error.message;
  EXPECT_EQ(second->body, R"({"n":1})");  // same connection: the peer serves only one

  std::lock_guard lock(mu);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].method(), http::verb::post);
  EXPECT_EQ(seen[0].target(), "/base/v1/jobs");
  EXPECT_EQ(seen[0][http::field::authorization], "Bearer s3cret");
  EXPECT_EQ(seen[0][http::field::content_type], "application/json");
  EXPECT_EQ(seen[0].body(), R"({"queue":"q"})");
  EXPECT_EQ(seen[1][http::field::host], peer.url().substr(7));
}

TEST(HttpClient, ReconnectsOnceWhenAKeptAliveConnectionWasClosed) {
  std::atomic<int> requests{0};
  auto serve_one = [&](tcp::socket& s) {
    boost::beast::flat_buffer buf;
    http::request<http::string_body> req;
    if (!read_request(s, buf, req)) return;
    ++requests;
    answer(s, req, "{}");  // says keep-alive, then closes anyway: an idle time-out
  };
  Peer peer({serve_one, serve_one});
  auto client = make_client(peer.url());
  ASSERT_TRUE(client.send({Method::get, "/healthz"}));
  auto again = client.send({Method::post, "/v1/acks", "{}"});
  ASSERT_TRUE(again) << again.error().error.message;
  EXPECT_EQ(requests, 2);
}

TEST(HttpClient, ReadTimeOutIsUnavailable) {
  Peer peer({[](tcp::socket& s) {
    boost::beast::flat_buffer buf;
    http::request<http::string_body> req;
    read_request(s, buf, req);
    read_request(s, buf, req);  // never answers; returns when the client gives up
  }});
  auto client = make_client(peer.url(), Millis{150});
  auto got = client.send({Method::get, "/healthz"});
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().error.code, errc::unavailable);
  EXPECT_EQ(got.error().error.message,
            "cannot reach errand at " + peer.url() + ": no response within 150ms");
  EXPECT_TRUE(got.error().may_have_arrived);  // sent: the server may be acting on it
}

TEST(HttpClient, AConnectionClosedAfterTheRequestMayHaveDeliveredIt) {
  Peer peer({[](tcp::socket& s) {
    boost::beast::flat_buffer buf;
    http::request<http::string_body> req;
    read_request(s, buf, req);  // then closes without an answer: a server killed mid-call
  }});
  auto client = make_client(peer.url());
  auto got = client.send({Method::post, "/v1/acks", "{}"});
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().error.code, errc::unavailable);
  EXPECT_TRUE(got.error().may_have_arrived) << got.error().error.message;
  EXPECT_NE(got.error().error.message.find("cannot read the response"), std::string::npos);
}

TEST(HttpClient, PerRequestReadTimeOutOverridesTheDefault) {
  Peer peer({[](tcp::socket& s) {
    boost::beast::flat_buffer buf;
    http::request<http::string_body> req;
    read_request(s, buf, req);
    read_request(s, buf, req);
  }});
  auto client = make_client(peer.url(), Millis{60'000});
  auto got = client.send({Method::post, "/v1/claim", "{}", Millis{100}});
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().error.message.find("no response within 100ms"), std::string::npos);
}

TEST(HttpClient, RefusedConnectionIsUnavailable) {
  std::string url;
  {
    asio::io_context ioc;
    tcp::acceptor a(ioc, {asio::ip::address_v4::loopback(), 0});
    url = "http://127.0.0.1:" + std::to_string(a.local_endpoint().port());
  }
  auto client = make_client(url);
  auto got = client.send({Method::get, "/healthz"});
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().error.code, errc::unavailable);
  EXPECT_EQ(got.error().error.message.rfind("cannot reach errand at " + url + ": ", 0), 0u)
      << got.error().error.message;
  EXPECT_FALSE(got.error().may_have_arrived);
}

}  // namespace
}  // namespace errand::client
