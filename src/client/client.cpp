#include "client/client.hpp"

#include "client/failover.hpp"
#include "client/http.hpp"
#include "client/wire.hpp"
#include "core/duration.hpp"

#include <fmt/format.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>

namespace errand::client {
namespace json = boost::json;
using core::errc;
using detail::Idempotent;

namespace {

std::optional<Method> parse_method(std::string_view m) {
  if (m == "GET") return Method::get;
  if (m == "POST") return Method::post;
  if (m == "PUT") return Method::put;
  if (m == "DELETE") return Method::del;
  return std::nullopt;
}

template <class T, class Parse>
core::Result<T> then_parse(core::Result<json::value> got, Parse parse) {
  if (!got) return got.error();
  return parse(*got);
}

// Parsers of answers with client JSON take the text; the others a value.
template <class T, class Parse>
core::Result<T> then_parse(core::Result<std::string> got, Parse parse) {
  if (!got) return got.error();
  if constexpr (std::is_invocable_v<Parse, const json::value&>) {
    boost::system::error_code ec;
    auto v = json::parse(*got, ec);
    if (ec) return core::make_error(errc::internal, "unexpected answer from errand: not JSON");
    return parse(v);
  } else {
    return parse(std::string_view(*got));
  }
}

}  // namespace

struct Client::Impl {
  std::string url;  // as configured
  core::Millis request_timeout;
  core::Result<std::vector<Endpoint>> endpoints;
  std::vector<std::string> urls;                  // endpoints' URLs, in order
  std::vector<std::unique_ptr<HttpClient>> http;  // one pool per URL; empty when invalid
  detail::UrlRing ring;
  std::function<void(const Failover&)> on_failover;

  explicit Impl(ClientOptions o)
      : url(o.urls.empty() ? o.url : fmt::format("{}", fmt::join(o.urls, ","))),
        request_timeout(o.request_timeout),
        endpoints(o.urls.empty() ? parse_url_list(o.url) : parse_url_list(o.urls)),
        ring(endpoints ? endpoints->size() : 1),
        on_failover(std::move(o.on_failover)) {
    if (!endpoints) return;
    HttpOptions h;
    const bool any_tls =
        std::any_of(endpoints->begin(), endpoints->end(), [](const Endpoint& e) { return e.tls; });
    if (any_tls || !o.ca_file.empty()) {
      auto tls = make_tls_context(o.ca_file);
      if (!tls) {
        endpoints = tls.error();
        return;
      }
      h.tls = std::move(*tls);
    }
    h.bearer = std::move(o.key);
    h.connect_timeout = o.connect_timeout;
    h.io_timeout = o.request_timeout;
    h.max_idle_connections = o.max_idle_connections;
    for (const auto& ep : *endpoints) {
      urls.push_back(ep.url);
      http.push_back(std::make_unique<HttpClient>(ep, h));
    }
  }

  // The answer's body as text (2xx only).
  core::Result<std::string> send_text(Method method, std::string target, std::string body,
                                      core::Millis read_timeout, Idempotent idempotent) {
    if (!endpoints) return endpoints.error();
    HttpRequest req{method, std::move(target), std::move(body), read_timeout};
    auto res = detail::send_with_failover({
        .urls = urls,
        .ring = ring,
        .idempotent = idempotent,
        .send = [&](std::size_t i) { return detail::attempt_from(http[i]->send(req)); },
        .on_failover = on_failover,
    });
    if (!res) return res.error();
    if (res->status < 200 || res->status > 299)
      return wire::error_from_response(res->status, res->body);
    return std::move(res->body);
  }

  core::Result<json::value> send(Method method, std::string target, const json::value& body,
                                 core::Millis read_timeout, Idempotent idempotent) {
    auto text =
        send_text(method, std::move(target), body.is_null() ? std::string() : json::serialize(body),
                  read_timeout, idempotent);
    if (!text) return text.error();
    if (text->empty()) return json::value(nullptr);
    boost::system::error_code ec;
    auto v = json::parse(*text, ec);
    if (ec) {
      return core::make_error(
          errc::internal,
          "unexpected answer from errand: the body is not JSON (" + ec.message() + ")");
    }
    return v;
  }

