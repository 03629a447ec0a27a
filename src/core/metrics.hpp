// Metrics in the Prometheus text exposition format (version 0.0.4), served
// at GET /metrics (docs/operations.md "Metrics"): counters and histograms a
// server adds to as things happen, and the writer of the exposition, which
// also takes gauges read at scrape time.
//
// A family is a metric name with its label names; each set of label values
// is a series. Label values that come from users (queue names) are bounded:
// a family keeps at most `max_series` series, and an observation with a new
// label set past that goes to the series whose every label is "_other", so
// a scrape stays small however many queues there are. Route patterns,
// methods, status codes and outcomes are bounded by the program.
//
// Thread-safe: observations may come from any thread (lock-free once the
// series exists; a family's mutex guards only the lookup of its series).
#pragma once

#include "core/mutex.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace errand::core::metrics {

// Bucket upper bounds, in seconds.
// Requests and commits: 0.5 ms … 10 s.
inline constexpr std::array<double, 14> kFastBuckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
// Jobs' waits and runs: 10 ms … 1 day.
inline constexpr std::array<double, 14> kJobBuckets = {0.01, 0.05, 0.1, 0.5, 1,    5,     10,
                                                       30,   60,   300, 900, 3600, 14400, 86400};

// The label value a family's series past its `max_series` share.
inline constexpr std::string_view kOtherLabel = "_other";

class Counter {
 public:
  void add(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Histogram {
 public:
  explicit Histogram(std::span<const double> bounds);
  void observe(double seconds);

  struct Snapshot {
    std::vector<std::uint64_t> cumulative;  // per bound, then +Inf (== count)
    std::uint64_t count = 0;
    double sum = 0;
  };
  Snapshot snapshot() const;
  std::span<const double> bounds() const { return bounds_; }

 private:
  std::span<const double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1 (+Inf)
  std::atomic<double> sum_{0};
};

// The exposition text. Families in the order written; each family's
// samples right after its HELP and TYPE lines. Label values are escaped.
class Exposition {
 public:
  // `type`: "counter", "gauge" or "histogram".
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name,
              std::initializer_list<std::pair<std::string_view, std::string_view>> labels,
              double value);
  void sample(std::string_view name,
              const std::vector<std::pair<std::string_view, std::string_view>>& labels,
              double value);
  void histogram(std::string_view name,
                 const std::vector<std::pair<std::string_view, std::string_view>>& labels,
                 const Histogram& h);
  const std::string& text() const { return out_; }

 private:
  std::string out_;
};

// A family of counters or histograms, one per label set. A counter family's
// samples (and TYPE line) are named `name` + "_total".
template <class T>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> labels,
         std::size_t max_series, std::span<const double> bounds = {})
      : name_(std::move(name)),
        help_(std::move(help)),
        labels_(std::move(labels)),
        max_series_(max_series),
        bounds_(bounds) {}

  // The series of `values` (one per label name, in order); past max_series
  // new label sets get the "_other" series.
  T& at(std::initializer_list<std::string_view> values) EXCLUDES(mutex_);
  // Writes the family (its HELP and TYPE lines even while it has no series).
  void write(Exposition& out) const EXCLUDES(mutex_);

 private:
  struct Series {
    std::vector<std::string> values;
    std::unique_ptr<T> metric;
  };
  T& find_or_add(std::string key, std::vector<std::string> values) REQUIRES(mutex_);

  const std::string name_;
  const std::string help_;
  const std::vector<std::string> labels_;
  const std::size_t max_series_;
  const std::span<const double> bounds_;
  mutable core::Mutex mutex_;
  // By the label values joined with '\x1f'.
  std::map<std::string, Series, std::less<>> series_ GUARDED_BY(mutex_);
};

extern template class Family<Counter>;
extern template class Family<Histogram>;

// What a server counts as it runs (each server its own: sum them across
// servers). Queue-labelled families keep at most `max_queues` queues.
struct Metrics {
  explicit Metrics(std::size_t max_queues = 1000);

  Family<Counter> http_requests;           // route, method, status
  Family<Histogram> http_seconds;          // route, method
  Family<Counter> jobs_enqueued;           // queue
  Family<Counter> jobs_finished;           // queue, outcome
  Family<Histogram> job_wait_seconds;      // queue
  Family<Histogram> job_run_seconds;       // queue
  Family<Counter> push_calls;              // queue, result
  Family<Histogram> store_commit_seconds;  // store
  Family<Histogram> store_fsync_seconds;   // store

  // Every family above, in a fixed order.
  void write(Exposition& out) const;
};

}  // namespace errand::core::metrics
