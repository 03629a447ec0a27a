#include "cli/job_commands.hpp"

#include "cli/output.hpp"
#include "cli/usage.hpp"
#include "client/client.hpp"
#include "client/wire.hpp"
#include "core/duration.hpp"
#include "core/job_json.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <iostream>
#include <iterator>
#include <memory>

namespace errand::cli {
namespace json = boost::json;
using core::JobState;

[[noreturn]] void fail(const core::Error& e) {
  std::cerr << "errand: " << e.message;
  if (!e.field.empty() && e.message.find(e.field) == std::string::npos)
    std::cerr << " (field " << e.field << ")";
  std::cerr << '\n';
  if (e.code == core::errc::unauthorized)
    std::cerr << "errand: pass the server's API key with --key or ERRAND_KEY\n";
  const bool certificate = e.message.find("certificate verify failed") != std::string::npos;
  if (certificate) {
    std::cerr << "errand: the server's TLS certificate was not trusted or does not name its host; "
                 "if a private CA issued it, pass the CA's certificate with --ca FILE or "
                 "ERRAND_CA=FILE\n";
  } else if (e.code == core::errc::unavailable && e.message.starts_with("cannot reach errand at")) {
    std::cerr << "errand: start one with `errand server` (or `make serve`), or point the CLI at "
                 "yours with --server URL or ERRAND_URL=URL (every node's: URL1,URL2,...)\n";
  }
  throw CLI::RuntimeError(1);
}

void must(core::Result<void> r) {
  if (!r) fail(r.error());
}

void print_json(const json::value& v) {
  std::cout << json::serialize(v) << '\n';
}

void print_json_text(std::string_view text) {
  std::cout << text << '\n';
}

client::Client connect(const GlobalOptions& g) {
  client::ClientOptions o;
  o.url = g.server;
  o.key = g.key;
  o.ca_file = g.ca;
  return client::Client(std::move(o));
}

namespace {

core::TimePoint now() {
  return core::SystemClock{}.now();
}

// ---- argument checks (failures are usage errors, exit 2) ----

const CLI::Validator kDuration(
    [](std::string& s) {
      return core::parse_duration(s)
                 ? std::string()
                 : "expected a duration such as 10s, 5m or 1h30m, got \"" + s + "\"";
    },
    "DURATION");

const CLI::Validator kTime(
    [](std::string& s) {
      return core::parse_rfc3339(s)
                 ? std::string()
                 : "expected an RFC 3339 time such as 2026-01-31T08:00:00Z, got \"" + s + "\"";
    },
    "TIME");

const CLI::Validator kJson(
    [](std::string& s) {
      if (s == "-") return std::string();
      const auto error = json_syntax_error(s);
      return error.empty() ? std::string()
                           : "the payload is " + error + "; quote strings: '\"text\"'";
    },
    "JSON");

std::vector<std::string> state_names() {
  std::vector<std::string> names;
  for (auto s : core::kAllStates) names.emplace_back(core::to_string(s));
  return names;
}

// The payload kept verbatim: numbers a double cannot hold reach the job as written.
core::RawJson read_payload(const std::string& text) {
  if (text.empty()) return {};
  std::string source = text;
  if (text == "-") source.assign(std::istreambuf_iterator<char>(std::cin), {});
  auto v = core::RawJson::parse(source, text == "-" ? "the payload on stdin" : "the payload");
  if (!v) fail(core::invalid("payload", v.error().message));
  return std::move(*v);
}

// ---- enqueue ----

struct EnqueueArgs {
  client::EnqueueOptions job;
  std::string payload, delay, run_at, timeout;
  std::int64_t priority = 0;
  int max_attempts = 0;
  CLI::Option* priority_opt = nullptr;
  CLI::Option* max_attempts_opt = nullptr;
};

void run_enqueue(EnqueueArgs& a, const GlobalOptions& g) {
  auto& job = a.job;
  job.payload_json = read_payload(a.payload);
  if (!a.delay.empty()) job.delay = *core::parse_duration(a.delay);
  if (!a.run_at.empty()) job.run_at = *core::parse_rfc3339(a.run_at);
  if (!a.timeout.empty()) job.timeout = *core::parse_duration(a.timeout);
  if (a.priority_opt->count() > 0) job.priority = a.priority;
  if (a.max_attempts_opt->count() > 0) job.max_attempts = a.max_attempts;
  auto done = must(connect(g).enqueue(job));
  if (g.json) return print_json(client::wire::to_json(done));
  print_enqueued(std::cout, done, job.queue);
}

void add_enqueue(CLI::App& app, const GlobalOptions& g) {
  auto a = std::make_shared<EnqueueArgs>();
  auto* cmd = app.add_subcommand("enqueue", "Enqueue a job");
  cmd->add_option("queue", a->job.queue, "Queue name, [a-z0-9_.-]{1,64}")->required();
  cmd->add_option("payload", a->payload,
                  "Payload as JSON, e.g. '{\"to\":\"a@example.com\"}' (-: read stdin)")
      ->check(kJson);
  cmd->add_option("--type", a->job.type, "Job type, e.g. send_welcome_email");
  auto* delay =
      cmd->add_option("--delay", a->delay, "Run after this long, e.g. 10s, 5m")->check(kDuration);
  cmd->add_option("--run-at", a->run_at, "Run at this RFC 3339 time")
      ->check(kTime)
      ->excludes(delay);
  a->priority_opt = cmd->add_option("--priority", a->priority, "Higher runs first (default 0)");
  a->max_attempts_opt =
      cmd->add_option("--max-attempts", a->max_attempts, "Attempts before dead (default 10)");
  cmd->add_option("--timeout", a->timeout, "Lease per attempt (default 5m)")->check(kDuration);
  cmd->add_option("--idempotency-key", a->job.idempotency_key, "A repeat returns the first job");
  // Not --key: that is the API key, on every command.
  cmd->add_option("--job-key", a->job.key,
                  "Whom the job belongs to: a customer, workspace or user (per-key limits)");
  cmd->add_option("--tag", a->job.tags, "Tag (repeatable)");
  cmd->add_option("--token-scope", a->job.token_scope,
                  "A field the job's token may see besides its status: payload")
      ->check(CLI::IsMember(std::vector<std::string>{"payload"}));
  cmd->callback([a, &g] { run_enqueue(*a, g); });
}

// ---- reading jobs ----

void add_job(CLI::App& app, const GlobalOptions& g) {
  auto id = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("job", "Show one job");
  cmd->add_option("id", *id, "Job id")->required();
  cmd->callback([id, &g] {
    auto job = must(connect(g).get(*id));
    if (g.json) return print_json_text(core::job_json(job));
    print_job(std::cout, job, now());
  });
}

struct ListArgs {
  client::ListOptions list;
  std::string state;
  int limit = 0;
  CLI::Option* limit_opt = nullptr;
};

// A word as a POSIX shell reads it back: quoted unless it is plain.
std::string shell_word(std::string_view w) {
  const bool plain = !w.empty() && std::all_of(w.begin(), w.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("@%+=:,./_-", c) != nullptr;
  });
  if (plain) return std::string(w);
  std::string out = "'";
  for (char c : w) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The command that lists the next page: the same filters, and the cursor.
std::string next_page_command(const ListArgs& a, const std::string& cursor) {
  std::string cmd = "errand jobs";
  auto add = [&cmd](std::string_view flag, std::string_view value) {
    if (!value.empty()) cmd += fmt::format(" {} {}", flag, shell_word(value));
  };
  add("--queue", a.list.queue);
  add("--state", a.state);
  add("--type", a.list.type);
  add("--tag", a.list.tag);
  add("--text", a.list.text);
  if (a.limit_opt && a.limit_opt->count() > 0) add("--limit", std::to_string(a.limit));
  add("--cursor", cursor);
  return cmd;
}

void add_jobs(CLI::App& app, const GlobalOptions& g) {
  auto a = std::make_shared<ListArgs>();
  auto* cmd = app.add_subcommand("jobs", "List jobs, newest first");
  cmd->add_option("--queue", a->list.queue, "Only this queue");
  cmd->add_option("--state", a->state, "Only this state")->check(CLI::IsMember(state_names()));
  cmd->add_option("--type", a->list.type, "Only this job type");
  cmd->add_option("--tag", a->list.tag, "Only jobs carrying this tag");
  cmd->add_option("--text", a->list.text, "Only jobs whose payload (as JSON) contains this text");
  a->limit_opt = cmd->add_option("--limit", a->limit, "At most this many, 1..1000 (default 50)");
  cmd->add_option("--cursor", a->list.cursor, "Continue from an earlier page");
  cmd->callback([a, &g] {
    if (!a->state.empty()) a->list.state = core::parse_job_state(a->state);
    if (a->limit_opt->count() > 0) a->list.limit = a->limit;
    auto page = must(connect(g).list(a->list));
    if (g.json) return print_json_text(client::wire::page_json(page));
    print_job_table(std::cout, page.jobs, now());
    if (page.partial)
      std::cout
          << "the search read as many jobs as one page may (10,000); older matches may follow\n";
    if (!page.next_cursor.empty())
      std::cout << "more: " << next_page_command(*a, page.next_cursor) << '\n';
  });
}

// ---- changing jobs ----

void add_cancel(CLI::App& app, const GlobalOptions& g) {
  auto id = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("cancel", "Cancel a job (a running one is asked to stop)");
  cmd->add_option("id", *id, "Job id")->required();
  cmd->callback([id, &g] {
    auto job = must(connect(g).cancel(*id));
    if (g.json) return print_json_text(core::job_json(job));
    if (job.state == JobState::running) {
      std::cout << "cancel requested for " << job.id
                << ": it is running; its worker sees the request on its next heartbeat\n";
    } else {
      std::cout << job.id << " " << core::to_string(job.state) << '\n';
    }
  });
}

void add_retry(CLI::App& app, const GlobalOptions& g) {
  auto id = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("retry", "Queue a dead, failed or cancelled job again now");
  cmd->add_option("id", *id, "Job id")->required();
  cmd->callback([id, &g] {
    auto job = must(connect(g).retry(*id));
    if (g.json) return print_json_text(core::job_json(job));
    std::cout << job.id << " " << core::to_string(job.state) << " (" << job.attempt << " of "
              << job.max_attempts << " attempts used)\n";
  });
}

void add_delete(CLI::App& app, const GlobalOptions& g) {
  auto id = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("delete", "Delete a job");
  cmd->add_option("id", *id, "Job id")->required();
  cmd->callback([id, &g] {
    must(connect(g).remove(*id));
    if (g.json) return print_json(json::object{{"id", *id}, {"deleted", true}});
    std::cout << "deleted " << *id << '\n';
  });
}

// ---- queues ----

void add_queues(CLI::App& app, const GlobalOptions& g) {
  auto* cmd = app.add_subcommand("queues", "Show every queue with its job counts");
  cmd->callback([&g] {
    auto queues = must(connect(g).queues());
    if (g.json) {
      json::array items;
      for (const auto& q : queues) items.emplace_back(core::queue_to_json(q));
      return print_json(json::object{{"queues", std::move(items)}});
    }
    print_queue_table(std::cout, queues);
  });
}

void add_pause_resume(CLI::App& app, const GlobalOptions& g, bool pause) {
  auto name = std::make_shared<std::string>();
  auto* cmd =
      app.add_subcommand(pause ? "pause" : "resume",
                         pause ? "Stop handing a queue's jobs to workers (it still accepts jobs)"
                               : "Hand a paused queue's jobs to workers again");
  cmd->add_option("queue", *name, "Queue name")->required();
  cmd->callback([name, &g, pause] {
    auto client = connect(g);
    auto q = must(pause ? client.pause(*name) : client.resume(*name));
    if (g.json) return print_json(core::queue_to_json(q));
    std::cout << (q.paused ? "paused " : "resumed ") << q.name << " (" << q.count(JobState::queued)
              << " queued)\n";
  });
}

}  // namespace

void add_global_options(CLI::App& app, GlobalOptions& options) {
  app.add_option("--server", options.server,
                 "Errand server URL, or every node's: URL1,URL2,... (each used until it fails)")
      ->envname("ERRAND_URL")
      ->default_val(std::string(client::kDefaultUrl));
  app.add_option("--key", options.key, "API key (bearer secret)")->envname("ERRAND_KEY");
  app.add_option("--ca", options.ca,
                 "PEM file of CA certificates trusted for https:// servers besides the system's "
                 "(e.g. a private CA)")
      ->envname("ERRAND_CA");
  app.add_flag("--json", options.json, "Print the API's JSON instead of tables");
  app.fallthrough();
}

void add_job_commands(CLI::App& app, const GlobalOptions& options) {
  add_enqueue(app, options);
  add_job(app, options);
  add_jobs(app, options);
  add_queues(app, options);
  add_cancel(app, options);
  add_retry(app, options);
  add_delete(app, options);
  add_pause_resume(app, options, true);
  add_pause_resume(app, options, false);
}

}  // namespace errand::cli
