#include "store/sqlite/ops.hpp"

#include "core/id.hpp"
#include "core/queue_config.hpp"

#include <algorithm>
#include <limits>
#include <optional>

namespace errand::store::sqlite::ops {
namespace {

constexpr std::size_t kMaxListLimit = 1000;

unsigned list_filters(const JobListParams& p) {
  const bool running = p.state == core::JobState::running;
  return (p.queue.empty() ? 0u : kByQueue) | (p.state ? kByState : 0u) | (running ? kRunning : 0u) |
         (p.type.empty() ? 0u : kByType) | (p.tag.empty() ? 0u : kByTag) |
         (p.text.empty() ? 0u : kByText);
}

// Ids carry their creation time, so a time range is a range of ids: the
// page starts below the cursor and below `until`, and stops at `since`. A
// legacy cursor whose job is gone stands for the start of its millisecond.
core::Result<std::int64_t> upper_bound(Statements& sql, const JobListParams& p) {
  std::int64_t bound = std::numeric_limits<std::int64_t>::max();
  if (!p.cursor.empty()) {
    auto cursor = find_rowid(sql, p.cursor);
    if (!cursor) return cursor.error();
    bound = *cursor != 0 ? *cursor
                         : core::job_id_floor(core::from_unix_ms(core::legacy_id_ms(p.cursor)));
  }
  if (p.until) bound = std::min(bound, core::job_id_floor(*p.until));
  return bound;
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
  // The state is for the handler, not for readers: they see its size.
  row->job.push_state_bytes = static_cast<std::int64_t>(row->job.push_state.size());
  row->job.push_state.clear();
  return std::move(row->job);
}

core::Result<JobPage> job_list(OpContext& c, const JobListParams& p) {
  const std::size_t limit = std::clamp<std::size_t>(p.limit, 1, kMaxListLimit);
  const bool search = !p.tag.empty() || !p.text.empty();
  const std::size_t budget = std::max<std::size_t>(p.search_budget, 1);
  const auto upper = upper_bound(c.sql, p);
  if (!upper) return upper.error();
  Query q(c.sql.job_list(list_filters(p)));
  q.bind_text(1, p.queue).bind_int(2, p.state ? static_cast<int>(*p.state) : 0);
  q.bind_text(3, p.type).bind_int(4, *upper);
  // One more than a page tells whether a page follows; a search reads at
  // most its budget, and one more to tell whether it stopped early.
  q.bind_int(5, static_cast<std::int64_t>(search ? budget + 1 : limit + 1));
  q.bind_int(6, p.since ? core::job_id_floor(*p.since) : 0);
  q.bind_text(7, p.tag).bind_text(8, p.text);
  JobPage page;
  std::size_t read = 0;
  std::size_t bytes = 0;  // of client JSON read for the page
  std::string last_read;
  for (;;) {
    auto row = q.step();
    if (!row) return row.error();
    if (!*row) break;
    if (search && read == budget) {  // a row past the budget: stop where the budget ended
      page.partial = page.jobs.size() < limit;
      page.next_cursor = page.partial ? last_read : page.jobs.back().id;
      break;
    }
    ++read;
    if (q.int_at(kJobListHit) == 0) {
      last_read = public_id(q, 0, 1);
      continue;
    }
    if (page.jobs.size() == limit) {
      page.next_cursor = page.jobs.back().id;
      break;
    }
    if (!page.jobs.empty() && bytes >= p.max_bytes) {  // large payloads: a short page
      page.next_cursor = page.jobs.back().id;
      page.partial = true;
      break;
    }
    auto job = read_job(q, p.client_json);
    last_read = job.job.id;
    if (!job.unreadable.empty()) continue;  // logged once and counted; never takes the page down
    bytes += job.job.payload.stored().size() + job.job.result.stored().size();
    if (job.job.progress) bytes += job.job.progress->data.stored().size();
    page.jobs.push_back(std::move(job.job));
  }
  return page;
}

// The job next in line at each priority level of a queue, found by skipping
// down jobs_ready from level to level; the earliest run_at of those. At
// most kOldestReadyLevels levels are read: a queue using more levels than
// that reports the oldest among its highest ones.
core::Result<std::map<std::string, core::TimePoint>> queue_oldest_ready(OpContext& c) {
  constexpr int kOldestReadyLevels = 32;
  std::map<std::string, core::TimePoint> out;
  for (const auto& queue : c.queues.list()) {
    const auto queued = queue.counts.find(core::JobState::queued);
    if (queued == queue.counts.end() || queued->second == 0) continue;
    std::optional<core::TimePoint> oldest;
    std::int64_t below = core::kMaxPriority + 1;
    for (int level = 0; level < kOldestReadyLevels; ++level) {
      Query q(c.sql[Sql::queue_oldest_ready]);
      q.bind_text(1, queue.name).bind_int(2, below);
      auto row = q.step();
      if (!row) return row.error();
      if (!*row) break;
      below = q.int_at(0);
      const auto run_at = q.time_at(1);
      if (!oldest || run_at < *oldest) oldest = run_at;
    }
    if (oldest) out.emplace(queue.name, *oldest);
  }
  return out;
}

}  // namespace errand::store::sqlite::ops
