// `errand`: the server and the command-line client in one binary.
#include "cli/job_commands.hpp"
#include "cli/schedule_commands.hpp"
#include "cli/server_command.hpp"
#include "cli/work_command.hpp"

#include <CLI/CLI.hpp>

int main(int argc, char** argv) {
  auto work_command = errand::cli::take_work_command(argc, argv);
  CLI::App app{"Errand: background jobs, retries and schedules for your app"};
  app.name("errand");
  app.require_subcommand(1);
  errand::cli::GlobalOptions options;
  errand::cli::add_global_options(app, options);
  errand::cli::add_job_commands(app, options);
  errand::cli::add_queue_commands(app, options);
  errand::cli::add_schedule_commands(app, options);
  errand::cli::add_server_command(app);
  errand::cli::add_work_command(app, options, std::move(work_command));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Commands report their own failures (RuntimeError, exit 1); every other
    // parse error is a usage error: exit 2 whatever CLI11's own code is.
    const int code = app.exit(e);
    return code == 0 || e.get_name() == "RuntimeError" ? code : 2;
  } catch (const std::exception& e) {
    std::cerr << "errand: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
