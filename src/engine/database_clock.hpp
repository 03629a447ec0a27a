// The clock a server goes by: its own, set to its store's when the store has
// a clock of its own (store::Store::clock_offset: PostgreSQL's, which every
// server sharing the database then agrees on to within a round trip). So
// leases, run_at, schedule fire times and token expiry are judged alike on
// every server, whatever their own clocks say. Thread-safe.
#pragma once

#include "core/time.hpp"
#include "store/store.hpp"

namespace errand::engine {

class DatabaseClock final : public core::Clock {
 public:
  DatabaseClock(const core::Clock& own, const store::Store& store) : own_(own), store_(store) {}
  core::TimePoint now() const override {
    return own_.now() + store_.clock_offset().value_or(core::Millis{0});
  }

 private:
  const core::Clock& own_;
  const store::Store& store_;
};

}  // namespace errand::engine
