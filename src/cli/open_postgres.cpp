// open_store's PostgreSQL half: connect (waiting for a database that is not
// up yet), migrate, and say where the jobs are without the password.
#include "cli/open_store.hpp"
#include "store/postgres/postgres_store.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <iostream>
#include <string_view>
#include <thread>

namespace errand::cli {
namespace {

// A refusal that waiting does not cure: the server answered, and said no.
bool worth_waiting(const core::Error& e) {
  if (e.code != core::errc::unavailable) return false;
  constexpr std::array<std::string_view, 6> kFinal = {"password authentication failed",
                                                      "does not exist",
                                                      "permission denied",
                                                      "no pg_hba.conf entry",
                                                      "is not permitted to log in",
                                                      "newer than"};
  return std::none_of(kFinal.begin(), kFinal.end(),
                      [&](std::string_view s) { return e.message.find(s) != std::string::npos; });
}

store::PostgresOptions options_of(const StoreChoice& choice) {
  return {.conninfo = choice.conninfo, .schema = choice.schema, .store = {}};
}

}  // namespace

core::Result<OpenedStore> open_postgres(const StoreChoice& choice, core::Millis wait) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + wait;
  auto pause = std::chrono::milliseconds(250);
  for (;;) {
    auto store = store::PostgresStore::open(options_of(choice));
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
