#include "postgres.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include <unistd.h>

namespace errand::bench {
namespace {

std::int64_t to_int(const std::string& text) {
  try {
    return std::stoll(text);
  } catch (const std::exception&) {
    return 0;
  }
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::string field;
  std::istringstream in(text);
  while (std::getline(in, field, sep)) out.push_back(field);
  return out;
}

double ticks_to_seconds(long long ticks) {
  static const long per_second = ::sysconf(_SC_CLK_TCK);
  return static_cast<double>(ticks) / static_cast<double>(per_second > 0 ? per_second : 100);
}

// One row: the database's and the WAL's counters, then every pid that
// pg_stat_activity shows (backends and the cluster's own processes).
constexpr const char* kCountersSql =
    "SELECT d.xact_commit, d.xact_rollback, d.tup_returned + d.tup_fetched,"
    " d.tup_inserted + d.tup_updated + d.tup_deleted,"
    " pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint,"
    " w.wal_records, w.wal_fpi, w.wal_sync, (w.wal_sync_time * 1000)::bigint,"
    " (SELECT string_agg(pid::text, ' ') FROM pg_stat_activity WHERE pid <> pg_backend_pid())"
    " FROM pg_stat_database d, pg_stat_wal w WHERE d.datname = current_database()";

}  // namespace

std::string psql(const std::string& url, const std::string& sql) {
  std::string command = "psql -X -q -t -A -v ON_ERROR_STOP=1 '" + url + "' -c \"" + sql + "\" 2>&1";
  std::string out;
  if (FILE* p = ::popen(command.c_str(), "r")) {
    char buf[512];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    ::pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

PgSchema::PgSchema(std::string store_url) : store_url_(std::move(store_url)) {
  static std::atomic<int> schemas{0};
  name_ = "bench_" + std::to_string(::getpid()) + "_" + std::to_string(++schemas);
}

PgSchema::~PgSchema() {
  psql(store_url_, "DROP SCHEMA IF EXISTS " + name_ + " CASCADE");
}

std::string PgSchema::server_store_url() const {
  const char sep = store_url_.find('?') == std::string::npos ? '?' : '&';
  return store_url_ + sep + "schema=" + name_;
}

std::int64_t PgSchema::bytes() const {
  return to_int(psql(store_url_,
                     "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                     "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '" +
                         name_ + "' AND c.relkind IN ('r', 'm')"));
}

double process_cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return 0;
  // The command name may hold spaces: the fields after it start past ')'.
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  const auto fields = split(stat.substr(close + 2), ' ');
  // After the name: state is field 3, utime 14 and stime 15 (proc(5)).
  if (fields.size() < 13) return 0;
  return ticks_to_seconds(std::atoll(fields[11].c_str()) + std::atoll(fields[12].c_str()));
}

double machine_busy_seconds() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0;
  in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq;
  if (cpu != "cpu") return 0;
  return ticks_to_seconds(user + nice + system + irq + softirq);
}

PgCounters read_pg_counters(const std::string& store_url) {
  PgCounters c;
  const auto fields = split(psql(store_url, kCountersSql), '|');
  if (fields.size() < 10) return c;
  c.commits = to_int(fields[0]);
  c.rollbacks = to_int(fields[1]);
  c.rows_read = to_int(fields[2]);
  c.rows_written = to_int(fields[3]);
  c.wal_lsn = to_int(fields[4]);
  c.wal_records = to_int(fields[5]);
  c.wal_fpi = to_int(fields[6]);
  c.wal_syncs = to_int(fields[7]);
  c.wal_sync_us = to_int(fields[8]);
  for (const auto& pid : split(fields[9], ' ')) {
    if (const auto p = static_cast<pid_t>(to_int(pid)); p > 0) {
      c.cpu_by_pid[p] = process_cpu_seconds(p);
    }
  }
  return c;
}

PgDelta operator-(const PgCounters& after, const PgCounters& before) {
  PgDelta d{.commits = after.commits - before.commits,
            .rollbacks = after.rollbacks - before.rollbacks,
            .rows_read = after.rows_read - before.rows_read,
            .rows_written = after.rows_written - before.rows_written,
            .wal_bytes = after.wal_lsn - before.wal_lsn,
            .wal_records = after.wal_records - before.wal_records,
            .wal_fpi = after.wal_fpi - before.wal_fpi,
            .wal_syncs = after.wal_syncs - before.wal_syncs,
            .wal_sync_us = after.wal_sync_us - before.wal_sync_us};
  for (const auto& [pid, cpu] : after.cpu_by_pid) {
    const auto was = before.cpu_by_pid.find(pid);
    d.cpu_s += cpu - (was == before.cpu_by_pid.end() ? 0 : was->second);
  }
  return d;
}

PgDelta less_idle(const PgDelta& d, const PgDelta& idle, double share) {
  auto less = [share](std::int64_t v, std::int64_t i) {
    return v - static_cast<std::int64_t>(static_cast<double>(i) * share + 0.5);
  };
  PgDelta out = d;
  out.commits = less(d.commits, idle.commits);
  out.rollbacks = less(d.rollbacks, idle.rollbacks);
  out.rows_read = less(d.rows_read, idle.rows_read);
  out.rows_written = less(d.rows_written, idle.rows_written);
  out.wal_records = less(d.wal_records, idle.wal_records);
  out.wal_fpi = less(d.wal_fpi, idle.wal_fpi);
  out.wal_syncs = less(d.wal_syncs, idle.wal_syncs);
  out.wal_sync_us = less(d.wal_sync_us, idle.wal_sync_us);
  return out;
}

void settle_pg_counters() {
  // PGSTAT_IDLE_INTERVAL is 10 s: by then an idle backend has reported.
  std::this_thread::sleep_for(std::chrono::milliseconds(10'500));
}

}  // namespace errand::bench
