// An Errand worker in C++ with the client library's worker runtime.
//
//   errand-example-cpp-worker QUEUE [URL]
//   ERRAND_URL=http://10.0.0.1:8740,http://10.0.0.2:8740 errand-example-cpp-worker QUEUE
//
// URL (default: $ERRAND_URL, else http://127.0.0.1:8740) may list several
// servers sharing one database, separated by commas: the client uses one
// until it fails, then the next. Four jobs at a time; leases are heartbeated
// by the runtime, progress is reported per item, a cancel is noticed between
// items. The demo job is the same as the Python and Node examples':
// {"items": 5, "seconds_per_item": 0.5}, or {"fail": "message", "retry": false}.
// SIGTERM or Ctrl-C lets running jobs finish (up to 30s), then exits.
#include "client/worker.hpp"

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <thread>

namespace json = boost::json;
using errand::client::RunningJob;

json::value handle(RunningJob& job) {
  const auto* p = job.payload().if_object();
  if (p && p->contains("fail")) {
    const std::string message(p->at("fail").as_string());
    if (p->contains("retry") && p->at("retry") == false) throw errand::client::NoRetry(message);
    throw std::runtime_error(message);
  }
  const auto number = [&](const char* key, double fallback) {
    return p && p->contains(key) ? p->at(key).to_number<double>() : fallback;
  };
  const int items = static_cast<int>(number("items", 3));
  const auto pause = std::chrono::duration<double>(number("seconds_per_item", 0.2));
  for (int i = 1; i <= items; ++i) {
    if (job.should_stop())
      throw std::runtime_error("stopped: " + std::string(to_string(job.stop_reason())));
    std::this_thread::sleep_for(pause);
    job.progress(i * 100 / items, std::to_string(i) + "/" + std::to_string(items) + " items");
  }
  return json::object{{"processed", items}, {"worker", "cpp"}};
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: errand-example-cpp-worker QUEUE [URL]\n";
    return 2;
  }
  // SIGINT and SIGTERM are taken by a thread of our own (before any other
  // thread starts, so all of them inherit the blocked mask).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::string url(errand::client::kDefaultUrl);
  if (argc > 2) {
    url = argv[2];
  } else if (const char* from_env = std::getenv("ERRAND_URL")) {
    url = from_env;
  }
  errand::client::Client client({
      .url = url,
      .on_failover =
          [](const errand::client::Failover& f) {
            std::cerr << "cpp-worker: " << f.from << " failed (" << f.why.message
                      << "); moving on to " << f.to << std::endl;
          },
  });
  errand::client::Worker worker(client, {.concurrency = 4});
  worker.handle(argv[1], handle);
  std::thread([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    worker.stop();
  }).detach();
  worker.run();
  std::cerr << "cpp-worker: stopped\n";
}
