// `errand migrate` and `errand copy`: work on a store without a server.
#pragma once

#include <CLI/CLI.hpp>

namespace errand::cli {

void add_store_commands(CLI::App& app);

}  // namespace errand::cli
