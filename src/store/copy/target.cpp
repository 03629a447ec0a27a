#include "store/copy/target.hpp"

#include "store/copy/tables.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace errand::store::copy {
namespace {

constexpr std::size_t kSendAt = 1 << 20;

std::string libpq_error(PGconn* conn) {
  std::string message = PQerrorMessage(conn);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}

// "12 jobs", "1 queue": for the refusal's message.
std::string counted(std::int64_t n, std::string_view noun) {
  if (n > 1000) return fmt::format("over 1000 {}s", noun);
  return fmt::format("{} {}{}", n, noun, n == 1 ? "" : "s");
}

}  // namespace

core::Result<void> lock_and_check_empty(postgres::Conn& conn, const std::string& schema,
                                        const std::string& shown) {
  std::vector<std::string> names;
  for (const auto& t : kTables) names.emplace_back(t.name);
  if (auto locked =
          conn.exec(fmt::format("LOCK TABLE {} IN EXCLUSIVE MODE", fmt::join(names, ", ")));
      !locked) {
    return locked.error();
  }
  // Counting stops at 1001 rows: enough to say what is there.
  std::vector<std::string> held;
  for (const auto& t : kTables) {
    auto n =
        integer_of(conn, "copy_target_rows",
                   fmt::format("SELECT count(*) FROM (SELECT 1 FROM {} LIMIT 1001) AS r", t.name));
    if (!n) return n.error();
    if (*n > 0) held.push_back(counted(*n, t.noun));
  }
  if (held.empty()) return {};
  return core::make_error(
      core::errc::conflict,
      fmt::format("schema {} of {} is not empty (it holds {}): errand copy only fills an empty "
                  "schema; name a new one with ?schema=NAME",
                  schema, shown, fmt::join(held, ", ")),
      "to");
}

core::Result<CopyIn> CopyIn::start(postgres::Conn& conn, std::string_view table,
                                   const std::vector<std::string_view>& columns) {
  const auto sql = fmt::format("COPY {} ({}) FROM STDIN", table, fmt::join(columns, ", "));
  PGresult* r = PQexec(conn.handle(), sql.c_str());
  const bool ok = r && PQresultStatus(r) == PGRES_COPY_IN;
  if (r) PQclear(r);
  if (!ok) {
    return core::make_error(core::errc::internal, fmt::format("cannot copy into {}: {}", table,
                                                              libpq_error(conn.handle())));
  }
  CopyIn in(conn);
  in.buffer_.reserve(kSendAt + (64 << 10));
  return in;
}

core::Result<void> CopyIn::end_row() {
  buffer_ += '\n';
  if (buffer_.size() < kSendAt) return {};
  return send();
}

core::Result<void> CopyIn::send() {
  if (buffer_.empty()) return {};
  if (PQputCopyData(conn_->handle(), buffer_.data(), static_cast<int>(buffer_.size())) != 1) {
    return core::make_error(core::errc::unavailable,
                            fmt::format("the database connection was lost during COPY: {}",
                                        libpq_error(conn_->handle())));
  }
  buffer_.clear();
  return {};
}

core::Result<void> CopyIn::finish() {
  if (auto sent = send(); !sent) return sent;
  PGconn* c = conn_->handle();
  if (PQputCopyEnd(c, nullptr) != 1) {
    return core::make_error(
        core::errc::unavailable,
        fmt::format("the database connection was lost during COPY: {}", libpq_error(c)));
  }
  std::string failure;
  while (PGresult* r = PQgetResult(c)) {
    if (PQresultStatus(r) != PGRES_COMMAND_OK && failure.empty()) {
      failure = PQresultErrorMessage(r);
      while (!failure.empty() && (failure.back() == '\n' || failure.back() == ' '))
        failure.pop_back();
    }
    PQclear(r);
  }
  if (failure.empty()) return {};
  // The COPY's first line of context is enough; the rest repeats the row.
  return core::make_error(
      core::errc::internal,
      fmt::format("PostgreSQL refused the copied rows: {}", failure.substr(0, failure.find('\n'))));
}

core::Result<void> set_job_seq(postgres::Conn& conn, const std::string& schema) {
  // next_job_id keeps the sequence's low 20 bits: start it above the
  // highest low part any copied id has.
  return conn.exec(fmt::format(
      "SELECT setval('{}.job_seq', coalesce(max(id & 1048575), 0) + 1, false) FROM jobs", schema));
}

core::Result<std::vector<std::string>> recount_queues(postgres::Conn& conn) {
  if (auto added = conn.exec("INSERT INTO queues(name) SELECT DISTINCT queue FROM jobs"
                             " ON CONFLICT (name) DO NOTHING");
      !added) {
    return added.error();
  }
  static const postgres::Statement kRecount{
      "copy_recount_queues",
      "UPDATE queues q SET n_scheduled = c.n0, n_queued = c.n1, n_running = c.n2,"
      " n_succeeded = c.n3, n_failed = c.n4, n_dead = c.n5, n_cancelled = c.n6,"
      " n_blocked = c.n7, n_waiting = c.n8"
      " FROM (SELECT queue,"
      "   count(*) FILTER (WHERE state = 0) AS n0, count(*) FILTER (WHERE state = 1) AS n1,"
      "   count(*) FILTER (WHERE state = 2) AS n2, count(*) FILTER (WHERE state = 3) AS n3,"
      "   count(*) FILTER (WHERE state = 4) AS n4, count(*) FILTER (WHERE state = 5) AS n5,"
      "   count(*) FILTER (WHERE state = 6) AS n6, count(*) FILTER (WHERE state = 7) AS n7,"
      "   count(*) FILTER (WHERE state = 8) AS n8"
      "   FROM jobs GROUP BY queue"
      "   UNION ALL SELECT name, 0, 0, 0, 0, 0, 0, 0, 0, 0 FROM queues"
      "   WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.queue = queues.name)) AS c"
      " WHERE q.name = c.queue AND (q.n_scheduled, q.n_queued, q.n_running, q.n_succeeded,"
      "   q.n_failed, q.n_dead, q.n_cancelled, q.n_blocked, q.n_waiting) IS DISTINCT FROM"
      "   (c.n0, c.n1, c.n2, c.n3, c.n4, c.n5, c.n6, c.n7, c.n8)"
      " RETURNING q.name"};
  auto rows = conn.run(kRecount);
  if (!rows) return rows.error();
  std::vector<std::string> names;
  for (int i = 0; i < rows->size(); ++i) names.emplace_back(rows->text(i, 0));
  return names;
}

core::Result<std::int64_t> integer_of(postgres::Conn& conn, const char* name, std::string sql) {
  // Each text runs once: unnamed, not prepared.
  PGresult* r = PQexec(conn.handle(), sql.c_str());
  if (!r || PQresultStatus(r) != PGRES_TUPLES_OK) {
    const std::string message = r ? PQresultErrorMessage(r) : libpq_error(conn.handle());
    if (r) PQclear(r);
    return core::make_error(
        core::errc::internal,
        fmt::format("PostgreSQL error in {}: {}", name, message.substr(0, message.find('\n'))));
  }
  const std::int64_t value =
      PQntuples(r) > 0 && !PQgetisnull(r, 0, 0) ? std::stoll(PQgetvalue(r, 0, 0)) : 0;
  PQclear(r);
  return value;
}

}  // namespace errand::store::copy
