// The four workloads of the peer harness (../shared/bench-peers/README.md),
// and push delivery (P), driven through the C++ client library. Each hands
// every measurement (one per sub-measurement) to `emit` as soon as it is
// taken, and throws std::runtime_error when the server fails a call or stops
// making progress.
#pragma once

#include "bench.hpp"

#include <functional>

namespace errand::bench {

using Emit = std::function<void(Measurement)>;

// A: enqueue throughput — one-by-one on 1 connection, one-by-one on
// `connections` connections, and batched (`batch` per call). Each on a
// fresh server; every enqueue is awaited before the next on its connection.
void run_enqueue(const Settings& s, const Emit& emit);

// B: drain — `jobs` queued, then C++ worker runtimes started; jobs/s from
// their start until the server has acknowledged the last completion.
void run_drain(const Settings& s, const Emit& emit);

// C: latency — warm C++ workers, producers enqueue one-by-one at each of
// `rates` for `rate_secs`; enqueue→handler-start p50/p99 from the time each
// job's payload carries and the time its handler starts.
void run_latency(const Settings& s, const Emit& emit);

// D: `d_jobs` queued — server RSS and data on disk, then `kill -9`, restart
// on the same data, and the time until every job is counted and a claim
// succeeds, `d_restarts` times. Needs a server of its own (not --server).
void run_restart(const Settings& s, const Emit& emit);

// P: push delivery to a no-op endpoint in this process (the server needs
// --push-allow-private, which a server this starts gets) — `jobs` queued,
// then the queue switched to push with `push_concurrency`: jobs/s until the
// server counts them all succeeded; and enqueue→endpoint-receipt p50/p99
// of one producer at 200 jobs/s for `rate_secs`. Not part of the harness.
void run_push(const Settings& s, const Emit& emit);

// F: per-key flow control (workload_flow.cpp) — B with `f_keys` keys and
// key_concurrency 1 against plain B in the same run; late keys' start
// latency behind one key's `jobs`; key_rate_limit accuracy over `f_secs`.
void run_flow(const Settings& s, const Emit& emit);

// W: workflows (workload_workflows.cpp) — a batch's last completion to its
// on_complete callback's start; B with every job after one parent against
// plain B in the same run.
void run_workflows(const Settings& s, const Emit& emit);

}  // namespace errand::bench
