#include "engine/push/dispatcher.hpp"

#include "core/id.hpp"

#include "core/hmac.hpp"
#include "core/job_json.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <boost/asio/use_awaitable.hpp>
#include <cassert>

namespace errand::engine::push {
namespace asio = boost::asio;

// One push queue, shared by its loop and its calls in flight.
struct Dispatcher::QueueState {
  std::string name;
  core::PushConfig config;
  std::string secret;  // signs with current_mac; previous_mac while a rotation lasts
  std::shared_ptr<core::HmacSha256> current_mac;
  std::string previous_secret;
  std::shared_ptr<core::HmacSha256> previous_mac;
  std::optional<core::TimePoint> previous_until;
  std::size_t in_flight = 0;
  bool removed = false;
  bool loop_running = false;
  bool refusal_logged = false;  // the address policy refused a call (logged once per URL)
  asio::steady_timer slot;      // cancelled when a call ends or the queue changes

  QueueState(std::string n, asio::any_io_executor ex) : name(std::move(n)), slot(ex) {}

  // Takes the queue's settings; false when they are the ones it had.
  bool update(const store::QueueInfo& info) {
    if (config == *info.config.push && secret == info.push_secrets.current &&
        previous_secret == info.push_secrets.previous &&
        previous_until == info.push_secrets.previous_until) {
      return false;
    }
    if (config.url != info.config.push->url) refusal_logged = false;
    config = *info.config.push;
    if (secret != info.push_secrets.current) {
      secret = info.push_secrets.current;
      current_mac = std::make_shared<core::HmacSha256>(secret);
    }
    previous_secret = info.push_secrets.previous;
    if (!info.push_secrets.previous.empty()) {
      previous_mac = std::make_shared<core::HmacSha256>(info.push_secrets.previous);
      previous_until = info.push_secrets.previous_until;
    } else {
      previous_mac.reset();
      previous_until.reset();
    }
    return true;
  }
};

namespace {

// The job's W3C trace context, so the call joins the enqueue's trace.
void add_trace_headers(HttpRequest& request, const core::Job& job) {
  if (job.traceparent.empty()) return;
  request.headers.push_back({"traceparent", job.traceparent});
  if (!job.tracestate.empty()) request.headers.push_back({"tracestate", job.tracestate});
}

bool header_is_true(std::string_view v) {
  return v.size() == 4 && (v[0] == 't' || v[0] == 'T') && (v[1] == 'r' || v[1] == 'R') &&
         (v[2] == 'u' || v[2] == 'U') && (v[3] == 'e' || v[3] == 'E');
}

}  // namespace

Dispatcher::Dispatcher(asio::any_io_executor executor, Engine& engine, DispatcherOptions options)
    : strand_(asio::make_strand(executor)),
      engine_(engine),
      options_(std::move(options)),
      http_(std::make_unique<HttpClient>(strand_, options_.http)) {
  // A URL this server will never call is refused when it is configured,
  // rather than accepted and failed at every attempt.
  engine_.set_push_check([policy = options_.http.addresses](const core::PushConfig& config) {
    return check_push_url(config.url, policy);
  });
}

Dispatcher::~Dispatcher() = default;

void Dispatcher::start() {
  engine_.set_queue_listener([this](const store::QueueInfo& info) {
    asio::post(strand_, [this, info] {
      ++changes_;
      on_queue(info);
    });
  });
  asio::co_spawn(strand_, refresh_loop(), asio::detached);
  asio::co_spawn(strand_, webhook_loop(), asio::detached);
}

void Dispatcher::set_signal_urls(
    std::function<std::string(std::string_view, std::string_view)> make) {
  signal_urls_ = std::move(make);
}

void Dispatcher::stop() {
  asio::post(strand_, [this] {
    if (stopping_) return;
    stopping_ = true;
    if (refresh_timer_) refresh_timer_->cancel();
    if (webhook_timer_) webhook_timer_->cancel();
    std::vector<std::string> names;
    for (auto& [name, q] : queues_) {
      q->removed = true;
      q->slot.cancel();
      names.push_back(name);
    }
    engine_.wake_claims(names);
    if (in_flight_ == 0) http_->close_idle();
  });
}

DispatcherStats Dispatcher::stats() const {
  return {stat_queues_.load(), stat_in_flight_.load(), calls_.load()};
}

asio::awaitable<bool> Dispatcher::load_queues(bool log_failure) {
  for (;;) {
    const auto changes = changes_;
    auto queues = co_await engine_.queues();
    if (!queues) {
      if (log_failure) spdlog::error("push: cannot list queues: {}", queues.error().message);
      co_return false;
    }
    // A change made through this server while the queues were read may be
    // newer than what was read: read them again.
    if (changes_ != changes) continue;
    for (const auto& info : *queues) on_queue(info);
    co_return true;
  }
}

// Another server on the same store may give a queue an endpoint, change it
// or take it away; nothing tells this one but the queues themselves. Read
// at start, then every queue_refresh if set (also after a failed read).
asio::awaitable<void> Dispatcher::refresh_loop() {
  refresh_timer_ = std::make_shared<asio::steady_timer>(strand_);
  bool loaded = true;  // the first failure is logged, not every one of an outage
  while (!stopping_) {
    loaded = co_await load_queues(loaded);
    if (stopping_ || !options_.queue_refresh) break;
    refresh_timer_->expires_after(*options_.queue_refresh);
    boost::system::error_code ec;
    co_await refresh_timer_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

void Dispatcher::on_queue(const store::QueueInfo& info) {
  assert(strand_.running_in_this_thread());
  if (stopping_) return;
  auto it = queues_.find(info.name);
  if (!info.config.push) {
    if (it == queues_.end()) return;
    it->second->removed = true;  // the loop ends at its next turn; calls in flight finish
    it->second->slot.cancel();
    engine_.wake_claims({info.name});
    queues_.erase(it);
    stat_queues_ = queues_.size();
    spdlog::info("push: queue {} is back in pull mode", info.name);
    return;
  }
  if (it != queues_.end()) {
    // A raised concurrency takes effect now.
    if (it->second->update(info)) it->second->slot.cancel();
    return;
  }
  auto q = std::make_shared<QueueState>(info.name, strand_);
  q->update(info);
  queues_.emplace(info.name, q);
  stat_queues_ = queues_.size();
  spdlog::info("push: delivering queue {} to {}", info.name, q->config.url);
  q->loop_running = true;
  asio::co_spawn(strand_, run_queue(q), asio::detached);
}

asio::awaitable<void> Dispatcher::run_queue(std::shared_ptr<QueueState> q) {
  asio::steady_timer backoff(strand_);
  while (!q->removed) {
    const auto limit = static_cast<std::size_t>(q->config.concurrency);
    if (q->in_flight >= limit) {
      boost::system::error_code ec;
      q->slot.expires_at(asio::steady_timer::time_point::max());
      co_await q->slot.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    ClaimRequest claim{.queues = {q->name},
                       .worker = options_.worker,
                       .max = limit - q->in_flight,
                       .wait = options_.claim_wait,
                       .lease = q->config.timeout + core::kPushLeaseMargin,
                       .push = true};
    auto jobs = co_await engine_.claim(std::move(claim));
    if (!jobs) {
      // The store refuses work (e.g. it is stopping): try again later.
      spdlog::warn("push: claiming from {}: {}", q->name, jobs.error().message);
      boost::system::error_code ec;
      backoff.expires_after(std::chrono::seconds(1));
      co_await backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    for (auto& job : *jobs) {
      ++q->in_flight;
      ++in_flight_;
      ++stat_in_flight_;
      asio::co_spawn(strand_, deliver(q, std::move(job)), asio::detached);
    }
  }
  q->loop_running = false;
}

asio::awaitable<void> Dispatcher::deliver(std::shared_ptr<QueueState> q, core::Job job) {
  ++calls_;
  // The wait this call's answer may ask for: its URL goes in the body.
  const std::string nonce = signal_urls_ ? core::random_hex(16) : std::string();
  const std::string body =
      core::push_body(core::job_json(job), job, signal_urls_ ? signal_urls_(job.id, nonce) : "");
  const auto now = engine_.clock().now();
  const bool rotating = q->previous_mac && q->previous_until && *q->previous_until > now;
  const auto unix_s = core::to_unix_ms(now) / 1000;
  HttpRequest request{
      .url = q->config.url, .headers = {}, .body = body, .timeout = q->config.timeout};
  request.headers.reserve(4 + q->config.headers.size());
  request.headers.push_back({"Content-Type", "application/json"});
  request.headers.push_back({"Errand-Job-Id", job.id});
  request.headers.push_back({"Errand-Attempt", std::to_string(job.attempt)});
  request.headers.push_back(
      {"Errand-Signature", core::push_signature(unix_s, body, *q->current_mac,
                                                rotating ? q->previous_mac.get() : nullptr)});
  add_trace_headers(request, job);
  for (const auto& h : q->config.headers) request.headers.push_back({h.name, h.value});

  core::PushOutcome outcome;
  core::Result<HttpResponse> response = core::make_error(core::errc::internal, "not sent");
  try {
    response = co_await http_->post(std::move(request));
  } catch (const std::exception& e) {
    response = core::make_error(core::errc::internal, e.what());
  }
  if (!response) {
    if (response.error().code == core::errc::forbidden && !q->refusal_logged) {
      // Every call of the queue will fail the same way until the server's
      // flags or the URL change: say so once, not at every attempt.
      q->refusal_logged = true;
      spdlog::warn("push: queue {}: {}; every call to {} fails until then", q->name,
                   response.error().message, q->config.url);
    }
    outcome.kind = core::PushOutcome::Kind::fail;
    outcome.error = "push: " + response.error().message;
  } else {
    const core::PushAnswer answer{.status = response->status,
                                  .retry_after = response->header("Retry-After"),
                                  .no_retry = header_is_true(response->header("Errand-No-Retry")),
                                  .body = response->body};
    outcome = core::decide_push_outcome(answer, job, engine_.clock().now(), options_.limits);
    if (outcome.wait_signal && nonce.empty()) {
      outcome = core::PushOutcome{.kind = core::PushOutcome::Kind::fail,
                                  .error = "push: this server gives no signal URLs"};
    }
  }
  co_await apply(job, std::move(outcome), nonce);
  call_ended(*q);
}

// Parameters are built as named locals before each co_await: GCC 12
// destroys braced temporaries inside a co_await expression twice.
asio::awaitable<void> Dispatcher::apply(const core::Job& job, core::PushOutcome outcome,
                                        std::string signal_nonce) {
  using Kind = core::PushOutcome::Kind;
  if (options_.metrics) {
    constexpr std::array<std::string_view, 5> kResults = {"complete", "continue", "defer", "fail",
                                                          "dead"};
    options_.metrics->push_calls.at({job.queue, kResults[static_cast<std::size_t>(outcome.kind)]})
        .add();
  }
  core::Result<core::Job> done = core::Job{};
  if (outcome.kind == Kind::complete) {
    CompleteRequest params{
        .id = job.id, .lease_id = job.lease_id, .result = std::move(outcome.result)};
    done = co_await engine_.complete(std::move(params));
  } else if (outcome.kind == Kind::continue_ || outcome.kind == Kind::defer) {
    RequeueRequest params{
        .id = job.id,
        .lease_id = job.lease_id,
        .run_at = outcome.run_at,
        .continuation = outcome.kind == Kind::continue_,
        .state = std::move(outcome.state),
        .progress = std::move(outcome.progress),
        .signal_nonce = outcome.wait_signal ? std::move(signal_nonce) : std::string()};
    done = co_await engine_.requeue(std::move(params));
  } else {
    FailRequest params{.id = job.id,
                       .lease_id = job.lease_id,
                       .error = core::utf8_head(outcome.error, core::kMaxErrorMessage),
                       .retry = outcome.kind == Kind::fail,
                       .retry_in = outcome.retry_in};
    done = co_await engine_.fail(std::move(params));
  }
  if (!done) {
    // A conflict means the lease ended meanwhile (expired, or the job was
    // deleted): the outcome no longer applies.
    spdlog::warn("push: job {}: cannot record the call's outcome: {}", job.id,
                 done.error().message);
  }
}

// ---- completion webhooks ----

namespace {

// 1 s after the first failed call, doubling, at most an hour.
core::Millis webhook_backoff(int attempts) {
  const int doublings = std::clamp(attempts - 1, 0, 12);
  return std::min(core::Millis{1000LL << doublings}, core::Millis{3'600'000});
}

}  // namespace

asio::awaitable<void> Dispatcher::webhook_loop() {
  webhook_timer_ = std::make_shared<asio::steady_timer>(strand_);
  bool logged = false;
  while (!stopping_) {
    const auto room =
        options_.webhook_concurrency - std::min(options_.webhook_concurrency, webhooks_in_flight_);
    if (room > 0) {
      auto due = co_await engine_.webhooks_due(room, core::Millis{60'000});
      if (!due && !logged) {
        spdlog::warn("webhooks: cannot read due deliveries: {}", due.error().message);
      }
      logged = !due;
      if (due) {
        for (auto& d : *due) {
          ++webhooks_in_flight_;
          ++in_flight_;
          asio::co_spawn(strand_, deliver_webhook(std::move(d)), asio::detached);
        }
        if (!due->empty() && due->size() == room) continue;  // more may be due
      }
    }
    if (stopping_) break;
    webhook_timer_->expires_after(options_.webhook_poll);
    boost::system::error_code ec;
    co_await webhook_timer_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

asio::awaitable<void> Dispatcher::deliver_webhook(store::WebhookDelivery d) {
  store::WebhookResultParams result{.job_id = d.job_id};
  auto job = co_await engine_.get(d.job_id);
  auto queue = co_await engine_.queue(d.queue);
  if (!job || !queue || queue->push_secrets.current.empty()) {
    result.error = !job     ? "the job is gone: " + job.error().message
                   : !queue ? "its queue cannot be read: " + queue.error().message
                            : std::string("its queue has no signing secret");
  } else {
    const auto now = engine_.clock().now();
    const std::string body = core::job_json(*job);
    const core::HmacSha256 current(queue->push_secrets.current);
    const auto previous_secret = queue->push_secrets.previous_at(now);
    std::unique_ptr<core::HmacSha256> previous;
    if (!previous_secret.empty()) previous = std::make_unique<core::HmacSha256>(previous_secret);
    HttpRequest request{.url = d.url, .headers = {}, .body = body, .timeout = core::Millis{30'000}};
    request.headers.push_back({"Content-Type", "application/json"});
    request.headers.push_back({"Errand-Job-Id", job->id});
    request.headers.push_back({"Errand-Event", "job." + std::string(core::to_string(job->state))});
    request.headers.push_back(
        {"Errand-Signature",
         core::push_signature(core::to_unix_ms(now) / 1000, body, current, previous.get())});
    add_trace_headers(request, *job);
    core::Result<HttpResponse> response = core::make_error(core::errc::internal, "not sent");
    try {
      response = co_await http_->post(std::move(request));
    } catch (const std::exception& e) {
      response = core::make_error(core::errc::internal, e.what());
    }
    if (response && response->status >= 200 && response->status < 300) {
      result.delivered = true;
      result.status = static_cast<int>(response->status);
    } else if (response) {
      result.status = static_cast<int>(response->status);
      result.error =
          core::utf8_head(fmt::format("HTTP {}: {}", response->status, response->body), 512);
    } else {
      result.error = response.error().message;
    }
  }
  if (!result.delivered) {
    const auto now = engine_.clock().now();
    const auto next = now + webhook_backoff(d.attempts + 1);
    if (next < d.created_at + core::kWebhookRetryFor) {
      result.retry_at = next;
    } else {
      spdlog::warn("webhooks: giving up on job {}'s webhook to {} after {} calls: {}", d.job_id,
                   d.url, d.attempts + 1, result.error);
    }
  }
  auto saved = co_await engine_.webhook_result(std::move(result));
  if (!saved) spdlog::warn("webhooks: job {}: {}", d.job_id, saved.error().message);
  --webhooks_in_flight_;
  --in_flight_;
  if (stopping_ && in_flight_ == 0) http_->close_idle();
  if (webhook_timer_) webhook_timer_->cancel();  // room for more
}

void Dispatcher::call_ended(QueueState& q) {
  assert(strand_.running_in_this_thread());
  --q.in_flight;
  --in_flight_;
  --stat_in_flight_;
  q.slot.cancel();
  if (stopping_ && in_flight_ == 0) http_->close_idle();
}

}  // namespace errand::engine::push
