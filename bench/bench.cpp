// errand-bench: the four workloads of the peer harness, and push delivery (P),
// against an Errand server it starts itself (the errand binary next to it, or
// --errand), each measurement on a fresh server with a fresh data directory
// and the server's default durability: every enqueue and acknowledgement is
// fsync'd before the answer. Prints one table, or with --json one JSON object
// per measurement per line. Data directories go under $TMPDIR (default
// /tmp), which should be on the disk being measured. On PostgreSQL
// (--store), --nodes N starts N servers sharing one fresh schema and spreads
// the clients over them. A benchmark prints figures; it asserts nothing.
#include "bench.hpp"
#include "workloads.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <stdexcept>

#include <sys/vfs.h>

#ifndef ERRAND_BENCH_DEFAULT_ERRAND
#define ERRAND_BENCH_DEFAULT_ERRAND "errand"
#endif

namespace errand::bench {
namespace {

// The errand binary beside this one (or one directory up, as in the build
// tree), else the one this was built with.
std::string find_errand() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (const auto& dir : {self.parent_path(), self.parent_path().parent_path()}) {
      if (std::filesystem::is_regular_file(dir / "errand", ec)) return (dir / "errand").string();
    }
  }
  return ERRAND_BENCH_DEFAULT_ERRAND;
}

// A data directory on tmpfs makes every fsync free: say so, since the
// figures would then not be comparable with the peers' (on disk).
void warn_if_tmpfs() {
  constexpr long kTmpfsMagic = 0x01021994;
  struct statfs fs {};
  const auto dir = std::filesystem::temp_directory_path();
  if (::statfs(dir.c_str(), &fs) == 0 && static_cast<long>(fs.f_type) == kTmpfsMagic)
    note(dir.string() + " is tmpfs, where fsync costs nothing: set TMPDIR to a directory on disk");
}

int run(Settings s, std::vector<std::string> workloads, bool json) {
  if (s.errand.empty()) s.errand = find_errand();
  if (workloads.empty()) workloads = {"A", "B", "C", "D"};
  const std::map<std::string, std::function<void(const Settings&, const Emit&)>> run_one{
      {"A", run_enqueue}, {"B", run_drain}, {"C", run_latency},  {"D", run_restart},
      {"P", run_push},    {"F", run_flow},  {"W", run_workflows}};
  if (s.server.empty()) warn_if_tmpfs();
  note(s.server.empty() ? "server: " + s.errand + ", a fresh one per measurement"
                        : "server: " + s.server);
  if (s.nodes > 1 && s.store.empty() && s.server.empty())
    throw std::runtime_error("--nodes needs --store postgres://… (the nodes share one database)");
  if (!s.store.empty() && s.server.empty()) {
    note(s.nodes > 1 ? fmt::format("store: PostgreSQL, {} servers per measurement on one fresh "
                                   "schema (D and P: one server; every acknowledgement committed)",
                                   s.nodes)
                     : "store: PostgreSQL, a fresh schema per server (every acknowledgement "
                       "committed)");
  }
  std::vector<Measurement> all;
  auto emit = [&](Measurement m) {
    note(fmt::format("{} {}: {} ({})", m.workload, m.name, m.result, m.detail));
    if (json) {
      std::puts(to_json(m).c_str());
      std::fflush(stdout);
    }
    all.push_back(std::move(m));
  };
  for (auto w : workloads) {
    for (auto& ch : w) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    run_one.at(w)(s, emit);
  }
  if (!json) std::fputs(to_table(all).c_str(), stdout);
  return 0;
}

}  // namespace
}  // namespace errand::bench

