#include "store/sqlite/ops.hpp"

#include "store/sqlite/links.hpp"

#include "core/id.hpp"
#include "core/queue_config.hpp"
#include "store/common/job_page.hpp"

#include <algorithm>
#include <limits>
#include <optional>

namespace errand::store::sqlite::ops {
namespace {

unsigned list_filters(const JobListParams& p) {
  const bool running = p.state == core::JobState::running;
  return (p.queue.empty() ? 0u : kByQueue) | (p.state ? kByState : 0u) | (running ? kRunning : 0u) |
         (p.type.empty() ? 0u : kByType) | (p.tag.empty() ? 0u : kByTag) |
         (p.text.empty() ? 0u : kByText) | (p.key.empty() ? 0u : kByKey);
}

}  // namespace

core::Result<core::Job> job_get(OpContext& c, const JobGetParams& p) {
  auto row = load_job(c.sql, p.id);
  if (!row) return row.error();
  Query q(c.sql[Sql::job_logs]);
  q.bind_int(1, row->rowid);
  for (;;) {
    auto log = q.step();
    if (!log) return log.error();
    if (!*log) break;
    row->job.logs.push_back({.attempt = static_cast<int>(q.int_at(0)),
                             .at = q.time_at(1),
                             .text = std::string(q.text_at(2))});
  }
  if (auto push = load_push_bookkeeping(c.sql, *row); !push) return push.error();
  row->job.continued = false;  // read just above
  if (auto links = load_links(c.sql, *row, false, true); !links) return links.error();
  if (!row->job.on_done.empty()) {
    if (auto webhook = load_webhook(c.sql, *row); !webhook) return webhook.error();
  }
  // The state is for the handler, not for readers: they see its size.
  row->job.push_state_bytes = static_cast<std::int64_t>(row->job.push_state.size());
  row->job.push_state.clear();
  return std::move(row->job);
}

core::Result<JobPage> job_list(OpContext& c, const JobListParams& p) {
  if (!p.batch.empty()) return batch_jobs(c, p);
  std::int64_t cursor_id = 0;
  if (!p.cursor.empty()) {
    auto cursor = find_rowid(c.sql, p.cursor);
    if (!cursor) return cursor.error();
    cursor_id = *cursor;
  }
  JobPageFill fill(p);
  Query q(c.sql.job_list(list_filters(p)));
  q.bind_text(1, p.queue).bind_int(2, p.state ? static_cast<int>(*p.state) : 0);
  q.bind_text(3, p.type).bind_int(4, list_upper_bound(p, cursor_id));
  q.bind_int(5, fill.rows_to_read());
  q.bind_int(6, p.since ? core::job_id_floor(*p.since) : 0);
  q.bind_text(7, p.tag).bind_text(8, p.text).bind_text(9, p.key);
  for (;;) {
    auto row = q.step();
    if (!row) return row.error();
    if (!*row || !fill.take_row()) break;
    if (q.int_at(kJobListHit) == 0) {
      fill.skip(public_id(q, 0, 1));
      continue;
    }
    if (!fill.has_room()) break;
    fill.add(read_job(q, p.client_json));
  }
  return fill.take();
}

// The job next in line at each priority level of a queue, found by skipping
// down jobs_ready from level to level; the earliest run_at of those. At
// most kOldestReadyLevels levels are read: a queue using more levels than
// that reports the oldest among its highest ones. Per key: the keyless jobs
// and the kOldestReadyKeys keys next in turn.
core::Result<std::map<std::string, core::TimePoint>> queue_oldest_ready(OpContext& c) {
  constexpr int kOldestReadyLevels = 32;
  constexpr std::size_t kOldestReadyKeys = 32;
  std::map<std::string, core::TimePoint> out;
  for (const auto& queue : c.queues.list()) {
    const auto queued = queue.counts.find(core::JobState::queued);
    if (queued == queue.counts.end() || queued->second == 0) continue;
    auto keys = next_keys(c, queue.name, kOldestReadyKeys);
    if (!keys) return keys.error();
    std::optional<core::TimePoint> oldest;
    for (const auto& key : *keys) {
      std::int64_t below = core::kMaxPriority + 1;
      for (int level = 0; level < kOldestReadyLevels; ++level) {
        Query q(c.sql[Sql::queue_oldest_ready]);
        q.bind_text(1, queue.name).bind_int(2, below).bind_text(3, key);
        auto row = q.step();
        if (!row) return row.error();
        if (!*row) break;
        below = q.int_at(0);
        const auto run_at = q.time_at(1);
        if (!oldest || run_at < *oldest) oldest = run_at;
      }
    }
    if (oldest) out.emplace(queue.name, *oldest);
  }
  return out;
}

}  // namespace errand::store::sqlite::ops
