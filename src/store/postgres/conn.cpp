#include "store/postgres/conn.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdlib>
#include <utility>

namespace errand::store::postgres {
namespace {

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  for (auto& c : s) {
    if (c == '\n') c = ' ';
  }
  return s;
}

// SQLSTATE classes and codes that mean the session is gone, not the statement.
bool is_connection_state(std::string_view state) {
  return state.starts_with("08") || state == "57P01" || state == "57P02" || state == "57P03";
}

// The password of a URL's user part, found by hand: for a URL libpq cannot
// parse, whose error message quotes it whole.
std::string url_password(std::string_view url) {
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  const auto start = scheme + 3;
  const auto at = url.find('@', start);
  if (at == std::string_view::npos) return {};
  const auto userinfo = url.substr(start, at - start);
  const auto colon = userinfo.find(':');
  if (colon == std::string_view::npos) return {};
  return std::string(userinfo.substr(colon + 1));
}

std::string password_of(const std::string& conninfo) {
  char* err = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &err);
  if (err) PQfreemem(err);
  if (!options) return url_password(conninfo);
  std::string password;
  for (auto* o = options; o->keyword; ++o) {
    if (std::string_view(o->keyword) == "password" && o->val) password = o->val;
  }
  PQconninfoFree(options);
  return password;
}

// Server notices and warnings go to the log, not to stderr.
void log_notice(void*, const char* message) {
  spdlog::debug("PostgreSQL: {}", trimmed(message));
}

std::string quote_ident(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

// ---- Params ------------------------------------------------------------------

std::string plain_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (const auto& item : items) {
    if (out.size() > 1) out += ',';
    out += item;
  }
  return out + "}";
}

std::string text_array(const std::vector<std::optional<std::string_view>>& items) {
  std::string out = "{";
  for (const auto& item : items) {
    if (out.size() > 1) out += ',';
    if (!item) {
      out += "NULL";
      continue;
    }
    out += '"';
    for (const char ch : *item) {
      if (ch == '"' || ch == '\\') out += '\\';
      out += ch;
    }
    out += '"';
  }
  return out + "}";
}

std::string text_array(const std::vector<std::string>& items) {
  return text_array(std::vector<std::optional<std::string_view>>(items.begin(), items.end()));
}

// PostgreSQL text cannot hold U+0000 (SQLite can): a NUL from a decoded
// JSON string (a log line, an error message) becomes U+FFFD rather than
// silently cutting the parameter short. Client JSON never has one: JSON
// text escapes it.
Params& Params::text(std::string_view v) {
  std::string value(v);
  for (auto at = value.find('\0'); at != std::string::npos; at = value.find('\0', at + 3)) {
    value.replace(at, 1, "\xEF\xBF\xBD");
  }
  values_.emplace_back(std::move(value));
  return *this;
}

Params& Params::text_or_null(std::string_view v) {
  return v.empty() ? null() : text(v);
}

Params& Params::integer(std::int64_t v) {
  values_.emplace_back(std::to_string(v));
  return *this;
}

Params& Params::opt_integer(std::optional<std::int64_t> v) {
  return v ? integer(*v) : null();
}

Params& Params::time(core::TimePoint t) {
  return integer(core::to_unix_ms(t));
}

Params& Params::opt_time(const std::optional<core::TimePoint>& t) {
  return t ? time(*t) : null();
}

Params& Params::real(double v) {
  values_.emplace_back(fmt::format("{}", v));  // shortest text that reads back exactly
  return *this;
}

Params& Params::boolean(bool v) {
  values_.emplace_back(v ? "t" : "f");
  return *this;
}

Params& Params::null() {
  values_.emplace_back(std::nullopt);
  return *this;
}

const char* const* Params::values() const {
  pointers_.clear();
  for (const auto& v : values_) pointers_.push_back(v ? v->c_str() : nullptr);
  return pointers_.data();
}

