// Several URLs of one service: parsing the list, and which failures move a
// client on, when a call is sent again, stickiness, and the message when
// every URL failed. The sends are scripted: no network.
#include "client/failover.hpp"

#include <gtest/gtest.h>

#include <deque>

namespace errand::client {
namespace {
using core::errc;
using detail::Attempt;
using detail::AttemptEnd;
using detail::Idempotent;

// ---- parsing ----

TEST(ParseUrlList, OneUrlOrSeveralSeparatedByCommas) {
  auto one = parse_url_list("http://127.0.0.1:8740/");
  ASSERT_TRUE(one) << one.error().message;
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].url, "http://127.0.0.1:8740");

  auto three = parse_url_list("http://a:8740, http://b:8740/errand ,http://[::1]:9000");
  ASSERT_TRUE(three) << three.error().message;
  ASSERT_EQ(three->size(), 3u);
  EXPECT_EQ((*three)[0].url, "http://a:8740");
  EXPECT_EQ((*three)[1].url, "http://b:8740/errand");
  EXPECT_EQ((*three)[1].base_path, "/errand");
  EXPECT_EQ((*three)[2].host, "::1");
}

TEST(ParseUrlList, RefusesEmptyListsAndEntriesNamingTheField) {
  for (const char* empty : {"", "  "}) {
    auto got = parse_url_list(empty, "--server");
    ASSERT_FALSE(got) << empty;
    EXPECT_EQ(got.error().code, errc::invalid_argument);
    EXPECT_EQ(got.error().field, "--server");
    EXPECT_NE(got.error().message.find("no server URL given"), std::string::npos);
  }
  auto gap = parse_url_list("http://a:1,,http://b:2");
  ASSERT_FALSE(gap);
  EXPECT_EQ(gap.error().field, "url");
  EXPECT_EQ(gap.error().message,
            "server URL list \"http://a:1,,http://b:2\" has an empty entry (number 2)");
  auto trailing = parse_url_list("http://a:1,");
  ASSERT_FALSE(trailing);
  EXPECT_NE(trailing.error().message.find("empty entry (number 2)"), std::string::npos);
}

TEST(ParseUrlList, RefusesABadEntryAndAUrlGivenTwice) {
  auto bad = parse_url_list("http://a:1,ftp://b:2", "ERRAND_URL");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, errc::invalid_argument);
  EXPECT_EQ(bad.error().field, "ERRAND_URL");
  EXPECT_EQ(bad.error().message, "server URL ftp://b:2 must start with http:// or https://");
  auto twice = parse_url_list("http://a:1/, http://a:1");
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().message,
            "server URL list \"http://a:1/, http://a:1\" names http://a:1 twice");
}

TEST(ParseUrlList, AListOfUrlsTakesOneUrlAnEntry) {
  auto ok = parse_url_list(std::vector<std::string>{"http://a:1", "http://b:2/"});
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ((*ok)[1].url, "http://b:2");
  auto comma = parse_url_list(std::vector<std::string>{"http://a:1,http://b:2"});
  ASSERT_FALSE(comma);
  EXPECT_NE(comma.error().message.find("holds a comma"), std::string::npos);
  EXPECT_FALSE(parse_url_list(std::vector<std::string>{}));
}

// ---- the policy ----

TEST(FailoverPolicy, WhatMovesOnAndWhatIsSentAgain) {
  using detail::after;
  for (auto idempotent : {Idempotent::no, Idempotent::yes}) {
    EXPECT_FALSE(after(AttemptEnd::answered, idempotent).move_on);
    EXPECT_FALSE(after(AttemptEnd::answered, idempotent).resend);
    // Never reached a server, or refused by one that changed nothing.
    for (auto end : {AttemptEnd::not_sent, AttemptEnd::refused}) {
      EXPECT_TRUE(after(end, idempotent).move_on);
      EXPECT_TRUE(after(end, idempotent).resend);
    }
    // May have been acted on: again only if repeating it is harmless.
    for (auto end : {AttemptEnd::lost, AttemptEnd::uncertain}) {
      EXPECT_TRUE(after(end, idempotent).move_on);
      EXPECT_EQ(after(end, idempotent).resend, idempotent == Idempotent::yes);
    }
  }
}

SendFailure network_failure(bool arrived) {
  return {core::make_error(errc::unavailable, "cannot reach errand at http://a:1: boom"), arrived};
}

