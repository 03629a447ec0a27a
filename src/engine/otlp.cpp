#include "engine/otlp.hpp"

#include "core/mutex.hpp"
#include "core/trace.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <unistd.h>

#include <atomic>
#include <cassert>
#include <chrono>
#include <deque>

namespace errand::engine {
namespace asio = boost::asio;
namespace json = boost::json;
namespace {

constexpr std::chrono::seconds kWarnEvery{10};

std::int64_t unix_ns(core::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

std::int64_t ms_between(core::TimePoint from, core::TimePoint to) {
  return std::max<std::int64_t>(0, (to - from).count());
}

json::object string_attr(std::string_view key, std::string_view value) {
  return {{"key", key}, {"value", json::object{{"stringValue", value}}}};
}

// OTLP/JSON writes 64-bit integers as decimal strings.
json::object int_attr(std::string_view key, std::int64_t value) {
  return {{"key", key}, {"value", json::object{{"intValue", std::to_string(value)}}}};
}

json::object span_json(const OtlpSpan& s) {
  json::array attributes{string_attr("errand.job.id", s.job_id),
                         string_attr("errand.queue", s.queue)};
  if (!s.type.empty()) attributes.emplace_back(string_attr("errand.job.type", s.type));
  attributes.emplace_back(int_attr("errand.attempt", s.attempt));
  attributes.emplace_back(int_attr("errand.queue_wait_ms", s.queue_wait_ms));
  attributes.emplace_back(int_attr("errand.run_ms", s.run_ms));
  attributes.emplace_back(string_attr("errand.outcome", s.outcome));
  json::object span{{"traceId", s.trace_id},
                    {"spanId", s.span_id},
                    {"name", s.name},
                    {"kind", 5},  // SPAN_KIND_CONSUMER
                    {"startTimeUnixNano", std::to_string(s.start_ns)},
                    {"endTimeUnixNano", std::to_string(s.end_ns)},
                    {"attributes", std::move(attributes)}};
  if (!s.parent_span_id.empty()) span["parentSpanId"] = s.parent_span_id;
  if (s.failed) span["status"] = json::object{{"code", 2}, {"message", s.error}};  // ERROR
  return span;
}

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return {};
  return name;
}

}  // namespace

OtlpSpan make_span(const AttemptSpan& ended) {
  const auto& a = ended.attempt;
  OtlpSpan s;
  s.trace_id = std::string(core::trace_id_of(a.traceparent));
  s.parent_span_id = std::string(core::parent_id_of(a.traceparent));
  if (s.trace_id.empty()) s.trace_id = core::new_trace_id();
  s.span_id = core::new_span_id();
  s.name = "errand.job " + (a.type.empty() ? a.queue : a.type);
  s.start_ns = unix_ns(a.claimed_at);
  s.end_ns = std::max(s.start_ns, unix_ns(ended.ended_at));
  s.job_id = a.job_id;
  s.queue = a.queue;
  s.type = a.type;
  s.attempt = a.attempt;
  s.queue_wait_ms = ms_between(a.ready_at, a.claimed_at);
  s.run_ms = ms_between(a.claimed_at, ended.ended_at);
  s.outcome = ended.outcome;
  s.failed = ended.outcome == "failed" || ended.outcome == "dead";
  s.error = s.failed ? ended.error : std::string();
  return s;
}

std::string otlp_json(const std::vector<OtlpSpan>& spans, const OtlpResource& resource) {
  json::array attributes{string_attr("service.name", "errand")};
  if (!resource.service_version.empty()) {
    attributes.emplace_back(string_attr("service.version", resource.service_version));
  }
  if (!resource.host_name.empty()) {
    attributes.emplace_back(string_attr("host.name", resource.host_name));
  }
  if (!resource.instance_id.empty()) {
    attributes.emplace_back(string_attr("service.instance.id", resource.instance_id));
  }
  json::array out;
  out.reserve(spans.size());
  for (const auto& s : spans) out.emplace_back(span_json(s));
  json::object scope{{"scope", json::object{{"name", "errand"}}}, {"spans", std::move(out)}};
  json::object resource_spans{{"resource", json::object{{"attributes", std::move(attributes)}}},
                              {"scopeSpans", json::array{std::move(scope)}}};
  return json::serialize(json::object{{"resourceSpans", json::array{std::move(resource_spans)}}});
}

struct OtlpExporter::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::any_io_executor executor, OtlpOptions o)
      : strand(asio::make_strand(executor)),
        timer(strand),
        options(std::move(o)),
        // The operator names the collector: it may well be on this host or
        // a private network, which push delivery's address policy refuses.
        http(strand, {.addresses = {.allow_private = true},
                      .connect_timeout = core::Millis{3'000},
                      .max_idle_per_host = 2,
                      .user_agent = "errand"}) {
    if (options.resource.host_name.empty()) options.resource.host_name = host_name();
  }

  asio::strand<asio::any_io_executor> strand;
  asio::steady_timer timer;  // touched only on the strand
  OtlpOptions options;
  push::HttpClient http;  // used only on the strand

  mutable core::Mutex mutex;
  std::deque<OtlpSpan> queue GUARDED_BY(mutex);
  std::chrono::steady_clock::time_point last_drop_warning GUARDED_BY(mutex);
  bool warned_drop GUARDED_BY(mutex) = false;
  std::chrono::steady_clock::time_point last_fail_warning{};  // touched only on the strand
  bool warned_fail = false;                                   // touched only on the strand
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> exported{0}, dropped{0}, failed{0};

  std::vector<OtlpSpan> take_batch() EXCLUDES(mutex) {
    core::MutexLock lock(mutex);
    const auto n = std::min(queue.size(), options.max_batch);
    std::vector<OtlpSpan> batch(std::make_move_iterator(queue.begin()),
                                std::make_move_iterator(queue.begin() + static_cast<long>(n)));
    queue.erase(queue.begin(), queue.begin() + static_cast<long>(n));
    return batch;
  }

  void record(OtlpSpan span) EXCLUDES(mutex) {
    bool full_batch = false;
    {
      core::MutexLock lock(mutex);
      if (queue.size() >= options.max_queue) {
        ++dropped;
        const auto now = std::chrono::steady_clock::now();
        if (!warned_drop || now - last_drop_warning >= kWarnEvery) {
          warned_drop = true;
          last_drop_warning = now;
          spdlog::warn("OTLP export: {} span(s) waiting, the most kept; dropping spans ({} so far)",
                       queue.size(), dropped.load());
        }
        return;
      }
      queue.push_back(std::move(span));
      full_batch = queue.size() == options.max_batch;
    }
    if (full_batch) wake();
  }

  void wake() {
    asio::post(strand, [self = shared_from_this()] { self->timer.cancel(); });
  }

  void warn_failure(std::size_t n, const std::string& why) {
    assert(strand.running_in_this_thread());
    failed += n;
    const auto now = std::chrono::steady_clock::now();
    if (warned_fail && now - last_fail_warning < kWarnEvery) return;
    warned_fail = true;
    last_fail_warning = now;
    spdlog::warn("OTLP export to {} failed, {} span(s) dropped ({} so far): {}", options.endpoint,
                 n, failed.load(), why);
  }

  asio::awaitable<void> send(std::vector<OtlpSpan> batch) {
    const std::string body = otlp_json(batch, options.resource);
    std::string why;
    for (int attempt = 0; attempt <= options.max_retries; ++attempt) {
      push::HttpRequest request{.url = options.endpoint,
                                .headers = {{"Content-Type", "application/json"}},
                                .body = body,
                                .timeout = options.timeout};
      for (const auto& h : options.headers) request.headers.push_back(h);
      core::Result<push::HttpResponse> response =
          core::make_error(core::errc::internal, "not sent");
      try {
        response = co_await http.post(std::move(request));
      } catch (const std::exception& e) {
        response = core::make_error(core::errc::internal, e.what());
      }
      if (response && response->status >= 200 && response->status < 300) {
        exported += batch.size();
        co_return;
      }
      why = response ? fmt::format("HTTP {}", response->status) : response.error().message;
      const bool again = !response || response->status == 429 || response->status >= 500;
      if (!again || stopping || attempt == options.max_retries) break;
      timer.expires_after(std::chrono::milliseconds(500 << attempt));
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    warn_failure(batch.size(), why);
  }

  asio::awaitable<void> run() {
    auto self = shared_from_this();
    for (;;) {
      const bool last = stopping;
      for (;;) {
        auto batch = take_batch();
        if (batch.empty()) break;
        const bool full = batch.size() == options.max_batch;
        co_await send(std::move(batch));
        if (!full) break;
      }
      if (last) co_return;
      timer.expires_after(options.interval);
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }
};

core::Result<void> OtlpExporter::check_endpoint(std::string_view url) {
  if (url.starts_with("http://") || url.starts_with("https://")) return {};
  return core::invalid("--otlp-endpoint",
                       fmt::format("--otlp-endpoint must be an http:// or https:// URL (the "
                                   "collector's OTLP/HTTP traces path, e.g. "
                                   "http://localhost:4318/v1/traces), got \"{}\"",
                                   url));
}

OtlpExporter::OtlpExporter(asio::any_io_executor executor, OtlpOptions options)
    : impl_(std::make_shared<Impl>(executor, std::move(options))) {}

OtlpExporter::~OtlpExporter() {
  stop();
}

void OtlpExporter::start() {
  asio::co_spawn(impl_->strand, impl_->run(), asio::detached);
}

void OtlpExporter::stop() {
  if (impl_->stopping.exchange(true)) return;
  impl_->wake();
}

void OtlpExporter::record(const AttemptSpan& ended) {
  if (impl_->stopping) return;
  impl_->record(make_span(ended));
}

OtlpStats OtlpExporter::stats() const {
  return {impl_->exported.load(), impl_->dropped.load(), impl_->failed.load()};
}

}  // namespace errand::engine
