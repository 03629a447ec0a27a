#include "api/worker_bodies.hpp"

#include "api/request.hpp"
#include "core/json_text.hpp"
#include "core/queue_json.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>

namespace errand::api {
namespace json = boost::json;

namespace {

constexpr std::size_t kMaxClaimQueues = 32;
constexpr std::size_t kMaxClaim = 1000;
constexpr std::size_t kMaxAcks = 10'000;
constexpr core::Millis kMaxWait{5 * 60'000};
constexpr core::Millis kMinLease{1000};
constexpr core::Millis kMaxLease{86'400'000};

core::Result<engine::ClaimRequest> parse_claim(const json::object& o) {
  const Fields f(o);
  if (auto ok = f.only({"queues", "worker", "max", "min", "wait", "lease"}); !ok) {
    return ok.error();
  }
  engine::ClaimRequest r;
  const auto* queues = f.raw("queues");
  if (!queues) return f.missing("queues");
  if (!queues->is_array() || queues->get_array().empty() ||
      queues->get_array().size() > kMaxClaimQueues) {
    return f.wrong_type("queues", fmt::format("an array of 1 to {} queue names", kMaxClaimQueues));
  }
  for (std::size_t i = 0; i < queues->get_array().size(); ++i) {
    const auto& q = queues->get_array()[i];
    const auto field = fmt::format("queues[{}]", i);
    if (!q.is_string()) return core::invalid(field, fmt::format("{} must be a string", field));
    if (auto ok = core::validate_queue_name(q.get_string(), field); !ok) return ok.error();
    r.queues.emplace_back(q.get_string());
  }
  ERRAND_TRY(worker, f.string("worker", 256));
  if (worker && !worker->empty()) r.worker = std::move(*worker);
  ERRAND_TRY(max, f.integer("max", 1, kMaxClaim));
  r.max = static_cast<std::size_t>(max.value_or(1));
  ERRAND_TRY(min, f.integer("min", 1, kMaxClaim));
  if (min && static_cast<std::size_t>(*min) > r.max) {
    return core::invalid("min",
                         fmt::format("min ({}) must not be more than max ({})", *min, r.max));
  }
  r.min = static_cast<std::size_t>(min.value_or(1));
  ERRAND_TRY(wait, f.duration("wait", core::Millis{0}, kMaxWait));
  r.wait = wait.value_or(core::Millis{0});
  ERRAND_TRY(lease, f.duration("lease", kMinLease, kMaxLease));
  r.lease = lease;
  return r;
}

core::Result<std::string> lease_id_of(const Fields& f) {
  ERRAND_TRY(lease_id, f.string("lease_id", 128));
  if (!lease_id || lease_id->empty()) return f.missing("lease_id");
  return std::move(*lease_id);
}

core::Result<core::Progress> parse_progress(const Fields& f) {
  if (auto ok = f.only({"lease_id", "percent", "message", "data"}); !ok) return ok.error();
  return core::progress_from_fields(f);
}

// The attempt's log: any length (the store keeps its tail), a string or absent.
core::Result<std::string> log_of(const Fields& f) {
  const auto* log = f.raw("log");
  if (!log || log->is_null()) return std::string();
  if (!log->is_string()) return f.wrong_type("log", "a string");
  return core::utf8_clip(log->get_string(), core::kMaxLogBytes, true);
}

core::Result<engine::CompleteRequest> parse_complete(const Fields& f, std::string id) {
  if (auto ok = f.only({"id", "lease_id", "result", "log"}); !ok) return ok.error();
  ERRAND_TRY(lease_id, lease_id_of(f));
  ERRAND_TRY(log, log_of(f));
  engine::CompleteRequest p{
      .id = std::move(id), .lease_id = std::move(lease_id), .log = std::move(log)};
  ERRAND_TRY(result, f.json("result"));
  if (result) p.result = std::move(*result);
  return p;
}

core::Result<engine::FailRequest> parse_fail(const Fields& f, std::string id) {
  if (auto ok = f.only({"id", "lease_id", "error", "retry", "retry_in", "log"}); !ok)
    return ok.error();
  ERRAND_TRY(lease_id, lease_id_of(f));
  ERRAND_TRY(log, log_of(f));
  engine::FailRequest p{
      .id = std::move(id), .lease_id = std::move(lease_id), .log = std::move(log)};
  const auto* error = f.raw("error");
  if (!error) return f.missing("error");
  if (!error->is_string()) return f.wrong_type("error", "a string");
  p.error = core::utf8_clip(error->get_string(), core::kMaxErrorMessage);
  ERRAND_TRY(retry, f.boolean("retry"));
  p.retry = retry.value_or(true);
  ERRAND_TRY(retry_in, f.duration("retry_in", core::Millis{0}, core::Millis{365LL * 86'400'000}));
  p.retry_in = retry_in;
  return p;
}

core::Result<engine::AckRequest> parse_ack(const json::value& v, std::string_view source,
                                           std::size_t i) {
  const auto prefix = fmt::format("acks[{}]", i);
  if (!v.is_object()) return core::invalid(prefix, fmt::format("{} must be an object", prefix));
  const Fields f(v.get_object(), prefix, source);
  ERRAND_TRY(id, f.string("id", 64));
  if (!id || id->empty()) return f.missing("id");
  engine::AckRequest item;
  if (f.raw("error")) {
    ERRAND_TRY(failure, parse_fail(f, std::move(*id)));
    item.fail = true;
    item.failure = std::move(failure);
  } else {
    ERRAND_TRY(completion, parse_complete(f, std::move(*id)));
    item.complete = std::move(completion);
  }
  return item;
}

}  // namespace

core::Result<engine::ClaimRequest> parse_claim_body(const Request& request) {
  ERRAND_TRY(body, parse_object(request.body));
  return parse_claim(body);
}

core::Result<HeartbeatBody> parse_heartbeat_body(const Request& request) {
  ERRAND_TRY(body, parse_object(request.body));
  const Fields f(body);
  if (auto ok = f.only({"lease_id", "extend"}); !ok) return ok.error();
  ERRAND_TRY(lease_id, lease_id_of(f));
  ERRAND_TRY(extend, f.duration("extend", kMinLease, kMaxLease));
  return HeartbeatBody{.lease_id = std::move(lease_id), .extend = extend};
}

core::Result<ProgressBody> parse_progress_body(const Request& request) {
  ERRAND_TRY(body, parse_object(request.body));
  const Fields f(body, {}, request.body);
  ERRAND_TRY(progress, parse_progress(f));
  ERRAND_TRY(lease_id, lease_id_of(f));
  return ProgressBody{.lease_id = std::move(lease_id), .progress = std::move(progress)};
}

core::Result<engine::CompleteRequest> parse_complete_body(const Request& request, std::string id) {
  ERRAND_TRY(body, parse_object(request.body, true));
  return parse_complete(Fields(body, {}, request.body), std::move(id));
}

core::Result<engine::FailRequest> parse_fail_body(const Request& request, std::string id) {
  ERRAND_TRY(body, parse_object(request.body));
  return parse_fail(Fields(body), std::move(id));
}

core::Result<std::vector<engine::AckRequest>> parse_acks_body(const Request& request) {
  ERRAND_TRY(body, parse_object(request.body));
  const Fields f(body);
  if (auto ok = f.only({"acks"}); !ok) return ok.error();
  const auto* list = f.raw("acks");
  if (!list) return f.missing("acks");
  if (!list->is_array() || list->get_array().empty() || list->get_array().size() > kMaxAcks) {
    return f.wrong_type("acks", fmt::format("an array of 1 to {} acks", kMaxAcks));
  }
  std::vector<engine::AckRequest> items;
  const auto sources = core::json_elements(core::json_member(request.body, "acks").value_or(""));
  for (std::size_t i = 0; i < list->get_array().size(); ++i) {
    ERRAND_TRY(item, parse_ack(list->get_array()[i], i < sources.size() ? sources[i] : "", i));
    items.push_back(std::move(item));
  }
  return items;
}

}  // namespace errand::api
