#include "client/worker_policy.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace errand::client::detail {

void HandlerTable::add(std::string queue, std::string type, Handler handler) {
  if (std::find(queues_.begin(), queues_.end(), queue) == queues_.end()) queues_.push_back(queue);
  // A second registration for the same key replaces the first.
  for (auto& e : entries_) {
    if (e.queue == queue && e.type == type) {
      e.handler = std::move(handler);
      return;
    }
  }
  entries_.push_back({std::move(queue), std::move(type), std::move(handler)});
}

const Handler* HandlerTable::find(std::string_view queue, std::string_view type) const {
  const Handler* any = nullptr;
  for (const auto& e : entries_) {
    if (e.queue != queue) continue;
    if (!type.empty() && e.type == type) return &e.handler;
    if (e.type.empty()) any = &e.handler;
  }
  return any;
}

core::Millis granted_lease(core::TimePoint expires_at, core::TimePoint now,
                           std::optional<core::Millis> requested) {
  if (requested) return *requested;
  const auto ms = (expires_at - now).count();
  const auto seconds = std::max<std::int64_t>(1, (ms + 500) / 1000);
  return core::Millis{seconds * 1000};
}

core::Millis heartbeat_interval(core::Millis lease) {
  return std::clamp(lease / 3, core::Millis{100}, core::Millis{10'000});
}

core::Millis ReconnectBackoff::next(double jitter) {
  const int doublings = std::min(failures_, 20);
  ++failures_;
  const auto window = std::min<std::int64_t>(cap_.count(), base_.count() << doublings);
  const auto half = window / 2;
  return core::Millis{half + static_cast<std::int64_t>(std::floor(jitter * (window - half)))};
}

std::string short_duration(core::Millis d) {
  const auto ms = d.count();
  if (ms < 1000) return fmt::format("{}ms", ms);
  if (ms < 60'000) return fmt::format("{:.1f}s", static_cast<double>(ms) / 1000);
  const auto s = ms / 1000;
  if (s < 3600) return fmt::format("{}m{}s", s / 60, s % 60);
  return fmt::format("{}h{}m", s / 3600, (s % 3600) / 60);
}

}  // namespace errand::client::detail
