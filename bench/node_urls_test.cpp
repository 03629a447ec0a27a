#include "node_urls.hpp"

#include <gtest/gtest.h>

namespace errand::bench {
namespace {

TEST(NodeUrlsTest, EachClientStartsAtItsOwnNodeAndKeepsTheOthersBehind) {
  const std::string urls = "http://a:1,http://b:2,http://c:3";
  EXPECT_EQ(urls_from(urls, 0), "http://a:1,http://b:2,http://c:3");
  EXPECT_EQ(urls_from(urls, 1), "http://b:2,http://c:3,http://a:1");
  EXPECT_EQ(urls_from(urls, 2), "http://c:3,http://a:1,http://b:2");
  EXPECT_EQ(urls_from(urls, 3), urls_from(urls, 0));  // round-robin
}

TEST(NodeUrlsTest, OneUrlIsEveryClientsUrl) {
  EXPECT_EQ(urls_from("http://a:1", 5), "http://a:1");
}

TEST(NodeUrlsTest, EmptyEntriesAreDropped) {
  EXPECT_EQ(split_urls(",http://a:1,,http://b:2,"),
            (std::vector<std::string>{"http://a:1", "http://b:2"}));
  EXPECT_EQ(urls_from("http://a:1,,http://b:2", 1), "http://b:2,http://a:1");
}

}  // namespace
}  // namespace errand::bench
