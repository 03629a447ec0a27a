// GET /v1/jobs/{id}/events: a job's changes as Server-Sent Events.
//
// The stream starts with a `snapshot` (the job as GET /v1/jobs/{id} shows it
// to the same caller), then a `state` event at every state change and a
// `progress` event at every (coalesced) progress update, and ends with one
// event named after the terminal state (`succeeded`, `dead`, `cancelled`).
// Event ids are "<epoch>-<seq>" positions of the job's channel on the event
// bus; the final event's id ends in "-end". A client that reconnects with
// Last-Event-ID gets exactly the events after it when the bus still has
// them, else a fresh snapshot; after the final event, 204 (an EventSource
// then stops reconnecting).
#include "api/errors.hpp"
#include "api/router.hpp"
#include "core/job_json.hpp"
#include "core/mutex.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <memory>

namespace errand::api {
namespace json = boost::json;
using boost::asio::awaitable;
using engine::JobEvent;
using engine::JobEventKind;
using engine::StreamPosition;

namespace {

constexpr core::Millis kKeepAlive{15'000};
constexpr std::string_view kEndSuffix = "-end";

// Forwards the bus's wake-ups to the stream's waker once the stream has one:
// the subscription is made before the response starts.
struct WakeRelay {
  core::Mutex mutex;
  std::function<void()> target GUARDED_BY(mutex);
  void operator()() EXCLUDES(mutex) {
    core::MutexLock lock(mutex);
    if (target) target();
  }
  void set(std::function<void()> t) EXCLUDES(mutex) {
    core::MutexLock lock(mutex);
    target = std::move(t);
  }
};

// `data`: one line of JSON text.
std::string sse(std::string_view event, std::string_view id, std::string_view data) {
  return fmt::format("event: {}\nid: {}\ndata: {}\n\n", event, id, data);
}

bool is_final(const JobEvent& e) {
  return e.kind == JobEventKind::state && core::is_terminal(e.state);
}

std::string state_json(const JobEvent& e) {
  core::JsonWriter w;
  w.begin_object().key("id").string(e.job_id).key("state").string(core::to_string(e.state));
  w.key("attempt").integer(e.attempt);
  if (e.state == core::JobState::succeeded) w.key("result").raw(e.result);
  if (e.state == core::JobState::failed || e.state == core::JobState::dead ||
      e.state == core::JobState::cancelled) {
    w.key("error").string_or_null(e.error);
  }
  return w.end_object().take();
}

std::string progress_json(const JobEvent& e) {
  core::JsonWriter w;
  core::write_progress(w, e.progress);
  // {"percent",…,"updated_at":…} + "id": the progress object with the job's id.
  auto text = w.take();
  text.pop_back();
  text += ",\"id\":";
  core::append_json_string(text, e.job_id);
  text += '}';
  return text;
}

std::string render(const JobEvent& e, std::uint64_t epoch) {
  auto id = engine::format_position({epoch, e.seq});
  if (e.kind == JobEventKind::progress) {
    return sse("progress", id, progress_json(e));
  }
  if (is_final(e))
    return sse(core::to_string(e.state), id + std::string(kEndSuffix), state_json(e));
  return sse("state", id, state_json(e));
}

// The final event of a job that was already finished when the stream began.
JobEvent final_of(const core::Job& job) {
  JobEvent e{.job_id = job.id, .state = job.state, .attempt = job.attempt, .result = job.result};
  if (!job.errors.empty()) e.error = job.errors.back().message;
  return e;
}

// The job token a request reads with (?token= or the bearer value).
std::string_view token_of(const Request& request) {
  if (auto it = request.query.find("token"); it != request.query.end()) return it->second;
  constexpr std::string_view kPrefix = "Bearer ";
  std::string_view header = request.authorization;
  return header.size() > kPrefix.size() ? header.substr(kPrefix.size()) : std::string_view{};
}

struct Stream {
  engine::Engine& engine;
  engine::Subscription subscription;
  std::shared_ptr<WakeRelay> relay;
  std::optional<core::Job> snapshot;
  core::JobView view;       // the snapshot as GET /v1/jobs/{id} shows it to the same caller
  StreamLimits::Slot slot;  // counts the stream against its token's and client's limits

  ~Stream() { engine.events().unsubscribe(subscription); }

  awaitable<void> run(StreamSink& sink) {
    relay->set(sink.waker());
    const auto epoch = subscription.position.epoch;
    std::optional<core::TimePoint> progress_seen;
    if (snapshot) {
      // Written from named strings: no temporaries live across a co_await
      // (GCC 12 mishandles them).
      const auto id = engine::format_position(subscription.position);
      const auto first = sse("snapshot", id, core::job_json(*snapshot, view));
      if (!co_await sink.write(first)) co_return;
      if (core::is_terminal(snapshot->state)) {
        JobEvent last = final_of(*snapshot);
        last.seq = subscription.position.seq;
        const auto final_event = render(last, epoch);
        co_await sink.write(final_event);
        co_return;
      }
      if (snapshot->progress) progress_seen = snapshot->progress->updated_at;
    }
    auto& watcher = *subscription.watcher;
    while (!sink.stopping() && !watcher.overflowed()) {
      std::string out;
      bool done = false;
      for (const auto& event : watcher.take()) {
        // A progress update the snapshot already shows (it was held back by
        // coalescing when the snapshot was read).
        if (event->kind == JobEventKind::progress && progress_seen &&
            event->progress.updated_at <= *progress_seen) {
          continue;
        }
        out += render(*event, epoch);
        if (is_final(*event)) {
          done = true;
          break;
        }
      }
      if (out.empty()) out = ": keep-alive\n\n";
      if (!co_await sink.write(out) || done) co_return;
      co_await sink.wait(kKeepAlive);
    }
  }
};

awaitable<Response> job_events(Context& c) {
  const auto& last_id = c.request.last_event_id;
  if (last_id.size() > kEndSuffix.size() && last_id.ends_with(kEndSuffix)) {
    co_return Response{.status = 204, .content_type = "text/plain"};  // it saw the final event
  }
  const bool token_holder = is_job_token(c.grant);
  auto slot = c.services.streams.acquire(token_holder ? token_of(c.request) : std::string_view{},
                                         c.request.remote_address);
  if (!slot) co_return error_response(slot.error());
  auto relay = std::make_shared<WakeRelay>();
  // Named, not temporaries in the co_await expression: GCC 12 destroys such
  // temporaries twice.
  std::function<void()> wake = [relay] { (*relay)(); };
  auto resume = engine::parse_position(last_id);
  auto start = co_await c.services.engine.watch(c.params[0], std::move(wake), resume);
  if (!start) co_return error_response(start.error());
  auto view = job_view(c.grant);
  if (c.grant == Grant::full && start->snapshot) {  // as GET /v1/jobs/{id} shows it
    view.signal_url = signal_url_of(c.services.auth, *start->snapshot);
  }
  // Built in place: a Stream unsubscribes when destroyed, so it is never copied.
  std::shared_ptr<Stream> stream(new Stream{.engine = c.services.engine,
                                            .subscription = std::move(start->subscription),
                                            .relay = std::move(relay),
                                            .snapshot = std::move(start->snapshot),
                                            .view = std::move(view),
                                            .slot = std::move(*slot)});
  Response r;
  r.content_type = "text/event-stream";
  r.headers.emplace_back("X-Accel-Buffering", "no");  // proxies: do not buffer the stream
  r.stream = [stream](StreamSink& sink) -> awaitable<void> { co_await stream->run(sink); };
  co_return r;
}

}  // namespace

std::vector<Route> event_routes() {
  return {{"GET", "/v1/jobs/:id/events", Access::read_job, job_events}};
}

}  // namespace errand::api
