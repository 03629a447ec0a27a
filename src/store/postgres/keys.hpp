// Flow control on PostgreSQL (store/common/keys.hpp): writing the key rows'
// deltas. Writer thread only.
#pragma once

#include "store/common/keys.hpp"
#include "store/common/notice.hpp"
#include "store/postgres/conn.hpp"

#include <map>

namespace errand::store::postgres {

// Adds each delta to its key's row (creating it), deletes rows left with
// nothing to keep, and tells `notice` which queues a freed slot may unblock.
core::Result<void> flush_keys(Conn& db, const std::map<KeyId, KeyDelta>& deltas,
                              NoticeBuilder& notice);

}  // namespace errand::store::postgres
