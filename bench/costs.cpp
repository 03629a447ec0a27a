// CostMeter (bench.hpp): CPU from /proc, the database's counters through psql.
#include "bench.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace errand::bench {
namespace {

// How long the idle servers' own commits are counted for, to take them off.
constexpr std::chrono::seconds kIdleWindow{5};

// The disk's speed now: the median of 30 appends of 128 bytes, each
// fdatasync'd, in $TMPDIR (where a SQLite server keeps its data; a local
// PostgreSQL cluster is usually on the same disk). This machine's fsync
// moves by more than 10× from one minute to the next, and with it every
// figure of a store that commits per request. 0 if it cannot write there.
double fdatasync_us() {
  const auto path = (std::filesystem::temp_directory_path() /
                     ("errand-bench-fsync-" + std::to_string(::getpid())))
                        .string();
  const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return 0;
  const std::string record(128, 'x');
  std::vector<double> us;
  for (int i = 0; i < 30; ++i) {
    const auto t0 = Clock::now();
    if (::write(fd, record.data(), record.size()) != static_cast<ssize_t>(record.size()) ||
        ::fdatasync(fd) != 0) {
      break;
    }
    us.push_back(seconds(Clock::now() - t0) * 1e6);
  }
  ::close(fd);
  ::unlink(path.c_str());
  return percentile(us, 50);
}

}  // namespace

CostMeter::Cpu CostMeter::cpu_now() const {
  Cpu cpu{.bench = process_cpu_seconds(::getpid()), .machine = machine_busy_seconds()};
  for (const auto pid : target_.server_pids()) cpu.servers += process_cpu_seconds(pid);
  return cpu;
}

void CostMeter::start() {
  if (!target_.store_url().empty()) {
    settle_pg_counters();  // what came before (a fill) is counted by then
    pg_start_ = read_pg_counters(target_.store_url());
  }
  fdatasync_us_start_ = fdatasync_us();
  cpu_start_ = cpu_now();
}

void CostMeter::stop() {
  cpu_stop_ = cpu_now();
  if (!target_.store_url().empty()) {
    pg_stop_now_ = read_pg_counters(target_.store_url());  // CPU and WAL position: exact now
  }
  stopped_at_ = Clock::now();
  fdatasync_us_stop_ = fdatasync_us();
}

void CostMeter::read_statistics() {
  if (target_.store_url().empty()) return;
  settle_pg_counters();
  pg_stop_ = read_pg_counters(target_.store_url());
  settled_at_ = Clock::now();
  std::this_thread::sleep_for(kIdleWindow);
  pg_idle_ = read_pg_counters(target_.store_url());
  idle_at_ = Clock::now();
}

void CostMeter::add_to(Measurement& m, std::int64_t jobs) const {
  const double n = static_cast<double>(std::max<std::int64_t>(jobs, 1));
  auto per_job_us = [n](double secs) { return secs * 1e6 / n; };
  const double servers = cpu_stop_.servers - cpu_start_.servers;
  const double bench = cpu_stop_.bench - cpu_start_.bench;
  const double machine = cpu_stop_.machine - cpu_start_.machine;
  const bool pg = !target_.store_url().empty();
  const PgDelta now = pg_stop_now_ - pg_start_;
  const double rest = machine - servers - bench - now.cpu_s;
  m.fields.emplace_back("fdatasync_us_start", fdatasync_us_start_);
  m.fields.emplace_back("fdatasync_us_stop", fdatasync_us_stop_);
  m.fields.emplace_back("cpu_us_per_job_servers", per_job_us(servers));
  m.fields.emplace_back("cpu_us_per_job_bench", per_job_us(bench));
  if (pg) m.fields.emplace_back("cpu_us_per_job_postgres", per_job_us(now.cpu_s));
  m.fields.emplace_back("cpu_us_per_job_other", per_job_us(rest));
  m.detail += fmt::format("; fdatasync {:.0f} µs before, {:.0f} after", fdatasync_us_start_,
                          fdatasync_us_stop_);
  m.detail += fmt::format("; CPU µs a job: servers {:.0f}, bench {:.0f}", per_job_us(servers),
                          per_job_us(bench));
  if (pg) m.detail += fmt::format(", PostgreSQL {:.0f}", per_job_us(now.cpu_s));
  m.detail += fmt::format(", rest of the machine {:.0f}", per_job_us(rest));
  if (!pg) return;
  // The database's statistics over start()..stop() and the settling, less
  // what the idle servers did over the settling at the rate measured after
  // it; WAL bytes up to stop().
  const PgDelta idle = pg_idle_ - pg_stop_;
  const double idle_s = seconds(idle_at_ - settled_at_);
  const double settling_s = seconds(settled_at_ - stopped_at_);
  const PgDelta d = less_idle(pg_stop_ - pg_start_, idle, idle_s > 0 ? settling_s / idle_s : 0);
  auto per_job = [n](std::int64_t v) { return static_cast<double>(v) / n; };
  // xact_commit counts the servers' transactions and also one for every
  // wake-up of a LISTEN connection (PostgreSQL reads the notification queue
  // in a transaction of its own).
  m.fields.emplace_back("xacts_per_job", per_job(d.commits));
  m.fields.emplace_back("rollbacks", d.rollbacks);
  m.fields.emplace_back("rows_read_per_job", per_job(d.rows_read));
  m.fields.emplace_back("rows_written_per_job", per_job(d.rows_written));
  m.fields.emplace_back("wal_bytes_per_job", per_job(now.wal_bytes));
  m.fields.emplace_back("wal_records_per_job", per_job(d.wal_records));
  m.fields.emplace_back("wal_fpi_per_job", per_job(d.wal_fpi));
  m.fields.emplace_back("wal_syncs_per_job", per_job(d.wal_syncs));
  m.fields.emplace_back("idle_xacts_per_s",
                        idle_s > 0 ? static_cast<double>(idle.commits) / idle_s : 0.0);
  m.fields.emplace_back("wal_lsn_start", pg_start_.wal_lsn);
  m.fields.emplace_back("wal_lsn_stop", pg_stop_now_.wal_lsn);
  m.detail += fmt::format(
      "; a job: {:.3f} transactions (LISTEN wake-ups included), {:.3f} WAL syncs, {:.1f} rows "
      "written, {:.1f} read, {:.0f} WAL bytes ({:.3f} full pages)",
      per_job(d.commits), per_job(d.wal_syncs), per_job(d.rows_written), per_job(d.rows_read),
      per_job(now.wal_bytes), per_job(d.wal_fpi));
  if (d.wal_syncs > 0 && d.wal_sync_us > 0) {  // track_wal_io_timing is on
    const double sync_us = static_cast<double>(d.wal_sync_us) / static_cast<double>(d.wal_syncs);
    m.fields.emplace_back("wal_sync_us", sync_us);
    m.detail += fmt::format("; a WAL sync took {:.0f} µs", sync_us);
  }
}

}  // namespace errand::bench
