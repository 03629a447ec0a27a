#include "core/metrics.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace errand::core::metrics {
namespace {

TEST(Metrics, CountersAreWrittenWithTotalAndEscapedLabels) {
  Family<Counter> f("errand_things", "Things.\nCounted.", {"queue", "outcome"}, 10);
  f.at({"mail", "succeeded"}).add(3);
  f.at({"a\"b\\c\nd", "dead"}).add();
  f.at({"mail", "succeeded"}).add();
  Exposition out;
  f.write(out);
  EXPECT_EQ(out.text(),
            "# HELP errand_things_total Things.\\nCounted.\n"
            "# TYPE errand_things_total counter\n"
            "errand_things_total{queue=\"a\\\"b\\\\c\\nd\",outcome=\"dead\"} 1\n"
            "errand_things_total{queue=\"mail\",outcome=\"succeeded\"} 4\n");
}

TEST(Metrics, AFamilyWithNoSeriesWritesItsHelpAndTypeOnly) {
  Family<Counter> f("errand_none", "None.", {"queue"}, 10);
  Exposition out;
  f.write(out);
  EXPECT_EQ(out.text(), "# HELP errand_none_total None.\n# TYPE errand_none_total counter\n");
}

TEST(Metrics, HistogramsAreCumulativeWithSumAndCount) {
  static constexpr std::array<double, 3> kBounds = {0.5, 1, 10};
  Family<Histogram> f("errand_wait_seconds", "Waits.", {"queue"}, 10, kBounds);
  auto& h = f.at({"q"});
  h.observe(0.25);
  h.observe(0.5);  // on the bound: in it
  h.observe(2);
  h.observe(100);
  Exposition out;
  f.write(out);
  EXPECT_EQ(out.text(),
            "# HELP errand_wait_seconds Waits.\n"
            "# TYPE errand_wait_seconds histogram\n"
            "errand_wait_seconds_bucket{queue=\"q\",le=\"0.5\"} 2\n"
            "errand_wait_seconds_bucket{queue=\"q\",le=\"1\"} 2\n"
            "errand_wait_seconds_bucket{queue=\"q\",le=\"10\"} 3\n"
            "errand_wait_seconds_bucket{queue=\"q\",le=\"+Inf\"} 4\n"
            "errand_wait_seconds_sum{queue=\"q\"} 102.75\n"
            "errand_wait_seconds_count{queue=\"q\"} 4\n");
}

TEST(Metrics, LabelSetsPastTheCapShareTheOtherSeries) {
  Family<Counter> f("errand_capped", "Capped.", {"queue"}, 3);
  f.at({"a"}).add();
  f.at({"b"}).add();
  f.at({"c"}).add();  // past the cap: "_other"
  f.at({"d"}).add(2);
  f.at({"a"}).add();  // known series keep counting
  Exposition out;
  f.write(out);
  EXPECT_EQ(out.text(),
            "# HELP errand_capped_total Capped.\n"
            "# TYPE errand_capped_total counter\n"
            "errand_capped_total{queue=\"_other\"} 3\n"
            "errand_capped_total{queue=\"a\"} 2\n"
            "errand_capped_total{queue=\"b\"} 1\n");
}

TEST(Metrics, ObservationsFromManyThreadsAllCount) {
  Metrics m;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&m, t] {
      for (int i = 0; i < 1000; ++i) {
        m.jobs_enqueued.at({t % 2 == 0 ? "even" : "odd"}).add();
        m.job_wait_seconds.at({"q"}).observe(0.001);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(m.jobs_enqueued.at({"even"}).value(), 2000u);
  EXPECT_EQ(m.job_wait_seconds.at({"q"}).snapshot().count, 4000u);
}

TEST(Metrics, GaugesAreWrittenAsGiven) {
  Exposition out;
  out.family("errand_sse_watchers", "gauge", "Open streams.");
  out.sample("errand_sse_watchers", {}, 3);
  out.sample("errand_queue_oldest_waiting_seconds", {{"queue", "q"}}, 1.5);
  EXPECT_EQ(out.text(),
            "# HELP errand_sse_watchers Open streams.\n"
            "# TYPE errand_sse_watchers gauge\n"
            "errand_sse_watchers 3\n"
            "errand_queue_oldest_waiting_seconds{queue=\"q\"} 1.5\n");
}

}  // namespace
}  // namespace errand::core::metrics