TEST(FailoverPolicy, HowAnAttemptEnded) {
  using detail::attempt_from;
  EXPECT_EQ(attempt_from(network_failure(false)).end, AttemptEnd::not_sent);
  EXPECT_EQ(attempt_from(network_failure(true)).end, AttemptEnd::lost);
  EXPECT_EQ(attempt_from(network_failure(true)).error.message,
            "cannot reach errand at http://a:1: boom");

  EXPECT_EQ(attempt_from(HttpResponse{200, "{}"}).end, AttemptEnd::answered);
  EXPECT_EQ(attempt_from(HttpResponse{409, R"({"error":{"code":"conflict","message":"m"}})"}).end,
            AttemptEnd::answered);
  EXPECT_EQ(attempt_from(HttpResponse{500, "oops"}).end, AttemptEnd::answered);

  auto lost_db = attempt_from(HttpResponse{
      503, R"({"error":{"code":"unavailable","message":"the database connection was lost"}})"});
  EXPECT_EQ(lost_db.end, AttemptEnd::refused);
  EXPECT_EQ(lost_db.error.code, errc::unavailable);
  EXPECT_EQ(lost_db.error.message, "the database connection was lost");
  auto unknown = attempt_from(HttpResponse{
      503, R"({"error":{"code":"unavailable","message":"lost while committing, so the change )"
           R"(may or may not have been made; retry with the same idempotency key"}})"});
  EXPECT_EQ(unknown.end, AttemptEnd::uncertain);
  // A 503 that is not errand's `unavailable` (a proxy's page, say) is an answer.
  EXPECT_EQ(attempt_from(HttpResponse{503, "<html>busy</html>"}).end, AttemptEnd::answered);
}

TEST(UrlRing, MovesOnOncePerFailedUrlAndWrapsAround) {
  detail::UrlRing ring(3);
  EXPECT_EQ(ring.current(), 0u);
  EXPECT_TRUE(ring.failed(0));
  EXPECT_EQ(ring.current(), 1u);
  EXPECT_FALSE(ring.failed(0));  // another call saw the same failure: no second move
  EXPECT_EQ(ring.current(), 1u);
  EXPECT_TRUE(ring.failed(1));
  EXPECT_TRUE(ring.failed(2));
  EXPECT_EQ(ring.current(), 0u);

  detail::UrlRing single(1);
  EXPECT_FALSE(single.failed(0));
  EXPECT_EQ(single.current(), 0u);
}

// ---- calls over scripted URLs ----

Attempt answer(int status = 200, std::string body = "{}") {
  return {.response = {status, std::move(body)}};
}
Attempt refused_connection(const std::string& url) {
  return {.end = AttemptEnd::not_sent,
          .error = core::make_error(errc::unavailable,
                                    "cannot reach errand at " + url + ": Connection refused")};
}
Attempt lost_answer(const std::string& url) {
  return {.end = AttemptEnd::lost,
          .error =
              core::make_error(errc::unavailable, "cannot reach errand at " + url +
                                                      ": cannot read the response: end of stream")};
}
Attempt no_database() {
  return {.end = AttemptEnd::refused,
          .error = core::make_error(errc::unavailable, "the database connection was lost")};
}

// URLs whose attempts follow a script, recording where each call went.
struct Cluster {
  std::vector<std::string> urls;
  detail::UrlRing ring;
  std::vector<std::deque<Attempt>> scripts;  // per URL; empty: answers 200
  std::vector<std::size_t> sent_to;
  std::vector<Failover> failovers;

  explicit Cluster(std::size_t n) : ring(n), scripts(n) {
    for (std::size_t i = 0; i < n; ++i) urls.push_back("http://n" + std::to_string(i) + ":8740");
  }

  core::Result<HttpResponse> call(Idempotent idempotent = Idempotent::no) {
    return detail::send_with_failover({
        .urls = urls,
        .ring = ring,
        .idempotent = idempotent,
        .send =
            [this](std::size_t i) {
              sent_to.push_back(i);
              if (scripts[i].empty()) return answer();
              auto next = std::move(scripts[i].front());
              scripts[i].pop_front();
              return next;
            },
        .on_failover = [this](const Failover& f) { failovers.push_back(f); },
    });
  }
};

TEST(SendWithFailover, ADeadFirstUrlIsSkippedAndTheNextStaysCurrent) {
  Cluster c(3);
  c.scripts[0] = {refused_connection(c.urls[0])};
  auto first = c.call();  // not idempotent: it never reached n0
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(c.sent_to, (std::vector<std::size_t>{0, 1}));
  EXPECT_EQ(c.ring.current(), 1u);
  ASSERT_EQ(c.failovers.size(), 1u);
  EXPECT_EQ(c.failovers[0].from, c.urls[0]);
  EXPECT_EQ(c.failovers[0].to, c.urls[1]);
  EXPECT_EQ(c.failovers[0].why.message,
            "cannot reach errand at http://n0:8740: Connection refused");

  // Sticky: n0 works again, but calls stay on n1 until it fails.
  ASSERT_TRUE(c.call());
  ASSERT_TRUE(c.call());
  EXPECT_EQ(c.sent_to, (std::vector<std::size_t>{0, 1, 1, 1}));
  c.scripts[1] = {refused_connection(c.urls[1])};
  ASSERT_TRUE(c.call());
  EXPECT_EQ(c.sent_to.back(), 2u);
  EXPECT_EQ(c.ring.current(), 2u);
}

