#include "store/postgres/listener.hpp"

#include "core/id.hpp"
#include "store/postgres/events.hpp"
#include "store/postgres/schema.hpp"

#include "core/time.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>

namespace errand::store::postgres {
namespace {

constexpr int kFirstBackoffMs = 100;
constexpr int kMaxBackoffMs = 5000;

const Statement kQueueNames{"queue_names", "SELECT name FROM queues ORDER BY name"};
const Statement kDatabaseClock{"database_clock",
                               "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint"};
constexpr int kClockReadings = 3;

}  // namespace

ChangeListener::ChangeListener(std::string conninfo, std::string schema, Notifier& notifier,
                               std::function<int()> own_pid, std::function<void()> on_restored,
                               const core::Clock* clock)
    : conninfo_(std::move(conninfo)),
      schema_(std::move(schema)),
      channel_(notify_channel(schema_)),
      notifier_(notifier),
      own_pid_(std::move(own_pid)),
      on_restored_(std::move(on_restored)),
      clock_(clock ? *clock : system_clock_),
      stop_fd_(::eventfd(0, EFD_CLOEXEC)) {}

ChangeListener::~ChangeListener() {
  stop();
  if (stop_fd_ >= 0) ::close(stop_fd_);
}

core::Result<std::unique_ptr<Conn>> ChangeListener::connect() {
  auto conn = Conn::open(conninfo_, schema_);
  if (!conn) return conn.error();
  // The channel is the schema's name (a valid identifier) plus "_jobs".
  if (auto listening = (*conn)->exec(fmt::format("LISTEN {}", channel_)); !listening) {
    return listening.error();
  }
  return conn;
}

core::Result<void> ChangeListener::start() {
  auto conn = connect();
  if (!conn) return conn.error();
  conn_ = std::move(*conn);
  connected_ = true;
  measure_clock();
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "errand-pglisten");
    loop();
  });
  return {};
}

void ChangeListener::stop() {
  if (!thread_.joinable()) return;
  const std::uint64_t one = 1;
  (void)!::write(stop_fd_, &one, sizeof one);
  thread_.join();
  conn_.reset();
  connected_ = false;
}

bool ChangeListener::sleep_for(int ms) {
  pollfd fd{.fd = stop_fd_, .events = POLLIN, .revents = 0};
  return ::poll(&fd, 1, ms) == 0;
}

