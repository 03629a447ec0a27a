#include "cli/store_commands.hpp"

#include "cli/open_store.hpp"
#include "cli/store_choice.hpp"

#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

namespace errand::cli {
namespace {

struct MigrateArgs {
  std::string store;
};

int run_migrate(const MigrateArgs& args) {
  if (args.store.empty()) {
    std::cerr << "errand: give --store postgres://… (or ERRAND_STORE)\n";
    return 2;
  }
  auto choice = parse_store(args.store, "--store");
  if (!choice) {
    std::cerr << "errand: " << choice.error().message << "\n";
    return 2;
  }
  auto version = migrate_store(*choice);
  if (!version) {
    std::cerr << "errand: " << version.error().message << "\n";
    return 1;
  }
  std::cout << "schema " << choice->schema << " of " << choice->shown << " is at version "
            << *version << "\n";
  return 0;
}

}  // namespace

void add_store_commands(CLI::App& app) {
  auto migrate = std::make_shared<MigrateArgs>();
  auto* cmd = app.add_subcommand(
      "migrate",
      "Create or upgrade Errand's schema in PostgreSQL, then exit (servers also do it "
      "at start)");
  cmd->add_option("--store", migrate->store,
                  "postgres://USER:PASSWORD@HOST:PORT/DB?schema=errand (also ERRAND_STORE)")
      ->envname("ERRAND_STORE");
  cmd->callback([migrate] { std::exit(run_migrate(*migrate)); });
}

}  // namespace errand::cli
