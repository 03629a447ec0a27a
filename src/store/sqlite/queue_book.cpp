#include "store/sqlite/queue_book.hpp"

#include "store/sqlite/statements.hpp"

#include <algorithm>

namespace errand::store::sqlite {
namespace {

// queue_all selects the config after the counts; queue_save binds it likewise.
constexpr int kConfigColumn = 13;
constexpr int kConfigParam = 14;

std::optional<std::int64_t> opt_int(const Query& q, int col) {
  if (q.is_null(col)) return std::nullopt;
  return q.int_at(col);
}

void bind_opt(Query& q, int index, std::optional<std::int64_t> v) {
  if (v) {
    q.bind_int(index, *v);
  } else {
    q.bind_null(index);
  }
}

// Ten columns: concurrency, rate_limit, rate_per_ms, default_priority,
// default_max_attempts, default_timeout_ms, push_url, push_timeout_ms,
// push_concurrency, push_headers.
core::QueueConfig read_config(const Query& q, int first, int flow_column) {
  QueueConfigColumns c{.concurrency = opt_int(q, first),
                       .rate_limit = opt_int(q, first + 1),
                       .rate_per_ms = opt_int(q, first + 2),
                       .default_priority = opt_int(q, first + 3),
                       .default_max_attempts = opt_int(q, first + 4),
                       .default_timeout_ms = opt_int(q, first + 5)};
  if (!q.is_null(first + 6)) {
    c.push_url = std::string(q.text_at(first + 6));
    c.push_timeout_ms = q.int_at(first + 7);
    c.push_concurrency = q.int_at(first + 8);
    if (!q.is_null(first + 9)) c.push_headers = std::string(q.text_at(first + 9));
  }
  if (!q.is_null(flow_column)) c.flow = std::string(q.text_at(flow_column));
  return decode_queue_config(c);
}

// Three columns: push_secret, push_secret_prev, push_secret_prev_until.
core::PushSecrets read_secrets(const Query& q, int first) {
  core::PushSecrets s;
  if (!q.is_null(first)) s.current = q.text_at(first);
  if (!q.is_null(first + 1)) s.previous = q.text_at(first + 1);
  if (!q.is_null(first + 2)) s.previous_until = q.time_at(first + 2);
  return s;
}

// Ten parameters, as read_config reads them; `c` holds the bound text until
// the statement has run.
void bind_config(Query& q, int first, const QueueConfigColumns& c) {
  bind_opt(q, first, c.concurrency);
  bind_opt(q, first + 1, c.rate_limit);
  bind_opt(q, first + 2, c.rate_per_ms);
  bind_opt(q, first + 3, c.default_priority);
  bind_opt(q, first + 4, c.default_max_attempts);
  bind_opt(q, first + 5, c.default_timeout_ms);
  if (c.push_url) {
    q.bind_text(first + 6, *c.push_url).bind_int(first + 7, c.push_timeout_ms);
    q.bind_int(first + 8, c.push_concurrency).bind_text(first + 9, *c.push_headers);
  } else {
    for (int i = 6; i < 10; ++i) q.bind_null(first + i);
  }
}

void bind_secrets(Query& q, int first, const core::PushSecrets& secrets) {
  q.bind_text_or_null(first, secrets.current).bind_text_or_null(first + 1, secrets.previous);
  if (secrets.previous_until) {
    q.bind_time(first + 2, *secrets.previous_until);
  } else {
    q.bind_null(first + 2);
  }
}

// queue_all selects the push secrets after the config; queue_save binds them likewise.
constexpr int kSecretsColumn = kConfigColumn + 10;
constexpr int kSecretsParam = kConfigParam + 10;
// ... and the flow-control settings after those.
constexpr int kFlowColumn = kSecretsColumn + 3;
constexpr int kFlowParam = kSecretsParam + 3;

}  // namespace

const QueueRow* QueueBook::find(std::string_view queue) const {
  for (const auto& [name, row] : op_) {
    if (name == queue) return &row;
  }
  if (auto it = batch_.find(queue); it != batch_.end()) return &it->second;
  if (auto it = published_.find(queue); it != published_.end()) return &it->second;
  return nullptr;
}

QueueRow& QueueBook::edit(std::string_view queue) {
  for (auto& [name, row] : op_) {
    if (name == queue) return row;
  }
  const QueueRow* current = find(queue);
  op_.emplace_back(std::string(queue), current ? *current : QueueRow{});
  return op_.back().second;
}

void QueueBook::move(std::string_view queue, std::optional<core::JobState> from,
                     std::optional<core::JobState> to) {
  QueueRow& row = edit(queue);
  if (from) --row.count(*from);
  if (to) ++row.count(*to);
}

void QueueBook::op_keep() {
  for (auto& [name, row] : op_) batch_.insert_or_assign(std::move(name), row);
  op_.clear();
}

void QueueBook::batch_publish() {
  for (auto& [name, row] : batch_) published_.insert_or_assign(name, row);
  batch_.clear();
}

std::vector<QueueInfo> QueueBook::list() const {
  Rows merged = published_;
  for (const auto& [name, row] : batch_) merged.insert_or_assign(name, row);
  std::vector<QueueInfo> out;
  out.reserve(merged.size());
  for (auto& [name, row] : merged) out.push_back(to_queue_info(name, row));
  return out;
}

template <class F>
void QueueBook::for_each(F f) const {
  auto in_op = [this](const std::string& name) {
    return std::any_of(op_.begin(), op_.end(), [&](const auto& e) { return e.first == name; });
  };
  for (const auto& [name, row] : published_) {
    if (!batch_.contains(name) && !in_op(name)) f(name, row);
  }
  for (const auto& [name, row] : batch_) {
    if (!in_op(name)) f(name, row);
  }
  for (const auto& [name, row] : op_) f(name, row);
}

std::vector<std::string> QueueBook::throttled_until_before(core::TimePoint now) const {
  std::vector<std::string> out;
  for_each([&](const std::string& name, const QueueRow& row) {
    if (row.throttled_until && *row.throttled_until <= now) out.push_back(name);
  });
  return out;
}

std::optional<core::TimePoint> QueueBook::next_refill() const {
  std::optional<core::TimePoint> first;
  for_each([&](const std::string&, const QueueRow& row) {
    if (row.throttled_until && (!first || *row.throttled_until < *first)) {
      first = row.throttled_until;
    }
  });
  return first;
}

core::Result<QueueBook::Rows> load_queue_rows(Statements& sql) {
  QueueBook::Rows rows;
  Query q(sql[Sql::queue_all]);
  for (;;) {
    auto found = q.step();
    if (!found) return found.error();
    if (!*found) return rows;
    QueueRow row{.paused = q.int_at(1) != 0, .processed = q.int_at(2), .failed = q.int_at(3)};
    for (std::size_t i = 0; i < row.counts.size(); ++i)
      row.counts[i] = q.int_at(static_cast<int>(4 + i));
    row.config = read_config(q, kConfigColumn, kFlowColumn);
    row.secrets = read_secrets(q, kSecretsColumn);
    rows.emplace(std::string(q.text_at(0)), row);
  }
}

core::Result<void> save_queue_row(Statements& sql, const std::string& name, const QueueRow& row) {
  Query q(sql[Sql::queue_save]);
  q.bind_text(1, name).bind_int(2, row.paused ? 1 : 0).bind_int(3, row.processed);
  q.bind_int(4, row.failed);
  for (std::size_t i = 0; i < row.counts.size(); ++i) {
    q.bind_int(static_cast<int>(5 + i), row.counts[i]);
  }
  const QueueConfigColumns config = encode_queue_config(row.config);
  bind_config(q, kConfigParam, config);
  bind_secrets(q, kSecretsParam, row.secrets);
  q.bind_text_or_null(kFlowParam, config.flow ? std::string_view(*config.flow) : "");
  return q.run();
}

}  // namespace errand::store::sqlite
