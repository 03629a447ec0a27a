#include "core/lease.hpp"

#include <fmt/format.h>

namespace errand::core {

Result<void> check_lease(std::string_view id, JobState state, std::string_view current,
                         std::string_view given) {
  if (state != JobState::running) {
    return make_error(errc::conflict,
                      fmt::format("job {} is {}, not running: the lease is no longer valid", id,
                                  to_string(state)),
                      "lease_id");
  }
  if (current != given) {
    return make_error(errc::conflict,
                      fmt::format("lease_id is not the current lease of job {}", id), "lease_id");
  }
  return {};
}

}  // namespace errand::core
