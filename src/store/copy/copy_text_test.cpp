#include "store/copy/copy_text.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace errand::store::copy {
namespace {

std::string text(std::string_view s) {
  std::string row;
  append_copy_text(row, s);
  return row;
}

TEST(CopyTextTest, PlainTextIsUnchanged) {
  EXPECT_EQ(text(R"({"to":"ada@example.com"})"), R"({"to":"ada@example.com"})");
  EXPECT_EQ(text(""), "");
}

TEST(CopyTextTest, SeparatorsAndBackslashesAreEscaped) {
  EXPECT_EQ(text("a\tb\nc\rd\\e"), "a\\tb\\nc\\rd\\\\e");
  EXPECT_EQ(text(R"("line\nbreak")"), R"("line\\nbreak")");  // JSON's own escape survives
  EXPECT_EQ(text("\\"), "\\\\");
}

TEST(CopyTextTest, UnicodeIsKeptByteForByte) {
  EXPECT_EQ(text("caf\xc3\xa9 \xf0\x9f\x93\xa7"), "caf\xc3\xa9 \xf0\x9f\x93\xa7");
}

TEST(CopyTextTest, IntegersAndNull) {
  std::string row;
  append_copy_integer(row, std::numeric_limits<std::int64_t>::min());
  row += '\t';
  append_copy_integer(row, 0);
  row += '\t';
  append_copy_null(row);
  EXPECT_EQ(row, "-9223372036854775808\t0\t\\N");
}

}  // namespace
}  // namespace errand::store::copy