// ---- Rows --------------------------------------------------------------------

std::int64_t Rows::affected() const {
  const char* n = result_ ? PQcmdTuples(result_.get()) : "";
  return *n ? std::strtoll(n, nullptr, 10) : 0;
}

std::string_view Rows::text(int row, int col) const {
  if (is_null(row, col)) return {};
  return {PQgetvalue(result_.get(), row, col),
          static_cast<std::size_t>(PQgetlength(result_.get(), row, col))};
}

std::int64_t Rows::integer(int row, int col) const {
  const auto t = text(row, col);
  std::int64_t v = 0;
  std::from_chars(t.data(), t.data() + t.size(), v);
  return v;
}

std::optional<std::int64_t> Rows::opt_integer(int row, int col) const {
  if (is_null(row, col)) return std::nullopt;
  return integer(row, col);
}

double Rows::real(int row, int col) const {
  return std::strtod(std::string(text(row, col)).c_str(), nullptr);
}

bool Rows::boolean(int row, int col) const {
  return text(row, col) == "t";
}

std::optional<core::TimePoint> Rows::opt_time(int row, int col) const {
  if (is_null(row, col)) return std::nullopt;
  return time(row, col);
}

// ---- Conn --------------------------------------------------------------------

std::string describe(PGconn* conn) {
  const char* host = PQhost(conn);
  const char* port = PQport(conn);
  const char* db = PQdb(conn);
  const char* user = PQuser(conn);
  return fmt::format("{}:{}/{} as {}", host && *host ? host : "localhost",
                     port && *port ? port : "5432", db ? db : "", user ? user : "");
}

std::string mask_password(std::string message, const std::string& conninfo) {
  const std::string password = password_of(conninfo);
  if (password.empty()) return message;
  for (auto at = message.find(password); at != std::string::npos;
       at = message.find(password, at + 3)) {
    message.replace(at, password.size(), "***");
  }
  return message;
}

namespace {

bool valid_port(std::string_view port) {
  int number = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
  return ec == std::errc{} && end == port.data() + port.size() && number >= 1 && number <= 65535;
}

core::Error bad_conninfo(std::string_view why, const std::string& conninfo) {
  return core::make_error(
      core::errc::invalid_argument,
      mask_password(fmt::format("the PostgreSQL URL cannot be used: {}", trimmed(std::string(why))),
                    conninfo),
      "store");
}

}  // namespace

core::Result<void> check_conninfo(const std::string& conninfo) {
  char* why = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &why);
  if (!options) {
    auto error = bad_conninfo(why ? why : "it does not parse", conninfo);
    if (why) PQfreemem(why);
    return error;
  }
  std::string ports;
  for (auto* o = options; o->keyword; ++o) {
    if (std::string_view(o->keyword) == "port" && o->val) ports = o->val;
  }
  PQconninfoFree(options);
  for (std::size_t at = 0; !ports.empty() && at <= ports.size();) {
    const auto comma = std::min(ports.find(',', at), ports.size());
    const auto port = std::string_view(ports).substr(at, comma - at);
    if (!port.empty() && !valid_port(port)) {
      return bad_conninfo(fmt::format("port \"{}\" is not a number from 1 to 65535", port),
                          conninfo);
    }
    at = comma + 1;
  }
  return {};
}

// The server answered and said no (a wrong password, a missing database or
// role, a privilege): waiting will not change that. libpq gives a failed
// connection no SQLSTATE, so the server's words decide.
static bool refused_for_good(std::string_view message) {
  constexpr std::array<std::string_view, 5> kRefusals = {
      "password authentication failed", "does not exist", "permission denied",
      "no pg_hba.conf entry", "is not permitted to log in"};
  return std::any_of(kRefusals.begin(), kRefusals.end(),
                     [&](std::string_view s) { return message.find(s) != std::string_view::npos; });
}

