#include "core/metrics.hpp"

#include <fmt/format.h>

#include <cmath>

namespace errand::core::metrics {
namespace {

// A sample value as Prometheus writes it: integers without a fraction.
std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15)
    return fmt::format("{}", static_cast<std::int64_t>(v));
  return fmt::format("{}", v);
}

// Label values escape backslash, double quote and newline; HELP text
// escapes backslash and newline.
void append_escaped(std::string& out, std::string_view s, bool quotes) {
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quotes) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

using Labels = std::vector<std::pair<std::string_view, std::string_view>>;

void write_sample(std::string& out, std::string_view name, const Labels& labels,
                  std::string_view value) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    bool first = true;
    for (const auto& [k, v] : labels) {
      if (!first) out += ',';
      first = false;
      out += k;
      out += "=\"";
      append_escaped(out, v, true);
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  out += value;
  out += '\n';
}

std::string join(std::initializer_list<std::string_view> values) {
  std::string key;
  for (auto v : values) {
    key += v;
    key += '\x1f';
  }
  return key;
}

}  // namespace

Histogram::Histogram(std::span<const double> bounds)
    : bounds_(bounds), buckets_(new std::atomic<std::uint64_t>[bounds.size() + 1]) {
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::observe(double seconds) {
  std::size_t i = 0;
  while (i < bounds_.size() && seconds > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(seconds, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

void Exposition::family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  append_escaped(out_, help, false);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void Exposition::sample(std::string_view name,
                        std::initializer_list<std::pair<std::string_view, std::string_view>> labels,
                        double value) {
  write_sample(out_, name, Labels(labels), format_value(value));
}

void Exposition::sample(std::string_view name, const Labels& labels, double value) {
  write_sample(out_, name, labels, format_value(value));
}

void Exposition::histogram(std::string_view name, const Labels& labels, const Histogram& h) {
  const auto s = h.snapshot();
  const std::string bucket = std::string(name) + "_bucket";
  Labels with_le = labels;
  with_le.emplace_back("le", "");
  for (std::size_t i = 0; i < s.cumulative.size(); ++i) {
    const std::string le = i < h.bounds().size() ? format_value(h.bounds()[i]) : "+Inf";
    with_le.back().second = le;
    write_sample(out_, bucket, with_le, format_value(static_cast<double>(s.cumulative[i])));
  }
  write_sample(out_, std::string(name) + "_sum", labels, format_value(s.sum));
  write_sample(out_, std::string(name) + "_count", labels,
               format_value(static_cast<double>(s.count)));
}

template <class T>
T& Family<T>::at(std::initializer_list<std::string_view> values) {
  std::string key = join(values);
  core::MutexLock lock(mutex_);
  if (auto it = series_.find(key); it != series_.end()) return *it->second.metric;
  if (series_.size() + 1 >= max_series_) {  // one place is the "_other" series'
    std::vector<std::string> other(labels_.size(), std::string(kOtherLabel));
    std::string other_key;
    for (const auto& v : other) other_key += v + '\x1f';
    return find_or_add(std::move(other_key), std::move(other));
  }
  return find_or_add(std::move(key), std::vector<std::string>(values.begin(), values.end()));
}

template <class T>
T& Family<T>::find_or_add(std::string key, std::vector<std::string> values) {
  auto [it, added] = series_.try_emplace(std::move(key));
  if (added) {
    it->second.values = std::move(values);
    if constexpr (std::is_same_v<T, Histogram>) {
      it->second.metric = std::make_unique<Histogram>(bounds_);
    } else {
      it->second.metric = std::make_unique<T>();
    }
  }
  return *it->second.metric;
}

template <class T>
void Family<T>::write(Exposition& out) const {
  core::MutexLock lock(mutex_);
  if constexpr (std::is_same_v<T, Histogram>) {
    out.family(name_, "histogram", help_);
  } else {
    out.family(name_ + "_total", "counter", help_);
  }
  for (const auto& [key, series] : series_) {
    Labels labels;
    for (std::size_t i = 0; i < labels_.size(); ++i)
      labels.emplace_back(labels_[i], series.values[i]);
    if constexpr (std::is_same_v<T, Histogram>) {
      out.histogram(name_, labels, *series.metric);
    } else {
      out.sample(name_ + "_total", labels, static_cast<double>(series.metric->value()));
    }
  }
}

template class Family<Counter>;
template class Family<Histogram>;

Metrics::Metrics(std::size_t max_queues)
    : http_requests("errand_http_requests",
                    "HTTP requests answered, by route pattern, method and status.",
                    {"route", "method", "status"}, 100'000),
      http_seconds("errand_http_request_seconds",
                   "Time from a request's body read to its answer, by route pattern and method "
                   "(streams: to their first byte).",
                   {"route", "method"}, 10'000, kFastBuckets),
      jobs_enqueued("errand_jobs_enqueued", "Jobs enqueued through this server, by queue.",
                    {"queue"}, max_queues),
      jobs_finished("errand_jobs_finished",
                    "Attempts and jobs ended through this server, by queue and outcome "
                    "(succeeded, failed: will retry, dead, cancelled).",
                    {"queue", "outcome"}, max_queues * 4),
      job_wait_seconds("errand_job_wait_seconds",
                       "Time jobs waited from ready (queued) to claimed, by queue.", {"queue"},
                       max_queues, kJobBuckets),
      job_run_seconds("errand_job_run_seconds",
                      "Time from a job's claim to its complete or fail, by queue.", {"queue"},
                      max_queues, kJobBuckets),
      push_calls("errand_push_calls", "Push calls made by this server, by queue and result.",
                 {"queue", "result"}, max_queues * 8),
      store_commit_seconds("errand_store_commit_seconds",
                           "Time of the store's write transactions (commit included).", {"store"},
                           4, kFastBuckets),
      store_fsync_seconds("errand_store_fsync_seconds",
                          "Time of the store's fsyncs (SQLite: the WAL's; PostgreSQL: the "
                          "commit round trip).",
                          {"store"}, 4, kFastBuckets) {}

void Metrics::write(Exposition& out) const {
  http_requests.write(out);
  http_seconds.write(out);
  jobs_enqueued.write(out);
  jobs_finished.write(out);
  job_wait_seconds.write(out);
  job_run_seconds.write(out);
  push_calls.write(out);
  store_commit_seconds.write(out);
  store_fsync_seconds.write(out);
}

}  // namespace errand::core::metrics
