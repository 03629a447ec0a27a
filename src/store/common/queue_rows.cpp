#include "store/common/queue_rows.hpp"

#include <boost/json.hpp>

namespace errand::store {
namespace json = boost::json;
namespace {

// Headers are stored as [[name, value]…], in their configured order.
std::string headers_text(const std::vector<core::PushHeader>& headers) {
  json::array out;
  for (const auto& h : headers)
    out.push_back(json::array{json::string(h.name), json::string(h.value)});
  return json::serialize(out);
}

std::vector<core::PushHeader> headers_of(std::string_view text) {
  std::vector<core::PushHeader> out;
  const json::value headers = json::parse(text);
  for (const auto& pair : headers.as_array()) {
    const auto& nv = pair.as_array();
    out.push_back({std::string(nv.at(0).as_string()), std::string(nv.at(1).as_string())});
  }
  return out;
}

json::object rate_json(const core::RateLimit& rate) {
  json::object out{{"limit", rate.limit}, {"per_ms", rate.per.count()}};
  if (rate.burst) out["burst"] = *rate.burst;
  return out;
}

core::RateLimit rate_of(const json::object& o) {
  core::RateLimit out{.limit = o.at("limit").to_number<std::int64_t>(),
                      .per = core::Millis{o.at("per_ms").to_number<std::int64_t>()}};
  if (const auto* burst = o.if_contains("burst")) out.burst = burst->to_number<std::int64_t>();
  return out;
}

std::optional<std::string> flow_text(const core::QueueConfig& c) {
  json::object out;
  if (c.rate_limit && c.rate_limit->burst) out["burst"] = *c.rate_limit->burst;
  if (c.key_concurrency) out["key_concurrency"] = *c.key_concurrency;
  if (c.key_rate_limit) out["key_rate_limit"] = rate_json(*c.key_rate_limit);
  if (c.defaults.on_done) out["on_done"] = *c.defaults.on_done;
  if (out.empty()) return std::nullopt;
  return json::serialize(out);
}

void read_flow(std::string_view text, core::QueueConfig& c) {
  const json::object flow = json::parse(text).as_object();
  if (const auto* burst = flow.if_contains("burst"); burst && c.rate_limit) {
    c.rate_limit->burst = burst->to_number<std::int64_t>();
  }
  if (const auto* n = flow.if_contains("key_concurrency")) {
    c.key_concurrency = n->to_number<std::int64_t>();
  }
  if (const auto* rate = flow.if_contains("key_rate_limit")) {
    c.key_rate_limit = rate_of(rate->as_object());
  }
  if (const auto* url = flow.if_contains("on_done")) {
    c.defaults.on_done = std::string(url->as_string());
  }
}

}  // namespace

std::string rate_limit_text(const core::RateLimit& rate) {
  return json::serialize(rate_json(rate));
}

core::RateLimit rate_limit_of(std::string_view text) {
  return rate_of(json::parse(text).as_object());
}

QueueInfo to_queue_info(std::string name, const QueueRow& row) {
  QueueInfo info{.name = std::move(name),
                 .paused = row.paused,
                 .config = row.config,
                 .push_secrets = row.secrets,
                 .processed = row.processed,
                 .failed = row.failed};
  for (auto state : core::kAllStates) info.counts[state] = row.count(state);
  return info;
}

core::QueueConfig decode_queue_config(const QueueConfigColumns& c) {
  core::QueueConfig out;
  out.concurrency = c.concurrency;
  if (c.rate_limit && c.rate_per_ms) {
    out.rate_limit = core::RateLimit{.limit = *c.rate_limit, .per = core::Millis{*c.rate_per_ms}};
  }
  out.defaults.priority = c.default_priority;
  if (c.default_max_attempts) out.defaults.max_attempts = static_cast<int>(*c.default_max_attempts);
  if (c.default_timeout_ms) out.defaults.timeout = core::Millis{*c.default_timeout_ms};
  if (c.push_url) {
    core::PushConfig p{.url = *c.push_url,
                       .timeout = core::Millis{c.push_timeout_ms},
                       .concurrency = c.push_concurrency};
    if (c.push_headers) p.headers = headers_of(*c.push_headers);
    out.push = std::move(p);
  }
  if (c.flow) read_flow(*c.flow, out);
  return out;
}

QueueConfigColumns encode_queue_config(const core::QueueConfig& c) {
  const auto& rate = c.rate_limit;
  const auto& d = c.defaults;
  QueueConfigColumns out;
  out.concurrency = c.concurrency;
  if (rate) {
    out.rate_limit = rate->limit;
    out.rate_per_ms = rate->per.count();
  }
  out.default_priority = d.priority;
  if (d.max_attempts) out.default_max_attempts = *d.max_attempts;
  if (d.timeout) out.default_timeout_ms = d.timeout->count();
  if (c.push) {
    out.push_url = c.push->url;
    out.push_timeout_ms = c.push->timeout.count();
    out.push_concurrency = c.push->concurrency;
    out.push_headers = headers_text(c.push->headers);
  }
  out.flow = flow_text(c);
  return out;
}

}  // namespace errand::store
