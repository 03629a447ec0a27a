// What errand-bench does to a PostgreSQL database itself, through psql (the
// servers under test use their own connections): run a statement, give the
// servers of one measurement a schema of their own, and read the cluster's
// counters before and after a measurement to turn them into costs per job.
//
// The counters come from pg_stat_database and pg_stat_wal, which backends
// update at most once a second and an idle backend within 10 s
// (PGSTAT_MIN_INTERVAL, PGSTAT_IDLE_INTERVAL in PostgreSQL 15): read them
// after settle() for figures that include the whole measurement. The WAL
// position (pg_current_wal_lsn) is exact at any time. CPU times come from
// /proc, so they count only when the database runs on this machine.
// Not thread-safe: one owner each.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <sys/types.h>

namespace errand::bench {

// Runs psql on `url` with one statement and returns its unaligned output
// (fields separated by '|', trailing newline dropped; an error's text if it
// failed).
std::string psql(const std::string& url, const std::string& sql);

// A fresh schema for the servers of one measurement, shared by all of them
// (each holds a std::shared_ptr): uniquely named here, created and migrated
// by the first server to start, dropped (CASCADE, with psql) when the last
// owner lets go — after every server holding it has stopped.
class PgSchema {
 public:
  // `store_url`: a postgres:// URL without `schema`.
  explicit PgSchema(std::string store_url);
  ~PgSchema();
  PgSchema(const PgSchema&) = delete;
  PgSchema& operator=(const PgSchema&) = delete;

  const std::string& name() const noexcept { return name_; }
  const std::string& store_url() const noexcept { return store_url_; }
  // The store URL with `schema=<name>`: what each server gets as --store.
  std::string server_store_url() const;
  // The schema's tables and indexes (pg_total_relation_size), 0 if unknown.
  std::int64_t bytes() const;

 private:
  std::string store_url_;
  std::string name_;
};

// CPU seconds (user + system) of one process from /proc/<pid>/stat, every
// thread included; 0 when it is gone or unreadable.
double process_cpu_seconds(pid_t pid);
// CPU seconds the whole machine spent busy (every core, from /proc/stat).
double machine_busy_seconds();

// The cluster's cumulative counters at one moment.
struct PgCounters {
  std::int64_t commits = 0;            // pg_stat_database.xact_commit (this database), with one
                                       // for every wake-up of a LISTEN connection
  std::int64_t rollbacks = 0;          // xact_rollback
  std::int64_t rows_read = 0;          // tup_returned + tup_fetched
  std::int64_t rows_written = 0;       // tup_inserted + tup_updated + tup_deleted
  std::int64_t wal_lsn = 0;            // pg_current_wal_lsn() in bytes: exact
  std::int64_t wal_records = 0;        // pg_stat_wal
  std::int64_t wal_fpi = 0;            // full-page images
  std::int64_t wal_syncs = 0;          // WAL flushes (fsync or fdatasync)
  std::int64_t wal_sync_us = 0;        // their time: 0 unless track_wal_io_timing is on
  std::map<pid_t, double> cpu_by_pid;  // every process in pg_stat_activity: CPU seconds
};

// Reads them (one psql call); a field it cannot read stays 0.
PgCounters read_pg_counters(const std::string& store_url);

// The change between two readings, as costs.
struct PgDelta {
  std::int64_t commits = 0, rollbacks = 0, rows_read = 0, rows_written = 0;
  std::int64_t wal_bytes = 0, wal_records = 0, wal_fpi = 0, wal_syncs = 0, wal_sync_us = 0;
  double cpu_s = 0;  // every PostgreSQL process alive at `after`
};
PgDelta operator-(const PgCounters& after, const PgCounters& before);
// `d` less `idle` scaled by `share` (the counters only; cpu_s and wal_bytes stay).
PgDelta less_idle(const PgDelta& d, const PgDelta& idle, double share);

// Waits until every backend has reported its counters (see above).
void settle_pg_counters();

}  // namespace errand::bench
