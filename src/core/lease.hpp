// Lease validity (fencing): whether the holder of a lease may still act on a
// job. Pure functions; thread-safe.
#pragma once

#include "core/error.hpp"
#include "core/state.hpp"

#include <string_view>

namespace errand::core {

// Only the holder of the current lease of a running job may act on it.
// Errors are `conflict` (field "lease_id"): the job is not running, or
// `given` is not its `current` lease. `id` names the job in the message.
Result<void> check_lease(std::string_view id, JobState state, std::string_view current,
                         std::string_view given);

}  // namespace errand::core
