// The Client over several URLs against scripted loopback peers: which calls
// move on to the next server, and which it does not send twice after their
// answer was lost. The policy itself is failover_test.cpp's.
#include "client/client.hpp"
#include "client/test_peer.hpp"

#include <gtest/gtest.h>

#include <mutex>

namespace errand::client {
namespace {
using namespace test_peer;
using core::errc;

// Requests seen by a peer, by target.
struct Seen {
  std::mutex mu;
  std::vector<std::string> targets;

  void add(std::string_view target) {
    std::lock_guard lock(mu);
    targets.emplace_back(target);
  }
  std::vector<std::string> all() {
    std::lock_guard lock(mu);
    return targets;
  }
};

// Answers every request on its connection as an Errand server would.
Peer::Script serve(Seen& seen) {
  return [&seen](tcp::socket& s) {
    boost::beast::flat_buffer buf;
    for (;;) {
      http::request<http::string_body> req;
      if (!read_request(s, buf, req)) return;
      const std::string target(req.target());
      seen.add(target);
      if (target == "/v1/claim") {
        answer(s, req, R"({"jobs":[]})");
      } else if (target.ends_with("/complete")) {
        answer(s, req, R"({"id":"J1","state":"succeeded"})");
      } else {
        answer(s, req, R"({"id":"J1","state":"queued","token":"t"})", true, http::status::accepted);
      }
    }
  };
}

// Reads one request and closes without an answer: a server killed mid-call.
Peer::Script drop(Seen& seen) {
  return [&seen](tcp::socket& s) {
    boost::beast::flat_buffer buf;
    http::request<http::string_body> req;
    if (read_request(s, buf, req)) seen.add(req.target());
  };
}

// Answers 503 `unavailable` (a server that lost its database), then closes.
Peer::Script no_database(Seen& seen) {
  return [&seen](tcp::socket& s) {
    boost::beast::flat_buffer buf;
    http::request<http::string_body> req;
    if (!read_request(s, buf, req)) return;
    seen.add(req.target());
    answer(s, req,
           R"({"error":{"code":"unavailable","message":"the database connection was lost"}})",
           false, http::status::service_unavailable);
  };
}

ClientOptions over(std::vector<std::string> urls) {
  ClientOptions o;
  o.urls = std::move(urls);
  o.connect_timeout = core::Millis{2'000};
  o.request_timeout = core::Millis{5'000};
  return o;
}

const std::vector<std::string> kOnlyComplete{"/v1/jobs/J1/complete"};

TEST(ClientFailover, ADeadFirstUrlIsPassedOverAndTheLiveOneKept) {
  Seen seen;
  Peer live({serve(seen)});
  const auto dead = dead_url();
  std::vector<Failover> moves;
  auto options = over({dead, live.url()});
  options.on_failover = [&](const Failover& f) { moves.push_back(f); };
  Client client(options);
  EXPECT_EQ(client.url(), dead + "," + live.url());

  auto job = client.enqueue({.queue = "emails"});  // no key: it never reached the dead one
  ASSERT_TRUE(job) << job.error().message;
  EXPECT_EQ(job->id, "J1");
  ASSERT_TRUE(client.claim({.queues = {"emails"}}));
  EXPECT_EQ(seen.all(), (std::vector<std::string>{"/v1/jobs", "/v1/claim"}));
  EXPECT_EQ(client.current_url(), live.url());
  EXPECT_EQ(client.urls(), (std::vector<std::string>{live.url(), dead}));
  ASSERT_EQ(moves.size(), 1u);  // once, not once per call
  EXPECT_EQ(moves[0].from, dead);
  EXPECT_EQ(moves[0].to, live.url());
}

TEST(ClientFailover, AnOutcomeWhoseAnswerWasLostIsNotSentToTheNextServer) {
  Seen first, second;
  Peer dying({drop(first)});
  Peer next({serve(second)});
  Client client(over({dying.url(), next.url()}));
  auto lost = client.complete("J1", "L1");
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().code, errc::unavailable);
  EXPECT_NE(
      lost.error().message.find("so it was not sent again; the next call goes to " + next.url()),
      std::string::npos)
      << lost.error().message;
  EXPECT_TRUE(second.all().empty());
  // The caller's retry goes to the next server (and there gets its answer).
  ASSERT_TRUE(client.complete("J1", "L1"));
  EXPECT_EQ(first.all(), kOnlyComplete);
  EXPECT_EQ(second.all(), kOnlyComplete);
}

TEST(ClientFailover, AClaimWhoseAnswerWasLostIsSentOn) {
  Seen first, second;
  Peer dying({drop(first)});
  Peer next({serve(second)});
  Client client(over({dying.url(), next.url()}));
  ASSERT_TRUE(client.claim({.queues = {"emails"}}));
  EXPECT_EQ(first.all(), (std::vector<std::string>{"/v1/claim"}));
  EXPECT_EQ(second.all(), (std::vector<std::string>{"/v1/claim"}));
}

TEST(ClientFailover, AKeyedEnqueueWhoseAnswerWasLostIsSentOn) {
  Seen first, second;
  Peer dying({drop(first)});
  Peer next({serve(second)});
  Client client(over({dying.url(), next.url()}));
  auto keyed = client.enqueue({.queue = "emails", .idempotency_key = "signup-42"});
  ASSERT_TRUE(keyed) << keyed.error().message;  // a repeat answers with the first job
  EXPECT_EQ(first.all(), (std::vector<std::string>{"/v1/jobs"}));
  EXPECT_EQ(second.all(), (std::vector<std::string>{"/v1/jobs"}));
}

TEST(ClientFailover, AnUnkeyedEnqueueWhoseAnswerWasLostIsNotSentOn) {
  Seen first, second;
  Peer dying({drop(first)});
  Peer next({serve(second)});
  Client client(over({dying.url(), next.url()}));
  EXPECT_FALSE(client.enqueue({.queue = "emails"}));
  EXPECT_EQ(first.all(), (std::vector<std::string>{"/v1/jobs"}));
  EXPECT_TRUE(second.all().empty());
}

TEST(ClientFailover, AServerWithoutItsDatabaseHandsEvenAnOutcomeOn) {
  Seen first, second;
  Peer degraded({no_database(first)});
  Peer next({serve(second)});
  Client client(over({degraded.url(), next.url()}));
  auto done = client.complete("J1", "L1");  // a 503 changed nothing: safe to send on
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(first.all(), kOnlyComplete);
  EXPECT_EQ(second.all(), kOnlyComplete);
  EXPECT_EQ(client.current_url(), next.url());
}

TEST(ClientFailover, EveryUrlDeadNamesEach) {
  const auto a = dead_url();
  auto b = dead_url();
  while (b == a) b = dead_url();  // the port may be handed out again
  Client client(over({a, b}));
  auto got = client.health();
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, errc::unavailable);
  EXPECT_EQ(got.error().message.rfind("cannot reach errand at any of its 2 URLs: " + a + ": ", 0),
            0u)
      << got.error().message;
  EXPECT_NE(got.error().message.find("; " + b + ": "), std::string::npos);
}

TEST(ClientFailover, ABadUrlListFailsEveryCallNamingTheField) {
  Client client({.url = "http://127.0.0.1:1, ftp://errand.example.com"});
  auto got = client.health();
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, errc::invalid_argument);
  EXPECT_EQ(got.error().field, "url");
  EXPECT_NE(got.error().message.find("ftp://"), std::string::npos);
}

TEST(ClientFailover, AnUnusableCaFileFailsEveryCallNamingTheField) {
  Client client({.url = "https://127.0.0.1:1", .ca_file = "/nonexistent/ca.pem"});
  auto got = client.health();
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, errc::invalid_argument);
  EXPECT_EQ(got.error().field, "ca_file");
  EXPECT_NE(got.error().message.find("/nonexistent/ca.pem"), std::string::npos);
}

}  // namespace
}  // namespace errand::client
