// `errand queue get Q`, `errand queue set Q [...]`, `errand queue
// push-secret Q [--rotate]`, `errand queue keys Q` and `errand queue key
// get|set|delete Q KEY`: read and replace a queue's config (PUT
// /v1/queues/{q}), read or rotate its push signing secret, list its keys and
// set one key's own limits. `set`
// replaces the whole config, as the API does: an option left out clears
// that setting (so `set` without --push-url returns a push queue to pull mode).
#include "cli/job_commands.hpp"
#include "client/wire.hpp"
#include "core/duration.hpp"

#include <fmt/format.h>

#include <charconv>
#include <iostream>
#include <memory>

namespace errand::cli {
namespace {

// "100/1m" -> 100 claims per minute. Errors name the option.
core::Result<core::RateLimit> parse_rate(std::string_view text,
                                         std::string_view option = "--rate") {
  const auto bad = core::invalid(
      std::string(option.substr(2)),
      fmt::format("{} must be LIMIT/DURATION such as 100/1m, got \"{}\"", option, text));
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return bad;
  std::int64_t limit = 0;
  const auto digits = text.substr(0, slash);
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), limit);
  if (ec != std::errc{} || end != digits.data() + digits.size()) return bad;
  auto per = core::parse_duration(text.substr(slash + 1), "rate");
  if (!per) return bad;
  return core::RateLimit{.limit = limit, .per = *per};
}

const CLI::Validator kRate(
    [](std::string& s) {
      auto r = parse_rate(s);
      return r ? std::string() : r.error().message;
    },
    "N/DURATION");

const CLI::Validator kDurationArg(
    [](std::string& s) {
      return core::parse_duration(s)
                 ? std::string()
                 : "expected a duration such as 10s, 5m or 1h30m, got \"" + s + "\"";
    },
    "DURATION");

std::string or_none(const std::optional<std::int64_t>& v) {
  return v ? std::to_string(*v) : "none";
}

void print_queue(std::ostream& out, const client::QueueInfo& q) {
  const auto& c = q.config;
  out << q.name << (q.paused ? " (paused)" : "") << ": " << q.count(core::JobState::queued)
      << " queued, " << q.count(core::JobState::running) << " running\n";
  out << "  concurrency   " << or_none(c.concurrency) << '\n';
  if (c.key_concurrency) out << "  per key       " << *c.key_concurrency << " running\n";
  if (c.key_rate_limit) {
    out << "  per key rate  " << c.key_rate_limit->limit << " per "
        << core::format_duration(c.key_rate_limit->per) << '\n';
  }
  out << "  rate limit    "
      << (c.rate_limit ? fmt::format("{} per {}", c.rate_limit->limit,
                                     core::format_duration(c.rate_limit->per))
                       : "none")
      << '\n';
  const auto& d = c.defaults;
  out << "  priority      " << (d.priority ? std::to_string(*d.priority) : "server default (0)")
      << '\n';
  out << "  max attempts  "
      << (d.max_attempts ? std::to_string(*d.max_attempts)
                         : fmt::format("server default ({})", core::kDefaultMaxAttempts))
      << '\n';
  out << "  timeout       "
      << (d.timeout
              ? core::format_duration(*d.timeout)
              : fmt::format("server default ({})", core::format_duration(core::kDefaultTimeout)))
      << '\n';
  if (d.on_done) out << "  on done       " << *d.on_done << " (completion webhook)\n";
  if (c.push) {
    out << "  push          " << c.push->url << " (timeout "
        << core::format_duration(c.push->timeout) << ", concurrency " << c.push->concurrency
        << ")\n";
    for (const auto& h : c.push->headers) out << "    header      " << h.name << ": ***\n";
  } else {
    out << "  push          none (workers claim its jobs)\n";
  }
}

void show(const GlobalOptions& g, const client::QueueInfo& q) {
  if (g.json) return print_json(core::queue_to_json(q));
  print_queue(std::cout, q);
}

void add_get(CLI::App& parent, const GlobalOptions& g) {
  auto name = std::make_shared<std::string>();
  auto* cmd = parent.add_subcommand("get", "Show one queue: counts and config");
  cmd->add_option("queue", *name, "Queue name")->required();
  cmd->callback([name, &g] { show(g, must(connect(g).get_queue(*name))); });
}

struct SetArgs {
  std::string queue, rate, timeout, key_rate;
  std::int64_t key_concurrency = 0;
  CLI::Option* key_concurrency_opt = nullptr;
  std::string push_url, push_timeout, on_done;
  std::int64_t push_concurrency = 0;
  std::vector<std::string> push_headers;  // "Name: value"
  CLI::Option* push_concurrency_opt = nullptr;
  std::int64_t concurrency = 0, priority = 0;
  int max_attempts = 0;
  bool paused = false;
  CLI::Option *concurrency_opt = nullptr, *priority_opt = nullptr, *max_attempts_opt = nullptr;
};

