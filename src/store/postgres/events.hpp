// Job events across servers. Every statement that changes a job's state or
// progress also adds one to its row's `event_seq`, so a job's changes are
// numbered alike for every server. Before it commits, the writer reads the
// numbers of the batch's changes and NOTIFYs them on the store's channel,
// "#" + one "<row id>:<seq>:<kind>:<attempt>" per change (kind: the state's
// number, or "p" for progress), space-separated, as many notifications as
// the 8000-byte payload limit needs. Every server's LISTEN connection hears
// them in commit order (its own included); for the jobs someone there
// watches, it reads the rows once and hands the changes to the store's
// JobEventFeed. Notifications carry ids only, so a change costs every server
// a few bytes, and a watched job one read.
#pragma once

#include "store/common/notice.hpp"
#include "store/postgres/conn.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace errand::store::postgres {

inline constexpr char kEventPayloadMark = '#';  // queue names never begin with it

// The statement reading the change numbers of the jobs `marks` name
// (nullopt: they name none). Writer thread, inside the batch's transaction.
std::optional<Step> event_seqs_step(const std::vector<JobEventMark>& marks);
// The notification payloads announcing `marks` (the batch's changes, in the
// order made), numbered from `seqs`, the rows of event_seqs_step's statement.
std::vector<std::string> event_payloads(const std::vector<JobEventMark>& marks, const Rows& seqs);

struct AnnouncedEvent {
  std::int64_t rowid = 0;
  std::uint64_t seq = 0;
  bool progress = false;
  int state = 0;
  int attempt = 0;
};
// The changes in one payload (after the mark); malformed entries are skipped.
std::vector<AnnouncedEvent> parse_event_payload(std::string_view payload);

// The notices of `events` (all of jobs someone watches), with the data a
// watcher is shown read from the rows: results, errors, progress. A job
// deleted meanwhile still gets its state changes, without that data.
core::Result<std::vector<JobEventNotice>> event_notices(Conn& db,
                                                        const std::vector<AnnouncedEvent>& events);

}  // namespace errand::store::postgres
