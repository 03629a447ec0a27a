#include "cli/schedule_commands.hpp"

#include "cli/output.hpp"
#include "cli/usage.hpp"
#include "client/wire.hpp"
#include "core/cron.hpp"
#include "core/duration.hpp"

#include <fmt/format.h>
#include <boost/json/parse.hpp>

#include <iostream>
#include <memory>

namespace errand::cli {
namespace json = boost::json;
namespace {

const CLI::Validator kJsonArg(
    [](std::string& s) {
      const auto error = json_syntax_error(s);
      return error.empty() ? std::string()
                           : "the payload is " + error + "; quote strings: '\"text\"'";
    },
    "JSON");

const CLI::Validator kDurationArg(
    [](std::string& s) {
      return core::parse_duration(s) ? std::string()
                                     : "expected a duration such as 30m or 2h, got \"" + s + "\"";
    },
    "DURATION");

std::string fire_line(const client::ScheduleFire& f, core::TimePoint now) {
  return fmt::format("{}  ({}, {})", f.local, core::format_rfc3339(f.at), relative_time(f.at, now));
}

void print_schedule(std::ostream& out, const client::ScheduleInfo& info, core::TimePoint now) {
  const auto& s = info.schedule;
  const auto& spec = s.spec;
  Fields f;
  f.add("name", spec.name);
  f.add("cron", spec.cron);
  f.add("timezone", spec.timezone);
  f.add("queue", spec.queue);
  if (!spec.type.empty()) f.add("type", spec.type);
  if (!spec.payload.is_null()) f.add("payload", json_preview(spec.payload));
  if (spec.priority) f.add("priority", std::to_string(*spec.priority));
  if (spec.max_attempts) f.add("max attempts", std::to_string(*spec.max_attempts));
  f.add("overlap", std::string(core::to_string(spec.overlap)));
  f.add("catch up", core::format_duration(spec.catch_up));
  f.add("status", spec.paused ? "paused" : "active");
  f.add("source", std::string(core::to_string(spec.source)));
  f.add("last fired", absolute_and_relative(s.last_fired_at, now));
  if (!s.last_job_id.empty()) {
    f.add("last job", fmt::format("{} ({})", s.last_job_id,
                                  s.last_job_state ? core::to_string(*s.last_job_state) : "gone"));
  }
  f.print(out);
  if (!info.next.empty()) out << "next:\n";
  for (const auto& fire : info.next) out << "  " << fire_line(fire, now) << '\n';
}

void print_schedule_table(std::ostream& out, const std::vector<client::ScheduleInfo>& all,
                          core::TimePoint now) {
  if (all.empty()) {
    out << "no schedules yet (errand schedule set NAME CRON QUEUE)\n";
    return;
  }
  Table t({{"NAME"}, {"CRON"}, {"TIMEZONE"}, {"QUEUE"}, {"STATUS"}, {"NEXT"}, {"LAST JOB"}});
  for (const auto& info : all) {
    const auto& s = info.schedule;
    const auto& spec = s.spec;
    const std::string next = info.next.empty()
                                 ? "-"
                                 : fmt::format("{} ({})", info.next.front().local,
                                               relative_time(info.next.front().at, now));
    std::string last = "-";
    if (!s.last_job_id.empty()) {
      last = fmt::format("{} {}", s.last_job_id,
                         s.last_job_state ? core::to_string(*s.last_job_state) : "gone");
    }
    t.add({spec.name, spec.cron, spec.timezone, spec.queue, spec.paused ? "paused" : "active", next,
           last});
  }
  t.print(out);
}

void show(const GlobalOptions& g, const client::ScheduleInfo& s) {
  if (g.json) return print_json_text(core::schedule_json(s));
  print_schedule(std::cout, s, core::SystemClock().now());
}

// A subcommand that takes one schedule NAME.
template <class Run>
void add_named(CLI::App& parent, const char* name, const char* help, Run run) {
  auto arg = std::make_shared<std::string>();
  auto* cmd = parent.add_subcommand(name, help);
  cmd->add_option("name", *arg, "Schedule name")->required();
  cmd->callback([arg, run] { run(*arg); });
}

struct SetArgs {
  std::string name, payload, tz, type, overlap, catch_up;
  client::ScheduleOptions o;
  std::int64_t priority = 0;
  int max_attempts = 0;
  CLI::Option *priority_opt = nullptr, *max_attempts_opt = nullptr;
};

void add_set(CLI::App& parent, const GlobalOptions& g) {
  auto a = std::make_shared<SetArgs>();
  auto* cmd = parent.add_subcommand(
      "set", "Create or replace a schedule (options left out take their defaults)");
  cmd->add_option("name", a->name, "Schedule name")->required();
  cmd->add_option("cron", a->o.cron, "Cron expression, e.g. \"0 8 * * mon-fri\" or @daily")
      ->required();
  cmd->add_option("queue", a->o.queue, "Queue its jobs go to")->required();
  cmd->add_option("payload", a->payload, "The jobs' payload as JSON")->check(kJsonArg);
  cmd->add_option("--tz", a->o.timezone, "IANA time zone, e.g. Europe/Berlin (default UTC)");
  cmd->add_option("--type", a->o.type, "The jobs' type");
  a->priority_opt = cmd->add_option("--priority", a->priority, "The jobs' priority");
  a->max_attempts_opt = cmd->add_option("--max-attempts", a->max_attempts, "The jobs' attempts");
  cmd->add_option("--overlap", a->o.overlap,
                  "allow (default), or skip a fire time while the previous job is unfinished")
      ->check(CLI::IsMember({"allow", "skip"}));
  cmd->add_option("--catch-up", a->catch_up,
                  "Fire a time missed while the server was down if at most this old (default 1h)")
      ->check(kDurationArg);
  cmd->add_flag("--paused", a->o.paused, "Create it paused");
  cmd->callback([a, &g] {
    auto o = a->o;
    if (!a->payload.empty()) o.payload = json::parse(a->payload);
    if (a->priority_opt->count() > 0) o.priority = a->priority;
    if (a->max_attempts_opt->count() > 0) o.max_attempts = a->max_attempts;
    if (!a->catch_up.empty()) o.catch_up = *core::parse_duration(a->catch_up);
    show(g, must(connect(g).put_schedule(a->name, o)));
  });
}

struct NextArgs {
  std::string cron, tz;
  std::size_t count = 10;
};

// Local: parses the expression and prints its next fire times.
void run_next(const NextArgs& a, const GlobalOptions& g) {
  auto cron = core::parse_cron(a.cron);
  if (!cron) fail(cron.error());
  auto zone = core::find_time_zone(a.tz);
  if (!zone) fail(zone.error());
  const auto now = core::SystemClock().now();
  const auto times = core::cron_next_n(*cron, *zone, now, a.count);
  if (g.json) {
    json::array out;
    for (auto t : times) {
      out.emplace_back(
          json::object{{"at", core::format_rfc3339(t)}, {"local", core::format_in_zone(t, *zone)}});
    }
    return print_json(
        json::object{{"cron", cron->text}, {"timezone", zone->name()}, {"next", std::move(out)}});
  }
  if (times.empty()) std::cout << "\"" << cron->text << "\" never fires\n";
  for (auto t : times) {
    std::cout << fire_line({.at = t, .local = core::format_in_zone(t, *zone)}, now) << '\n';
  }
}

void add_next(CLI::App& parent, const GlobalOptions& g) {
  auto a = std::make_shared<NextArgs>();
  auto* cmd = parent.add_subcommand(
      "next", "Print the next fire times of a cron expression (local, no server needed)");
  cmd->add_option("cron", a->cron, "Cron expression, e.g. \"*/15 9-17 * * mon-fri\"")->required();
  cmd->add_option("--tz", a->tz, "IANA time zone (default UTC)");
  cmd->add_option("-n,--count", a->count, "How many (default 10)")->check(CLI::Range(1, 1000));
  cmd->callback([a, &g] { run_next(*a, g); });
}

}  // namespace

void add_schedule_commands(CLI::App& app, const GlobalOptions& g) {
  app.add_subcommand("schedules", "List cron schedules with their next fire time")->callback([&g] {
    auto all = must(connect(g).schedules());
    if (!g.json) return print_schedule_table(std::cout, all, core::SystemClock().now());
    print_json_text(core::schedule_list_json(all));
  });

  auto* schedule = app.add_subcommand("schedule", "Create, show, change or check a cron schedule");
  schedule->require_subcommand(1);
  add_set(*schedule, g);
  add_named(*schedule, "get", "Show one schedule and its next fire times",
            [&g](const std::string& n) { show(g, must(connect(g).get_schedule(n))); });
  add_named(*schedule, "rm", "Delete a schedule (its jobs stay)", [&g](const std::string& n) {
    must(connect(g).delete_schedule(n));
    if (g.json) return print_json(json::object{{"name", n}, {"deleted", true}});
    std::cout << "deleted schedule " << n << '\n';
  });
  add_named(*schedule, "pause", "Stop firing until resumed",
            [&g](const std::string& n) { show(g, must(connect(g).pause_schedule(n))); });
  add_named(*schedule, "resume", "Fire again from the next time on",
            [&g](const std::string& n) { show(g, must(connect(g).resume_schedule(n))); });
  add_named(*schedule, "trigger", "Enqueue the schedule's job now", [&g](const std::string& n) {
    auto e = must(connect(g).trigger_schedule(n));
    if (g.json) return print_json(client::wire::to_json(e));
    std::cout << "triggered " << n << ": job " << e.id << " " << core::to_string(e.state) << '\n';
  });
  add_next(*schedule, g);
}

}  // namespace errand::cli
