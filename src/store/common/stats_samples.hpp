// The stored form of one throughput sample's queue counters, shared by every
// backend: JSON text {"queue": [processed, failed], …}. Pure functions.
#pragma once

#include "store/store.hpp"

#include <map>
#include <string>
#include <string_view>

namespace errand::store {

std::string stats_totals_text(const std::map<std::string, QueueTotals>& queues);

// A row a store wrote; anything else (a hand-edited row) reads as no queues,
// and an entry that is not [processed, failed] is skipped.
std::map<std::string, QueueTotals> stats_totals_of(std::string_view text);

}  // namespace errand::store
