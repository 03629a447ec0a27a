#include "store/postgres/events.hpp"

#include "core/id.hpp"
#include "store/postgres/job_rows.hpp"

#include <fmt/format.h>

#include <charconv>
#include <map>

namespace errand::store::postgres {
namespace {

// pg_notify's payload must stay under 8000 bytes.
constexpr std::size_t kMaxPayload = 7900;

const Statement kEventSeqs{"job_event_seqs",
                           "SELECT id, event_seq FROM jobs WHERE id = ANY ($1::bigint[])"};
const Statement kEventJobs{"job_event_rows", "SELECT " + std::string(kJobColumns) +
                                                 " FROM jobs WHERE id = ANY ($1::bigint[])"};

std::string id_array(const std::vector<std::int64_t>& ids) {
  std::string out = "{";
  for (auto id : ids) {
    if (out.size() > 1) out += ',';
    out += std::to_string(id);
  }
  return out + "}";
}

template <class T>
bool parse_number(std::string_view text, T& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size();
}

std::optional<AnnouncedEvent> parse_entry(std::string_view entry) {
  std::string_view parts[4];
  for (int i = 0; i < 4; ++i) {
    const auto colon = entry.find(':');
    if ((colon == std::string_view::npos) != (i == 3)) return std::nullopt;
    parts[i] = entry.substr(0, colon);
    if (colon != std::string_view::npos) entry.remove_prefix(colon + 1);
  }
  AnnouncedEvent e;
  if (!parse_number(parts[0], e.rowid) || !parse_number(parts[1], e.seq) ||
      !parse_number(parts[3], e.attempt)) {
    return std::nullopt;
  }
  if (parts[2] == "p") {
    e.progress = true;
  } else if (!parse_number(parts[2], e.state) || e.state < 0 || e.state > 6) {
    return std::nullopt;
  }
  return e;
}

// The error of attempt `attempt`, else the job's last.
std::string error_of(const core::Job& job, int attempt) {
  for (auto it = job.errors.rbegin(); it != job.errors.rend(); ++it) {
    if (it->attempt == attempt) return it->message;
  }
  return job.errors.empty() ? std::string() : job.errors.back().message;
}

}  // namespace

namespace {

// Each mark's job as a row id, in the marks' order (nullopt: not a job id).
std::vector<std::optional<std::int64_t>> mark_rowids(const std::vector<JobEventMark>& marks) {
  std::vector<std::optional<std::int64_t>> out;
  out.reserve(marks.size());
  for (const auto& mark : marks) out.push_back(core::parse_job_id(mark.id));
  return out;
}

}  // namespace

std::optional<Step> event_seqs_step(const std::vector<JobEventMark>& marks) {
  std::vector<std::int64_t> ids;
  for (const auto& id : mark_rowids(marks)) {
    if (id) ids.push_back(*id);
  }
  if (ids.empty()) return std::nullopt;
  return Step{.statement = &kEventSeqs, .params = Params().text(id_array(ids))};
}

std::vector<std::string> event_payloads(const std::vector<JobEventMark>& marks, const Rows& seqs) {
  const auto ids = mark_rowids(marks);
  std::map<std::int64_t, std::int64_t> last_seq;
  for (int i = 0; i < seqs.size(); ++i) last_seq[seqs.integer(i, 0)] = seqs.integer(i, 1);
  // A job changed k more times later in this batch had its number then
  // minus k: each change made adds at least one, so the numbers a batch
  // announces for a job are distinct, increasing, and above the last batch's.
  std::map<std::int64_t, std::int64_t> later;
  std::vector<std::string> entries(ids.size());
  for (std::size_t i = ids.size(); i-- > 0;) {
    if (!ids[i]) continue;
    const auto found = last_seq.find(*ids[i]);
    if (found == last_seq.end()) continue;  // deleted in this batch
    const auto seq = found->second - later[*ids[i]]++;
    const auto& mark = marks[i];
    entries[i] =
        fmt::format("{}:{}:{}:{}", *ids[i], seq,
                    mark.progress ? std::string("p") : std::to_string(static_cast<int>(mark.state)),
                    mark.attempt);
  }
  std::vector<std::string> payloads;
  std::string payload;
  for (const auto& entry : entries) {
    if (entry.empty()) continue;
    if (!payload.empty() && payload.size() + 1 + entry.size() > kMaxPayload) {
      payloads.push_back(std::move(payload));
      payload.clear();
    }
    payload += payload.empty() ? std::string(1, kEventPayloadMark) : std::string(" ");
    payload += entry;
  }
  if (!payload.empty()) payloads.push_back(std::move(payload));
  return payloads;
}

std::vector<AnnouncedEvent> parse_event_payload(std::string_view payload) {
  std::vector<AnnouncedEvent> out;
  while (!payload.empty()) {
    const auto space = payload.find(' ');
    if (auto e = parse_entry(payload.substr(0, space))) out.push_back(*e);
    if (space == std::string_view::npos) break;
    payload.remove_prefix(space + 1);
  }
  return out;
}

core::Result<std::vector<JobEventNotice>> event_notices(Conn& db,
                                                        const std::vector<AnnouncedEvent>& events) {
  std::vector<std::int64_t> ids;
  for (const auto& e : events) {
    if (e.progress || e.state >= static_cast<int>(core::JobState::succeeded))
      ids.push_back(e.rowid);
  }
  std::map<std::int64_t, core::Job> jobs;
  if (!ids.empty()) {
    auto r = db.run(kEventJobs, Params().text(id_array(ids)));
    if (!r) return r.error();
    for (auto& row : read_jobs(*r)) jobs.emplace(row.rowid, std::move(row.job));
  }
  std::vector<JobEventNotice> out;
  out.reserve(events.size());
  for (const auto& e : events) {
    JobEventNotice n{.id = core::format_job_id(e.rowid),
                     .seq = e.seq,
                     .progress = e.progress,
                     .state = static_cast<core::JobState>(e.state),
                     .attempt = e.attempt};
    const auto found = jobs.find(e.rowid);
    const core::Job* job = found == jobs.end() ? nullptr : &found->second;
    if (e.progress) {
      if (job == nullptr || !job->progress) continue;  // deleted, or nothing to show
      n.progress_value = job->progress;
    } else if (job != nullptr && n.state == core::JobState::succeeded) {
      n.result = job->result;
    } else if (job != nullptr && n.state != core::JobState::succeeded && e.state > 3) {
      n.error = error_of(*job, e.attempt);
    }
    out.push_back(std::move(n));
  }
  return out;
}

}  // namespace errand::store::postgres
