#include "cli/output.hpp"

#include "core/duration.hpp"

#include <fmt/format.h>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cctype>
#include <ostream>

namespace errand::cli {
namespace json = boost::json;
using core::JobState;

namespace {

// Display width of UTF-8 text: code points, not bytes, so "…" counts once.
std::size_t display_width(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string pad(std::string_view s, std::size_t width, bool right) {
  std::string fill(width > display_width(s) ? width - display_width(s) : 0, ' ');
  return right ? fill + std::string(s) : std::string(s) + fill;
}

// Two units at most ("1h5m"), coarse enough to read at a glance.
std::string span(std::int64_t seconds) {
  constexpr std::int64_t kMinute = 60, kHour = 3600, kDay = 86400;
  auto two = [](std::int64_t big, char big_unit, std::int64_t small, char small_unit) {
    return small ? fmt::format("{}{}{}{}", big, big_unit, small, small_unit)
                 : fmt::format("{}{}", big, big_unit);
  };
  if (seconds < kMinute) return fmt::format("{}s", seconds);
  if (seconds < kHour) return fmt::format("{}m", seconds / kMinute);
  if (seconds < kDay) return two(seconds / kHour, 'h', seconds % kHour / kMinute, 'm');
  return two(seconds / kDay, 'd', seconds % kDay / kHour, 'h');
}

std::string or_dash(std::string_view s) {
  return s.empty() ? "-" : std::string(s);
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += sep;
    out += item;
  }
  return out;
}

std::string progress_text(const core::Progress& p) {
  std::string out = p.percent ? fmt::format("{}%", *p.percent) : std::string();
  if (!p.message.empty()) out += (out.empty() ? "" : "  ") + p.message;
  if (!p.data.is_null()) out += (out.empty() ? "" : "  ") + json_preview(p.data, 200);
  return out.empty() ? "-" : out;
}

std::string state_text(const core::Job& job) {
  std::string out(core::to_string(job.state));
  if (job.attempt > 0) out += fmt::format(" (attempt {} of {})", job.attempt, job.max_attempts);
  if (job.cancel_requested && job.state == JobState::running) out += ", cancel requested";
  return out;
}

}  // namespace

std::string relative_time(core::TimePoint t, core::TimePoint now) {
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(t - now).count();
  if (seconds == 0) return "just now";
  return seconds < 0 ? span(-seconds) + " ago" : "in " + span(seconds);
}

std::string absolute_and_relative(const std::optional<core::TimePoint>& t, core::TimePoint now) {
  if (!t) return "-";
  auto text = core::format_rfc3339(*t);  // 2026-11-27T21:06:54.123Z
  if (text.size() >= 19) text = text.substr(0, 10) + " " + text.substr(11, 8) + " UTC";
  return fmt::format("{} ({})", text, relative_time(*t, now));
}

std::string json_preview(const json::value& v, std::size_t limit) {
  return json_preview(core::RawJson::from_value(v), limit);
}

std::string json_preview(const core::RawJson& v, std::size_t limit) {
  const std::string text(v.text());
  if (text.size() <= limit) return text;
  return fmt::format("{}… ({} bytes; --json shows all)", text.substr(0, limit), text.size());
}

Table::Table(std::vector<Column> columns) : columns_(std::move(columns)) {}

void Table::add(std::vector<std::string> cells) {
  cells.resize(columns_.size());
  rows_.push_back(std::move(cells));
}

void Table::print(std::ostream& out) const {
  std::vector<std::size_t> widths;
  for (const auto& c : columns_) widths.push_back(display_width(c.title));
  for (const auto& row : rows_) {
    for (std::size_t i = 0; i < row.size(); ++i)
      widths[i] = std::max(widths[i], display_width(row[i]));
  }
  auto line = [&](auto cell_of) {
    std::string text;
    for (std::size_t i = 0; i < columns_.size(); ++i) {
      bool last = i + 1 == columns_.size();
      auto cell = cell_of(i);
      text += last && !columns_[i].right ? cell : pad(cell, widths[i], columns_[i].right);
      if (!last) text += "  ";
    }
    out << text << '\n';
  };
  line([&](std::size_t i) { return columns_[i].title; });
  for (const auto& row : rows_) line([&](std::size_t i) { return row[i]; });
}

void Fields::add(std::string key, std::string value) {
  lines_.emplace_back(std::move(key), std::move(value));
}

void Fields::print(std::ostream& out) const {
  std::size_t width = 0;
  for (const auto& [key, value] : lines_) width = std::max(width, display_width(key) + 1);
  for (const auto& [key, value] : lines_)
    out << pad(key + ":", width, false) << "  " << value << '\n';
}

void print_job(std::ostream& out, const core::Job& job, core::TimePoint now) {
  Fields f;
  f.add("id", job.id);
  f.add("queue", job.queue);
  f.add("type", or_dash(job.type));
  f.add("state", state_text(job));
  f.add("priority", std::to_string(job.priority));
  f.add("created", absolute_and_relative(job.created_at, now));
  f.add("run at", absolute_and_relative(job.run_at, now));
  f.add("started", absolute_and_relative(job.started_at, now));
  f.add("finished", absolute_and_relative(job.finished_at, now));
  f.add("timeout", core::format_duration(job.timeout));
  if (job.state == JobState::running) {
    f.add("worker", or_dash(job.worker));
    f.add("lease expires", absolute_and_relative(job.lease_expires_at, now));
  }
  if (job.progress) f.add("progress", progress_text(*job.progress));
  if (job.push_continuations > 0) {
    f.add("push",
          fmt::format("continued {} {} (last state {} bytes): each call went on from the state "
                      "the one before returned",
                      job.push_continuations, job.push_continuations == 1 ? "time" : "times",
                      job.push_state_bytes));
  }
  if (job.state == JobState::queued && job.attempt > 0) {
    f.add("retry", fmt::format("queued again {} for attempt {}", relative_time(job.run_at, now),
                               job.attempt + 1));
  }
  if (!job.tags.empty()) f.add("tags", join(job.tags, ", "));
  if (!job.idempotency_key.empty()) f.add("idempotency key", job.idempotency_key);
  if (!job.key.empty()) f.add("key", job.key);
  f.add("payload", json_preview(job.payload));
  if (!job.result.is_null()) f.add("result", json_preview(job.result));
  f.print(out);
  if (!job.errors.empty()) {
    out << "errors:\n";
    Table t({{"ATTEMPT", true}, {"AT"}, {"MESSAGE"}});
    for (const auto& e : job.errors) {
      t.add({std::to_string(e.attempt), relative_time(e.at, now), e.message});
    }
    t.print(out);
  }
  if (!job.logs.empty()) {
    const std::string& log = job.logs.back().text;
    out << "log of the last attempt:\n" << log;
    if (!log.empty() && log.back() != '\n') out << '\n';
  }
}

void print_job_table(std::ostream& out, const std::vector<core::Job>& jobs, core::TimePoint now) {
  if (jobs.empty()) {
    out << "no jobs\n";
    return;
  }
  Table t(
      {{"ID"}, {"QUEUE"}, {"TYPE"}, {"STATE"}, {"ATTEMPT", true}, {"PROGRESS", true}, {"CREATED"}});
  for (const auto& j : jobs) {
    std::string progress =
        j.progress && j.progress->percent ? fmt::format("{}%", *j.progress->percent) : "-";
    t.add({j.id, j.queue, or_dash(j.type), std::string(core::to_string(j.state)),
           fmt::format("{}/{}", j.attempt, j.max_attempts), progress,
           relative_time(j.created_at, now)});
  }
  t.print(out);
}

void print_queue_table(std::ostream& out, const std::vector<client::QueueInfo>& queues) {
  if (queues.empty()) {
    out << "no queues yet (a queue is created by its first job)\n";
    return;
  }
  std::vector<Table::Column> columns{{"QUEUE"}, {"STATUS"}};
  for (auto s : core::kAllStates) {
    std::string title(core::to_string(s));
    std::transform(title.begin(), title.end(), title.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    columns.push_back({title, true});
  }
  columns.push_back({"PROCESSED", true});
  columns.push_back({"FAILURES", true});
  Table t(std::move(columns));
  for (const auto& q : queues) {
    std::vector<std::string> row{q.name, q.paused ? "paused" : "active"};
    for (auto s : core::kAllStates) row.push_back(std::to_string(q.count(s)));
    row.push_back(std::to_string(q.processed));
    row.push_back(std::to_string(q.failed_total));
    t.add(std::move(row));
  }
  t.print(out);
}

void print_enqueued(std::ostream& out, const client::Enqueued& e, std::string_view queue) {
  Fields f;
  f.add("id", e.id);
  f.add("queue", std::string(queue));
  f.add("state", e.duplicate ? std::string(core::to_string(e.state)) +
                                   " (already enqueued with this idempotency key)"
                             : std::string(core::to_string(e.state)));
  f.add("token", e.token);
  f.print(out);
}

}  // namespace errand::cli
