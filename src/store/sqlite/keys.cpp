// Flow control on SQLite: the key rows' bookkeeping, the fair claim's reads
// and the key verbs (store/common/keys.hpp).
#include "store/sqlite/keys.hpp"

#include "store/common/queue_rows.hpp"
#include "store/sqlite/ops.hpp"

#include <fmt/format.h>

#include <limits>

namespace errand::store::sqlite {
namespace {

// The columns of keys_ready, key_by_name, keys_by_name and keys_busiest.
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
  kClock,  // key_by_name only
};

struct ReadKey {
  KeyRow row;
  bool overridden = false;
  std::optional<core::TimePoint> throttled_until;
  std::int64_t clock = 0;  // key '' (key_by_name only)
};

ReadKey read_key(const Query& q) {
  ReadKey out;
  KeyRow& r = out.row;
  r.key = q.text_at(kKey);
  r.queued = q.int_at(kQueued);
  r.running = q.int_at(kRunning);
  r.head_priority = q.int_at(kHead);
  r.pass = q.int_at(kPass);
  if (!q.is_null(kConcurrency)) r.limits.concurrency = q.int_at(kConcurrency);
  if (!q.is_null(kRateLimit)) r.limits.rate_limit = rate_limit_of(q.text_at(kRateLimit));
  r.limits.paused = q.int_at(kPaused) != 0;
  if (!q.is_null(kWeight)) r.limits.weight = q.int_at(kWeight);
  if (!q.is_null(kBucketTokens) && !q.is_null(kBucketAt)) {
    r.bucket = core::TokenBucket{q.real_at(kBucketTokens), q.time_at(kBucketAt)};
  }
  out.throttled_until = q.opt_time_at(kThrottledUntil);
  out.overridden = q.int_at(kOverridden) != 0;
  return out;
}

core::Result<std::optional<ReadKey>> find_key(Statements& sql, std::string_view queue,
                                              std::string_view key) {
  Query q(sql[Sql::key_by_name]);
  q.bind_text(1, queue).bind_text(2, key);
  auto found = q.step();
  if (!found) return found.error();
  if (!*found) return std::optional<ReadKey>{};
  ReadKey out = read_key(q);
  out.clock = q.int_at(kClock);
  return std::optional(std::move(out));
}

// One key's delta; whether waiting claims may now take its jobs.
core::Result<void> apply_delta(Statements& sql, const KeyId& id, const KeyDelta& d,
                               NoticeBuilder& notice) {
  if (d.empty()) return {};
  const auto& [queue, key] = id;
  bool idle = false;
  {
    Query q(sql[Sql::key_move]);
    q.bind_text(1, queue).bind_text(2, key).bind_int(3, d.queued).bind_int(4, d.running);
    q.bind_int(5, d.pass);
    if (d.clock) {
      q.bind_int(6, *d.clock);
    } else {
      q.bind_null(6);
    }
    auto row = q.step();
    if (!row) return row.error();
    if (!*row) return {};
    const std::int64_t queued = q.int_at(0);
    const std::int64_t running = q.int_at(1);
    idle = queued <= 0 && running <= 0 && q.int_at(2) == 0 && q.is_null(3);
    // A running job ended while others wait: a limit may let one start.
    if (d.running < 0 && queued > 0) notice.runnable(queue);
    if (auto done = q.run(); !done) return done;
  }
  if (!idle || key.empty()) return {};
  Query drop(sql[Sql::key_drop_idle]);
  drop.bind_text(1, queue).bind_text(2, key);
  return drop.run();
}

}  // namespace

core::Result<void> flush_keys(Statements& sql, const std::map<KeyId, KeyDelta>& deltas,
                              NoticeBuilder& notice) {
  for (const auto& [id, d] : deltas) {
    if (auto done = apply_delta(sql, id, d, notice); !done) return done;
  }
  return {};
}

