// The push dispatcher: delivers the jobs of every queue with a `push`
// endpoint by calling it over HTTP(S) (docs/API.md, "Push delivery").
//
// One loop per push queue claims jobs through the engine (push claims: never
// seen by workers) as long as the queue has fewer than `push.concurrency`
// calls in flight on this server, so that limit holds exactly; each claimed
// job is called once (signed, with its lease), and the answer is applied
// through the engine per core::decide_push_outcome: complete, requeue
// (continuation or Retry-After deferral), or fail. The lease of a call is the
// push timeout plus core::kPushLeaseMargin, so a server that dies mid-call
// leaves the job to be called again after its lease expires.
//
// Queue changes arrive through Engine::set_queue_listener: a loop starts when
// a queue gets an endpoint, follows a changed one at its next claim, and
// ends when `push` is removed (calls in flight finish). Changes made through
// another server sharing the store (PostgreSQL) reach this one when the
// queues are read again, every `queue_refresh`. stop() ends every loop and
// the refresh; calls in flight finish and record their outcome, then the
// idle connections are closed, so the io_context runs out of work.
//
// Completion webhooks (a job's `on_done`) go out from here too: one loop
// takes the deliveries that are due from the store (leased, so one server
// makes each call), POSTs the job's JSON signed with its queue's secret, and
// records the outcome: delivered on a 2xx, else retried with backoff
// (1 s, doubling, at most an hour apart) until core::kWebhookRetryFor after
// the job ended. The same address policy applies as to push calls.
//
// Thread-safety: every public method may be called from any thread; all
// state lives on one strand.
#pragma once

#include "core/push.hpp"
#include "engine/engine.hpp"
#include "engine/push/http_client.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/strand.hpp>

#include <functional>
#include <string_view>

#include <map>
#include <memory>
#include <optional>
#include <string>

namespace errand::engine::push {

struct DispatcherOptions {
  HttpClientOptions http;
  core::PushLimits limits;
  std::string worker = "errand-push";    // the `worker` of a push job's lease
  core::Millis claim_wait{30'000};       // a loop's long poll
  core::Millis webhook_poll{1'000};      // how often due webhooks are looked for
  std::size_t webhook_concurrency = 16;  // webhook calls in flight at most
  // How often the queues' push settings are read again from the store, for
  // the changes other servers sharing it make; unset: only at start (a store
  // of this server's own, whose changes all come through the listener).
  std::optional<core::Millis> queue_refresh;
  // Where calls are counted by queue and result (GET /metrics); null: nowhere.
  core::metrics::Metrics* metrics = nullptr;
};

struct DispatcherStats {
  std::size_t queues = 0;     // push queues with a loop
  std::size_t in_flight = 0;  // calls in flight, all queues
  std::uint64_t calls = 0;    // calls made, ever
};

class Dispatcher {
 public:
  Dispatcher(boost::asio::any_io_executor executor, Engine& engine, DispatcherOptions options);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Registers as the engine's queue listener and starts a loop for every
  // queue that has a push endpoint. Call once, before engine.start() or after.
  void start();
  void stop();
  // Makes the signal URL of a job's wait (`id`, `nonce`) for push calls'
  // bodies; unset: calls carry none and a `signal` continuation fails.
  // Set before start().
  void set_signal_urls(std::function<std::string(std::string_view, std::string_view)> make);
  DispatcherStats stats() const;

 private:
  struct QueueState;
  void on_queue(const store::QueueInfo& info);                 // on the strand
  boost::asio::awaitable<bool> load_queues(bool log_failure);  // false: not read
  boost::asio::awaitable<void> refresh_loop();
  boost::asio::awaitable<void> run_queue(std::shared_ptr<QueueState> q);
  boost::asio::awaitable<void> deliver(std::shared_ptr<QueueState> q, core::Job job);
  boost::asio::awaitable<void> apply(const core::Job& job, core::PushOutcome outcome,
                                     std::string signal_nonce);
  void call_ended(QueueState& q);
  boost::asio::awaitable<void> webhook_loop();
  boost::asio::awaitable<void> deliver_webhook(store::WebhookDelivery d);
  std::size_t webhooks_in_flight_ = 0;                        // strand only
  std::shared_ptr<boost::asio::steady_timer> webhook_timer_;  // strand only

  boost::asio::strand<boost::asio::any_io_executor> strand_;
  Engine& engine_;
  DispatcherOptions options_;
  std::unique_ptr<HttpClient> http_;
  std::function<std::string(std::string_view, std::string_view)> signal_urls_;
  std::map<std::string, std::shared_ptr<QueueState>, std::less<>> queues_;  // strand only
  std::shared_ptr<boost::asio::steady_timer> refresh_timer_;                // strand only
  std::size_t in_flight_ = 0;                                               // strand only
  bool stopping_ = false;                                                   // strand only
  // Queue changes made through this server (the engine's queue listener),
  // which a read of the queues begun before them must not undo. Strand only.
  std::uint64_t changes_ = 0;
  std::atomic<std::uint64_t> calls_{0};
  std::atomic<std::size_t> stat_queues_{0};
  std::atomic<std::size_t> stat_in_flight_{0};
};

}  // namespace errand::engine::push
