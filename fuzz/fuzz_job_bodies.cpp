// The bodies of the job and worker routes as their handlers read them
// (api/job_bodies, api/worker_bodies): enqueue, batch enqueue, batches and
// their added jobs, bulk actions, claim, heartbeat, progress, complete, fail
// and acks. The same bytes go to each, with trace headers set, so that a
// body written for one route also tries the others. Bad input is an error
// naming a field, never a crash; what is let in holds the limits the
// engine relies on. (fuzz_json_bodies covers the core readers these use.)
#include "api/job_bodies.hpp"
#include "api/worker_bodies.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

using namespace errand;

void expect(bool held) {
  if (!held) std::abort();
}

// A refusal names what it refuses: a message, and a code that is no 500.
template <class T>
bool admitted(const core::Result<T>& r) {
  if (r) return true;
  expect(!r.error().message.empty() && r.error().code != core::errc::internal);
  return false;
}

void check_enqueue(const engine::EnqueueRequest& r, const api::ApiLimits& limits) {
  expect(!r.queue.empty() && r.payload.stored().size() <= limits.max_payload);
  expect(!(r.delay && r.run_at) && !(r.unique && r.debounce));
  expect(r.after.size() + r.after_items.size() <= core::kMaxParents);
}

void check_batch(const api::ParsedBatch& b, const api::ApiLimits& limits) {
  expect(b.scopes.size() == b.request.jobs.size());
  for (std::size_t i = 0; i < b.request.jobs.size(); ++i) {
    check_enqueue(b.request.jobs[i], limits);
    // Refs are resolved: an item waits only for items before it.
    for (auto item : b.request.jobs[i].after_items) expect(item < i);
  }
}

void job_routes(const api::Request& req, const api::ApiLimits& limits) {
  if (auto one = api::parse_enqueue_body(req, limits); admitted(one)) {
    check_enqueue(one->request, limits);
    expect(one->request.after_items.empty());
  }
  if (auto batch = api::parse_enqueue_batch(req, limits); admitted(batch)) {
    expect(!batch->request.jobs.empty());
    check_batch(*batch, limits);
  }
  if (auto batch = api::parse_create_batch(req, limits); admitted(batch)) {
    expect(!batch->request.jobs.empty() || batch->request.open);
    check_batch(*batch, limits);
    for (const auto& job : batch->request.jobs) expect(!job.unique && !job.debounce);
  }
  if (auto added = api::parse_add_batch_jobs(req, limits); admitted(added)) {
    check_batch(*added, limits);
  }
  if (auto bulk = api::parse_bulk(req); admitted(bulk)) {
    expect(!bulk->second.empty() && bulk->second.size() <= 1000);
  }
}

void worker_routes(const api::Request& req) {
  if (auto claim = api::parse_claim_body(req); admitted(claim)) {
    expect(!claim->queues.empty() && claim->min >= 1 && claim->min <= claim->max);
  }
  if (auto beat = api::parse_heartbeat_body(req); admitted(beat)) expect(!beat->lease_id.empty());
  if (auto progress = api::parse_progress_body(req); admitted(progress)) {
    expect(!progress->lease_id.empty());
  }
  if (auto done = api::parse_complete_body(req, "job-1"); admitted(done)) {
    expect(done->id == "job-1" && !done->lease_id.empty());
  }
  if (auto failed = api::parse_fail_body(req, "job-1"); admitted(failed)) {
    expect(failed->id == "job-1" && !failed->lease_id.empty());
  }
  if (auto acks = api::parse_acks_body(req); admitted(acks)) {
    expect(!acks->empty());
    for (const auto& a : *acks) expect(!(a.fail ? a.failure.id : a.complete.id).empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const api::ApiLimits limits{.max_payload = 1024};
  api::Request req;
  req.method = "POST";
  req.body.assign(reinterpret_cast<const char*>(data), size);
  req.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  req.tracestate = "errand=1";
  job_routes(req, limits);
  worker_routes(req);
  return 0;
}
