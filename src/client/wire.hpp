// The client's JSON wire format: request bodies built from the typed
// options, and typed results parsed from response bodies (docs/API.md).
//
// Pure functions with no I/O, shared by `Client`, the CLI (which renders
// results back to the API's JSON for `--json`) and the unit tests. A response
// that does not have the documented shape is an `internal` error naming the
// field at fault, never an exception. Thread-safe.
#pragma once

#include "client/types.hpp"
#include "core/error.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace errand::client::wire {

// ---- requests ----
boost::json::object enqueue_body(const EnqueueOptions& o);
boost::json::object enqueue_batch_body(const std::vector<EnqueueOptions>& jobs);
boost::json::object claim_body(const ClaimOptions& o);
boost::json::object heartbeat_body(std::string_view lease_id, std::optional<core::Millis> extend);
boost::json::object progress_body(std::string_view lease_id, const ProgressUpdate& p);
boost::json::object complete_body(std::string_view lease_id, const boost::json::value& result,
                                  std::string_view log = {});
boost::json::object fail_body(std::string_view lease_id, const FailOptions& o);
boost::json::object acks_body(const std::vector<Ack>& acks);
// The same bodies as JSON text, with the *_json fields (client JSON kept
// verbatim, core/json_text.hpp) spliced in where set.
std::string enqueue_text(const EnqueueOptions& o);
std::string enqueue_batch_text(const std::vector<EnqueueOptions>& jobs);
std::string complete_text(std::string_view lease_id, const boost::json::value& result,
                          const core::RawJson& result_json, std::string_view log = {});
std::string acks_text(const std::vector<Ack>& acks);

// "/v1/jobs?queue=...&state=..." with every value percent-encoded.
std::string list_target(const ListOptions& o);
// "/v1/jobs/{id}" + suffix, with `id` percent-encoded as one path segment.
std::string job_target(std::string_view id, std::string_view suffix = {});
// "/v1/queues?cursor=...&limit=..." (each only when set).
std::string queue_list_target(std::string_view cursor, std::optional<int> limit = {});
// "/v1/queues/{name}" + suffix.
std::string queue_target(std::string_view name, std::string_view suffix = {});

// ---- responses ----
// Queues, keys and schedules are read by their core codecs
// (core/queue_json.hpp, core/schedule_json.hpp).
core::Result<Enqueued> parse_enqueued(const boost::json::value& v);
core::Result<std::vector<Enqueued>> parse_enqueued_batch(const boost::json::value& v);
// Answers that carry client JSON are read from their text, so it is kept
// verbatim. A job (GET /v1/jobs/{id}, cancel, retry) via core::job_from_json.
core::Result<core::Job> parse_job(std::string_view text);
core::Result<JobPage> parse_job_page(std::string_view text);
core::Result<std::vector<ClaimedJob>> parse_claimed(std::string_view text);
core::Result<HeartbeatResult> parse_heartbeat(const boost::json::value& v);
core::Result<Finished> parse_finished(const boost::json::value& v);
boost::json::object continue_body(std::string_view lease_id, const ContinueOptions& o);
core::Result<Continued> parse_continued(const boost::json::value& v);
core::Result<std::vector<AckResult>> parse_ack_results(const boost::json::value& v);
core::Result<QueueInfo> parse_queue(const boost::json::value& v);
// The items of {"queues": [...]}.
core::Result<std::vector<QueueInfo>> parse_queues(const boost::json::value& v);
core::Result<QueuePage> parse_queue_page(const boost::json::value& v);
core::Result<PushSecret> parse_push_secret(const boost::json::value& v);
core::Result<KeyInfo> parse_key(const boost::json::value& v);
core::Result<KeyPage> parse_key_page(const boost::json::value& v);
// /v1/queues/{q}/keys/{key}, both segments encoded.
std::string key_target(std::string_view queue, std::string_view key);
// /v1/queues/{q}/keys?cursor=&limit=&sort=busiest
std::string key_list_target(std::string_view queue, std::string_view cursor,
                            std::optional<int> limit, bool busiest);

// The error an HTTP error response stands for: the code, message and field of
// `{"error":{"code","message","field"}}` (core/error_json.hpp) when the body
// has that shape, else a code derived from the status and the start of the
// body as the message.
core::Error error_from_response(int status, std::string_view body);
// The errc an HTTP status stands for when the body says nothing usable.
core::errc errc_from_status(int status) noexcept;

// ---- rendering typed results back to the API's JSON (for `--json`) ----
// Queues, keys and schedules: their core codecs' writers.
boost::json::object to_json(const Enqueued& e);
std::string page_json(const JobPage& page);

// ---- schedules ----
// PUT /v1/schedules/{name}: the whole schedule.
boost::json::object schedule_body(const ScheduleOptions& o);
// "/v1/schedules/{name}" + suffix.
std::string schedule_target(std::string_view name, std::string_view suffix = {});
// From the answer's text: the payload is kept verbatim.
core::Result<ScheduleInfo> parse_schedule(std::string_view text);
core::Result<std::vector<ScheduleInfo>> parse_schedules(std::string_view text);

}  // namespace errand::client::wire
