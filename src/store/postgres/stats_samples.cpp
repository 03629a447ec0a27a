// The throughput history (see store/store.hpp): one row per sample in
// `stats_samples`, its queue counters as JSON text
// {"queue": [processed, failed], …}, trimmed to the caller's span at every put.
#include "store/postgres/ops.hpp"

#include <boost/json.hpp>

namespace errand::store::postgres::ops {
namespace json = boost::json;

namespace {

const Statement kSave{"stats_sample_save",
                      "INSERT INTO stats_samples(at, totals) VALUES ($1, $2)"
                      " ON CONFLICT (at) DO UPDATE SET totals = excluded.totals"};
const Statement kTrim{"stats_samples_trim", "DELETE FROM stats_samples WHERE at <= $1"};
const Statement kSince{"stats_samples_since",
                       "SELECT at, totals FROM stats_samples WHERE at > $1 ORDER BY at"};

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
  auto saved = c.db.run(kSave, Params().time(p.sample.at).text(totals_text(p.sample.queues)));
  if (!saved) return saved.error();
  if (auto trimmed = c.db.run(kTrim, Params().time(p.keep_after)); !trimmed) {
    return trimmed.error();
  }
  return Unit{};
}

core::Result<std::vector<StatsSample>> stats_sample_list(OpContext& c,
                                                         const StatsSampleListParams& p) {
  auto r = c.db.run(kSince, Params().time(p.since));
  if (!r) return r.error();
  std::vector<StatsSample> out;
  for (int i = 0; i < r->size(); ++i) {
    out.push_back({.at = r->time(i, 0), .queues = totals_of(r->text(i, 1))});
  }
  return out;
}

}  // namespace errand::store::postgres::ops