namespace ops {

core::Result<std::vector<KeyRow>> ready_keys(OpContext& c, const std::string& queue,
                                             const core::QueueConfig& config, core::TimePoint now,
                                             std::size_t n) {
  Query q(c.sql[Sql::keys_ready]);
  q.bind_text(1, queue).bind_int(2, config.key_concurrency.value_or(kNoLimit)).bind_time(3, now);
  q.bind_int(4, static_cast<std::int64_t>(n));
  std::vector<KeyRow> rows;
  for (;;) {
    auto found = q.step();
    if (!found) return found.error();
    if (!*found) return rows;
    rows.push_back(read_key(q).row);
  }
}

core::Result<KeyRow> keyless_turn(OpContext& c, const std::string& queue) {
  auto found = find_key(c.sql, queue, "");
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
  Query q(c.sql[Sql::jobs_key_ready]);
  q.bind_text(1, queue).bind_text(2, key).bind_time(3, now);
  q.bind_int(4, static_cast<std::int64_t>(n));
  return read_jobs(q, &unreadable);
}

core::Result<void> save_key_bucket(OpContext& c, const std::string& queue, const KeyRow& row,
                                   std::optional<core::TimePoint> throttled_until) {
  Query q(c.sql[Sql::key_save_bucket]);
  q.bind_text(1, queue).bind_text(2, row.key);
  if (row.bucket) {
    q.bind_real(3, row.bucket->tokens).bind_time(4, row.bucket->at);
  } else {
    q.bind_null(3).bind_null(4);
  }
  q.bind_opt_time(5, throttled_until);
  return q.run();
}

core::Result<void> write_key_moves(OpContext& c) {
  return flush_keys(c.sql, c.keys.take_op(), c.notice);
}

core::Result<std::vector<std::string>> next_keys(OpContext& c, const std::string& queue,
                                                 std::size_t n) {
  std::vector<std::string> keys{""};
  Query q(c.sql[Sql::keys_ready]);
  q.bind_text(1, queue).bind_int(2, kNoLimit).bind_int(3, std::numeric_limits<std::int64_t>::max());
  q.bind_int(4, static_cast<std::int64_t>(n));
  for (;;) {
    auto found = q.step();
    if (!found) return found.error();
    if (!*found) return keys;
    keys.emplace_back(q.text_at(kKey));
  }
}

core::Result<void> wake_refilled_keys(OpContext& c, core::TimePoint now) {
  std::vector<KeyId> due;
  {
    Query q(c.sql[Sql::keys_throttled]);
    q.bind_time(1, now);
    for (;;) {
      auto found = q.step();
      if (!found) return found.error();
      if (!*found) break;
      due.emplace_back(std::string(q.text_at(0)), std::string(q.text_at(1)));
    }
  }
  for (const auto& [queue, key] : due) {
    Query q(c.sql[Sql::key_unthrottle]);
    q.bind_text(1, queue).bind_text(2, key);
    auto row = q.step();
    if (!row) return row.error();
    if (*row && q.int_at(0) > 0) c.notice.runnable(queue);
    if (auto done = q.run(); !done) return done;
  }
  return {};
}

core::Result<std::optional<core::TimePoint>> next_key_refill(OpContext& c) {
  Query q(c.sql[Sql::next_key_refill]);
  auto row = q.step();
  if (!row) return row.error();
  if (!*row) return std::nullopt;
  return q.time_at(0);
}

core::Result<void> forget_idle_keys(OpContext& c, core::TimePoint before) {
  Query q(c.sql[Sql::keys_forget]);
  q.bind_time(1, before);
  return q.run();
}

core::Result<KeyInfo> key_put(OpContext& c, const KeyPutParams& p) {
  const auto& l = p.limits;
  const std::string rate = l.rate_limit ? rate_limit_text(*l.rate_limit) : std::string();
  {
    Query q(c.sql[Sql::key_put]);
    q.bind_text(1, p.queue).bind_text(2, p.key);
    if (l.concurrency) {
      q.bind_int(3, *l.concurrency);
    } else {
      q.bind_null(3);
    }
    q.bind_text_or_null(4, rate).bind_int(5, l.paused ? 1 : 0);
    if (l.weight) {
      q.bind_int(6, *l.weight);
    } else {
      q.bind_null(6);
    }
    if (auto done = q.run(); !done) return done.error();
  }
  c.queues.edit(p.queue);  // the queue exists from now on
  auto found = find_key(c.sql, p.queue, p.key);
  if (!found) return found.error();
  if (!*found) return key_not_found(p.queue, p.key);
  if ((*found)->row.queued > 0 && !l.paused) c.notice.runnable(p.queue);
  return to_key_info(p.queue, (*found)->row, true, (*found)->throttled_until);
}

core::Result<KeyInfo> key_get(OpContext& c, const KeyRef& p) {
  auto found = find_key(c.sql, p.queue, p.key);
  if (!found) return found.error();
  if (!*found || p.key.empty()) return key_not_found(p.queue, p.key);
  return to_key_info(p.queue, (*found)->row, (*found)->overridden, (*found)->throttled_until);
}

core::Result<KeyInfo> key_delete(OpContext& c, const KeyRef& p) {
  auto found = find_key(c.sql, p.queue, p.key);
  if (!found) return found.error();
  if (!*found || !(*found)->overridden || p.key.empty()) {
    return core::make_error(
        core::errc::not_found,
        fmt::format("key \"{}\" of queue \"{}\" has no settings of its own", p.key, p.queue),
        "key");
  }
  {
    Query q(c.sql[Sql::key_clear]);
    q.bind_text(1, p.queue).bind_text(2, p.key);
    if (auto done = q.run(); !done) return done.error();
  }
  KeyRow row = (*found)->row;
  row.limits = {};
  if (row.queued > 0) c.notice.runnable(p.queue);  // the queue's limits may be looser
  if (row.queued <= 0 && row.running <= 0 && !row.bucket) {
    Query drop(c.sql[Sql::key_drop_idle]);
    drop.bind_text(1, p.queue).bind_text(2, p.key);
    if (auto done = drop.run(); !done) return done.error();
  }
  return to_key_info(p.queue, row, false, (*found)->throttled_until);
}

core::Result<KeyPage> key_list(OpContext& c, const KeyListParams& p) {
  Query q(c.sql[p.busiest ? Sql::keys_busiest : Sql::keys_by_name]);
  q.bind_text(1, p.queue);
  if (p.busiest) {
    q.bind_int(2, static_cast<std::int64_t>(p.limit));
  } else {
    // One more than a page tells whether there is a next one.
    q.bind_text(2, p.cursor).bind_int(3, static_cast<std::int64_t>(p.limit + 1));
  }
  KeyPage page;
  for (;;) {
    auto found = q.step();
    if (!found) return found.error();
    if (!*found) break;
    ReadKey k = read_key(q);
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
}  // namespace errand::store::sqlite
