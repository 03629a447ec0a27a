#include "core/queue_config.hpp"

namespace errand::core {

JobSettings resolve_settings(const NewJob& job, const JobDefaults& defaults) {
  return JobSettings{
      .priority = job.priority.value_or(defaults.priority.value_or(0)),
      .max_attempts =
          job.max_attempts.value_or(defaults.max_attempts.value_or(kDefaultMaxAttempts)),
      .timeout = job.timeout.value_or(defaults.timeout.value_or(kDefaultTimeout)),
      .on_done = job.on_done.empty() ? defaults.on_done.value_or("") : job.on_done,
  };
}

}  // namespace errand::core
