// Flow control on SQLite (store/common/keys.hpp): writing the key rows'
// deltas, and what the fair claim and the timers read of them.
// Writer thread only.
#pragma once

#include "store/common/keys.hpp"
#include "store/common/notice.hpp"
#include "store/sqlite/statements.hpp"

#include <map>

namespace errand::store::sqlite {

// Adds each delta to its key's row (creating it), deletes rows left with
// nothing to keep, and tells `notice` which queues a freed slot may unblock.
core::Result<void> flush_keys(Statements& sql, const std::map<KeyId, KeyDelta>& deltas,
                              NoticeBuilder& notice);

}  // namespace errand::store::sqlite
