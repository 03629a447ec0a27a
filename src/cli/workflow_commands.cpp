// `errand batch create|add|seal|get` and `errand signal URL [JSON]`
// (docs/API.md, "Workflows"), through the client's raw calls: the answers
// are printed as the API's JSON, or as a line a person reads.
#include "cli/job_commands.hpp"
#include "cli/usage.hpp"
#include "core/json_text.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>

namespace errand::cli {
namespace json = boost::json;
namespace {

// A JSON argument: inline text, "-" (stdin) or "@FILE".
json::value read_json(const std::string& text, std::string_view what) {
  std::string source = text;
  if (text == "-") {
    source.assign(std::istreambuf_iterator<char>(std::cin), {});
  } else if (!text.empty() && text.front() == '@') {
    std::ifstream in(text.substr(1));
    if (!in) fail(core::invalid(std::string(what), fmt::format("cannot read {}", text.substr(1))));
    source.assign(std::istreambuf_iterator<char>(in), {});
  }
  if (const auto error = json_syntax_error(source); !error.empty()) {
    fail(core::invalid(std::string(what), fmt::format("{} is {}", what, error)));
  }
  return json::parse(source);
}

void print_batch(const json::value& b, const GlobalOptions& g) {
  if (g.json) return print_json(b);
  const auto& o = b.as_object();
  std::cout << "batch " << json::value_to<std::string>(o.at("id")) << ": "
            << json::value_to<std::string>(o.at("state"));
  if (const auto* counts = o.if_contains("counts")) {
    const auto& c = counts->as_object();
    std::cout << fmt::format(
        " — {} jobs: {} succeeded, {} dead, {} cancelled, {} pending",
        c.at("total").to_number<std::int64_t>(), c.at("succeeded").to_number<std::int64_t>(),
        c.at("dead").to_number<std::int64_t>(), c.at("cancelled").to_number<std::int64_t>(),
        c.at("pending").to_number<std::int64_t>());
  } else if (const auto* jobs = o.if_contains("jobs")) {
    std::cout << fmt::format(" — {} jobs enqueued", jobs->as_array().size());
  }
  std::cout << '\n';
}

struct BatchArgs {
  std::string jobs, on_success, on_complete, on_death, id;
  bool open = false;
};

// The jobs argument: a JSON array of enqueue bodies, or {"jobs": [...]}.
json::value jobs_of(const std::string& text) {
  auto v = read_json(text, "jobs");
  if (v.is_object() && v.as_object().contains("jobs")) return v.as_object().at("jobs");
  return v;
}

void add_batch(CLI::App& app, const GlobalOptions& g) {
  auto* batch = app.add_subcommand("batch", "Batches of jobs with callbacks");
  batch->require_subcommand(1);
  auto a = std::make_shared<BatchArgs>();

  auto* create = batch->add_subcommand(
      "create", "Enqueue a batch: JOBS is a JSON array of jobs (inline, - for stdin, or @FILE)");
  create->add_option("jobs", a->jobs, "The jobs (JSON array)");
  create->add_option("--on-success", a->on_success, "Job enqueued once every job succeeded (JSON)");
  create->add_option("--on-complete", a->on_complete, "Job enqueued once every job ended (JSON)");
  create->add_option("--on-death", a->on_death, "Job enqueued when the first job ends dead (JSON)");
  create->add_flag("--open", a->open, "Keep it open: add jobs with `errand batch add`, then seal");
  create->callback([a, &g] {
    json::object body;
    if (!a->jobs.empty()) body["jobs"] = jobs_of(a->jobs);
    if (!a->on_success.empty()) body["on_success"] = read_json(a->on_success, "--on-success");
    if (!a->on_complete.empty()) body["on_complete"] = read_json(a->on_complete, "--on-complete");
    if (!a->on_death.empty()) body["on_death"] = read_json(a->on_death, "--on-death");
    if (a->open) body["open"] = true;
    print_batch(must(connect(g).call("POST", "/v1/batches", body)), g);
  });

  auto* add = batch->add_subcommand("add", "Add jobs (a JSON array) to an open batch");
  add->add_option("id", a->id, "Batch id")->required();
  add->add_option("jobs", a->jobs, "The jobs (JSON array, - for stdin, or @FILE)")->required();
  add->callback([a, &g] {
    json::object body{{"jobs", jobs_of(a->jobs)}};
    print_batch(must(connect(g).call("POST", "/v1/batches/" + a->id + "/jobs", body)), g);
  });

  auto* seal = batch->add_subcommand("seal", "No more jobs: the callbacks fire when they end");
  seal->add_option("id", a->id, "Batch id")->required();
  seal->callback(
      [a, &g] { print_batch(must(connect(g).call("POST", "/v1/batches/" + a->id + "/seal")), g); });

  auto* get = batch->add_subcommand("get", "Show a batch's counts and callbacks");
  get->add_option("id", a->id, "Batch id")->required();
  get->callback([a, &g] { print_batch(must(connect(g).call("GET", "/v1/batches/" + a->id)), g); });
}

void add_signal(CLI::App& app, const GlobalOptions& g) {
  auto url = std::make_shared<std::string>();
  auto body = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "signal", "Resume a job waiting for a signal: POST JSON to its signal URL (no key needed)");
  cmd->add_option("url", *url, "The signal URL, or its path /v1/signals/…")->required();
  cmd->add_option("json", *body, "The signal's body (JSON; default null; - for stdin)");
  cmd->callback([url, body, &g] {
    std::string target = *url;
    const auto at = target.find("/v1/signals/");
    if (at == std::string::npos) {
      fail(core::invalid("url", "a signal URL has the path /v1/signals/<token>"));
    }
    // A whole URL names its server: the one that made it.
    GlobalOptions where = g;
    if (at > 0 && (target.starts_with("http://") || target.starts_with("https://"))) {
      where.server = target.substr(0, at);
    }
    target = target.substr(at);
    const json::value payload = body->empty() ? json::value(nullptr) : read_json(*body, "json");
    auto answer = must(connect(where).call("POST", target, payload));
    if (g.json) return print_json(answer);
    std::cout << "job " << json::value_to<std::string>(answer.at("id")) << ": "
              << json::value_to<std::string>(answer.at("state")) << '\n';
  });
}

}  // namespace

void add_workflow_commands(CLI::App& app, const GlobalOptions& options) {
  add_batch(app, options);
  add_signal(app, options);
}

}  // namespace errand::cli
