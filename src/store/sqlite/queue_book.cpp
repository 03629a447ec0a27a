#include "store/sqlite/queue_book.hpp"

#include "store/sqlite/statements.hpp"

namespace errand::store::sqlite {

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

QueueInfo to_queue_info(std::string name, const QueueRow& row) {
  QueueInfo info{.name = std::move(name),
                 .paused = row.paused,
                 .processed = row.processed,
                 .failed = row.failed};
  for (auto state : core::kAllStates) info.counts[state] = row.count(state);
  return info;
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
    rows.emplace(std::string(q.text_at(0)), row);
  }
}

}  // namespace errand::store::sqlite
