#include "cli/work_command.hpp"

#include "cli/job_runner.hpp"
#include "cli/work_summary.hpp"
#include "client/client.hpp"
#include "client/worker.hpp"
#include "client/worker_policy.hpp"
#include "core/duration.hpp"
#include "core/job.hpp"
#include "core/mutex.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include <boost/json/serialize.hpp>

#include <cstring>
#include <iostream>
#include <memory>
#include <thread>

namespace errand::cli {
namespace json = boost::json;

namespace {

struct WorkArgs {
  std::vector<std::string> queues;
  std::vector<std::string> command;
  int concurrency = 1;
  std::string timeout, grace = "30s", kill_grace = "10s", lease, name;
};

const CLI::Validator kDuration(
    [](std::string& s) {
      return core::parse_duration(s) ? std::string()
                                     : "expected a duration such as 10s or 5m, got \"" + s + "\"";
    },
    "DURATION");

// A word that is no queue name is most often the command, typed without --.
const CLI::Validator kQueueName(
    [](std::string& s) {
      auto ok = core::validate_queue_name(s);
      return ok ? std::string()
                : fmt::format(
                      "{}; if \"{}\" is the command to run, put it after --: errand work "
                      "QUEUE -- {}",
                      ok.error().message, s, s);
    },
    "QUEUE");

std::optional<core::Millis> duration_or_none(const std::string& text) {
  if (text.empty()) return std::nullopt;
  return *core::parse_duration(text);
}

// Job summaries to stdout, log lines to stderr; one whole line at a time.
class WorkOutput {
 public:
  explicit WorkOutput(bool json) : json_(json) {}

  void outcome(const client::JobOutcome& o) EXCLUDES(mu_) {
    core::MutexLock lock(mu_);
    if (json_) {
      std::cout << json::serialize(summary_json(o)) << std::endl;
    } else {
      std::cout << summary_line(o) << std::endl;
    }
  }

  void log(client::LogLevel level, std::string_view line) EXCLUDES(mu_) {
    core::MutexLock lock(mu_);
    if (!json_) {
      std::cerr << "errand work: " << line << std::endl;
      return;
    }
    static constexpr const char* kLevels[] = {"info", "warn", "error"};
    std::cerr << json::serialize(
                     json::object{{"level", kLevels[static_cast<int>(level)]}, {"message", line}})
              << std::endl;
  }

 private:
  bool json_;
  // Guards no member: it keeps each line on std::cout and std::cerr whole.
  core::Mutex mu_;
};

// SIGINT and SIGTERM, blocked in every thread, are taken by one thread with
// sigwait and turned into worker.stop(): no work in a signal handler.
class SignalThread {
 public:
  template <class OnSignal>
  explicit SignalThread(OnSignal on_signal) {
    thread_ = std::thread([this, on_signal] {
      for (;;) {
        int sig = 0;
        if (sigwait(&set_, &sig) != 0 || sig == SIGUSR2) return;
        on_signal(sig);
      }
    });
  }
  ~SignalThread() {
    pthread_kill(thread_.native_handle(), SIGUSR2);
    thread_.join();
  }
  static void block() { pthread_sigmask(SIG_BLOCK, &signals(), nullptr); }