int main(int argc, char** argv) {
  errand::bench::Settings s;
  std::vector<std::string> workloads;
  bool json = false;
  CLI::App app{
      "errand-bench: the peer harness's workloads against an Errand server.\n"
      "  A enqueue: one-by-one on 1 and on --connections connections, batched (--batch per call)\n"
      "  B drain: --jobs queued, then C++ worker runtimes; jobs/s from their start\n"
      "  C latency: enqueue→handler-start p50/p99 at each --rate for --rate-secs\n"
      "  D --d-jobs queued: server RSS, data on disk, kill -9 → all jobs claimable\n"
      "  P push (only with -w): --jobs queued, then pushed to a no-op endpoint in this\n"
      "    process at --push-concurrency; enqueue→endpoint p50/p99 at 200/s for --rate-secs\n"
      "  F flow control (only with -w): B with --f-keys keys and key_concurrency 1 against\n"
      "    plain B; --f-late late keys behind --jobs of one key; key_rate_limit accuracy\n"
      "Each measurement starts a fresh server with its data under $TMPDIR (default /tmp).\n"
      "With --nodes N (and --store) it starts N servers on one fresh schema; the producers and\n"
      "the worker runtimes of A, B and C are spread over them round-robin."};
  app.add_option("-w,--workload", workloads, "Workloads to run, in order (default: A B C D)")
      ->check(CLI::IsMember({"A", "B", "C", "D", "P", "F", "W"}, CLI::ignore_case))
      ->delimiter(',');
  app.add_option("-n,--jobs", s.jobs, "Jobs per measurement of A, B and P")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--one-jobs", s.one_jobs,
                 "A one-by-one on 1 connection: jobs (at most --jobs; one fsync each)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("-c,--connections", s.connections,
                 "A: connections enqueueing one-by-one at once; C: producers at most")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--batch", s.batch, "Jobs per batch enqueue (A batched and every fill)")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  app.add_option("--workers", s.workers,
                 "B and C: C++ worker runtimes, a connection pool each (at least one per node)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--claim-max", s.claim_max,
                 "B and C: each runtime's concurrency, so the most jobs one claim asks for")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--rate", s.rates, "C: enqueue rates in jobs/s (repeatable)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1'000'000));
  app.add_option("--rate-secs", s.rate_secs, "C and P: seconds at each rate")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  app.add_option("--d-jobs", s.d_jobs, "D: jobs queued")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--d-restarts", s.d_restarts, "D: kill -9 and restart this many times")
      ->capture_default_str()
      ->check(CLI::Range(0, 100));
  app.add_option("--f-keys", s.f_keys, "F: keys of the keyed drain (default 1000)");
  app.add_option("--f-late", s.f_late, "F: late keys, one job each (default 100)");
  app.add_option("--f-rate-keys", s.f_rate_keys, "F: rate-limited keys (default 10)");
  app.add_option("--f-rate", s.f_rate, "F: each key's claims a second (default 20)");
  app.add_option("--f-secs", s.f_secs, "F: seconds the rate is counted (default 60)");
  app.add_option("--w-batch", s.w_batch, "W: jobs in the measured batch (default 10000)");
  app.add_option("--w-rounds", s.w_rounds, "W: batches measured (default 5)");
  app.add_option("--push-concurrency", s.push_concurrency, "P: the push queue's concurrency")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_flag("--json", json, "One JSON object per measurement per line instead of the table");
  app.add_option("--server", s.server,
                 "Use this running server instead, or several nodes' URLs comma-separated (D is "
                 "skipped; P needs it started with --push-allow-private)");
  app.add_option("--errand", s.errand, "errand binary to start (default: the one beside this)");
  app.add_option("--store", s.store,
                 "Run the servers on PostgreSQL: a postgres:// URL (without schema); each "
                 "measurement gets a fresh schema, dropped afterwards with psql, and figures per "
                 "job from the database's statistics");
  app.add_option("--nodes", s.nodes,
                 "With --store: servers per measurement sharing one schema, acting as one service "
                 "(D and P use one)")
      ->capture_default_str()
      ->check(CLI::Range(1, 16));
  app.add_option("--key", s.key, "API key for --server")->envname("ERRAND_KEY");
  try {
    app.parse(argc, argv);
    return errand::bench::run(s, workloads, json);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "errand-bench: {}\n", e.what());
    return 1;
  }
}
