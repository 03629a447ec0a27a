// Span export over OTLP/HTTP with the JSON encoding (errand server
// --otlp-endpoint URL): one span per attempt claimed on this server, sent
// when the attempt ends (engine::Engine::set_span_sink).
//
// A span sits under the enqueue's span: its trace id is the job's
// traceparent trace-id and its parentSpanId the traceparent's parent-id (a
// job without a traceparent gets a fresh trace id and no parent). Name
// "errand.job <type>" (the queue when the job has no type), kind CONSUMER,
// start at the claim, end at the attempt's end, attributes errand.job.id,
// errand.queue, errand.job.type, errand.attempt, errand.queue_wait_ms (ready
// → claimed), errand.run_ms and errand.outcome; status ERROR with the
// failure's message for failed and dead attempts. The resource names
// service.name "errand", service.version, host.name and, when known,
// service.instance.id (the node).
//
// Exporting never holds up the caller: record() appends to a bounded queue
// (a full queue drops the span and counts it; a warning at most every 10 s)
// and a coroutine on the exporter's own strand POSTs batches of up to
// `max_batch` spans every `interval`, or as soon as a batch is full. A batch
// the collector does not take (network error, 429, 5xx) is sent again at
// most `max_retries` times, then dropped and counted; a 4xx other than 429
// is not sent again. Thread-safety: record() and stats() from any thread;
// start() and stop() from the owner.
#pragma once

#include "engine/job_metrics.hpp"
#include "engine/push/http_client.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace errand::engine {

// One span as encoded: ids as lowercase hex, times as unix nanoseconds.
struct OtlpSpan {
  std::string trace_id;        // 32 hex
  std::string span_id;         // 16 hex
  std::string parent_span_id;  // 16 hex; empty: a root span
  std::string name;
  std::int64_t start_ns = 0;
  std::int64_t end_ns = 0;
  std::string job_id, queue, type, outcome, error;
  std::int64_t attempt = 0;
  std::int64_t queue_wait_ms = 0;
  std::int64_t run_ms = 0;
  bool failed = false;  // status ERROR with `error` as its message
};

struct OtlpResource {
  std::string service_version;
  std::string host_name;
  std::string instance_id;  // empty: not sent
};

// The span of an ended attempt, with a new random span id (and a new trace
// id when the job has no traceparent).
OtlpSpan make_span(const AttemptSpan& ended);

// The OTLP/JSON ExportTraceServiceRequest of `spans`:
// {"resourceSpans":[{"resource":{…},"scopeSpans":[{"scope":{"name":"errand"},"spans":[…]}]}]}.
std::string otlp_json(const std::vector<OtlpSpan>& spans, const OtlpResource& resource);

struct OtlpOptions {
  std::string endpoint;                   // the full URL, e.g. http://collector:4318/v1/traces
  std::vector<push::HttpHeader> headers;  // sent with every export (--otlp-header)
  OtlpResource resource;
  std::size_t max_queue = 4096;  // spans waiting; past this they are dropped
  std::size_t max_batch = 512;
  core::Millis interval{1'000};
  int max_retries = 2;
  core::Millis timeout{10'000};  // one export call
};

struct OtlpStats {
  std::uint64_t exported = 0;  // spans the collector took
  std::uint64_t dropped = 0;   // spans dropped: the queue was full
  std::uint64_t failed = 0;    // spans dropped: their export failed
};

class OtlpExporter {
 public:
  // Errors: invalid_argument naming "--otlp-endpoint" for a URL that is not
  // http:// or https://.
  static core::Result<void> check_endpoint(std::string_view url);

  OtlpExporter(boost::asio::any_io_executor executor, OtlpOptions options);
  ~OtlpExporter();
  OtlpExporter(const OtlpExporter&) = delete;
  OtlpExporter& operator=(const OtlpExporter&) = delete;

  void start();
  // Sends what is queued once more (best effort) and ends the loop.
  void stop();
  // Queues the span of an ended attempt. Never blocks.
  void record(const AttemptSpan& ended);
  OtlpStats stats() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace errand::engine
