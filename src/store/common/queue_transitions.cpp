#include "store/common/queue_transitions.hpp"

#include "core/push.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace errand::store {

using core::JobState;

bool apply_pause(QueueRow& row, bool paused) {
  const bool resumed = row.paused && !paused;
  row.paused = paused;
  return resumed && row.count(JobState::queued) > 0;
}

bool apply_configure(QueueRow& row, const QueueConfigureParams& p) {
  if (row.config.rate_limit != p.config.rate_limit) {
    row.bucket.reset();  // a new limit starts with a full bucket
    row.throttled_until.reset();
  }
  row.paused = p.paused;
  row.config = p.config;
  if (row.config.push && row.secrets.current.empty())
    row.secrets.current = core::make_push_secret();
  return is_runnable(row);
}

core::Result<void> apply_rotate_secret(QueueRow& row, const QueueRotateSecretParams& p) {
  if (row.secrets.current.empty()) return no_push_secret(p.queue);
  row.secrets.previous = std::move(row.secrets.current);
  row.secrets.previous_until = p.now + p.keep_previous;
  row.secrets.current = core::make_push_secret();
  return {};
}

core::Error no_push_secret(std::string_view queue) {
  return core::make_error(core::errc::not_found,
                          fmt::format("queue \"{}\" has no push signing secret (it has never "
                                      "had a push endpoint)",
                                      queue),
                          "queue");
}

core::Error queue_not_found(std::string_view queue) {
  return core::make_error(core::errc::not_found, fmt::format("no queue named \"{}\"", queue),
                          "queue");
}

bool is_runnable(const QueueRow& row) {
  return !row.paused && row.count(JobState::queued) > 0;
}

std::size_t concurrency_room(const QueueRow& row, std::size_t want) {
  if (!row.config.concurrency) return want;
  const std::int64_t room = *row.config.concurrency - row.count(JobState::running);
  return room <= 0 ? 0 : std::min(want, static_cast<std::size_t>(room));
}

std::size_t rate_room(QueueRow& row, const core::RateLimit& rate, core::TimePoint now,
                      std::size_t want) {
  row.bucket = core::refill(row.bucket, rate, now);
  const std::int64_t tokens = core::available(*row.bucket);
  if (tokens >= 1) return std::min(want, static_cast<std::size_t>(tokens));
  row.throttled_until = core::next_token_at(*row.bucket, rate);
  return 0;
}

bool slot_wakes(const QueueRow& row) {
  return row.config.concurrency && is_runnable(row);
}

}  // namespace errand::store