// The --push-* options as a push config (the server validates it again).
core::Result<core::PushConfig> push_config(const SetArgs& a) {
  core::PushConfig p{.url = a.push_url};
  if (auto ok = core::validate_push_url(p.url, "--push-url"); !ok) return ok.error();
  if (!a.push_timeout.empty()) p.timeout = *core::parse_duration(a.push_timeout);
  if (a.push_concurrency_opt->count() > 0) p.concurrency = a.push_concurrency;
  for (const auto& h : a.push_headers) {
    const auto colon = h.find(':');
    if (colon == std::string::npos) {
      return core::invalid("--push-header",
                           fmt::format("--push-header must be \"Name: value\", got \"{}\"", h));
    }
    std::string value = h.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    p.headers.push_back({h.substr(0, colon), std::move(value)});
  }
  return p;
}

void run_set(const SetArgs& a, const GlobalOptions& g) {
  core::QueueConfig c;
  if (a.concurrency_opt->count() > 0) c.concurrency = a.concurrency;
  if (!a.rate.empty()) c.rate_limit = must(parse_rate(a.rate));
  if (a.key_concurrency_opt->count() > 0) c.key_concurrency = a.key_concurrency;
  if (!a.key_rate.empty()) c.key_rate_limit = must(parse_rate(a.key_rate, "--key-rate"));
  if (a.priority_opt->count() > 0) c.defaults.priority = a.priority;
  if (a.max_attempts_opt->count() > 0) c.defaults.max_attempts = a.max_attempts;
  if (!a.timeout.empty()) c.defaults.timeout = *core::parse_duration(a.timeout);
  if (!a.on_done.empty()) {
    must(core::validate_push_url(a.on_done, "--on-done"));
    c.defaults.on_done = a.on_done;
  }
  if (!a.push_url.empty()) c.push = must(push_config(a));
  show(g, must(connect(g).configure_queue(a.queue, c, a.paused)));
}

void add_set(CLI::App& parent, const GlobalOptions& g) {
  auto a = std::make_shared<SetArgs>();
  auto* cmd = parent.add_subcommand(
      "set", "Replace a queue's config (creating it); options left out are cleared");
  cmd->add_option("queue", a->queue, "Queue name")->required();
  a->concurrency_opt = cmd->add_option("--concurrency", a->concurrency,
                                       "At most this many of its jobs running at once (1..100000)");
  cmd->add_option("--rate", a->rate, "At most N claims per DURATION, e.g. 100/1m")->check(kRate);
  a->key_concurrency_opt =
      cmd->add_option("--key-concurrency", a->key_concurrency,
                      "At most this many running jobs per job key (1..100000)");
  cmd->add_option("--key-rate", a->key_rate,
                  "At most N claims per job key per DURATION, e.g. 10/1m")
      ->check(kRate);
  a->priority_opt =
      cmd->add_option("--priority", a->priority, "Default priority of jobs that give none");
  a->max_attempts_opt = cmd->add_option("--max-attempts", a->max_attempts,
                                        "Default attempts of jobs that give none (1..1000)");
  cmd->add_option("--timeout", a->timeout, "Default timeout of jobs that give none, e.g. 5m")
      ->check(kDurationArg);
  cmd->add_option("--on-done", a->on_done,
                  "Completion webhook of jobs that give none: POST each job's JSON here when "
                  "it ends");
  cmd->add_flag("--paused", a->paused, "Leave the queue paused (else it is resumed)");
  cmd->add_option("--push-url", a->push_url,
                  "Deliver the queue's jobs by POSTing them to this URL (push mode)");
  cmd->add_option("--push-timeout", a->push_timeout, "Time limit of one push call (default 30s)")
      ->check(kDurationArg);
  a->push_concurrency_opt = cmd->add_option("--push-concurrency", a->push_concurrency,
                                            "Push calls in flight at once (1..1000, default 10)");
  cmd->add_option("--push-header", a->push_headers,
                  "Extra header of every push call, \"Name: value\" (repeatable)");
  cmd->callback([a, &g] { run_set(*a, g); });
}

struct SecretArgs {
  std::string queue, keep_previous;
  bool rotate = false;
};

void add_push_secret(CLI::App& parent, const GlobalOptions& g) {
  auto a = std::make_shared<SecretArgs>();
  auto* cmd =
      parent.add_subcommand("push-secret", "Show (or --rotate) a push queue's signing secret");
  cmd->add_option("queue", a->queue, "Queue name")->required();
  cmd->add_flag("--rotate", a->rotate, "Make a new secret; the old one stays valid for a while");
  cmd->add_option("--keep-previous", a->keep_previous,
                  "With --rotate: how long the old secret stays valid (default 24h)")
      ->check(kDurationArg);
  cmd->callback([a, &g] {
    std::optional<core::Millis> keep;
    if (!a->keep_previous.empty()) keep = *core::parse_duration(a->keep_previous);
    auto client = connect(g);
    const auto s =
        must(a->rotate ? client.rotate_push_secret(a->queue, keep) : client.push_secret(a->queue));
    if (g.json) {
      boost::json::object o{{"queue", s.queue}, {"secret", s.secret}};
      o["previous"] =
          s.previous.empty() ? boost::json::value(nullptr) : boost::json::value(s.previous);
      o["previous_expires_at"] =
          s.previous_expires_at ? boost::json::value(core::format_rfc3339(*s.previous_expires_at))
                                : boost::json::value(nullptr);
      return print_json(o);
    }
    std::cout << s.secret << '\n';
    if (!s.previous.empty() && s.previous_expires_at) {
      std::cout << "previous " << s.previous << " valid until "
                << core::format_rfc3339(*s.previous_expires_at) << '\n';
    }
  });
}

