// How the `errand` CLI shows things to people: aligned tables, `key: value`
// blocks, and times relative to now ("3m ago", "in 10s"). `--json` output
// does not come through here (it prints the API's JSON as is).
//
// Pure functions of their arguments (`now` is passed in) writing to a given
// stream, so they are unit-tested without a server. Thread-compatible.
#pragma once

#include "client/types.hpp"
#include "core/job.hpp"
#include "core/time.hpp"

#include <boost/json/value.hpp>

#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace errand::cli {

// "just now", "42s ago", "in 5m", "1h5m ago", "3d2h ago".
std::string relative_time(core::TimePoint t, core::TimePoint now);
// "2026-11-27 21:06:54 UTC (3m ago)"; "-" for an unset time.
std::string absolute_and_relative(const std::optional<core::TimePoint>& t, core::TimePoint now);
// Compact JSON, cut to `limit` characters with a note of the full size.
std::string json_preview(const boost::json::value& v, std::size_t limit = 1000);
std::string json_preview(const core::RawJson& v, std::size_t limit = 1000);

// Columns padded to their widest cell, two spaces apart; numbers right-aligned.
class Table {
 public:
  struct Column {
    std::string title;
    bool right = false;  // right-align (counts)
  };

  explicit Table(std::vector<Column> columns);
  void add(std::vector<std::string> cells);
  void print(std::ostream& out) const;
  bool empty() const noexcept { return rows_.empty(); }

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

// `key: value` lines with the values aligned.
class Fields {
 public:
  void add(std::string key, std::string value);
  void print(std::ostream& out) const;

 private:
  std::vector<std::pair<std::string, std::string>> lines_;
};

void print_job(std::ostream& out, const core::Job& job, core::TimePoint now);
void print_job_table(std::ostream& out, const std::vector<core::Job>& jobs, core::TimePoint now);
void print_queue_table(std::ostream& out, const std::vector<client::QueueInfo>& queues);
void print_enqueued(std::ostream& out, const client::Enqueued& e, std::string_view queue);

}  // namespace errand::cli
