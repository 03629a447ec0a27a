// `errand server`: runs the job server in the foreground.
#pragma once

#include <CLI/CLI.hpp>

namespace errand::cli {

// Adds the `server` subcommand to the app.
void add_server_command(CLI::App& app);

}  // namespace errand::cli
