// Flow control on PostgreSQL: the key rows' bookkeeping, the fair claim's
// reads and the key verbs (store/common/keys.hpp). Key rows change by
// commutative deltas, written at the end of the batch after the queues'
// rows (one lock order for every server); a claim that reads them for its
// limits holds its queue's row lock first (store/postgres/claim.cpp).
#include "store/postgres/keys.hpp"

#include "store/common/queue_rows.hpp"
#include "store/postgres/ops.hpp"

#include <fmt/format.h>

#include <limits>

namespace errand::store::postgres {
namespace {

constexpr std::string_view kKeyColumns =
    "key, n_queued, n_running, head_priority, pass, concurrency, rate_limit, paused, weight,"
    " bucket_tokens, bucket_at, throttled_until, overridden, clock";
enum KeyCol {
  kKey,
  kQueued,
  kRunning,
  kHead,
  kPass,
  kConcurrency,
  kRateLimit,
  kPaused,
  kWeight,
  kBucketTokens,
  kBucketAt,
  kThrottledUntil,
  kOverridden,
  kClock,
};

// The priority of a key's next job: one probe of jobs_ready.
constexpr std::string_view kHeadSql =
    "coalesce((SELECT priority FROM jobs WHERE state = 1 AND queue = $1 AND key = $2"
    " ORDER BY priority DESC LIMIT 1), 0)";
constexpr std::string_view kClockOf =
    "coalesce((SELECT clock FROM queue_keys WHERE queue = $1 AND key = ''), 0)";

// $3 queued, $4 running, $5 pass added, $6 clock (key ''). A key that gains
// queued jobs after none starts its turns at the queue's clock.
const Statement kKeyMove{
    "key_move",
    fmt::format("INSERT INTO queue_keys AS k(queue, key, n_queued, n_running, head_priority, pass,"
                " clock) VALUES ($1, $2, $3::bigint, $4::bigint, {0}, $5::bigint + CASE WHEN"
                " $3::bigint > 0 THEN {1} ELSE 0 END, coalesce($6::bigint, 0))"
                " ON CONFLICT (queue, key) DO UPDATE SET"
                " pass = CASE WHEN k.n_queued <= 0 AND $3::bigint > 0 THEN greatest(k.pass, {1})"
                " ELSE k.pass END + $5::bigint,"
                " n_queued = k.n_queued + $3::bigint, n_running = k.n_running + $4::bigint,"
                " clock = greatest(k.clock, coalesce($6::bigint, 0)), head_priority = {0}"
                " RETURNING n_queued, n_running, overridden, bucket_at",
                kHeadSql, kClockOf)};
const Statement kKeyDropIdle{
    "key_drop_idle",
    "DELETE FROM queue_keys WHERE queue = $1 AND key = $2 AND key <> '' AND n_queued <= 0"
    " AND n_running <= 0 AND NOT overridden AND bucket_at IS NULL"};
const Statement kKeysReady{
    "keys_ready",
    fmt::format("SELECT {} FROM queue_keys WHERE n_queued > 0 AND queue = $1 AND NOT paused"
                " AND n_running < coalesce(concurrency, $2::bigint)"
                " AND (throttled_until IS NULL OR throttled_until <= $3)"
                " ORDER BY head_priority DESC, pass, key LIMIT $4",
                kKeyColumns)};
const Statement kKeyByName{
    "key_by_name",
    fmt::format("SELECT {} FROM queue_keys WHERE queue = $1 AND key = $2", kKeyColumns)};
const Statement kKeySaveBucket{
    "key_save_bucket",
    "UPDATE queue_keys SET bucket_tokens = $3, bucket_at = $4, throttled_until = $5"
    " WHERE queue = $1 AND key = $2"};
const Statement kQueueEnsure{"queue_ensure",
                             "INSERT INTO queues(name) VALUES ($1) ON CONFLICT (name) DO NOTHING"};
const Statement kKeyPut{
    "key_put",
    "INSERT INTO queue_keys AS k(queue, key, overridden, concurrency, rate_limit, paused, weight)"
    " VALUES ($1, $2, true, $3::bigint, $4::text, $5::boolean, $6::bigint)"
    " ON CONFLICT (queue, key) DO UPDATE SET overridden = true, concurrency = $3::bigint,"
    " rate_limit = $4::text, paused = $5::boolean, weight = $6::bigint,"
    " bucket_tokens = CASE WHEN k.rate_limit IS NOT DISTINCT FROM $4::text"
    " THEN k.bucket_tokens END,"
    " bucket_at = CASE WHEN k.rate_limit IS NOT DISTINCT FROM $4::text THEN k.bucket_at END,"
    " throttled_until = CASE WHEN k.rate_limit IS NOT DISTINCT FROM $4::text"
    " THEN k.throttled_until END"};
const Statement kKeyClear{
    "key_clear",
    "UPDATE queue_keys SET overridden = false, concurrency = NULL, rate_limit = NULL,"
    " paused = false, weight = NULL WHERE queue = $1 AND key = $2 AND overridden"};
const Statement kKeysByName{
    "keys_by_name",
    fmt::format("SELECT {} FROM queue_keys WHERE queue = $1 AND key > $2 ORDER BY key LIMIT $3",
                kKeyColumns)};
const Statement kKeysBusiest{"keys_busiest",
                             fmt::format("SELECT {} FROM queue_keys WHERE queue = $1 AND key <> ''"
                                         " ORDER BY n_running + n_queued DESC, key LIMIT $2",
                                         kKeyColumns)};
const Statement kKeysThrottled{
    "keys_throttled",
    "SELECT queue, key FROM queue_keys WHERE throttled_until IS NOT NULL AND throttled_until <= $1"
    " ORDER BY queue, key FOR UPDATE SKIP LOCKED"};
const Statement kKeyUnthrottle{
    "key_unthrottle",
    "UPDATE queue_keys SET throttled_until = NULL WHERE queue = $1 AND key = $2"
    " RETURNING n_queued"};
const Statement kNextKeyRefill{
    "next_key_refill",
    "SELECT throttled_until FROM queue_keys WHERE throttled_until IS NOT NULL"
    " ORDER BY throttled_until LIMIT 1"};
const Statement kKeysForget{
    "keys_forget",
    "DELETE FROM queue_keys WHERE key <> '' AND n_queued <= 0 AND n_running <= 0"
    " AND NOT overridden AND bucket_at < $1"};
const Statement kJobsKeyReady{
    "jobs_key_ready", fmt::format("SELECT {} FROM jobs WHERE state = 1 AND queue = $1 AND key = $2"
                                  " AND run_at <= $3 ORDER BY priority DESC, id LIMIT $4"
                                  " FOR UPDATE SKIP LOCKED",
                                  kJobColumns)};

struct ReadKey {
  KeyRow row;
  bool overridden = false;
  std::optional<core::TimePoint> throttled_until;
  std::int64_t clock = 0;
};

ReadKey read_key(const Rows& r, int i) {
  ReadKey out;
  KeyRow& k = out.row;
  k.key = r.text(i, kKey);
  k.queued = r.integer(i, kQueued);
  k.running = r.integer(i, kRunning);
  k.head_priority = r.integer(i, kHead);
  k.pass = r.integer(i, kPass);
  k.limits.concurrency = r.opt_integer(i, kConcurrency);
  if (!r.is_null(i, kRateLimit)) k.limits.rate_limit = rate_limit_of(r.text(i, kRateLimit));
  k.limits.paused = r.boolean(i, kPaused);
  k.limits.weight = r.opt_integer(i, kWeight);
  if (!r.is_null(i, kBucketTokens) && !r.is_null(i, kBucketAt)) {
    k.bucket = core::TokenBucket{r.real(i, kBucketTokens), r.time(i, kBucketAt)};
  }
  out.throttled_until = r.opt_time(i, kThrottledUntil);
  out.overridden = r.boolean(i, kOverridden);
  out.clock = r.integer(i, kClock);
  return out;
}

core::Result<std::optional<ReadKey>> find_key(Conn& db, std::string_view queue,
                                              std::string_view key) {
  auto r = db.run(kKeyByName, Params().text(queue).text(key));
  if (!r) return r.error();
  if (r->empty()) return std::optional<ReadKey>{};
  return std::optional(read_key(*r, 0));
}

core::Result<void> drop_if_idle(Conn& db, std::string_view queue, std::string_view key) {
  auto r = db.run(kKeyDropIdle, Params().text(queue).text(key));
  if (!r) return r.error();
  return {};
}

}  // namespace

std::vector<Step> key_steps(const std::map<KeyId, KeyDelta>& deltas) {
  std::vector<Step> steps;
  for (const auto& [id, d] : deltas) {
    if (d.empty()) continue;
    Params p;
    p.text(id.first).text(id.second).integer(d.queued).integer(d.running).integer(d.pass);
    p.opt_integer(d.clock);
    steps.push_back({.statement = &kKeyMove, .params = std::move(p)});
  }
  return steps;
}

core::Result<void> keys_moved(Conn& db, const std::map<KeyId, KeyDelta>& deltas,
                              std::span<const Rows> rows, NoticeBuilder& notice) {
  auto row = rows.begin();
  for (const auto& [id, d] : deltas) {
    if (d.empty()) continue;
    if (row == rows.end()) break;
    const Rows& r = *row++;
    if (r.empty()) continue;
    const auto& [queue, key] = id;
    const std::int64_t queued = r.integer(0, 0);
    const std::int64_t running = r.integer(0, 1);
    // A running job ended while others wait: a limit may let one start.
    if (d.running < 0 && queued > 0) notice.runnable(queue);
    const bool idle = queued <= 0 && running <= 0 && !r.boolean(0, 2) && r.is_null(0, 3);
    if (!idle || key.empty()) continue;
    if (auto dropped = drop_if_idle(db, queue, key); !dropped) return dropped;
  }
  return {};
}

core::Result<void> flush_keys(Conn& db, const std::map<KeyId, KeyDelta>& deltas,
                              NoticeBuilder& notice) {
  const auto steps = key_steps(deltas);
  if (steps.empty()) return {};
  auto rows = db.run_together(steps);
  if (!rows) return rows.error();
  return keys_moved(db, deltas, *rows, notice);
}

namespace ops {

core::Result<std::vector<KeyRow>> ready_keys(OpContext& c, const std::string& queue,
                                             const core::QueueConfig& config, core::TimePoint now,
                                             std::size_t n) {
  Params p;
  p.text(queue).integer(config.key_concurrency.value_or(kNoLimit)).time(now);
  p.integer(static_cast<std::int64_t>(n));
  auto r = c.db.run(kKeysReady, p);
  if (!r) return r.error();
  std::vector<KeyRow> rows;
  rows.reserve(static_cast<std::size_t>(r->size()));
  for (int i = 0; i < r->size(); ++i) rows.push_back(read_key(*r, i).row);
  return rows;
}

core::Result<KeyRow> keyless_turn(OpContext& c, const std::string& queue) {
  auto found = find_key(c.db, queue, "");
  if (!found) return found.error();
  KeyRow row;
  // Keyless jobs take their turn no earlier than the clock: a gap without
  // keyless jobs earns them nothing.
  if (*found) row.pass = std::max((*found)->row.pass, (*found)->clock);
  return row;
}

core::Result<std::vector<JobRow>> key_jobs(OpContext& c, const std::string& queue,
                                           const std::string& key, core::TimePoint now,
                                           std::size_t n, std::vector<JobRow>& unreadable) {
  Params p;
  p.text(queue).text(key).time(now).integer(static_cast<std::int64_t>(n));
  auto r = c.db.run(kJobsKeyReady, p);
  if (!r) return r.error();
  return read_jobs(*r, &unreadable);
}

core::Result<void> save_key_bucket(OpContext& c, const std::string& queue, const KeyRow& row,
                                   std::optional<core::TimePoint> throttled_until) {
  Params p;
  p.text(queue).text(row.key);
  if (row.bucket) {
    p.real(row.bucket->tokens).time(row.bucket->at);
  } else {
    p.null().null();
  }
  p.opt_time(throttled_until);
  auto r = c.db.run(kKeySaveBucket, p);
  if (!r) return r.error();
  return {};
}

core::Result<void> write_key_moves(OpContext& c) {
  return flush_keys(c.db, c.keys.take_op(), c.notice);
}

core::Result<std::vector<std::string>> next_keys(OpContext& c, const std::string& queue,
                                                 std::size_t n) {
  std::vector<std::string> keys{""};
  Params p;
  p.text(queue).integer(kNoLimit).integer(std::numeric_limits<std::int64_t>::max());
  p.integer(static_cast<std::int64_t>(n));
  auto r = c.db.run(kKeysReady, p);
  if (!r) return r.error();
  for (int i = 0; i < r->size(); ++i) keys.emplace_back(r->text(i, kKey));
  return keys;
}

core::Result<void> wake_refilled_keys(OpContext& c, core::TimePoint now) {
  auto due = c.db.run(kKeysThrottled, Params().time(now));
  if (!due) return due.error();
  for (int i = 0; i < due->size(); ++i) {
    const std::string queue(due->text(i, 0));
    auto r = c.db.run(kKeyUnthrottle, Params().text(queue).text(due->text(i, 1)));
    if (!r) return r.error();
    if (!r->empty() && r->integer(0, 0) > 0) c.notice.runnable(queue);
  }
  return {};
}

core::Result<std::optional<core::TimePoint>> next_key_refill(OpContext& c) {
  auto r = c.db.run(kNextKeyRefill);
  if (!r) return r.error();
  if (r->empty()) return std::nullopt;
  return r->time(0, 0);
}

core::Result<void> forget_idle_keys(OpContext& c, core::TimePoint before) {
  auto r = c.db.run(kKeysForget, Params().time(before));
  if (!r) return r.error();
  return {};
}

core::Result<KeyInfo> key_put(OpContext& c, const KeyPutParams& p) {
  const auto& l = p.limits;
  if (auto r = c.db.run(kQueueEnsure, Params().text(p.queue)); !r) return r.error();
  Params params;
  params.text(p.queue).text(p.key).opt_integer(l.concurrency);
  params.text_or_null(l.rate_limit ? rate_limit_text(*l.rate_limit) : std::string());
  params.boolean(l.paused).opt_integer(l.weight);
  if (auto r = c.db.run(kKeyPut, params); !r) return r.error();
  auto found = find_key(c.db, p.queue, p.key);
  if (!found) return found.error();
  if (!*found) return key_not_found(p.queue, p.key);
  if ((*found)->row.queued > 0 && !l.paused) c.notice.runnable(p.queue);
  return to_key_info(p.queue, (*found)->row, true, (*found)->throttled_until);
}

core::Result<KeyInfo> key_get(OpContext& c, const KeyRef& p) {
  auto found = find_key(c.db, p.queue, p.key);
  if (!found) return found.error();
  if (!*found || p.key.empty()) return key_not_found(p.queue, p.key);
  return to_key_info(p.queue, (*found)->row, (*found)->overridden, (*found)->throttled_until);
}

core::Result<KeyInfo> key_delete(OpContext& c, const KeyRef& p) {
  auto found = find_key(c.db, p.queue, p.key);
  if (!found) return found.error();
  if (!*found || !(*found)->overridden || p.key.empty()) {
    return core::make_error(
        core::errc::not_found,
        fmt::format("key \"{}\" of queue \"{}\" has no settings of its own", p.key, p.queue),
        "key");
  }
  if (auto r = c.db.run(kKeyClear, Params().text(p.queue).text(p.key)); !r) return r.error();
  KeyRow row = (*found)->row;
  row.limits = {};
  if (row.queued > 0) c.notice.runnable(p.queue);  // the queue's limits may be looser
  if (auto dropped = drop_if_idle(c.db, p.queue, p.key); !dropped) return dropped.error();
  return to_key_info(p.queue, row, false, (*found)->throttled_until);
}

core::Result<KeyPage> key_list(OpContext& c, const KeyListParams& p) {
  Params params;
  params.text(p.queue);
  if (p.busiest) {
    params.integer(static_cast<std::int64_t>(p.limit));
  } else {
    // One more than a page tells whether there is a next one.
    params.text(p.cursor).integer(static_cast<std::int64_t>(p.limit + 1));
  }
  auto r = c.db.run(p.busiest ? kKeysBusiest : kKeysByName, params);
  if (!r) return r.error();
  KeyPage page;
  for (int i = 0; i < r->size(); ++i) {
    ReadKey k = read_key(*r, i);
    if (k.row.key.empty()) continue;  // the queue's own bookkeeping
    if (page.keys.size() == p.limit) {
      page.next_cursor = page.keys.back().key;
      break;
    }
    page.keys.push_back(to_key_info(p.queue, k.row, k.overridden, k.throttled_until));
  }
  return page;
}

}  // namespace ops
}  // namespace errand::store::postgres
