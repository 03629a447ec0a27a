// The throughput history of the SQLite store (see store/store.hpp): one row
// per sample in `stats_samples`, its queue counters as JSON text
// {"queue": [processed, failed], …}, trimmed to the caller's span at every put.
#include "store/sqlite/ops.hpp"

#include <boost/json.hpp>

namespace errand::store::sqlite::ops {
namespace json = boost::json;

namespace {

std::string totals_text(const std::map<std::string, QueueTotals>& queues) {
  json::object o;
  for (const auto& [name, t] : queues) o[name] = json::array{t.processed, t.failed};
  return json::serialize(o);
}

// A row this store wrote; anything else (a hand-edited row) reads as no queues.
std::map<std::string, QueueTotals> totals_of(std::string_view text) {
  std::map<std::string, QueueTotals> out;
  boost::system::error_code ec;
  const auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return out;
  for (const auto& [name, pair] : v.get_object()) {
    const auto* a = pair.if_array();
    if (!a || a->size() != 2 || !(*a)[0].is_int64() || !(*a)[1].is_int64()) continue;
    out[std::string(name)] = {(*a)[0].get_int64(), (*a)[1].get_int64()};
  }
  return out;
}

}  // namespace

core::Result<Unit> stats_sample_put(OpContext& c, const StatsSamplePutParams& p) {
  const auto text = totals_text(p.sample.queues);
  Query save(c.sql[Sql::stats_sample_save]);
  save.bind_time(1, p.sample.at).bind_text(2, text);
  if (auto done = save.run(); !done) return done.error();
  Query trim(c.sql[Sql::stats_samples_trim]);
  trim.bind_time(1, p.keep_after);
  if (auto done = trim.run(); !done) return done.error();
  return Unit{};
}

core::Result<std::vector<StatsSample>> stats_sample_list(OpContext& c,
                                                         const StatsSampleListParams& p) {
  Query q(c.sql[Sql::stats_samples_since]);
  q.bind_time(1, p.since);
  std::vector<StatsSample> out;
  for (;;) {
    auto row = q.step();
    if (!row) return row.error();
    if (!*row) return out;
    out.push_back({.at = q.time_at(0), .queues = totals_of(q.text_at(1))});
  }
}

}  // namespace errand::store::sqlite::ops
