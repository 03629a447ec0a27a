#include "cli/store_choice.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace errand::cli {
namespace {

TEST(StoreChoice, SqliteDirectory) {
  auto c = parse_store("sqlite:./errand-data");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->kind, StoreChoice::Kind::sqlite);
  EXPECT_EQ(c->dir, "./errand-data");
  EXPECT_EQ(c->shown, "sqlite:./errand-data");
}

TEST(StoreChoice, PostgresUrlLosesItsSchemaParameterAndShowsNoPassword) {
  auto c = parse_store("postgres://app:s3cret@db.example.com:5432/app?schema=jobs&sslmode=require");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->kind, StoreChoice::Kind::postgres);
  EXPECT_EQ(c->schema, "jobs");
  EXPECT_EQ(c->conninfo, "postgres://app:s3cret@db.example.com:5432/app?sslmode=require");
  EXPECT_EQ(c->shown, "postgres://app:***@db.example.com:5432/app?schema=jobs&sslmode=require");
}

TEST(StoreChoice, SchemaLastOrAloneOrAbsent) {
  auto last = parse_store("postgresql://u@/db?host=/tmp/pg&schema=s1");
  ASSERT_TRUE(last);
  EXPECT_EQ(last->conninfo, "postgresql://u@/db?host=/tmp/pg");
  EXPECT_EQ(last->schema, "s1");
  auto alone = parse_store("postgresql://u@h/db?schema=s2");
  ASSERT_TRUE(alone);
  EXPECT_EQ(alone->conninfo, "postgresql://u@h/db");
  auto absent = parse_store("postgresql://u@h/db");
  ASSERT_TRUE(absent);
  EXPECT_EQ(absent->schema, "errand");
  EXPECT_EQ(absent->conninfo, "postgresql://u@h/db");
}

TEST(StoreChoice, RefusalsNameTheFieldAndHideThePassword) {
  auto bad = parse_store("mysql://root:hunter2@h/db", "ERRAND_STORE");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().field, "ERRAND_STORE");
  EXPECT_NE(bad.error().message.find("sqlite:DIR or postgres://"), std::string::npos);
  auto schema = parse_store("postgres://u:hunter2@h/db?schema=Robert');DROP");
  ASSERT_FALSE(schema);
  EXPECT_NE(schema.error().message.find("schema"), std::string::npos);
  EXPECT_EQ(schema.error().message.find("hunter2"), std::string::npos);
  EXPECT_FALSE(parse_store("sqlite:"));
  EXPECT_FALSE(parse_store(""));
}

TEST(StoreChoice, RedactsPasswordParameterAndUserPassword) {
  EXPECT_EQ(redact_store_url("postgres://u@h/db?password=abc&sslmode=disable"),
            "postgres://u@h/db?password=***&sslmode=disable");
  EXPECT_EQ(redact_store_url("postgres://u:p%40ss@h/db"), "postgres://u:***@h/db");
  EXPECT_EQ(redact_store_url("postgres://u@h/db"), "postgres://u@h/db");
  EXPECT_EQ(redact_store_url("sqlite:x"), "sqlite:x");
}

TEST(StoreChoice, ScrubsPasswordsFromArguments) {
  std::string a0 = "errand", a1 = "--store=postgres://u:secret@h/db?password=two", a2 = "--x";
  char* argv[] = {a0.data(), a1.data(), a2.data()};
  scrub_passwords(3, argv);
  EXPECT_STREQ(argv[1], "--store=postgres://u:xxxxxx@h/db?password=xxx");
  EXPECT_STREQ(argv[2], "--x");
}

}  // namespace
}  // namespace errand::cli
