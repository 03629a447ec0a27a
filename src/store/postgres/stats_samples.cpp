// The throughput history (see store/store.hpp): one row per sample in
// `stats_samples`, its queue counters as JSON text
// {"queue": [processed, failed], …}, trimmed to the caller's span at every put.
#include "store/postgres/ops.hpp"

#include "store/common/stats_samples.hpp"

namespace errand::store::postgres::ops {

namespace {
const Statement kSave{"stats_sample_save",
                      "INSERT INTO stats_samples(at, totals) VALUES ($1, $2)"
                      " ON CONFLICT (at) DO NOTHING"};
const Statement kTrim{"stats_samples_trim", "DELETE FROM stats_samples WHERE at <= $1"};
const Statement kSince{"stats_samples_since",
                       "SELECT at, totals FROM stats_samples WHERE at > $1 ORDER BY at"};

}  // namespace

core::Result<Unit> stats_sample_put(OpContext& c, const StatsSamplePutParams& p) {
  auto saved = c.db.run(kSave, Params().time(p.sample.at).text(stats_totals_text(p.sample.queues)));
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
    out.push_back({.at = r->time(i, 0), .queues = stats_totals_of(r->text(i, 1))});
  }
  return out;
}

}  // namespace errand::store::postgres::ops