 private:
  static const sigset_t& signals() {
    static const sigset_t set = [] {
      sigset_t s;
      sigemptyset(&s);
      for (int sig : {SIGINT, SIGTERM, SIGUSR2}) sigaddset(&s, sig);
      return s;
    }();
    return set;
  }
  const sigset_t& set_ = signals();
  std::thread thread_;
};

// Commands get fds 0-2 from pipes; if ours were closed, a pipe could land
// there and be closed by mistake at spawn. Keep them taken.
void ensure_standard_fds() {
  for (int fd = 0; fd < 3; ++fd)
    if (fcntl(fd, F_GETFD) < 0) open("/dev/null", O_RDWR);
}

client::WorkerOptions worker_options(const WorkArgs& a, WorkOutput& out) {
  client::WorkerOptions o;
  o.name = a.name;
  o.concurrency = a.concurrency;
  o.lease = duration_or_none(a.lease);
  o.grace = *core::parse_duration(a.grace);
  o.log = [&out](client::LogLevel level, std::string_view line) { out.log(level, line); };
  o.on_outcome = [&out](const client::JobOutcome& outcome) { out.outcome(outcome); };
  return o;
}

client::ClientOptions client_options(const GlobalOptions& g, WorkOutput& out) {
  return {.url = g.server,
          .key = g.key,
          .ca_file = g.ca,
          .on_failover = [&out](const client::Failover& f) {
            out.log(client::LogLevel::warn,
                    fmt::format("moving on from {} to {}: {}", f.from, f.to, f.why.message));
          }};
}

// What each queue is, in one line at start: a worker of a queue that does
// not exist (a typo) or of a push queue would otherwise wait in silence.
void log_queue_modes(client::Client& client, const std::vector<std::string>& queues,
                     WorkOutput& out) {
  std::vector<std::string> parts;
  bool trouble = false;
  for (const auto& name : queues) {
    auto q = client.get_queue(name);
    if (!q && q.error().code == core::errc::not_found) {
      trouble = true;
      parts.push_back(
          fmt::format("{}: does not exist yet: no job was ever enqueued to it; "
                      "waiting for its first job (check the name if you expected jobs)",
                      name));
    } else if (!q && q.error().code != core::errc::unavailable) {
      return;  // e.g. a worker key, which may not read queues: nothing to say
    } else if (!q) {
      out.log(client::LogLevel::warn,
              fmt::format("{}; start one with `errand server`, or point this worker at yours with "
                          "--server URL or ERRAND_URL=URL (every node's: URL1,URL2,...) "
                          "(retrying)",
                          q.error().message));
      return;
    } else if (q->config.push) {
      trouble = true;
      parts.push_back(fmt::format(
          "{}: a push queue (the server delivers its jobs to {}): this worker gets none of them",
          name, q->config.push->url));
    } else {
      parts.push_back(fmt::format("{}: pull queue{}, {} queued", name, q->paused ? " (paused)" : "",
                                  q->count(core::JobState::queued)));
    }
  }
  out.log(trouble ? client::LogLevel::warn : client::LogLevel::info,
          fmt::format("{}", fmt::join(parts, "; ")));
}

void run_work(const WorkArgs& a, const GlobalOptions& g) {
  if (a.command.empty()) {
    if (a.queues.size() > 1) {
      throw CLI::ValidationError(
          "COMMAND",
          fmt::format("give the command to run after --, e.g. errand work {} -- {} "
                      "(without --, every word is a queue name)",
                      a.queues.front(), fmt::join(a.queues.begin() + 1, a.queues.end(), " ")));
    }
    throw CLI::ValidationError("COMMAND",
                               "give the command to run after --, e.g. "
                               "errand work emails -- ./send-email.sh");
  }
  ensure_standard_fds();
  signal(SIGPIPE, SIG_IGN);
  SignalThread::block();
  WorkOutput out(g.json);
  client::Client client(client_options(g, out));
  client::Worker worker(client, worker_options(a, out));
  JobRunnerOptions runner{
      .command = a.command,
      .server_urls = [&client] { return fmt::format("{}", fmt::join(client.urls(), ",")); },
      .ca_file = g.ca,
      .timeout = duration_or_none(a.timeout),
      .lease_from_claim = !a.lease.empty(),
      .kill_grace = *core::parse_duration(a.kill_grace)};
  for (const auto& q : a.queues)
    worker.handle(q, [runner](client::RunningJob& job) { return run_job_command(job, runner); });
  SignalThread signals([&](int sig) {
    out.log(client::LogLevel::info, fmt::format("got {}", sig == SIGINT ? "SIGINT" : "SIGTERM"));
    worker.stop();
  });
  out.log(
      client::LogLevel::info,
      fmt::format("claiming from {} at {}, {} at a time; each job runs: {}",
                  fmt::join(a.queues, ", "), g.server, a.concurrency, fmt::join(a.command, " ")));
  log_queue_modes(client, a.queues, out);
  worker.run();
  out.log(client::LogLevel::info, "stopped");
}

}  // namespace

std::vector<std::string> take_work_command(int& argc, char** argv) {
  int work_at = -1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "work" && work_at < 0) work_at = i;
    if (arg != "--") continue;
    if (work_at < 0) return {};
    std::vector<std::string> command(argv + i + 1, argv + argc);
    argc = i;
    return command;
  }
  return {};
}

void add_work_command(CLI::App& app, const GlobalOptions& g, std::vector<std::string> command) {
  auto a = std::make_shared<WorkArgs>();
  a->command = std::move(command);
  auto* cmd = app.add_subcommand(
      "work", "Run COMMAND for each job claimed from the queues: errand work QUEUE... -- COMMAND");
  cmd->add_option("queue", a->queues, "Queues to claim from, in order")
      ->required()
      ->check(kQueueName);
  cmd->add_option("-c,--concurrency", a->concurrency, "Commands at a time (default 1)")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--timeout", a->timeout,
                  "Stop a command that runs longer (default: the job's timeout, unless --lease)")
      ->check(kDuration);
  cmd->add_option("--grace", a->grace,
                  "On SIGTERM/SIGINT, time for running commands to finish (default 30s)")
      ->check(kDuration);
  cmd->add_option("--kill-grace", a->kill_grace,
                  "Time between SIGTERM and SIGKILL for a stopped command (default 10s)")
      ->check(kDuration);
  cmd->add_option("--lease", a->lease, "Lease to claim with, renewed by heartbeats (1s..1d)")
      ->check(kDuration);
  cmd->add_option("--name", a->name, "Worker name shown on its jobs (default host:pid)");
  cmd->footer(
      "COMMAND gets the job's payload as JSON on stdin and ERRAND_JOB_ID, ERRAND_QUEUE,\n"
      "ERRAND_JOB_TYPE, ERRAND_ATTEMPT, ERRAND_URL, ERRAND_LEASE_ID in its environment\n"
      "(ERRAND_URL: the server URLs, comma-separated, the one in use first).\n"
      "It may print '::progress PERCENT MESSAGE', '::result JSON' and '::no-retry' lines.\n"
      "Exit 0 completes the job; exit 75 or any other code fails the attempt (retried).\n"
      "Given several servers (--server URL1,URL2,... or ERRAND_URL likewise), claims,\n"
      "heartbeats, progress and outcomes go to the next when the one in use fails.");
  cmd->callback([a, &g] { run_work(*a, g); });
}

}  // namespace errand::cli
