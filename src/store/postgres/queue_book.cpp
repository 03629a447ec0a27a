#include "store/postgres/queue_book.hpp"

namespace errand::store::postgres {
namespace {

constexpr std::string_view kQueueColumns =
    "name, paused, processed, failed, n_scheduled, n_queued, n_running, n_succeeded, n_failed,"
    " n_dead, n_cancelled, n_blocked, n_waiting, concurrency, rate_limit, rate_per_ms, "
    "default_priority,"
    " default_max_attempts, default_timeout_ms, push_url, push_timeout_ms, push_concurrency,"
    " push_headers, push_secret, push_secret_prev, push_secret_prev_until, bucket_tokens,"
    " bucket_at, throttled_until, flow";
enum Col {
  kName,
  kPaused,
  kProcessed,
  kFailed,
  kCounts,
  kConfig = 13,
  kPush = 19,
  kSecrets = 23,
  kBucketTokens = 26,
  kBucketAt,
  kThrottledUntil,
  kFlow
};

const Statement kQueueGet{"queue_get",
                          "SELECT " + std::string(kQueueColumns) + " FROM queues WHERE name = $1"};
const Statement kQueueLock{"queue_lock", "SELECT " + std::string(kQueueColumns) +
                                             " FROM queues WHERE name = $1 FOR UPDATE"};
const Statement kQueueAll{"queue_all",
                          "SELECT " + std::string(kQueueColumns) + " FROM queues ORDER BY name"};
const Statement kQueueAddCounts{
    "queue_add_counts",
    "INSERT INTO queues AS q(name, n_scheduled, n_queued, n_running, n_succeeded, n_failed,"
    " n_dead, n_cancelled, n_blocked, n_waiting, processed, failed)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    " ON CONFLICT (name) DO UPDATE SET n_scheduled = q.n_scheduled + excluded.n_scheduled,"
    " n_queued = q.n_queued + excluded.n_queued, n_running = q.n_running + excluded.n_running,"
    " n_succeeded = q.n_succeeded + excluded.n_succeeded,"
    " n_failed = q.n_failed + excluded.n_failed, n_dead = q.n_dead + excluded.n_dead,"
    " n_cancelled = q.n_cancelled + excluded.n_cancelled,"
    " n_blocked = q.n_blocked + excluded.n_blocked, n_waiting = q.n_waiting + excluded.n_waiting,"
    " processed = q.processed + excluded.processed, failed = q.failed + excluded.failed"};
const Statement kQueueSaveSettings{
    "queue_save",
    "INSERT INTO queues AS q(name, paused, concurrency, rate_limit, rate_per_ms, default_priority,"
    " default_max_attempts, default_timeout_ms, push_url, push_timeout_ms, push_concurrency,"
    " push_headers, push_secret, push_secret_prev, push_secret_prev_until, bucket_tokens,"
    " bucket_at, throttled_until, flow)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,"
    " $19)"
    " ON CONFLICT (name) DO UPDATE SET paused = excluded.paused,"
    " concurrency = excluded.concurrency, rate_limit = excluded.rate_limit,"
    " rate_per_ms = excluded.rate_per_ms, default_priority = excluded.default_priority,"
    " default_max_attempts = excluded.default_max_attempts,"
    " default_timeout_ms = excluded.default_timeout_ms, push_url = excluded.push_url,"
    " push_timeout_ms = excluded.push_timeout_ms, push_concurrency = excluded.push_concurrency,"
    " push_headers = excluded.push_headers, push_secret = excluded.push_secret,"
    " push_secret_prev = excluded.push_secret_prev,"
    " push_secret_prev_until = excluded.push_secret_prev_until,"
    " bucket_tokens = excluded.bucket_tokens, bucket_at = excluded.bucket_at,"
    " throttled_until = excluded.throttled_until, flow = excluded.flow"};
const Statement kQueueSaveBucket{
    "queue_save_bucket",
    "UPDATE queues SET bucket_tokens = $2, bucket_at = $3, throttled_until = $4 WHERE name = $1"};

core::QueueConfig read_config(const Rows& r, int i) {
  QueueConfigColumns c{.concurrency = r.opt_integer(i, kConfig),
                       .rate_limit = r.opt_integer(i, kConfig + 1),
                       .rate_per_ms = r.opt_integer(i, kConfig + 2),
                       .default_priority = r.opt_integer(i, kConfig + 3),
                       .default_max_attempts = r.opt_integer(i, kConfig + 4),
                       .default_timeout_ms = r.opt_integer(i, kConfig + 5)};
  if (!r.is_null(i, kPush)) {
    c.push_url = std::string(r.text(i, kPush));
    c.push_timeout_ms = r.integer(i, kPush + 1);
    c.push_concurrency = r.integer(i, kPush + 2);
    if (!r.is_null(i, kPush + 3)) c.push_headers = std::string(r.text(i, kPush + 3));
  }
  if (!r.is_null(i, kFlow)) c.flow = std::string(r.text(i, kFlow));
  return decode_queue_config(c);
}

QueueRow read_row(const Rows& r, int i) {
  QueueRow row{.paused = r.boolean(i, kPaused),
               .processed = r.integer(i, kProcessed),
               .failed = r.integer(i, kFailed)};
  for (std::size_t s = 0; s < row.counts.size(); ++s)
    row.counts[s] = r.integer(i, kCounts + static_cast<int>(s));
  row.config = read_config(r, i);
  if (!r.is_null(i, kSecrets)) row.secrets.current = r.text(i, kSecrets);
  if (!r.is_null(i, kSecrets + 1)) row.secrets.previous = r.text(i, kSecrets + 1);
  row.secrets.previous_until = r.opt_time(i, kSecrets + 2);
  if (!r.is_null(i, kBucketTokens) && !r.is_null(i, kBucketAt)) {
    row.bucket = core::TokenBucket{r.real(i, kBucketTokens), r.time(i, kBucketAt)};
  }
  row.throttled_until = r.opt_time(i, kThrottledUntil);
  return row;
}

void bind_bucket(Params& p, const QueueRow& row) {
  if (row.bucket) {
    p.real(row.bucket->tokens).time(row.bucket->at);
  } else {
    p.null().null();
  }
  p.opt_time(row.throttled_until);
}

}  // namespace

void QueueDelta::add_to(QueueDelta& into) const {
  for (std::size_t i = 0; i < counts.size(); ++i) into.counts[i] += counts[i];
  into.processed += processed;
  into.failed += failed;
}

void QueueDelta::apply(QueueRow& row) const {
  for (std::size_t i = 0; i < counts.size(); ++i) row.counts[i] += counts[i];
  row.processed += processed;
  row.failed += failed;
}

void QueueBook::move(std::string_view queue, std::optional<core::JobState> from,
                     std::optional<core::JobState> to) {
  auto& d = op_[std::string(queue)];
  if (from) --d.counts[static_cast<std::size_t>(*from)];
  if (to) ++d.counts[static_cast<std::size_t>(*to)];
}

void QueueBook::op_keep() {
  for (const auto& [name, d] : op_) d.add_to(batch_[name]);
  op_.clear();
}

QueueDelta QueueBook::delta(std::string_view queue) const {
  QueueDelta out;
  if (auto it = batch_.find(queue); it != batch_.end()) it->second.add_to(out);
  if (auto it = op_.find(queue); it != op_.end()) it->second.add_to(out);
  return out;
}

std::vector<Step> QueueBook::flush_steps() const {
  std::vector<Step> steps;
  steps.reserve(batch_.size());
  for (const auto& [name, d] : batch_) {
    Params p;
    p.text(name);
    for (auto n : d.counts) p.integer(n);
    p.integer(d.processed).integer(d.failed);
    steps.push_back({.statement = &kQueueAddCounts, .params = std::move(p)});
  }
  return steps;
}

core::Result<std::optional<QueueRow>> QueueBook::find(Conn& db, std::string_view queue, bool lock) {
  auto r = db.run(lock ? kQueueLock : kQueueGet, Params().text(queue));
  if (!r) return r.error();
  const bool pending = batch_.contains(queue) || op_.contains(queue);
  if (r->empty() && !pending) return std::nullopt;
  QueueRow row = r->empty() ? QueueRow{} : read_row(*r, 0);
  note_config(queue, row.config);
  delta(queue).apply(row);
  return row;
}

std::optional<bool> QueueBook::known_limited(std::string_view queue) const {
  if (auto it = limited_.find(queue); it != limited_.end()) return it->second;
  return std::nullopt;
}

core::Result<std::vector<QueueInfo>> QueueBook::list(Conn& db) {
  auto r = db.run(kQueueAll);
  if (!r) return r.error();
  std::map<std::string, QueueRow, std::less<>> rows;
  for (int i = 0; i < r->size(); ++i) rows.emplace(std::string(r->text(i, kName)), read_row(*r, i));
  for (const auto& [name, d] : batch_) rows.try_emplace(name);
  for (const auto& [name, d] : op_) rows.try_emplace(name);
  std::vector<QueueInfo> out;
  out.reserve(rows.size());
  for (auto& [name, row] : rows) {
    delta(name).apply(row);
    out.push_back(to_queue_info(name, row));
  }
  return out;
}

core::Result<void> save_queue_settings(Conn& db, std::string_view name, const QueueRow& row) {
  const QueueConfigColumns c = encode_queue_config(row.config);
  Params p;
  p.text(name).boolean(row.paused).opt_integer(c.concurrency);
  p.opt_integer(c.rate_limit).opt_integer(c.rate_per_ms).opt_integer(c.default_priority);
  p.opt_integer(c.default_max_attempts).opt_integer(c.default_timeout_ms);
  if (c.push_url) {
    p.text(*c.push_url).integer(c.push_timeout_ms).integer(c.push_concurrency);
    p.text(*c.push_headers);
  } else {
    p.null().null().null().null();
  }
  p.text_or_null(row.secrets.current).text_or_null(row.secrets.previous);
  p.opt_time(row.secrets.previous_until);
  bind_bucket(p, row);
  p.text_or_null(c.flow.value_or(""));
  auto r = db.run(kQueueSaveSettings, p);
  if (!r) return r.error();
  return {};
}

core::Result<void> save_bucket(Conn& db, std::string_view name, const QueueRow& row) {
  Params p;
  p.text(name);
  bind_bucket(p, row);
  auto r = db.run(kQueueSaveBucket, p);
  if (!r) return r.error();
  return {};
}

}  // namespace errand::store::postgres
