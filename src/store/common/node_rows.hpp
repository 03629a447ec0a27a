// The node registry's rows, shared by every backend: the column order of a
// node read (kNodeColumns) and the order node_list answers in. Pure functions.
#pragma once

#include "core/node.hpp"

#include <vector>

namespace errand::store {

// The columns a node read selects, in this order; the backends decode them
// with their own column readers.
inline constexpr const char* kNodeColumns =
    "id, name, address, version, store, started_at, last_seen, stopped_at,"
    " waiting_claims, event_streams, workers_connected";

// Oldest start first, then by id (the registry is small: sorted here rather
// than by an index each backend would need).
void sort_nodes(std::vector<core::Node>& nodes);

}  // namespace errand::store