core::Error connection_lost(std::string_view detail) {
  return core::make_error(core::errc::unavailable,
                          fmt::format("the database connection was lost: {}", detail));
}

core::Result<std::unique_ptr<Conn>> Conn::open(const std::string& conninfo,
                                               const std::string& schema) {
  // Keywords before dbname are defaults the conninfo may override.
  const char* keywords[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {"10", "errand", conninfo.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (!conn) return core::make_error(core::errc::unavailable, "cannot allocate a connection");
  if (PQstatus(conn) != CONNECTION_OK) {
    const auto message = fmt::format("cannot connect to PostgreSQL at {}: {}", describe(conn),
                                     trimmed(PQerrorMessage(conn)));
    PQfinish(conn);
    return core::make_error(
        refused_for_good(message) ? core::errc::forbidden : core::errc::unavailable,
        mask_password(message, conninfo));
  }
  PQsetNoticeProcessor(conn, &log_notice, nullptr);
  std::unique_ptr<Conn> out(new Conn(conn, conninfo));
  const auto setup = fmt::format(
      "SET synchronous_commit = on; SET client_min_messages = warning;"
      " SET search_path TO {}, public; SET TIME ZONE 'UTC'",
      quote_ident(schema));
  if (auto set = out->exec(setup); !set) return set.error();
  return out;
}

Conn::Conn(PGconn* conn, std::string conninfo)
    : conn_(conn), conninfo_(std::move(conninfo)), where_(describe(conn)) {}

Conn::~Conn() {
  PQfinish(conn_);
}

core::Error Conn::failure(PGresult* r, std::string_view what) {
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  sqlstate_ = state ? state : "";
  std::string message = trimmed(r ? PQresultErrorMessage(r) : PQerrorMessage(conn_));
  if (message.empty()) message = trimmed(PQerrorMessage(conn_));
  message = mask_password(std::move(message), conninfo_);
  // Every error the server sends has a SQLSTATE; one without is libpq's
  // own, such as "server closed the connection unexpectedly" (PQstatus may
  // still say OK when the failure showed while sending).
  if (PQstatus(conn_) != CONNECTION_OK || is_connection_state(sqlstate_) || !r ||
      sqlstate_.empty()) {
    lost_ = true;
    return connection_lost(fmt::format("{} ({}: {})", where_, what, message));
  }
  return core::make_error(core::errc::internal,
                          fmt::format("PostgreSQL error in {}: {}", what, message));
}

core::Result<void> Conn::prepare(const Statement& s) {
  if (prepared_.contains(s.name)) return {};
  PGresult* prep = PQprepare(conn_, s.name, s.sql.c_str(), 0, nullptr);
  if (!prep || PQresultStatus(prep) != PGRES_COMMAND_OK) {
    auto error = failure(prep, s.name);
    if (prep) PQclear(prep);
    return error;
  }
  PQclear(prep);
  prepared_.insert(s.name);
  return {};
}

core::Result<Rows> Conn::run(const Statement& s, const Params& p) {
  if (lost_) return connection_lost(where_);
  if (!deferred_.empty()) {
    auto rows = run_together({Step{.statement = &s, .params = p}});
    if (!rows) return rows.error();
    return std::move(rows->back());
  }
  if (auto prepared = prepare(s); !prepared) return prepared.error();
  PGresult* r = PQexecPrepared(conn_, s.name, p.size(), p.values(), nullptr, nullptr, 0);
  const auto status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    auto error = failure(r, s.name);
    if (r) PQclear(r);
    return error;
  }
  sqlstate_.clear();
  return Rows(r);
}

// The pipeline cannot be sent or its results read: the connection is given
// up (the writer opens a new one), whatever state the session is in.
core::Error Conn::pipeline_broken(std::string_view what) {
  lost_ = true;
  sqlstate_.clear();
  auto message = mask_password(trimmed(PQerrorMessage(conn_)), conninfo_);
  return connection_lost(fmt::format("{} ({}: {})", where_, what, message));
}

core::Result<std::vector<Rows>> Conn::run_together(const std::vector<Step>& given) {
  if (lost_) return connection_lost(where_);
  if (!deferred_.empty()) {
    std::vector<Step> steps = std::exchange(deferred_, {});
    const auto ahead = steps.size();
    steps.insert(steps.end(), given.begin(), given.end());
    auto rows = run_together(steps);
    if (rows) rows->erase(rows->begin(), rows->begin() + static_cast<std::ptrdiff_t>(ahead));
    return rows;
  }
  if (given.empty()) return std::vector<Rows>{};
  if (given.size() == 1) {
    auto r = run(*given.front().statement, given.front().params);
    if (!r) return r.error();
    return std::vector<Rows>{std::move(*r)};
  }
  if (auto sent = send_pipeline(given); !sent) return sent.error();
  return read_pipeline(given);
}

// The connection stays blocking: the steps are a batch's few statements,
// sent whole before their results are read, which a socket's buffers hold
// both ways (a pipeline of many large statements and results would need
// non-blocking mode not to stall).
core::Result<void> Conn::send_pipeline(const std::vector<Step>& steps) {
  for (const auto& step : steps) {
    if (auto prepared = prepare(*step.statement); !prepared) return prepared.error();
  }
  if (PQenterPipelineMode(conn_) != 1) return pipeline_broken("pipeline");
  for (const auto& step : steps) {
    const auto& p = step.params;
    if (PQsendQueryPrepared(conn_, step.statement->name, p.size(), p.values(), nullptr, nullptr,
                            0) != 1) {
      return pipeline_broken(step.statement->name);
    }
  }
  if (PQpipelineSync(conn_) != 1) return pipeline_broken("pipeline");
  return {};
}

// Each step's results end with a null from PQgetResult; a failed step's
// error is followed by PGRES_PIPELINE_ABORTED for every later step, and
// the pipeline by PGRES_PIPELINE_SYNC.
core::Result<std::vector<Rows>> Conn::read_pipeline(const std::vector<Step>& steps) {
  std::vector<Rows> rows;
  rows.reserve(steps.size());
  std::optional<core::Error> error;
  std::size_t step = 0;
  for (;;) {
    PGresult* r = PQgetResult(conn_);
    if (!r) {  // the end of one step's results
      if (++step > steps.size() || PQstatus(conn_) != CONNECTION_OK) {
        return pipeline_broken(step <= steps.size() ? steps[step - 1].statement->name : "pipeline");
      }
      continue;
    }
    const auto status = PQresultStatus(r);
    if (status == PGRES_PIPELINE_SYNC || step >= steps.size()) {
      PQclear(r);
      if (status != PGRES_PIPELINE_SYNC) return pipeline_broken("pipeline");
      break;
    }
    if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
      rows.emplace_back(r);
      continue;
    }
    if (!error && status != PGRES_PIPELINE_ABORTED) error = failure(r, steps[step].statement->name);
    PQclear(r);
    if (lost_) return *error;  // only failure() gives up the connection here
  }
  if (PQexitPipelineMode(conn_) != 1) return pipeline_broken("pipeline");
  if (error) return *error;
  if (rows.size() != steps.size()) return pipeline_broken("pipeline");
  sqlstate_.clear();
  return rows;
}

core::Result<void> Conn::exec(std::string_view sql) {
  if (lost_) return connection_lost(where_);
  if (!deferred_.empty()) {
    if (auto sent = run_together({}); !sent) return sent.error();
  }
  const std::string text(sql);
  PGresult* r = PQexec(conn_, text.c_str());
  const auto status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    const auto first = sql.substr(0, sql.find_first_of(" \n"));
    auto error = failure(r, first);
    if (r) PQclear(r);
    return error;
  }
  PQclear(r);
  sqlstate_.clear();
  return {};
}

}  // namespace errand::store::postgres
