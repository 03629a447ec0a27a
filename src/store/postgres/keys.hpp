// Flow control on PostgreSQL (store/common/keys.hpp): writing the key rows'
// deltas. Writer thread only.
#pragma once

#include "store/common/keys.hpp"
#include "store/common/notice.hpp"
#include "store/postgres/conn.hpp"

#include <map>
#include <span>
#include <vector>

namespace errand::store::postgres {

// Adds each delta to its key's row (creating it), deletes rows left with
// nothing to keep, and tells `notice` which queues a freed slot may unblock.
core::Result<void> flush_keys(Conn& db, const std::map<KeyId, KeyDelta>& deltas,
                              NoticeBuilder& notice);

// flush_keys in two halves, so that its statements can share a round trip
// with others (Conn::run_together): the statements adding the deltas (one
// a key that has one), then what their rows call for.
std::vector<Step> key_steps(const std::map<KeyId, KeyDelta>& deltas);
core::Result<void> keys_moved(Conn& db, const std::map<KeyId, KeyDelta>& deltas,
                              std::span<const Rows> rows, NoticeBuilder& notice);

}  // namespace errand::store::postgres
