#include "store/copy/copy.hpp"

#include "store/copy/copy_text.hpp"
#include "store/copy/source.hpp"
#include "store/copy/tables.hpp"
#include "store/copy/target.hpp"
#include "store/postgres/schema.hpp"
#include "store/sqlite/schema.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>
#include <utility>

namespace errand::store::copy {
namespace {

using QueueStateCounts = std::map<std::pair<std::string, int>, std::int64_t>;

std::vector<std::string_view> column_names(const Table& t) {
  std::vector<std::string_view> names;
  for (const auto& c : t.columns) names.push_back(c.name);
  return names;
}

std::string select_of(const Table& t, core::TimePoint now) {
  const auto where = fmt::format(fmt::runtime(t.where), fmt::arg("now", core::to_unix_ms(now)));
  return fmt::format("SELECT {} FROM {}{}{} ORDER BY {}", fmt::join(column_names(t), ", "), t.name,
                     where.empty() ? "" : " WHERE ", where, t.order_by);
}

void append_field(std::string& row, const sqlite::Query& q, int col, Kind kind) {
  if (q.is_null(col)) return append_copy_null(row);
  switch (kind) {
    case Kind::integer:
      return append_copy_integer(row, q.int_at(col));
    case Kind::boolean:
      row += q.int_at(col) != 0 ? 't' : 'f';
      return;
    case Kind::text:
      return append_copy_text(row, q.text_at(col));
  }
}

// Streams `t`'s rows from SQLite into one COPY; returns how many.
core::Result<std::int64_t> copy_table(sqlite::Db& db, postgres::Conn& conn, const Table& t,
                                      core::TimePoint now) {
  auto in = CopyIn::start(conn, t.name, column_names(t));
  if (!in) return in.error();
  const int width = static_cast<int>(t.columns.size());
  auto rows = for_each_row(db, select_of(t, now), [&](const sqlite::Query& q) {
    std::string& row = in->row();
    for (int col = 0; col < width; ++col) {
      if (col > 0) row += '\t';
      append_field(row, q, col, t.columns[static_cast<std::size_t>(col)].kind);
    }
    return in->end_row();
  });
  if (!rows) return rows.error();
  if (auto done = in->finish(); !done) return done.error();
  return *rows;
}

// A data directory made before the secret moved into the store keeps it in
// its `secret` file: it goes where the new servers look for it.
core::Result<bool> add_legacy_secret(sqlite::Db& db, postgres::Conn& conn,
                                     const std::optional<std::string>& legacy) {
  auto in_settings = integer_of(db, "SELECT count(*) FROM settings WHERE name = 'token_secret'");
  if (!in_settings) return in_settings.error();
  if (*in_settings > 0 || !legacy) return false;
  static const postgres::Statement kPut{
      "copy_put_token_secret", "INSERT INTO settings(name, value) VALUES ('token_secret', $1)"};
  if (auto put = conn.run(kPut, postgres::Params().text(*legacy)); !put) return put.error();
  return true;
}

core::Result<QueueStateCounts> source_counts(sqlite::Db& db) {
  QueueStateCounts counts;
  auto rows = for_each_row(
      db, "SELECT queue, state, count(*) FROM jobs GROUP BY queue, state",
      [&](const sqlite::Query& q) -> core::Result<void> {
        counts[{std::string(q.text_at(0)), static_cast<int>(q.int_at(1))}] = q.int_at(2);
        return {};
      });
  if (!rows) return rows.error();
  return counts;
}

core::Result<QueueStateCounts> target_counts(postgres::Conn& conn) {
  static const postgres::Statement kCounts{
      "copy_jobs_by_queue_state", "SELECT queue, state, count(*) FROM jobs GROUP BY queue, state"};
  auto rows = conn.run(kCounts);
  if (!rows) return rows.error();
  QueueStateCounts counts;
  for (int i = 0; i < rows->size(); ++i) {
    counts[{std::string(rows->text(i, 0)), static_cast<int>(rows->integer(i, 1))}] =
        rows->integer(i, 2);
  }
  return counts;
}

core::Error mismatch(std::string what) {
  return core::make_error(core::errc::internal,
                          fmt::format("the copy does not match the SQLite database ({}); nothing "
                                      "was committed",
                                      what));
}

// Every table's rows, then the job counts per queue and state (returned).
core::Result<QueueStateCounts> verify(sqlite::Db& db, postgres::Conn& conn,
                                      const std::map<std::string_view, std::int64_t>& copied) {
  for (const auto& [table, n] : copied) {
    auto there = integer_of(conn, "copy_count", fmt::format("SELECT count(*) FROM {}", table));
    if (!there) return there.error();
    if (*there != n) {
      return mismatch(fmt::format("{} has {} rows, {} were copied", table, *there, n));
    }
  }
  auto from = source_counts(db);
  if (!from) return from.error();
  auto to = target_counts(conn);
  if (!to) return to.error();
  if (*from != *to) return mismatch("the job counts per queue and state differ");
  return from;
}

void summarize(const QueueStateCounts& counts, CopySummary& s) {
  for (const auto& [key, n] : counts) {
    const auto state = static_cast<std::size_t>(key.second);
    if (state < s.jobs_by_state.size()) s.jobs_by_state[state] += n;
  }
}

// Everything inside the one PostgreSQL transaction.
core::Result<CopySummary> copy_all(sqlite::Db& db, postgres::Conn& conn,
                                   const CopyOptions& options) {
  if (auto empty = lock_and_check_empty(conn, options.schema, options.shown); !empty) {
    return empty.error();
  }
  CopySummary s;
  std::map<std::string_view, std::int64_t> copied;
  for (const auto& t : kTables) {
    auto rows = copy_table(db, conn, t, options.now);
    if (!rows) return rows.error();
    copied[t.name] = *rows;
    if (t.left_out != LeftOut::nothing) {
      auto all = integer_of(db, fmt::format("SELECT count(*) FROM {}", t.name));
      if (!all) return all.error();
      (t.left_out == LeftOut::orphans ? s.orphan_rows : s.expired_sessions) += *all - *rows;
    }
  }
  auto from_file = add_legacy_secret(db, conn, options.legacy_secret);
  if (!from_file) return from_file.error();
  if (*from_file) copied["settings"] += 1;
  if (auto seq = set_job_seq(conn, options.schema); !seq) return seq.error();
  auto recounted = recount_queues(conn);
  if (!recounted) return recounted.error();
  // recount_queues added a row for any queue that had jobs but none.
  auto queues =
      integer_of(db, "SELECT count(*) FROM (SELECT name FROM queues UNION SELECT queue FROM jobs)");
  if (!queues) return queues.error();
  copied["queues"] = *queues;
  auto counts = verify(db, conn, copied);
  if (!counts) return counts.error();

  auto legacy = integer_of(db, "SELECT count(*) FROM jobs WHERE legacy_id IS NOT NULL");
  if (!legacy) return legacy.error();
  auto secret =
      integer_of(conn, "copy_count", "SELECT count(*) FROM settings WHERE name = 'token_secret'");
  if (!secret) return secret.error();
  summarize(*counts, s);
  s.jobs = copied["jobs"];
  s.job_logs = copied["job_logs"];
  s.job_push = copied["job_push"];
  s.queues = copied["queues"];
  s.schedules = copied["schedules"];
  s.schedule_fires = copied["schedule_fires"];
  s.stats_samples = copied["stats_samples"];
  s.settings = copied["settings"];
  s.sessions = copied["sessions"];
  s.token_secret = *secret > 0;
  s.token_secret_from_file = *from_file;
  s.legacy_id_jobs = *legacy;
  s.recounted_queues = std::move(*recounted);
  return s;
}

}  // namespace

core::Result<CopySummary> copy_sqlite_to_postgres(const CopyOptions& options) {
  auto source = open_source(options.sqlite_dir);
  if (!source) return source.error();
  sqlite::Db& db = *source->db;
  auto conn = postgres::Conn::open(options.conninfo, options.schema);
  if (!conn) return conn.error();
  if (auto version = postgres::migrate_schema(**conn, options.schema); !version) {
    return version.error();
  }
  const auto started = std::chrono::steady_clock::now();
  if (auto begun = db.exec("BEGIN"); !begun) return begun.error();
  if (auto begun = (*conn)->exec("BEGIN"); !begun) return begun.error();
  auto copied = copy_all(db, **conn, options);
  (void)db.exec("COMMIT");  // a read-only transaction: nothing to keep or lose
  if (!copied) {
    (void)(*conn)->exec("ROLLBACK");
    return copied.error();
  }
  if (auto committed = (*conn)->exec("COMMIT"); !committed) return committed.error();
  copied->took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  copied->sqlite_version_before = source->version_before;
  copied->sqlite_version = sqlite::kSchemaVersion;
  return copied;
}

}  // namespace errand::store::copy
