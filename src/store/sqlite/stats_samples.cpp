// The throughput history of the SQLite store (see store/store.hpp): one row
// per sample in `stats_samples`, its queue counters as JSON text
// {"queue": [processed, failed], …}, trimmed to the caller's span at every put.
#include "store/sqlite/ops.hpp"

#include "store/common/stats_samples.hpp"

namespace errand::store::sqlite::ops {

core::Result<Unit> stats_sample_put(OpContext& c, const StatsSamplePutParams& p) {
  const auto text = stats_totals_text(p.sample.queues);
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
    out.push_back({.at = q.time_at(0), .queues = stats_totals_of(q.text_at(1))});
  }
}

}  // namespace errand::store::sqlite::ops
