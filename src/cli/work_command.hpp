// `errand work QUEUE [QUEUE…] [-c N] [--timeout D] [--grace D] -- COMMAND [ARGS…]`:
// turns any command into a worker. Built on the C++ worker runtime
// (client/worker.hpp): each claimed job runs COMMAND once (cli/job_runner),
// with up to N at a time; one summary line per job goes to stdout (JSON with
// `--json`), the runtime's log lines to stderr. SIGTERM or SIGINT stops
// claiming, lets running commands finish within the grace period, then fails
// the rest so they are retried, and exits 0.
//
// Runs inside CLI11's callback on the main thread, which blocks SIGINT and
// SIGTERM and hands them to a signal thread of its own.
#pragma once

#include "cli/job_commands.hpp"

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace errand::cli {

// CLI11 cannot end one positional list with `--` and start another, so the
// command (the words after the first `--` of an `errand work` line) is taken
// out of argv before parsing; `argc` shrinks to exclude it.
std::vector<std::string> take_work_command(int& argc, char** argv);

// `options` must outlive parsing; `command` is what take_work_command took.
void add_work_command(CLI::App& app, const GlobalOptions& options,
                      std::vector<std::string> command);

}  // namespace errand::cli