ChangeListener::Wake ChangeListener::wait_for_input() {
  pollfd fds[2] = {{.fd = stop_fd_, .events = POLLIN, .revents = 0},
                   {.fd = PQsocket(conn_->handle()), .events = POLLIN, .revents = 0}};
  for (;;) {
    const auto wait = std::clamp(clock_due_ - clock_.now(), core::Millis{0}, kClockInterval);
    const int n = ::poll(fds, 2, static_cast<int>(wait.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return Wake::timeout;
    return (fds[0].revents & POLLIN) != 0 ? Wake::stop : Wake::input;
  }
}

void ChangeListener::measure_clock() {
  clock_due_ = clock_.now() + kClockInterval;
  std::optional<core::Millis> best_trip, best_offset;
  for (int i = 0; i < kClockReadings; ++i) {
    const auto before = clock_.now();
    auto r = conn_->run(kDatabaseClock);
    const auto after = clock_.now();
    if (!r || r->empty() || r->is_null(0, 0)) return;  // a lost connection shows in the loop
    const auto trip = after - before;
    if (best_trip && trip >= *best_trip) continue;
    best_trip = trip;
    best_offset = core::from_unix_ms(r->integer(0, 0)) - (before + trip / 2);
  }
  clock_offset_ms_.store(best_offset->count());
  clock_measured_ = true;
  // Logged when first known and when it moves by a second or more.
  if (logged_offset_ && std::chrono::abs(*best_offset - *logged_offset_) < core::Millis{1'000}) {
    return;
  }
  logged_offset_ = best_offset;
  const bool far = std::chrono::abs(*best_offset) >= core::Millis{1'000};
  spdlog::log(far ? spdlog::level::warn : spdlog::level::info,
              "the database's clock is {} ms ahead of this server's: leases, run_at, schedules "
              "and tokens go by the database's",
              best_offset->count());
}

std::optional<core::Millis> ChangeListener::clock_offset() const {
  if (!clock_measured_.load()) return std::nullopt;
  return core::Millis{clock_offset_ms_.load()};
}

void ChangeListener::set_job_event_feed(JobEventFeed feed) {
  core::MutexLock lock(feed_mutex_);
  feed_ = std::move(feed);
}

void ChangeListener::collect_events(std::string_view payload, std::vector<AnnouncedEvent>& out) {
  core::MutexLock lock(feed_mutex_);
  if (!feed_.wanted) return;
  for (const auto& e : parse_event_payload(payload)) {
    if (feed_.wanted(core::format_job_id(e.rowid))) out.push_back(e);
  }
}

void ChangeListener::deliver_events(const std::vector<AnnouncedEvent>& events) {
  auto notices = event_notices(*conn_, events);
  if (!notices) {
    spdlog::warn("reading watched jobs' changes: {}", notices.error().message);
    return;  // a lost connection shows in the loop, whose reconnect re-reads
  }
  core::MutexLock lock(feed_mutex_);
  if (feed_.deliver && !notices->empty()) feed_.deliver(std::move(*notices));
}

// Queries on this connection (the watched jobs' rows, the clock) leave the
// notifications that arrive meanwhile in libpq's queue, not on the socket:
// so the queue is drained again after each, and after every wake-up.
void ChangeListener::deliver_notifications() {
  while (deliver_queued()) {
  }
}

bool ChangeListener::deliver_queued() {
  ChangeNotice notice;
  std::vector<AnnouncedEvent> events;
  const int own = own_pid_ ? own_pid_() : 0;
  while (PGnotify* n = PQnotifies(conn_->handle())) {
    const std::string queue = n->extra ? n->extra : "";
    const bool mine = own != 0 && n->be_pid == own;
    PQfreemem(n);
    // Job events: every server's, this one's too (they are numbered only
    // here, in the order the database committed them).
    if (!queue.empty() && queue.front() == kEventPayloadMark) {
      collect_events(std::string_view(queue).substr(1), events);
      continue;
    }
    if (mine || queue.empty()) continue;
    // "@MS": a job enqueued from SQL becomes due at MS (unix milliseconds);
    // queue names never hold '@'.
    if (queue.front() == '@') {
      std::int64_t ms = 0;
      const auto* end = queue.data() + queue.size();
      if (auto [p, ec] = std::from_chars(queue.data() + 1, end, ms);
          ec == std::errc{} && p == end) {
        const auto due = core::from_unix_ms(ms);
        if (!notice.deadline || due < *notice.deadline) notice.deadline = due;
      }
      continue;
    }
    auto& queues = notice.runnable_queues;
    if (std::find(queues.begin(), queues.end(), queue) == queues.end()) queues.push_back(queue);
  }
  if (!notice.runnable_queues.empty() || notice.deadline) notifier_.deliver(notice);
  if (events.empty()) return false;
  deliver_events(events);
  return true;
}

void ChangeListener::announce_every_queue() {
  auto r = conn_->run(kQueueNames);
  if (!r) return;
  ChangeNotice notice;
  for (int i = 0; i < r->size(); ++i) notice.runnable_queues.emplace_back(r->text(i, 0));
  if (!notice.runnable_queues.empty()) notifier_.deliver(notice);
}

void ChangeListener::loop() {
  int backoff = kFirstBackoffMs;
  for (;;) {
    if (!conn_) {
      if (!sleep_for(backoff)) return;
      auto conn = connect();
      if (!conn) {
        backoff = std::min(backoff * 2, kMaxBackoffMs);
        spdlog::warn("LISTEN connection: {}; trying again in {} ms", conn.error().message, backoff);
        continue;
      }
      conn_ = std::move(*conn);
      connected_ = true;
      backoff = kFirstBackoffMs;
      spdlog::info("LISTEN connection to PostgreSQL at {} restored", conn_->where());
      if (on_restored_) on_restored_();
      announce_every_queue();
      {
        core::MutexLock lock(feed_mutex_);
        if (feed_.resync) feed_.resync();
      }
      measure_clock();
      deliver_notifications();
    }
    const auto wake = wait_for_input();
    if (wake == Wake::stop) return;
    if (wake == Wake::timeout) {
      measure_clock();
      deliver_notifications();
      continue;
    }
    if (PQconsumeInput(conn_->handle()) == 0 || PQstatus(conn_->handle()) != CONNECTION_OK) {
      std::string why = PQerrorMessage(conn_->handle());
      std::replace(why.begin(), why.end(), '\n', ' ');
      spdlog::error("the LISTEN connection to PostgreSQL at {} was lost: {}", conn_->where(), why);
      conn_.reset();
      connected_ = false;
      continue;
    }
    deliver_notifications();
  }
}

}  // namespace errand::store::postgres
