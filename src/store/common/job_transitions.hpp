// What the job verbs do to a job, whatever the backend: each function takes
// the job as read from its row and the verb's params, and leaves the job as
// it is to be written back. The backends read the row, call one of these,
// write the row and record the queue moves and notices. The decisions
// themselves (retry or not, backoff, lease validity, which states may be
// cancelled) are core's; these apply them. Pure functions; thread-safe.
#pragma once

#include "core/job.hpp"
#include "core/state.hpp"
#include "store/store.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace errand::store {

// The message a job's attempt fails with when its lease runs out.
inline constexpr std::string_view kLeaseExpiredError = "lease expired";

// The job no longer has a lease (its attempt ended).
void end_lease(core::Job& job);

// job_requeue: the running attempt ends without counting as one, as a push
// continuation (its bookkeeping and progress updated) or a deferral; the job
// waits for p.run_at (queued when that is not after p.now). The job's push
// bookkeeping must have been read.
void apply_requeue(core::Job& job, const JobRequeueParams& p);
// What job_requeue answers: the job's id, queue, state, attempt, run_at and
// push counters.
core::Job requeue_summary(const core::Job& job);

// What job_complete answers for the leased job (its queue and attempt read
// from the row): succeeded at p.now with p.result.
core::Job completed_job(const JobCompleteParams& p, std::string queue, int attempt);

// Ends the running attempt as failed with `message` at `now`, per
// core::decide_fail (the job's cancel_requested is honoured): the error is
// appended, the lease ended, and run_at (failed, to retry) or finished_at
// (dead, cancelled) set. Returns the decision.
core::FailDecision apply_fail(core::Job& job, std::string message, core::FailInput in,
                              core::TimePoint now, const core::BackoffPolicy& backoff,
                              double jitter);

// The tail of an attempt's log that is kept (core::kMaxLogBytes, on a UTF-8
// boundary).
std::string log_tail(std::string_view log);

// job_cancel: a running job is asked to cancel (its attempt ends cancelled
// when it fails or expires); any other cancellable one becomes cancelled at
// `now`. Returns the state it left (nullopt: it stays running); the errors
// of core::check_cancel.
core::Result<std::optional<core::JobState>> apply_cancel(core::Job& job, core::TimePoint now);

// job_retry: the job is queued again at `now` with room for one more attempt
// and no stale cancel request. Returns the state it left; the errors of
// core::check_retry.
core::Result<core::JobState> apply_retry(core::Job& job, core::TimePoint now);

// job_claim: the job starts its next attempt at p.now under a fresh lease
// held by p.worker, expiring after p.lease (default: the job's timeout).
// Not pure: the lease id is random.
void grant_lease(core::Job& job, const JobClaimParams& p);

// job_insert_many: a new job whose idempotency key already names job `id`
// of its queue (of `type` with `payload` JSON text, in `state`) is that job
// again, when it asks for the same type and payload; else `conflict`.
core::Result<InsertOutcome> repeated_insert(const core::NewJob& job, std::string id,
                                            std::string_view type, std::string_view payload,
                                            core::JobState state);

// debounce: when the collapsed job runs after an enqueue at `now`: `period`
// after it, but no later than `until` (its first enqueue plus max_wait).
core::TimePoint debounce_run_at(const core::DebounceSpec& d, core::TimePoint now,
                                std::optional<core::TimePoint> until);
// The earliest job creation a unique key still counts at `now` (its `for`).
core::TimePoint unique_since(const core::UniqueSpec& u, core::TimePoint now);
// Whether a unique "replace" may change a job in `state`: a waiting one only
// (a running job keeps its payload; the enqueue answers it as a duplicate).
bool replaceable(core::JobState state);

// job_signal: not_found (field "signal") for a wait that is over or
// unknown; conflict when its signal already came. `stored_nonce` and
// `status` are the job's last wait, `state` the job's.
core::Error signal_expired();
core::Result<void> check_signal(std::string_view stored_nonce, core::SignalStatus status,
                                core::JobState state, std::string_view nonce);

// The change a lease_expire records for a job whose attempt it failed.
JobChange lease_expired_change(const core::Job& job);

// The earlier of two optional instants (none: the other).
std::optional<core::TimePoint> earliest(std::optional<core::TimePoint> a,
                                        std::optional<core::TimePoint> b);

}  // namespace errand::store