  // Reads may always be repeated; POSTs say whether they may.
  core::Result<json::value> get(std::string target) {
    return send(Method::get, std::move(target), nullptr, core::Millis{0}, Idempotent::yes);
  }
  core::Result<std::string> get_text(std::string target) {
    return send_text(Method::get, std::move(target), {}, core::Millis{0}, Idempotent::yes);
  }
  core::Result<std::string> post_text(std::string target, Idempotent idempotent,
                                      std::string body = "{}") {
    return send_text(Method::post, std::move(target), std::move(body), core::Millis{0}, idempotent);
  }
  core::Result<json::value> post(std::string target, Idempotent idempotent,
                                 const json::value& body = json::object()) {
    return send(Method::post, std::move(target), body, core::Millis{0}, idempotent);
  }
};

Client::Client(ClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Client::~Client() = default;
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;

const std::string& Client::url() const noexcept {
  return impl_->url;
}

std::string Client::current_url() const {
  if (impl_->urls.empty()) return impl_->url;
  return impl_->urls[impl_->ring.current()];
}

std::vector<std::string> Client::urls() const {
  const auto& all = impl_->urls;
  if (all.empty()) return {impl_->url};
  std::vector<std::string> out;
  for (std::size_t k = 0, at = impl_->ring.current(); k < all.size(); ++k)
    out.push_back(all[(at + k) % all.size()]);
  return out;
}

core::Result<json::value> Client::call(std::string_view method, std::string_view target,
                                       const json::value& body, core::Millis read_timeout) {
  auto m = parse_method(method);
  if (!m) return core::invalid("method", "unsupported HTTP method " + std::string(method));
  const auto idempotent = *m == Method::get || *m == Method::put ? Idempotent::yes : Idempotent::no;
  return impl_->send(*m, std::string(target), body, read_timeout, idempotent);
}

core::Result<Enqueued> Client::enqueue(const EnqueueOptions& job) {
  // A repeat of a keyed enqueue answers with the first job.
  const auto idempotent = job.idempotency_key.empty() ? Idempotent::no : Idempotent::yes;
  return then_parse<Enqueued>(impl_->post_text("/v1/jobs", idempotent, wire::enqueue_text(job)),
                              wire::parse_enqueued);
}

core::Result<std::vector<Enqueued>> Client::enqueue_batch(const std::vector<EnqueueOptions>& jobs) {
  const bool all_keyed = std::all_of(jobs.begin(), jobs.end(),
                                     [](const auto& j) { return !j.idempotency_key.empty(); });
  return then_parse<std::vector<Enqueued>>(
      impl_->post_text("/v1/jobs/batch", all_keyed ? Idempotent::yes : Idempotent::no,
                       wire::enqueue_batch_text(jobs)),
      wire::parse_enqueued_batch);
}

core::Result<core::Job> Client::get(std::string_view id) {
  return then_parse<core::Job>(impl_->get_text(wire::job_target(id)), wire::parse_job);
}

core::Result<JobPage> Client::list(const ListOptions& options) {
  auto page =
      then_parse<JobPage>(impl_->get_text(wire::list_target(options)), wire::parse_job_page);
  if (page) page->client_json = options.include_payload;
  return page;
}

core::Result<core::Job> Client::cancel(std::string_view id) {
  return then_parse<core::Job>(impl_->post_text(wire::job_target(id, "/cancel"), Idempotent::no),
                               wire::parse_job);
}

core::Result<core::Job> Client::retry(std::string_view id) {
  return then_parse<core::Job>(impl_->post_text(wire::job_target(id, "/retry"), Idempotent::no),
                               wire::parse_job);
}

core::Result<void> Client::remove(std::string_view id) {
  // A repeat would answer 404 for a job the first one deleted.
  auto got =
      impl_->send(Method::del, wire::job_target(id), nullptr, core::Millis{0}, Idempotent::no);
  if (!got) return got.error();
  return {};
}

core::Result<std::vector<ClaimedJob>> Client::claim(const ClaimOptions& options) {
  // The server answers only when the wait ends: allow for it on top of the
  // usual time-out, or every idle long poll would look like a dead server.
  // A claim whose answer was lost is claimed again: the jobs it may have
  // leased come back when their leases run out, as for a worker that died.
  auto got = impl_->send_text(Method::post, "/v1/claim", json::serialize(wire::claim_body(options)),
                              options.wait + impl_->request_timeout, Idempotent::yes);
  return then_parse<std::vector<ClaimedJob>>(std::move(got), wire::parse_claimed);
}

core::Result<HeartbeatResult> Client::heartbeat(std::string_view id, std::string_view lease_id,
                                                std::optional<core::Millis> extend,
                                                core::Millis read_timeout) {
  return then_parse<HeartbeatResult>(
      impl_->send(Method::post, wire::job_target(id, "/heartbeat"),
                  wire::heartbeat_body(lease_id, extend), read_timeout, Idempotent::yes),
      wire::parse_heartbeat);
}

core::Result<void> Client::progress(std::string_view id, std::string_view lease_id,
                                    const ProgressUpdate& update) {
  auto got = impl_->post(wire::job_target(id, "/progress"), Idempotent::yes,
                         wire::progress_body(lease_id, update));
  if (!got) return got.error();
  return {};
}

core::Result<Finished> Client::complete(std::string_view id, std::string_view lease_id,
                                        const json::value& result, std::string_view log) {
  return then_parse<Finished>(impl_->post(wire::job_target(id, "/complete"), Idempotent::no,
                                          wire::complete_body(lease_id, result, log)),
                              wire::parse_finished);
}

core::Result<Continued> Client::continue_job(std::string_view id, std::string_view lease_id,
                                             const ContinueOptions& options) {
  return then_parse<Continued>(impl_->post(wire::job_target(id, "/continue"), Idempotent::no,
                                           wire::continue_body(lease_id, options)),
                               wire::parse_continued);
}

core::Result<Finished> Client::fail(std::string_view id, std::string_view lease_id,
                                    const FailOptions& options) {
  return then_parse<Finished>(impl_->post(wire::job_target(id, "/fail"), Idempotent::no,
                                          wire::fail_body(lease_id, options)),
                              wire::parse_finished);
}

core::Result<std::vector<AckResult>> Client::ack_many(const std::vector<Ack>& acks) {
  return then_parse<std::vector<AckResult>>(
      impl_->post_text("/v1/acks", Idempotent::no, wire::acks_text(acks)), wire::parse_ack_results);
}

core::Result<std::vector<QueueInfo>> Client::queues() {
  std::vector<QueueInfo> all;
  std::string cursor;
  do {
    auto page = queue_page(cursor, 1000);
    if (!page) return page.error();
    all.insert(all.end(), std::make_move_iterator(page->queues.begin()),
               std::make_move_iterator(page->queues.end()));
    // A cursor that does not move on would loop forever.
    if (!page->next_cursor.empty() && page->next_cursor <= cursor) break;
    cursor = std::move(page->next_cursor);
  } while (!cursor.empty());
  return all;
}

core::Result<QueuePage> Client::queue_page(std::string_view cursor, std::optional<int> limit) {
  return then_parse<QueuePage>(impl_->get(wire::queue_list_target(cursor, limit)),
                               wire::parse_queue_page);
}

core::Result<QueueInfo> Client::pause(std::string_view queue) {
  return then_parse<QueueInfo>(impl_->post(wire::queue_target(queue, "/pause"), Idempotent::yes),
                               wire::parse_queue);
}

core::Result<QueueInfo> Client::get_queue(std::string_view queue) {
  return then_parse<QueueInfo>(impl_->get(wire::queue_target(queue)), wire::parse_queue);
}

core::Result<QueueInfo> Client::configure_queue(std::string_view queue,
                                                const core::QueueConfig& config, bool paused) {
  auto got = impl_->send(Method::put, wire::queue_target(queue),
                         core::queue_settings_body({.paused = paused, .config = config}),
                         core::Millis{0}, Idempotent::yes);
  return then_parse<QueueInfo>(std::move(got), wire::parse_queue);
}

core::Result<KeyPage> Client::keys(std::string_view queue, std::string_view cursor,
                                   std::optional<int> limit, bool busiest) {
  return then_parse<KeyPage>(impl_->get(wire::key_list_target(queue, cursor, limit, busiest)),
                             wire::parse_key_page);
}

core::Result<KeyInfo> Client::get_key(std::string_view queue, std::string_view key) {
  return then_parse<KeyInfo>(impl_->get(wire::key_target(queue, key)), wire::parse_key);
}

core::Result<KeyInfo> Client::put_key(std::string_view queue, std::string_view key,
                                      const core::KeyLimits& limits) {
  auto got = impl_->send(Method::put, wire::key_target(queue, key), core::key_limits_body(limits),
                         core::Millis{0}, Idempotent::yes);
  return then_parse<KeyInfo>(std::move(got), wire::parse_key);
}

core::Result<KeyInfo> Client::delete_key(std::string_view queue, std::string_view key) {
  // A repeat would answer 404 for settings the first one removed.
  auto got = impl_->send(Method::del, wire::key_target(queue, key), nullptr, core::Millis{0},
                         Idempotent::no);
  return then_parse<KeyInfo>(std::move(got), wire::parse_key);
}

core::Result<PushSecret> Client::push_secret(std::string_view queue) {
  return then_parse<PushSecret>(impl_->get(wire::queue_target(queue, "/push-secret")),
                                wire::parse_push_secret);
}

core::Result<PushSecret> Client::rotate_push_secret(std::string_view queue,
                                                    std::optional<core::Millis> keep_previous) {
  json::object body;
  if (keep_previous) body["keep_previous"] = core::format_duration(*keep_previous);
  return then_parse<PushSecret>(
      impl_->post(wire::queue_target(queue, "/push-secret/rotate"), Idempotent::no, body),
      wire::parse_push_secret);
}

core::Result<QueueInfo> Client::resume(std::string_view queue) {
  return then_parse<QueueInfo>(impl_->post(wire::queue_target(queue, "/resume"), Idempotent::yes),
                               wire::parse_queue);
}

core::Result<void> Client::health() {
  auto got = impl_->get("/healthz");
  if (!got) return got.error();
  return {};
}

core::Result<std::vector<ScheduleInfo>> Client::schedules() {
  return then_parse<std::vector<ScheduleInfo>>(impl_->get_text("/v1/schedules"),
                                               wire::parse_schedules);
}

core::Result<ScheduleInfo> Client::get_schedule(std::string_view name) {
  return then_parse<ScheduleInfo>(impl_->get_text(wire::schedule_target(name)),
                                  wire::parse_schedule);
}

core::Result<ScheduleInfo> Client::put_schedule(std::string_view name,
                                                const ScheduleOptions& options) {
  auto got = impl_->send_text(Method::put, wire::schedule_target(name),
                              json::serialize(wire::schedule_body(options)), core::Millis{0},
                              Idempotent::yes);
  return then_parse<ScheduleInfo>(std::move(got), wire::parse_schedule);
}

core::Result<void> Client::delete_schedule(std::string_view name) {
  auto got = impl_->send(Method::del, wire::schedule_target(name), nullptr, core::Millis{0},
                         Idempotent::no);
  if (!got) return got.error();
  return {};
}

core::Result<Enqueued> Client::trigger_schedule(std::string_view name) {
  return then_parse<Enqueued>(impl_->post(wire::schedule_target(name, "/trigger"), Idempotent::no),
                              wire::parse_enqueued);
}

core::Result<ScheduleInfo> Client::pause_schedule(std::string_view name) {
  return then_parse<ScheduleInfo>(
      impl_->post_text(wire::schedule_target(name, "/pause"), Idempotent::yes),
      wire::parse_schedule);
}

core::Result<ScheduleInfo> Client::resume_schedule(std::string_view name) {
  return then_parse<ScheduleInfo>(
      impl_->post_text(wire::schedule_target(name, "/resume"), Idempotent::yes),
      wire::parse_schedule);
}

}  // namespace errand::client
