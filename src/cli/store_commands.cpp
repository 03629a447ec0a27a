#include "cli/store_commands.hpp"

#include "api/auth.hpp"
#include "cli/open_store.hpp"
#include "cli/store_choice.hpp"
#include "store/copy/copy.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

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

struct CopyArgs {
  std::string from;
  std::string to;
};

// --from and --to, each of the one kind it may be. Exit code 2 when not.
core::Result<std::pair<StoreChoice, StoreChoice>> copy_ends(const CopyArgs& args) {
  if (args.from.empty() || args.to.empty()) {
    return core::invalid("--from", "give --from sqlite:DIR and --to postgres://…?schema=NAME");
  }
  auto from = parse_store(args.from, "--from");
  if (!from) return from.error();
  if (from->kind != StoreChoice::Kind::sqlite) {
    return core::invalid("--from",
                         "--from must be a SQLite data directory (sqlite:DIR): errand "
                         "copy moves a SQLite store into PostgreSQL");
  }
  auto to = parse_store(args.to, "--to");
  if (!to) return to.error();
  if (to->kind != StoreChoice::Kind::postgres) {
    return core::invalid("--to", "--to must be a PostgreSQL URL (postgres://…?schema=NAME)");
  }
  return std::pair{std::move(*from), std::move(*to)};
}

std::string jobs_line(const store::copy::CopySummary& s) {
  std::vector<std::string> states;
  for (const auto state : core::kAllStates) {
    const auto n = s.jobs_by_state[static_cast<std::size_t>(state)];
    if (n > 0) states.push_back(fmt::format("{} {}", n, core::to_string(state)));
  }
  auto line = fmt::format("copied {} job{}", s.jobs, s.jobs == 1 ? "" : "s");
  if (!states.empty()) line += fmt::format(" ({})", fmt::join(states, ", "));
  line += fmt::format(", {} queue{}, {} schedule{}", s.queues, s.queues == 1 ? "" : "s",
                      s.schedules, s.schedules == 1 ? "" : "s");
  line += s.token_secret ? "; tokens issued by the old server stay valid"
                         : "; the SQLite data had no token secret: the first server on "
                           "PostgreSQL makes one";
  return line;
}

void print_summary(const store::copy::CopySummary& s, const StoreChoice& to) {
  std::cout << jobs_line(s) << "\n";
  const double seconds = static_cast<double>(s.took.count()) / 1000.0;
  std::cout << fmt::format(
      "into schema {} of {} in {:.2f}s ({:.0f} jobs/s); also {} job logs, "
      "{} push records, {} schedule fires, {} throughput samples, {} "
      "setting{}\n",
      to.schema, to.shown, seconds, seconds > 0 ? static_cast<double>(s.jobs) / seconds : 0.0,
      s.job_logs, s.job_push, s.schedule_fires, s.stats_samples, s.settings,
      s.settings == 1 ? "" : "s");
  if (s.sqlite_version_before < s.sqlite_version) {
    std::cout << fmt::format(
        "the SQLite database was migrated from schema version {} to {} first\n",
        s.sqlite_version_before, s.sqlite_version);
  }
  if (s.sessions > 0 || s.expired_sessions > 0) {
    auto line =
        fmt::format("copied {} dashboard session{}", s.sessions, s.sessions == 1 ? "" : "s");
    if (s.sessions > 0) line += " (a browser logged in to the old server stays logged in)";
    if (s.expired_sessions > 0) {
      line += fmt::format("; left out {} expired one{}", s.expired_sessions,
                          s.expired_sessions == 1 ? "" : "s");
    }
    std::cout << line << "\n";
  }
  if (s.token_secret_from_file) {
    std::cout << "the token secret came from the data directory's secret file\n";
  }
  if (const auto running = s.jobs_by_state[static_cast<std::size_t>(core::JobState::running)]) {
    std::cout << fmt::format(
        "{} running job{} kept {} lease: a worker that reports to a server on PostgreSQL before "
        "the lease expires finishes it there; otherwise it expires and the job is retried\n",
        running, running == 1 ? "" : "s", running == 1 ? "its" : "their");
  }
  if (s.legacy_id_jobs > 0) {
    std::cout << fmt::format(
        "{} job{} made before SQLite schema version 7 had a 26-character id: on PostgreSQL "
        "only the 13-character id finds {} (tokens naming the old id no longer work)\n",
        s.legacy_id_jobs, s.legacy_id_jobs == 1 ? "" : "s", s.legacy_id_jobs == 1 ? "it" : "them");
  }
  if (s.orphan_rows > 0) {
    std::cout << fmt::format("left out {} log or push row{} of jobs that no longer exist\n",
                             s.orphan_rows, s.orphan_rows == 1 ? "" : "s");
  }
  if (!s.recounted_queues.empty()) {
    std::cout << fmt::format("recounted the jobs of queue{} {} (the stored counts were off)\n",
                             s.recounted_queues.size() == 1 ? "" : "s",
                             fmt::join(s.recounted_queues, ", "));
  }
}

// libpq's messages may run over several lines ("…failed: Connection
// refused\n\tIs the server running…"): a failure is reported on one.
std::string one_line(std::string message) {
  std::string out;
  bool space = false;
  for (const char c : message) {
    if (c == '\n' || c == '\t' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out += out.back() == '.' || out.back() == ':' ? " " : "; ";
    space = false;
    out += c;
  }
  return out;
}

int run_copy(const CopyArgs& args) {
  auto ends = copy_ends(args);
  if (!ends) {
    std::cerr << "errand: " << ends.error().message << "\n";
    return 2;
  }
  const auto& [from, to] = *ends;
  auto legacy = api::load_secret_file(from.dir);
  if (!legacy) {
    std::cerr << "errand: " << legacy.error().message << "\n";
    return 1;
  }
  auto summary = store::copy::copy_sqlite_to_postgres({.sqlite_dir = from.dir,
                                                       .legacy_secret = std::move(*legacy),
                                                       .conninfo = to.conninfo,
                                                       .schema = to.schema,
                                                       .shown = to.shown,
                                                       .now = core::SystemClock().now()});
  if (!summary) {
    std::cerr << "errand: " << one_line(summary.error().message) << "\n";
    return 1;
  }
  print_summary(*summary, to);
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

  auto copy = std::make_shared<CopyArgs>();
  auto* copy_cmd = app.add_subcommand(
      "copy",
      "Copy every job, queue, schedule, the token secret and the live dashboard sessions of a "
      "stopped SQLite server into an empty PostgreSQL schema, in one transaction");
  copy_cmd->add_option("--from", copy->from, "sqlite:DIR: the data directory of a stopped server");
  copy_cmd->add_option("--to", copy->to,
                       "postgres://USER:PASSWORD@HOST:PORT/DB?schema=NAME: an empty schema "
                       "(created if missing)");
  copy_cmd->callback([copy] { std::exit(run_copy(*copy)); });
}

}  // namespace errand::cli
