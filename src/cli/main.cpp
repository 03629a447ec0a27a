// `errand`: the server and the command-line client in one binary.
#include "cli/backup_commands.hpp"
#include "cli/job_commands.hpp"
#include "cli/schedule_commands.hpp"
#include "cli/server_command.hpp"
#include "cli/store_choice.hpp"
#include "cli/store_commands.hpp"
#include "cli/usage.hpp"
#include "cli/version.hpp"
#include "cli/work_command.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

namespace {

// The first word that names a command: options and the values of the global
// options that take one are skipped.
std::string first_command_word(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--server" || arg == "--key" || arg == "--ca") {
      ++i;
    } else if (!arg.starts_with("-")) {
      return std::string(arg);
    }
  }
  return {};
}

// Exit code 2 for a line that names no command, or one that does not exist.
int no_such_command(CLI::App& app, const std::string& word) {
  std::vector<std::string> names;
  std::size_t width = 0;
  const auto commands = app.get_subcommands([](CLI::App*) { return true; });
  for (const auto* cmd : commands) {
    names.push_back(cmd->get_name());
    width = std::max(width, cmd->get_name().size());
  }
  if (!word.empty()) {
    std::cerr << "errand: unknown command " << word;
    if (auto guess = errand::cli::closest_word(word, names); !guess.empty()) {
      std::cerr << " — did you mean " << guess << "?\n";
      return 2;
    }
    std::cerr << '\n';
  } else {
    std::cerr
        << "errand: give a command, e.g. errand enqueue emails '{\"to\":\"ada@example.com\"}'\n";
  }
  std::cerr << "commands:\n";
  for (const auto* cmd : commands) {
    std::cerr << "  " << cmd->get_name() << std::string(width - cmd->get_name().size() + 2, ' ')
              << cmd->get_description() << '\n';
  }
  std::cerr << "errand COMMAND --help shows a command's options\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  auto work_command = errand::cli::take_work_command(argc, argv);
  CLI::App app{"Errand: background jobs, retries and schedules for your app"};
  app.name("errand");
  app.require_subcommand(1);
  app.set_version_flag("--version", errand::cli::version_text(),
                       "Print the version and the git commit it was built from, then exit");
  errand::cli::GlobalOptions options;
  errand::cli::add_global_options(app, options);
  errand::cli::add_job_commands(app, options);
  errand::cli::add_queue_commands(app, options);
  errand::cli::add_workflow_commands(app, options);
  errand::cli::add_schedule_commands(app, options);
  errand::cli::add_server_command(app);
  errand::cli::add_store_commands(app);
  errand::cli::add_backup_commands(app, options);
  errand::cli::add_work_command(app, options, std::move(work_command));
  // Commands parse a copy of the arguments; the ones ps shows lose their
  // database passwords.
  std::vector<std::string> copies(argv, argv + argc);
  std::vector<char*> args;
  for (auto& a : copies) args.push_back(a.data());
  errand::cli::scrub_passwords(argc, argv);
  try {
    app.parse(argc, args.data());
  } catch (const CLI::ParseError& e) {
    const std::string kind = e.get_name();
    if ((kind == "RequiredError" || kind == "ExtrasError") && app.get_subcommands().empty()) {
      return no_such_command(app, first_command_word(argc, argv));
    }
    // Commands report their own failures (RuntimeError, exit 1); every other
    // parse error is a usage error: exit 2 whatever CLI11's own code is.
    const int code = app.exit(e);
    return code == 0 || kind == "RuntimeError" ? code : 2;
  } catch (const std::exception& e) {
    std::cerr << "errand: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
