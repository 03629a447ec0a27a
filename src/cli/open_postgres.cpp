// open_store's PostgreSQL half: connect (waiting for a database that is not
// up yet), migrate, and say where the jobs are without the password.
#include "cli/open_store.hpp"
#include "store/postgres/postgres_store.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <thread>

namespace errand::cli {
namespace {

// Only an unreachable database is waited for: a refusal (forbidden), a bad
// URL or a newer schema ends the start at once.
bool worth_waiting(const core::Error& e) {
  return e.code == core::errc::unavailable;
}

store::PostgresOptions options_of(const StoreChoice& choice, const core::Clock* clock = nullptr) {
  return {.conninfo = choice.conninfo, .schema = choice.schema, .store = {}, .clock = clock};
}

}  // namespace

core::Result<OpenedStore> open_postgres(const StoreChoice& choice, core::Millis wait,
                                        const core::Clock* clock, core::metrics::Metrics* metrics) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + wait;
  auto pause = std::chrono::milliseconds(250);
  for (;;) {
    auto options = options_of(choice, clock);
    if (metrics) {
      options.commit_seconds = &metrics->store_commit_seconds.at({"postgres"});
      options.fsync_seconds = &metrics->store_fsync_seconds.at({"postgres"});
    }
    auto store = store::PostgresStore::open(std::move(options));
    if (store) {
      OpenedStore out;
      out.store = std::move(*store);
      out.description =
          fmt::format("jobs in PostgreSQL {}, schema {} (every acknowledgement committed)",
                      choice.shown, choice.schema);
      return out;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (!worth_waiting(store.error()) || left <= decltype(left)::zero()) return store.error();
    std::cerr << "errand: " << store.error().message << "; trying again for up to "
              << (left.count() + 999) / 1000 << "s (--store-timeout)\n";
    std::this_thread::sleep_for(std::min<Clock::duration>(pause, left));
    pause = std::min(pause * 2, std::chrono::milliseconds(4000));
  }
}

core::Result<int> migrate_postgres(const StoreChoice& choice) {
  return store::PostgresStore::migrate(options_of(choice));
}

}  // namespace errand::cli
