// Runs the Store conformance suite against PostgresStore. Each test's
// directory maps to a schema of its own (so reopen() finds the same data);
// nothing is dropped: the test cluster is thrown away.
#include "store/conformance/harness.hpp"
#include "store/postgres/postgres_store.hpp"
#include "store/postgres/test_database.hpp"

namespace errand::store::conformance {
namespace {

StoreFactory postgres_factory() {
  return {"Postgres", [](const std::string& dir) -> std::unique_ptr<Store> {
            auto store = PostgresStore::open({.conninfo = postgres::testing::test_database_url(),
                                              .schema = postgres::testing::schema_for(dir)});
            if (!store) throw std::runtime_error(store.error().message);
            return std::move(*store);
          }};
}

}  // namespace

ERRAND_STORE_CONFORMANCE(Postgres, postgres_factory());

}  // namespace errand::store::conformance
