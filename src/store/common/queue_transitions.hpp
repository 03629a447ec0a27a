// What the queue verbs do to a queue's row, whatever the backend: each takes
// the row as read (or as the batch sees it) and leaves it as it is to be
// written. The backends find or lock the row, call one of these, write it
// and send the notice. Pure functions but for the fresh push secret
// (core::make_push_secret); thread-safe.
#pragma once

#include "store/common/queue_rows.hpp"
#include "store/store.hpp"

#include <string_view>

namespace errand::store {

// queue_pause: sets the flag. Returns whether waiting claims should be told
// the queue is runnable (it was resumed with queued jobs).
bool apply_pause(QueueRow& row, bool paused);

// queue_configure: replaces the flag and the whole config; a changed rate
// limit starts with a full bucket; a first push endpoint gets a signing
// secret. Returns whether waiting claims should be told the queue is
// runnable (a raised limit, a removed one or a resume may let them through).
bool apply_configure(QueueRow& row, const QueueConfigureParams& p);

// queue_rotate_secret: the current secret becomes the previous one, kept
// until p.now + p.keep_previous, and a fresh one is current.
// no_push_secret when the queue has no current secret.
core::Result<void> apply_rotate_secret(QueueRow& row, const QueueRotateSecretParams& p);
core::Error no_push_secret(std::string_view queue);

// not_found (field "queue") for a name that names no queue.
core::Error queue_not_found(std::string_view queue);

// Whether the queue's waiting claims could take a job now: it is not paused
// and has queued jobs.
bool is_runnable(const QueueRow& row);

// How many of `want` jobs the queue's concurrency limit lets start.
std::size_t concurrency_room(const QueueRow& row, std::size_t want);

// Caps `want` by the queue's token bucket, refilled (in `row`) at `now`. An
// empty bucket holds the claim back: 0, and row.throttled_until is the
// refill instant its claims wait for.
std::size_t rate_room(QueueRow& row, const core::RateLimit& rate, core::TimePoint now,
                      std::size_t want);

// A running job of the queue ended: whether its concurrency-limited waiting
// claims should be told it is runnable.
bool slot_wakes(const QueueRow& row);

}  // namespace errand::store