void print_key(std::ostream& out, const client::KeyInfo& k) {
  const auto& l = k.limits;
  out << k.key << (l.paused ? " (paused)" : "") << ": " << k.queued << " queued, " << k.running
      << " running";
  if (l.concurrency) out << ", concurrency " << *l.concurrency;
  if (l.rate_limit) {
    out << ", rate " << l.rate_limit->limit << " per " << core::format_duration(l.rate_limit->per);
  }
  if (l.weight) out << ", weight " << *l.weight;
  if (k.throttled_until) out << ", waiting for its rate limit";
  out << '\n';
}

void show_key(const GlobalOptions& g, const client::KeyInfo& k) {
  if (g.json) return print_json(core::key_to_json(k));
  print_key(std::cout, k);
}

struct KeysArgs {
  std::string queue, cursor;
  int limit = 100;
  bool busiest = false;
};

void add_keys(CLI::App& parent, const GlobalOptions& g) {
  auto a = std::make_shared<KeysArgs>();
  auto* cmd = parent.add_subcommand("keys", "List a queue's job keys: queued, running, limits");
  cmd->add_option("queue", a->queue, "Queue name")->required();
  cmd->add_flag("--busiest", a->busiest, "The keys with the most jobs first (one page)");
  cmd->add_option("--limit", a->limit, "Keys per page (1..1000, default 100)");
  cmd->add_option("--cursor", a->cursor, "The next_cursor of the previous page");
  cmd->callback([a, &g] {
    const auto page = must(connect(g).keys(a->queue, a->cursor, a->limit, a->busiest));
    if (g.json) return print_json(core::key_page_to_json(page));
    if (page.keys.empty()) std::cout << "no keys with jobs or settings in " << a->queue << '\n';
    for (const auto& k : page.keys) print_key(std::cout, k);
    if (!page.next_cursor.empty()) std::cout << "more: --cursor " << page.next_cursor << '\n';
  });
}

struct KeyArgs {
  std::string queue, key, rate;
  std::int64_t concurrency = 0, weight = 0;
  bool paused = false;
  CLI::Option *concurrency_opt = nullptr, *weight_opt = nullptr;
};

void add_key(CLI::App& parent, const GlobalOptions& g) {
  auto* key = parent.add_subcommand("key", "Read, set or remove one job key's own limits");
  key->require_subcommand(1);
  auto a = std::make_shared<KeyArgs>();
  auto* get = key->add_subcommand("get", "Show one key: its jobs and limits");
  get->add_option("queue", a->queue, "Queue name")->required();
  get->add_option("key", a->key, "The job key")->required();
  get->callback([a, &g] { show_key(g, must(connect(g).get_key(a->queue, a->key))); });

  auto* set = key->add_subcommand(
      "set", "Replace one key's own limits (they replace the queue's per-key ones)");
  set->add_option("queue", a->queue, "Queue name")->required();
  set->add_option("key", a->key, "The job key")->required();
  a->concurrency_opt =
      set->add_option("--concurrency", a->concurrency, "At most this many running (1..100000)");
  set->add_option("--rate", a->rate, "At most N claims per DURATION, e.g. 10/1m")->check(kRate);
  a->weight_opt = set->add_option("--weight", a->weight, "Turns per round (1..1000, default 1)");
  set->add_flag("--paused", a->paused, "Hold the key's jobs (else they run)");
  set->callback([a, &g] {
    core::KeyLimits l{.paused = a->paused};
    if (a->concurrency_opt->count() > 0) l.concurrency = a->concurrency;
    if (!a->rate.empty()) l.rate_limit = must(parse_rate(a->rate));
    if (a->weight_opt->count() > 0) l.weight = a->weight;
    show_key(g, must(connect(g).put_key(a->queue, a->key, l)));
  });

  auto* del = key->add_subcommand("delete", "Remove one key's own limits (the queue's apply)");
  del->add_option("queue", a->queue, "Queue name")->required();
  del->add_option("key", a->key, "The job key")->required();
  del->callback([a, &g] { show_key(g, must(connect(g).delete_key(a->queue, a->key))); });
}

}  // namespace

void add_queue_commands(CLI::App& app, const GlobalOptions& options) {
  auto* queue = app.add_subcommand("queue", "Read or set one queue's config");
  queue->require_subcommand(1);
  add_get(*queue, options);
  add_set(*queue, options);
  add_push_secret(*queue, options);
  add_keys(*queue, options);
  add_key(*queue, options);
}

}  // namespace errand::cli
