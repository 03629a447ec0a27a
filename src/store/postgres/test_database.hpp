// For tests only: the PostgreSQL database the tests use, and a fresh schema
// name per test. The database URL is ERRAND_TEST_POSTGRES (a libpq URL) if
// set, else the contents of the file named by ERRAND_TEST_POSTGRES_URL_FILE
// (written by the ctest fixture `postgres`, which starts a throwaway
// cluster). With neither, the tests fail: a PostgreSQL test that silently
// skips would let the backend rot.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace errand::store::postgres::testing {

inline std::string test_database_url() {
  if (const char* url = std::getenv("ERRAND_TEST_POSTGRES"); url && *url) return url;
  const char* file = std::getenv("ERRAND_TEST_POSTGRES_URL_FILE");
  if (!file || !*file) {
    throw std::runtime_error(
        "no PostgreSQL database for the tests: set ERRAND_TEST_POSTGRES to a libpq URL, or "
        "ERRAND_TEST_POSTGRES_URL_FILE to a file holding one (ctest's `postgres` fixture does)");
  }
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  std::string url = text.str();
  while (!url.empty() && (url.back() == '\n' || url.back() == '\r' || url.back() == ' ')) {
    url.pop_back();
  }
  if (!in || url.empty()) {
    throw std::runtime_error(fmt::format(
        "no PostgreSQL database for the tests: ERRAND_TEST_POSTGRES_URL_FILE names {}, which "
        "cannot be read or is empty (did the `postgres` fixture start its cluster?)",
        file));
  }
  return url;
}

// "t_" and a hash of `key` (a test's directory): the same key, the same schema.
inline std::string schema_for(const std::string& key) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : key) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return fmt::format("t_{:016x}", h);
}

}  // namespace errand::store::postgres::testing
