#include "store/common/keys.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <queue>

namespace errand::store {

using core::JobState;

void KeyDelta::add(const KeyDelta& d) {
  queued += d.queued;
  running += d.running;
  pass += d.pass;
  if (d.clock) clock = std::max(clock.value_or(0), *d.clock);
}

void KeyBook::move(std::string_view queue, std::string_view key, std::optional<core::JobState> from,
                   std::optional<core::JobState> to) {
  if (key.empty() || from == to) return;
  KeyDelta d;
  const auto count = [&d](JobState s, int by) {
    if (s == JobState::queued) d.queued += by;
    if (s == JobState::running) d.running += by;
  };
  if (from) count(*from, -1);
  if (to) count(*to, +1);
  if (d.queued == 0 && d.running == 0) return;
  op_[KeyId(queue, key)].add(d);
}

void KeyBook::op_keep() {
  for (const auto& [id, d] : op_) batch_[id].add(d);
  op_.clear();
}

std::int64_t key_concurrency(const KeyRow& row, const core::QueueConfig& queue) {
  if (row.key.empty()) return kNoLimit;  // keyless jobs: the queue's limits only
  return row.limits.concurrency.value_or(queue.key_concurrency.value_or(kNoLimit));
}

std::optional<core::RateLimit> key_rate(const KeyRow& row, const core::QueueConfig& queue) {
  if (row.key.empty()) return std::nullopt;
  if (row.limits.rate_limit) return row.limits.rate_limit;
  return queue.key_rate_limit;
}

std::int64_t key_stride(const core::KeyLimits& limits) {
  return kStride / std::clamp<std::int64_t>(limits.weight.value_or(1), 1, core::kMaxKeyWeight);
}

std::size_t key_room(KeyRow& row, const core::QueueConfig& queue, core::TimePoint now,
                     std::size_t want, std::optional<core::TimePoint>& throttled_until) {
  throttled_until.reset();
  const std::int64_t free = key_concurrency(row, queue) - row.running;
  if (free <= 0) return 0;
  std::size_t room = std::min(want, static_cast<std::size_t>(free));
  if (auto rate = key_rate(row, queue)) {
    row.bucket = core::refill(row.bucket, *rate, now);
    const std::int64_t tokens = core::available(*row.bucket);
    if (tokens < 1) {
      throttled_until = core::next_token_at(*row.bucket, *rate);
      return 0;
    }
    room = std::min(room, static_cast<std::size_t>(tokens));
  }
  return room;
}

std::vector<KeyShare> share_claim(const std::vector<KeyRow>& rows,
                                  const std::vector<std::size_t>& room, std::size_t want) {
  struct Turn {
    std::int64_t priority;
    std::int64_t pass;
    std::size_t index;
  };
  // The next turn is the highest priority, then the lowest pass, then the
  // first read (the store reads in that order, then by name).
  const auto later = [](const Turn& a, const Turn& b) {
    if (a.priority != b.priority) return a.priority < b.priority;
    if (a.pass != b.pass) return a.pass > b.pass;
    return a.index > b.index;
  };
  std::priority_queue<Turn, std::vector<Turn>, decltype(later)> turns(later);
  std::vector<std::size_t> left(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    left[i] =
        std::min(room[i], static_cast<std::size_t>(std::max<std::int64_t>(rows[i].queued, 0)));
    if (left[i] > 0) turns.push({rows[i].head_priority, rows[i].pass, i});
  }
  std::vector<KeyShare> shares;
  std::vector<std::size_t> share_of(rows.size(), rows.size());
  for (std::size_t taken = 0; taken < want && !turns.empty(); ++taken) {
    Turn t = turns.top();
    turns.pop();
    const std::int64_t stride = key_stride(rows[t.index].limits);
    if (share_of[t.index] == rows.size()) {
      share_of[t.index] = shares.size();
      shares.push_back(
          {.index = t.index, .key = rows[t.index].key, .first_pass = t.pass, .stride = stride});
    }
    ++shares[share_of[t.index]].jobs;
    if (--left[t.index] > 0) turns.push({t.priority, t.pass + stride, t.index});
  }
  return shares;
}

FairClaim::FairClaim(std::vector<KeyRow> keyed, const core::QueueConfig& config,
                     core::TimePoint now, std::size_t want)
    : want_(want) {
  for (auto& key : keyed) {
    std::optional<core::TimePoint> throttled_until;
    const std::size_t room = key_room(key, config, now, want, throttled_until);
    if (throttled_until) throttled_.emplace_back(key, *throttled_until);
    if (room == 0) continue;
    room_.push_back(room);
    rows_.push_back(std::move(key));
  }
}

void FairClaim::add_keyless(KeyRow turn, std::int64_t head_priority) {
  turn.head_priority = head_priority;
  turn.queued = static_cast<std::int64_t>(want_);
  rows_.push_back(std::move(turn));
  room_.push_back(want_);
}

KeyDelta FairClaim::taken(const KeyShare& share, std::int64_t got) {
  clock_ = std::max(clock_.value_or(0), share.first_pass + share.stride * (got - 1));
  KeyRow& row = rows_[share.index];
  if (row.bucket) row.bucket = core::take(*row.bucket, got);
  return KeyDelta{.pass = share.stride * got};
}

const KeyRow* FairClaim::bucket_of(const KeyShare& share) const {
  const KeyRow& row = rows_[share.index];
  return row.bucket ? &row : nullptr;
}

KeyInfo to_key_info(std::string queue, const KeyRow& row, bool overridden,
                    std::optional<core::TimePoint> throttled_until) {
  return KeyInfo{.queue = std::move(queue),
                 .key = row.key,
                 .queued = row.queued,
                 .running = row.running,
                 .overridden = overridden,
                 .limits = row.limits,
                 .throttled_until = throttled_until};
}

core::Error key_not_found(std::string_view queue, std::string_view key) {
  return core::make_error(
      core::errc::not_found,
      fmt::format("queue \"{}\" has no key \"{}\" (no jobs queued or running, no settings)", queue,
                  key),
      "key");
}

}  // namespace errand::store
