// errand-peer-worker: the C++ workers of Errand in the shared peer harness
// (../shared/bench-peers, adapter bench/peers/peer_errand.py). Worker
// runtimes of the C++ client claim jobs of one queue; each handler, first
// thing, appends the harness's 16-byte record — the payload's enqueue time
// and its own start time, two little-endian float64 epoch seconds — with one
// write(2) to the records file opened O_APPEND, as every peer's handler does.
// Runs until SIGTERM or SIGINT, then stops as the runtime does: no new
// claims, running handlers finish, their outcomes are reported.
#include "worker_group.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <bit>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <stdexcept>

#include <fcntl.h>
#include <unistd.h>

static_assert(std::endian::native == std::endian::little, "records are little-endian float64");

namespace {

double epoch_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

int run(errand::bench::WorkerGroupOptions options, const std::string& records) {
  const int fd = ::open(records.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(records + ": " + std::strerror(errno));
  options.on_start = [fd](const errand::client::RunningJob& job) {
    double record[2] = {0, epoch_seconds()};
    record[0] = job.payload().as_object().at("ts").to_number<double>();
    if (::write(fd, record, sizeof record) != static_cast<ssize_t>(sizeof record))
      throw std::runtime_error(std::string("write records: ") + std::strerror(errno));
  };
  // Signals are taken by sigwait below, never by a handler on some thread.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  errand::bench::WorkerGroup group(std::move(options));
  group.start();
  int sig = 0;
  sigwait(&stop_signals, &sig);
  group.stop();
  ::close(fd);
  fmt::print(stderr, "errand-peer-worker: stopped; {} jobs completed, {} refused\n",
             group.completed(), group.refused());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  errand::bench::WorkerGroupOptions options{.url = "http://127.0.0.1:8740", .queue = "bench"};
  std::string records;
  CLI::App app{"errand-peer-worker: C++ workers appending the peer harness's job records"};
  app.add_option("--url", options.url,
                 "Errand server URL, or every node's, comma-separated (runtimes spread over them)")
      ->capture_default_str();
  app.add_option("--key", options.key, "API key")->envname("ERRAND_KEY");
  app.add_option("--queue", options.queue, "Queue to work")->capture_default_str();
  app.add_option("--records", records, "File to append the 16-byte records to")->required();
  app.add_option("--runtimes", options.runtimes, "Worker runtimes (a claim loop and pool each)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--concurrency", options.concurrency,
                 "Handler slots per runtime (the most jobs one claim asks for)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  try {
    app.parse(argc, argv);
    return run(std::move(options), records);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "errand-peer-worker: {}\n", e.what());
    return 1;
  }
}
