// Runs the Store conformance suite against SqliteStore.
#include "store/conformance/harness.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace errand::store::conformance {
namespace {

StoreFactory sqlite_factory() {
  return {"Sqlite", [](const std::string& dir) -> std::unique_ptr<Store> {
            // Every verb called in a RunHere scope may run on its caller's
            // thread, however close together they come.
            auto store = SqliteStore::open({.dir = dir, .store = {.lone_interval = {}}});
            if (!store) throw std::runtime_error(store.error().message);
            return std::move(*store);
          }};
}

}  // namespace

ERRAND_STORE_CONFORMANCE(Sqlite, sqlite_factory());

}  // namespace errand::store::conformance
