// What the workloads of errand-bench share: the settings from the command
// line, the measurements they hand back, the job payload of the peer
// harness, and small helpers for clocks, percentiles and servers.
//
// A workload (workloads.hpp) starts a fresh server per measurement (unless
// --server names one), drives it with the C++ client library and returns
// its measurements; it throws std::runtime_error when the server misbehaves.
// Nothing here is shared between threads except where a type says so.
#pragma once

#include "client/client.hpp"
#include "node_urls.hpp"
#include "postgres.hpp"
#include "server_process.hpp"

#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace errand::bench {

using Clock = std::chrono::steady_clock;

struct Settings {
  std::string server;  // empty: start our own for each measurement; may list several nodes
  std::string errand;  // the errand binary to start
  std::string store;   // empty: SQLite; else a postgres:// URL (each measurement its own schema)
  int nodes = 1;       // servers started per measurement, sharing one schema (PostgreSQL only)
  std::string key;
  std::int64_t jobs = 100'000;     // A and B
  std::int64_t one_jobs = 20'000;  // A one-by-one on 1 connection (at most `jobs`): fsync-bound
  int connections = 16;            // A's concurrent one-by-one producers; C's at most
  int batch = 1'000;               // jobs per batch enqueue (A batched, fills)
  int workers = 2;                 // C++ worker runtimes (each its own connection) in B and C
  int claim_max = 256;             // each runtime's concurrency: jobs per claim at most
  std::vector<int> rates{200, 10'000};
  int rate_secs = 10;
  std::int64_t d_jobs = 1'000'000;
  int d_restarts = 3;
  int push_concurrency = 64;      // P: the push queue's `concurrency`
  int f_keys = 1'000;             // F1: keys of the keyed drain
  int f_late = 100;               // F2: late keys, one job each
  int f_rate_keys = 10;           // F3: rate-limited keys
  int f_rate = 20;                // F3: each key's claims a second
  int f_secs = 60;                // F3: seconds counted
  std::int64_t w_batch = 10'000;  // W1: jobs in the batch
  int w_rounds = 5;               // W1: batches measured
};

// One figure of a measurement: a JSON number or string.
using FieldValue = std::variant<std::int64_t, double, std::string>;

// One line of the table and one JSON object of --json.
struct Measurement {
  std::string workload;                                    // "A" … "D", "P"
  std::string name;                                        // what was measured, for the table
  std::vector<std::pair<std::string, FieldValue>> fields;  // in JSON order
  std::string result;                                      // the headline figure
  std::string detail;                                      // the rest, briefly
  std::string target;                                      // from the issue; empty: none
  std::optional<bool> met;                                 // target met (absolute ones only)

  // A numeric field by name (0 when absent).
  double figure(const std::string& key) const;
  // Sets `target`, and `met` from whether `figure(key)` is at least / at most `bound`.
  void set_target(std::string text, const std::string& key, double bound, bool at_least);
};

// The JSON object of a measurement, on one line.
std::string to_json(const Measurement& m);
// All measurements as one aligned table.
std::string to_table(const std::vector<Measurement>& ms);

// The servers a measurement runs against: fresh ones of its own, or
// --server's. With several nodes (`nodes`, else Settings::nodes) on
// PostgreSQL every server gets the same fresh schema, so they act as one
// service; they are started one after the other (the first creates the
// schema). `server_args` go to each server this starts (ignored for
// --server, which must have been started with whatever they would have set).
class Target {
 public:
  explicit Target(const Settings& s, std::vector<std::string> server_args = {}, int nodes = 0);
  // Every node's URL, comma-separated: a client given it uses the first
  // node; urls_from(url(), i) spreads clients over the nodes.
  const std::string& url() const noexcept { return url_; }
  int nodes() const noexcept { return nodes_; }
  ServerProcess* own() noexcept { return own_.empty() ? nullptr : own_.front().get(); }  // node 0
  // The processes of the servers this started (none for --server).
  std::vector<pid_t> server_pids() const;
  // The PostgreSQL database the servers use (--store), else empty.
  const std::string& store_url() const noexcept { return store_url_; }

 private:
  std::vector<std::unique_ptr<ServerProcess>> own_;
  std::string url_;
  int nodes_ = 1;
  std::string store_url_;
};

// The C++ worker runtimes of B and C: --workers, and at least one per node.
int worker_runtimes(const Settings& s, const Target& target);

// " on N nodes" for a measurement on several, else "": for its name.
std::string on_nodes(const Target& target);

// A client of one connection; `url` may list several nodes (it uses the first).
client::Client make_client(const Settings& s, const std::string& url);

// Where a measurement's time goes: how fast the disk syncs (before and
// after), the CPU seconds of the servers, of every PostgreSQL process, of
// this process (producers and workers) and of the whole machine between
// start() and stop(), and on PostgreSQL the database's transactions, rows
// and WAL (postgres.hpp; the WAL syncs' own time when the cluster has
// track_wal_io_timing on). On PostgreSQL, start()
// and read_statistics() each wait ~10 s for the database's statistics to
// settle; what the idle servers do meanwhile (their timers' ticks: a few
// commits a second each) is measured for 5 s more and taken off.
class CostMeter {
 public:
  explicit CostMeter(const Target& target) : target_(target) {}
  void start();
  // Reads CPU times and the WAL position at once.
  void stop();
  // After stop() and once the clients are stopped: the database's statistics.
  void read_statistics();
  // Adds the costs per job to `m`'s fields and a short line to its detail.
  void add_to(Measurement& m, std::int64_t jobs) const;

 private:
  struct Cpu {
    double servers = 0, bench = 0, machine = 0;
  };
  Cpu cpu_now() const;

  const Target& target_;
  Cpu cpu_start_, cpu_stop_;
  PgCounters pg_start_, pg_stop_now_, pg_stop_, pg_idle_;
  Clock::time_point stopped_at_, settled_at_, idle_at_;
  double fdatasync_us_start_ = 0, fdatasync_us_stop_ = 0;
};

// The harness's ~100-byte payload: {"ts": <epoch s>, "i": i, "pad": "x"*60}.
boost::json::value payload(std::int64_t i, double ts);
double epoch_seconds();
double seconds(Clock::duration d);
// Linear-interpolated percentile (as the peer harness computes it); 0 if empty.
double percentile(std::vector<double> xs, double p);
// A queue name unique to this run.
std::string fresh_queue(const std::string& prefix);

// Enqueues `n` jobs in batches of `batch` over `connections` parallel
// connections, spread over `url`'s nodes (payload indices from 0); returns
// the seconds it took.
double fill(const Settings& s, const std::string& url, const std::string& queue, std::int64_t n,
            int connections);

// `producers` threads enqueue `n` jobs one-by-one, at `rate` jobs/s together,
// on an open-loop schedule, spread over `url`'s nodes; each payload's `ts` is
// the time just before its enqueue is sent. Returns the seconds the producers took; throws on an
// enqueue error.
double produce_at_rate(const Settings& s, const std::string& url, const std::string& queue,
                       std::int64_t n, int rate, int producers);

// 12345.6 → "12,346".
std::string thousands(double v);

// Progress lines on stderr (the table or JSON goes to stdout).
void note(const std::string& line);

}  // namespace errand::bench
