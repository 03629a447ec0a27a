// Opening the store `errand server` (and `errand migrate`, `errand copy`)
// was told to use: a SQLite data directory made private, or PostgreSQL,
// waited for while it is unreachable.
#pragma once

#include "cli/store_choice.hpp"
#include "core/error.hpp"
#include "core/metrics.hpp"
#include "core/time.hpp"
#include "store/store.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace errand::cli {

struct OpenedStore {
  std::unique_ptr<store::Store> store;
  // SQLite: the token secret an older version kept in `<dir>/secret`.
  std::optional<std::string> legacy_secret;
  // Removes what this start created, for a start that fails before it
  // serves (call after the store is closed).
  std::function<void()> undo = [] {};
  // One line for the start-up banner: where the data is and how durable.
  std::string description;
};

// SQLite: creates the directory (0700) and the database. PostgreSQL: tries
// to connect until `wait` has passed, printing one line per failed try to
// stderr, then gives up with the last reason; a refusal that waiting cannot
// cure (a wrong password, a missing database, a newer schema) ends at once.
// `clock`: the server's own clock, which a PostgreSQL store compares with the
// database's (store::Store::clock_offset); null: the system clock.
// `metrics`: where the store's commit and fsync times go; null: nowhere.
core::Result<OpenedStore> open_store(const StoreChoice& choice, core::Millis wait,
                                     const core::Clock* clock = nullptr,
                                     core::metrics::Metrics* metrics = nullptr);

// PostgreSQL only: creates or migrates the schema and returns its version.
core::Result<int> migrate_store(const StoreChoice& choice);

}  // namespace errand::cli
