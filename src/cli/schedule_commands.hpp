// `errand schedules` and `errand schedule set|get|rm|pause|resume|trigger|next`
// (schedule_commands.cpp): cron schedules on a running server, and `schedule
// next`, a local cron checker that prints the upcoming fire times of an
// expression without a server. Output and errors as in job_commands.hpp.
#pragma once

#include "cli/job_commands.hpp"

namespace errand::cli {

// `options` must outlive parsing.
void add_schedule_commands(CLI::App& app, const GlobalOptions& options);

}  // namespace errand::cli
