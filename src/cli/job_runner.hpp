// Runs one claimed job as a command for `errand work`: the payload as JSON
// on stdin; ERRAND_JOB_ID, ERRAND_QUEUE, ERRAND_JOB_TYPE, ERRAND_ATTEMPT,
// ERRAND_URL, ERRAND_LEASE_ID (and ERRAND_CA with --ca) in the environment; `::progress` lines sent
// to the server at once; `::result` and `::no-retry` kept for the end.
//
// A command that outlives its time limit, or whose job is cancelled, lost or
// handed back at shutdown, gets SIGTERM and, after `kill_grace`, SIGKILL (to
// its process group). The outcome maps onto the worker runtime's handler
// contract: exit 0 returns the result; exit 75 and other exits throw
// (retried), or throw NoRetry after `::no-retry`; the message is the exit
// and the last stderr lines. Every other line (stderr included) is the
// attempt's log, sent with the outcome (the last 64 KiB). Thread-safe: each
// call runs on its handler's thread.
#pragma once

#include "client/worker.hpp"
#include "core/time.hpp"

#include <boost/json/value.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace errand::cli {

struct JobRunnerOptions {
  std::vector<std::string> command;
  // ERRAND_URL for each job: the worker's URLs, the one in use first.
  std::function<std::string()> server_urls;
  // ERRAND_CA for each job when set (--ca): a command that calls the server
  // back (`errand …`) trusts the same CA.
  std::string ca_file;
  // The command's time limit; unset: the job's timeout when the claim used
  // it as the lease, else none (heartbeats keep the job alive).
  std::optional<core::Millis> timeout;
  bool lease_from_claim = false;  // --lease was given
  core::Millis kill_grace{10'000};
};

// The worker runtime's handler for one job.
boost::json::value run_job_command(client::RunningJob& job, const JobRunnerOptions& options);

}  // namespace errand::cli
