#include "store/postgres/ops.hpp"

#include "store/postgres/links.hpp"

#include "core/id.hpp"
#include "core/queue_config.hpp"
#include "store/common/job_page.hpp"
#include "store/postgres/statements.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <limits>

namespace errand::store::postgres {

const Statement sql::queue_oldest_ready{
    "queue_oldest_ready",
    "SELECT priority, run_at FROM jobs WHERE state = 1 AND queue = $1 AND key = $3"
    " AND priority < $2 ORDER BY priority DESC, id LIMIT 1"};

// Every variant mentions $1..$8 so all can be bound; the filters left out
// are `IS NOT NULL` tests the planner folds away. Ids carry their creation
// time, so a time range is an id range, and every variant walks an index in
// id order: the primary key, or (queue, id), (state, id), (type, id).
Statement sql::job_list(unsigned f) {
  static const auto all = [] {
    std::array<std::string, kListVariants> names;
    for (unsigned i = 0; i < kListVariants; ++i) names[i] = fmt::format("job_list_{}", i);
    return names;
  }();
  std::string sql = fmt::format("SELECT {}, {} FROM jobs WHERE id < $1 AND id >= $2", kJobColumns,
                                (f & kByText) ? "strpos(payload, $6) > 0" : "$6::text IS NOT NULL");
  sql += (f & kByQueue) ? " AND queue = $3" : " AND $3::text IS NOT NULL";
  sql += (f & kByState) ? " AND state = $4" : " AND $4::smallint IS NOT NULL";
  sql += (f & kByType) ? " AND type = $5 AND type <> ''" : " AND $5::text IS NOT NULL";
  sql += (f & kByKey) ? " AND key = $8 AND key <> ''" : " AND $8::text IS NOT NULL";
  return {all[f].c_str(), sql + " ORDER BY id DESC LIMIT $7"};
}

namespace ops {
namespace {

using namespace sql;  // the list filters

namespace json = boost::json;

constexpr int kTagsColumn = 14;  // in kJobColumns
constexpr int kListHit = kJobColumnCount;

const Statement kJobLogs{
    "job_logs", "SELECT attempt, at, log FROM job_logs WHERE job_id = $1 ORDER BY attempt"};

unsigned list_filters(const JobListParams& p) {
  return (p.queue.empty() ? 0u : kByQueue) | (p.state ? kByState : 0u) |
         (p.type.empty() ? 0u : kByType) | (p.text.empty() ? 0u : kByText) |
         (p.key.empty() ? 0u : kByKey);
}

// A whole tag of the row's tags (its JSON text); a row whose tags do not
// parse is unreadable and skipped anyway.
bool has_tag(std::string_view tags, std::string_view tag) {
  if (tag.empty()) return true;
  boost::system::error_code ec;
  const auto parsed = json::parse(tags, ec);
  if (ec || !parsed.is_array()) return false;
  const auto& a = parsed.get_array();
  return std::any_of(a.begin(), a.end(),
                     [&](const json::value& v) { return v.is_string() && v.get_string() == tag; });
}

}  // namespace

core::Result<core::Job> job_get(OpContext& c, const JobGetParams& p) {
  auto row = load_job(c.db, p.id, /*lock=*/false);
  if (!row) return row.error();
  auto logs = c.db.run(kJobLogs, Params().integer(row->rowid));
  if (!logs) return logs.error();
  for (int i = 0; i < logs->size(); ++i) {
    row->job.logs.push_back({.attempt = static_cast<int>(logs->integer(i, 0)),
                             .at = logs->time(i, 1),
                             .text = std::string(logs->text(i, 2))});
  }
  if (auto push = load_push_bookkeeping(c.db, *row); !push) return push.error();
  row->job.continued = false;  // read just above
  if (auto links = load_links(c.db, *row, false, true); !links) return links.error();
  if (!row->job.on_done.empty()) {
    if (auto webhook = load_webhook(c.db, *row); !webhook) return webhook.error();
  }
  // The state is for the handler, not for readers: they see its size.
  row->job.push_state_bytes = static_cast<std::int64_t>(row->job.push_state.size());
  row->job.push_state.clear();
  return std::move(row->job);
}

core::Result<JobPage> job_list(OpContext& c, const JobListParams& p) {
  if (!p.batch.empty()) return batch_jobs(c, p);
  const auto cursor_id = p.cursor.empty() ? std::nullopt : core::parse_job_id(p.cursor);
  JobPageFill fill(p);
  Params params;
  params.integer(list_upper_bound(p, cursor_id.value_or(0)));
  params.integer(p.since ? core::job_id_floor(*p.since) : 0);
  params.text(p.queue).integer(p.state ? static_cast<int>(*p.state) : 0).text(p.type);
  params.text(p.text).integer(fill.rows_to_read()).text(p.key);
  auto rows = c.db.run(sql::job_list(list_filters(p)), params);
  if (!rows) return rows.error();
  const Rows& r = *rows;
  for (int i = 0; i < r.size(); ++i) {
    if (!fill.take_row()) break;
    if (!r.boolean(i, kListHit) || !has_tag(r.text(i, kTagsColumn), p.tag)) {
      fill.skip(core::format_job_id(r.integer(i, 0)));
      continue;
    }
    if (!fill.has_room()) break;
    fill.add(read_job(r, i, p.client_json));
  }
  return fill.take();
}

// The job next in line at each priority level of a queue, found by skipping
// down jobs_ready from level to level; the earliest run_at of those (at most
// kOldestReadyLevels levels, as the SQLite store).
core::Result<std::map<std::string, core::TimePoint>> queue_oldest_ready(OpContext& c) {
  constexpr int kOldestReadyLevels = 32;
  constexpr std::size_t kOldestReadyKeys = 32;
  auto queues = c.queues.list(c.db);
  if (!queues) return queues.error();
  std::map<std::string, core::TimePoint> out;
  for (const auto& queue : *queues) {
    const auto queued = queue.counts.find(core::JobState::queued);
    if (queued == queue.counts.end() || queued->second == 0) continue;
    auto keys = next_keys(c, queue.name, kOldestReadyKeys);
    if (!keys) return keys.error();
    std::optional<core::TimePoint> oldest;
    for (const auto& key : *keys) {
      std::int64_t below = core::kMaxPriority + 1;
      for (int level = 0; level < kOldestReadyLevels; ++level) {
        auto r =
            c.db.run(sql::queue_oldest_ready, Params().text(queue.name).integer(below).text(key));
        if (!r) return r.error();
        if (r->empty()) break;
        below = r->integer(0, 0);
        const auto run_at = r->time(0, 1);
        if (!oldest || run_at < *oldest) oldest = run_at;
      }
    }
    if (oldest) out.emplace(queue.name, *oldest);
  }
  return out;
}

}  // namespace ops
}  // namespace errand::store::postgres
