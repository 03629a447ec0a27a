// The `errand` subcommands that talk to a running server through the client
// library: enqueue, job, jobs, queues, cancel, retry, delete, pause, resume
// (job_commands.cpp) and `queue get|set` (queue_commands.cpp).
//
// Each prints a human rendering (cli/output) or, with `--json`, the API's
// JSON, to stdout. A failed call prints "errand: <message>" to stderr and
// ends parsing with CLI::RuntimeError(1); bad arguments are CLI11 usage
// errors. Commands run inside CLI11's callbacks, on the main thread.
#pragma once

#include "client/client.hpp"

#include <CLI/CLI.hpp>
#include <boost/json/value.hpp>

#include <string>

namespace errand::cli {

// Options every client subcommand shares. They live on the app (with
// fallthrough), so they may come before or after the subcommand.
struct GlobalOptions {
  // --server, else $ERRAND_URL, else http://127.0.0.1:8740: one URL, or
  // several separated by commas (the client parses and checks them).
  std::string server;
  std::string key;    // --key, else $ERRAND_KEY
  std::string ca;     // --ca, else $ERRAND_CA: CA certificates (PEM) for https:// servers
  bool json = false;  // --json: print the API's JSON instead of tables
};

void add_global_options(CLI::App& app, GlobalOptions& options);

// `options` must outlive parsing (the commands read it when they run).
void add_job_commands(CLI::App& app, const GlobalOptions& options);
void add_queue_commands(CLI::App& app, const GlobalOptions& options);
// `errand batch …` and `errand signal` (workflow_commands.cpp).
void add_workflow_commands(CLI::App& app, const GlobalOptions& options);

// Shared by the command files.
// Prints "errand: <message>" (and a hint) to stderr; throws CLI::RuntimeError(1).
[[noreturn]] void fail(const core::Error& e);
template <class T>
T must(core::Result<T> r) {
  if (!r) fail(r.error());
  return std::move(*r);
}
void must(core::Result<void> r);
client::Client connect(const GlobalOptions& g);
void print_json(const boost::json::value& v);
void print_json_text(std::string_view text);  // JSON text, printed as it is

}  // namespace errand::cli