TEST(SendWithFailover, AnAnswerEvenAnErrorDoesNotMoveOn) {
  Cluster c(2);
  c.scripts[0] = {answer(409, R"({"error":{"code":"conflict","message":"stale lease"}})")};
  auto got = c.call();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, 409);
  EXPECT_EQ(c.sent_to, (std::vector<std::size_t>{0}));
  EXPECT_EQ(c.ring.current(), 0u);
  EXPECT_TRUE(c.failovers.empty());
}

TEST(SendWithFailover, AServerWithoutItsDatabaseIsLeftAndTheCallSentOn) {
  Cluster c(2);
  c.scripts[0] = {no_database()};
  ASSERT_TRUE(c.call(Idempotent::no));  // a 503 changed nothing: safe anywhere
  EXPECT_EQ(c.sent_to, (std::vector<std::size_t>{0, 1}));
  EXPECT_EQ(c.ring.current(), 1u);
}

TEST(SendWithFailover, ACallThatMayHaveBeenActedOnIsNotSentTwice) {
  Cluster c(3);
  c.scripts[0] = {lost_answer(c.urls[0])};
  auto got = c.call(Idempotent::no);
  ASSERT_FALSE(got);
  EXPECT_EQ(c.sent_to, (std::vector<std::size_t>{0}));
  EXPECT_EQ(got.error().code, errc::unavailable);
  EXPECT_EQ(got.error().message,
            "cannot reach errand at http://n0:8740: cannot read the response: end of stream; the "
            "request may have been acted on, so it was not sent again; the next call goes to "
            "http://n1:8740");
  // Its caller's retry goes to the next URL.
  ASSERT_TRUE(c.call(Idempotent::no));
  EXPECT_EQ(c.sent_to, (std::vector<std::size_t>{0, 1}));
}

TEST(SendWithFailover, AnUncertainCommitKeepsTheServersErrorAndField) {
  Cluster c(2);
  c.scripts[1] = {refused_connection(c.urls[1])};
  c.scripts[0] = {{.end = AttemptEnd::uncertain,
                   .error = core::make_error(errc::unavailable,
                                             "the change may or may not have been made", "jobs")}};
  c.ring.failed(0);  // calls are on n1, which is now down; n0 then commits uncertainly
  ASSERT_EQ(c.ring.current(), 1u);
  auto got = c.call(Idempotent::no);
  ASSERT_FALSE(got);
  EXPECT_EQ(c.sent_to, (std::vector<std::size_t>{1, 0}));
  EXPECT_EQ(got.error().field, "jobs");
  EXPECT_EQ(got.error().message,
            "the change may or may not have been made (before that: http://n1:8740: Connection "
            "refused); the request may have been acted on, so it was not sent again; the next "
            "call goes to http://n1:8740");
}

TEST(SendWithFailover, AnIdempotentCallIsSentOnAfterALostAnswer) {
  Cluster c(2);
  c.scripts[0] = {lost_answer(c.urls[0])};
  auto got = c.call(Idempotent::yes);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(c.sent_to, (std::vector<std::size_t>{0, 1}));
}

TEST(SendWithFailover, WhenEveryUrlFailsTheErrorNamesEachOnce) {
  Cluster c(3);
  c.scripts[0] = {refused_connection(c.urls[0])};
  c.scripts[1] = {no_database()};
  c.scripts[2] = {lost_answer(c.urls[2])};
  auto got = c.call(Idempotent::yes);
  ASSERT_FALSE(got);
  EXPECT_EQ(c.sent_to, (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_EQ(got.error().code, errc::unavailable);
  EXPECT_EQ(got.error().message,
            "cannot reach errand at any of its 3 URLs: http://n0:8740: Connection refused; "
            "http://n1:8740: answered 503: the database connection was lost; http://n2:8740: "
            "cannot read the response: end of stream");
  EXPECT_EQ(c.ring.current(), 0u);  // round the ring: the next call starts over
  EXPECT_EQ(c.failovers.size(), 3u);
}

TEST(SendWithFailover, OneUrlReportsItsFailureAsItIs) {
  Cluster c(1);
  c.scripts[0] = {refused_connection(c.urls[0]), no_database()};
  auto refused = c.call(Idempotent::yes);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, "cannot reach errand at http://n0:8740: Connection refused");
  auto no_db = c.call();
  ASSERT_FALSE(no_db);
  EXPECT_EQ(no_db.error().message, "the database connection was lost");
  EXPECT_EQ(c.sent_to, (std::vector<std::size_t>{0, 0}));
  EXPECT_TRUE(c.failovers.empty());
}

}  // namespace
}  // namespace errand::client
