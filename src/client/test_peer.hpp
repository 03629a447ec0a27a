// A scripted loopback HTTP peer for the client library's unit tests
// (http_test.cpp, client_test.cpp): each accepted connection is handed to the
// next script, which reads requests and answers (or does not) as the test
// needs. Test-only; a Peer's scripts run on its own thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace errand::client::test_peer {
namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

// A loopback peer that handles accepted connections one after another, each
// with the next script. Scripts use error-code overloads so a peer never
// throws; the destructor unblocks a peer still waiting for connections.
class Peer {
 public:
  using Script = std::function<void(tcp::socket&)>;

  explicit Peer(std::vector<Script> scripts)
      : scripts_(std::move(scripts)),
        acceptor_(ioc_, {asio::ip::address_v4::loopback(), 0}),
        endpoint_(acceptor_.local_endpoint()) {
    thread_ = std::thread([this] {
      for (auto& script : scripts_) {
        tcp::socket socket(ioc_);
        boost::system::error_code ec;
        acceptor_.accept(socket, ec);
        ++accepted_;
        if (!ec && !closing_) script(socket);
      }
    });
  }

  ~Peer() {
    closing_ = true;
    while (accepted_ < scripts_.size()) {
      asio::io_context ioc;
      tcp::socket s(ioc);
      boost::system::error_code ec;
      s.connect(endpoint_, ec);
    }
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(endpoint_.port()); }

 private:
  std::vector<Script> scripts_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  tcp::endpoint endpoint_;  // read by other threads while the peer blocks in accept
  std::atomic<std::size_t> accepted_{0};
  std::atomic<bool> closing_{false};
  std::thread thread_;
};

// Reads one request; false at end of stream.
inline bool read_request(tcp::socket& s, boost::beast::flat_buffer& buf,
                         http::request<http::string_body>& req) {
  boost::system::error_code ec;
  http::read(s, buf, req, ec);
  return !ec;
}

inline void answer(tcp::socket& s, const http::request<http::string_body>& req, std::string body,
                   bool keep = true, http::status status = http::status::ok) {
  http::response<http::string_body> res{status, 11};
  res.set(http::field::content_type, "application/json");
  res.keep_alive(keep);
  res.body() = std::move(body);
  res.prepare_payload();
  boost::system::error_code ec;
  http::write(s, res, ec);
  (void)req;
}

// A URL where nothing listens: every connection to it is refused.
inline std::string dead_url() {
  asio::io_context ioc;
  tcp::acceptor a(ioc, {asio::ip::address_v4::loopback(), 0});
  return "http://127.0.0.1:" + std::to_string(a.local_endpoint().port());
}

}  // namespace errand::client::test_peer
