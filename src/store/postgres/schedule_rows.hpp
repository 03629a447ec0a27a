// Mapping between core::Schedule and a row of `schedules` (with the state of
// its last job, read from `jobs`). Writer thread only.
#pragma once

#include "core/schedule.hpp"
#include "store/postgres/conn.hpp"

#include <string_view>
#include <vector>

namespace errand::store::postgres {

// The schedule, or not_found (field "name"). `lock`: FOR UPDATE, so a fire
// on another server waits for this transaction.
core::Result<core::Schedule> load_schedule(Conn& db, std::string_view name, bool lock = false);
core::Result<std::vector<core::Schedule>> load_schedules(Conn& db);
core::Result<void> save_schedule(Conn& db, const core::Schedule& s);

}  // namespace errand::store::postgres
