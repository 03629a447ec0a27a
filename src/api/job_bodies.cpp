#include "api/job_bodies.hpp"

#include "api/request.hpp"
#include "core/id.hpp"
#include "core/queue_json.hpp"
#include "core/trace.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <charconv>
#include <map>

namespace errand::api {
namespace json = boost::json;

namespace {

constexpr std::size_t kMaxBatch = 10'000;

core::Result<std::vector<std::string>> parse_tags(const Fields& f) {
  std::vector<std::string> tags;
  const auto* v = f.raw("tags");
  if (!v || v->is_null()) return tags;
  if (!v->is_array()) return f.wrong_type("tags", "an array of strings");
  if (v->get_array().size() > core::kMaxTags) {
    return core::invalid(
        f.name("tags"), fmt::format("{} may hold at most {} tags", f.name("tags"), core::kMaxTags));
  }
  for (std::size_t i = 0; i < v->get_array().size(); ++i) {
    const auto& t = v->get_array()[i];
    const auto field = fmt::format("{}[{}]", f.name("tags"), i);
    if (!t.is_string()) return core::invalid(field, fmt::format("{} must be a string", field));
    if (auto ok = core::validate_label(t.get_string(), core::kMaxTagLength, field); !ok) {
      return ok.error();
    }
    tags.emplace_back(t.get_string());
  }
  return tags;
}

// "token_scope": the fields the job's token may see beyond its status; only
// "payload" is known.
core::Result<TokenScope> parse_token_scope(const Fields& f) {
  TokenScope scope;
  const auto* v = f.raw("token_scope");
  if (!v || v->is_null()) return scope;
  const auto field = f.name("token_scope");
  const auto wrong = core::invalid(
      field, fmt::format("{} must be an array of the fields the job's token may see besides "
                         "the job's status; only \"payload\" is allowed: [\"payload\"]",
                         field));
  if (!v->is_array()) return wrong;
  for (const auto& item : v->get_array()) {
    if (!item.is_string() || item.get_string() != "payload") return wrong;
    scope.payload = true;
  }
  return scope;
}

constexpr std::size_t kMaxRef = 128;

// after: ["<job id or earlier ref>", …] (1..kMaxParents); after_failure:
// "cancel" (the default) or "run".
core::Result<void> parse_after(const Fields& f, engine::EnqueueRequest& r) {
  const auto* v = f.raw("after");
  if (v && !v->is_null()) {
    if (!v->is_array() || v->get_array().empty() || v->get_array().size() > core::kMaxParents) {
      return f.wrong_type("after", fmt::format("an array of 1 to {} job ids", core::kMaxParents));
    }
    for (std::size_t i = 0; i < v->get_array().size(); ++i) {
      const auto& item = v->get_array()[i];
      const auto field = fmt::format("{}[{}]", f.name("after"), i);
      if (!item.is_string() || item.get_string().empty() || item.get_string().size() > kMaxRef) {
        return core::invalid(field, fmt::format("{} must be a job id (or, in a batch, the ref of "
                                                "an earlier item)",
                                                field));
      }
      r.after.emplace_back(item.get_string());
    }
  }
  ERRAND_TRY(failure, f.string("after_failure", 16));
  if (failure) {
    if (*failure != "cancel" && *failure != "run") {
      return core::invalid(f.name("after_failure"),
                           fmt::format("{} must be \"cancel\" or \"run\", got \"{}\"",
                                       f.name("after_failure"), *failure));
    }
    if (r.after.empty()) {
      return core::invalid(f.name("after_failure"),
                           fmt::format("{} needs {}", f.name("after_failure"), f.name("after")));
    }
    r.after_failure_run = *failure == "run";
  }
  if (!r.after.empty() && r.debounce) {
    return core::invalid(f.name("after"), fmt::format("give either {} or {}, not both",
                                                      f.name("after"), f.name("debounce")));
  }
  return {};
}

constexpr core::Millis kMaxDedupWindow{365LL * 86'400'000};

core::Result<std::string> dedup_key(const Fields& f) {
  ERRAND_TRY(key, f.string("key", core::kMaxDedupKey));
  if (!key) return f.missing("key");
  if (key->empty()) {
    return core::invalid(f.name("key"), fmt::format("{} must not be empty", f.name("key")));
  }
  return std::move(*key);
}

// unique: {"key", "for"?, "states"?, "mode"?}
core::Result<std::optional<core::UniqueSpec>> parse_unique(const Fields& f) {
  const auto* v = f.raw("unique");
  if (!v || v->is_null()) return std::optional<core::UniqueSpec>{};
  if (!v->is_object()) return f.wrong_type("unique", "an object");
  const Fields u(v->get_object(), f.name("unique"));
  if (auto ok = u.only({"key", "for", "states", "mode"}); !ok) return ok.error();
  core::UniqueSpec spec;
  ERRAND_TRY(key, dedup_key(u));
  spec.key = std::move(key);
  ERRAND_TRY(within, u.duration("for", core::Millis{1'000}, kMaxDedupWindow));
  spec.within = within;
  if (const auto* states = u.raw("states"); states && !states->is_null()) {
    if (!states->is_array() || states->get_array().empty()) {
      return core::invalid(
          u.name("states"),
          fmt::format("{} must be a non-empty array of job states", u.name("states")));
    }
    spec.states = 0;
    for (const auto& s : states->get_array()) {
      const auto state = s.is_string() ? core::parse_job_state(s.get_string()) : std::nullopt;
      if (!state) {
        return core::invalid(u.name("states"),
                             fmt::format("{} must hold job states (scheduled, queued, running, "
                                         "succeeded, failed, dead, cancelled)",
                                         u.name("states")));
      }
      spec.states |= 1u << static_cast<unsigned>(*state);
    }
  }
  ERRAND_TRY(mode, u.string("mode", 16));
  if (mode && *mode != "skip" && *mode != "replace") {
    return core::invalid(u.name("mode"), fmt::format("{} must be \"skip\" or \"replace\", got "
                                                     "\"{}\"",
                                                     u.name("mode"), *mode));
  }
  spec.replace = mode && *mode == "replace";
  return std::optional(std::move(spec));
}

// debounce: {"key", "period", "max_wait"?}
core::Result<std::optional<core::DebounceSpec>> parse_debounce(const Fields& f) {
  const auto* v = f.raw("debounce");
  if (!v || v->is_null()) return std::optional<core::DebounceSpec>{};
  if (!v->is_object()) return f.wrong_type("debounce", "an object");
  const Fields d(v->get_object(), f.name("debounce"));
  if (auto ok = d.only({"key", "period", "max_wait"}); !ok) return ok.error();
  core::DebounceSpec spec;
  ERRAND_TRY(key, dedup_key(d));
  spec.key = std::move(key);
  ERRAND_TRY(period, d.duration("period", core::Millis{100}, core::Millis{7LL * 86'400'000}));
  if (!period) return d.missing("period");
  spec.period = *period;
  ERRAND_TRY(max_wait, d.duration("max_wait", core::Millis{100}, core::Millis{30LL * 86'400'000}));
  if (max_wait && *max_wait < *period) {
    return core::invalid(d.name("max_wait"), fmt::format("{} must be at least {}",
                                                         d.name("max_wait"), d.name("period")));
  }
  spec.max_wait = max_wait;
  return std::optional(std::move(spec));
}

// traceparent / tracestate (W3C trace context): explicit input, so a bad
// value is refused naming the field (bad headers are ignored instead).
core::Result<void> parse_trace(const Fields& f, engine::EnqueueRequest& r) {
  ERRAND_TRY(parent, f.string("traceparent", 1024));
  ERRAND_TRY(state, f.string("tracestate", 8192));
  if (!parent && !state) return {};
  const auto parent_field = f.name("traceparent");
  const auto state_field = f.name("tracestate");
  auto trace = core::trace_from_fields(
      parent ? std::optional<std::string_view>(*parent) : std::nullopt,
      state ? std::optional<std::string_view>(*state) : std::nullopt, parent_field, state_field);
  if (!trace) return trace.error();
  r.traceparent = std::move(trace->traceparent);
  r.tracestate = std::move(trace->tracestate);
  return {};
}

// The request's traceparent / tracestate headers, for the jobs that carry
// no trace context of their own. A traceparent header that is not valid is
// ignored (W3C: the trace restarts), and the tracestate with it.
void apply_trace_headers(const Request& req, std::vector<engine::EnqueueRequest*> jobs) {
  if (req.traceparent.empty()) return;
  const auto trace = core::trace_from_headers(req.traceparent, req.tracestate);
  if (trace.empty()) return;
  for (auto* r : jobs) {
    if (!r->traceparent.empty()) continue;
    r->traceparent = trace.traceparent;
    r->tracestate = trace.tracestate;
  }
}

core::Result<engine::EnqueueRequest> parse_enqueue_request(const Fields& f,
                                                           const ApiLimits& limits) {
  engine::EnqueueRequest r;
  ERRAND_TRY(queue, f.string("queue", 1024));
  if (!queue) return f.missing("queue");
  if (auto ok = core::validate_queue_name(*queue, f.name("queue")); !ok) return ok.error();
  r.queue = std::move(*queue);
  r.queue_field = f.name("queue");
  ERRAND_TRY(type, f.string("type", 1024));
  if (type) {
    if (auto ok = core::validate_label(*type, core::kMaxTypeName, f.name("type")); !ok) {
      return ok.error();
    }
    r.type = std::move(*type);
  }
  ERRAND_TRY(payload, f.json("payload"));
  if (payload) {
    if (payload->stored().size() > limits.max_payload) {
      return core::make_error(
          core::errc::payload_too_large,
          fmt::format("{} is larger than {} bytes", f.name("payload"), limits.max_payload),
          f.name("payload"));
    }
    r.payload = std::move(*payload);
  }
  ERRAND_TRY(delay, f.duration("delay", core::Millis{0}, core::Millis{3650LL * 86'400'000}));
  ERRAND_TRY(run_at, f.time("run_at"));
  if (delay && run_at) {
    return core::invalid(f.name("delay"), fmt::format("give either {} or {}, not both",
                                                      f.name("delay"), f.name("run_at")));
  }
  r.delay = delay;
  r.run_at = run_at;
  ERRAND_TRY(priority, f.integer("priority", -1'000'000, 1'000'000));
  r.priority = priority;  // unset ones take the queue's default in the store
  ERRAND_TRY(max_attempts, f.integer("max_attempts", 1, core::kMaxMaxAttempts));
  if (max_attempts) r.max_attempts = static_cast<int>(*max_attempts);
  ERRAND_TRY(timeout, f.duration("timeout", core::Millis{1000}, core::Millis{86'400'000}));
  r.timeout = timeout;
  ERRAND_TRY(key, f.string("idempotency_key", core::kMaxIdempotencyKey));
  if (key) {
    if (key->empty()) {
      return core::invalid(f.name("idempotency_key"),
                           fmt::format("{} must not be empty", f.name("idempotency_key")));
    }
    r.idempotency_key = std::move(*key);
  }
  ERRAND_TRY(job_key, f.string("key", std::size_t{1} << 16));  // then counted in characters
  if (job_key) {
    if (auto ok = core::validate_job_key(*job_key, f.name("key")); !ok) return ok.error();
    r.key = std::move(*job_key);
  }
  ERRAND_TRY(unique, parse_unique(f));
  r.unique = std::move(unique);
  ERRAND_TRY(debounce, parse_debounce(f));
  if (debounce && r.unique) {
    return core::invalid(f.name("debounce"), fmt::format("give either {} or {}, not both",
                                                         f.name("unique"), f.name("debounce")));
  }
  if (debounce && (r.delay || r.run_at)) {
    return core::invalid(f.name("debounce"),
                         fmt::format("{} sets when the job runs: give no {} or {} with it",
                                     f.name("debounce"), f.name("delay"), f.name("run_at")));
  }
  r.debounce = std::move(debounce);
  ERRAND_TRY(tags, parse_tags(f));
  r.tags = std::move(tags);
  if (auto ok = parse_after(f, r); !ok) return ok.error();
  ERRAND_TRY(on_done, core::webhook_from_body(f, "on_done"));
  if (on_done) r.on_done = std::move(*on_done);
  if (auto ok = parse_trace(f, r); !ok) return ok.error();
  return r;
}

core::Result<ParsedEnqueue> parse_enqueue(const json::object& o, std::string prefix,
                                          const ApiLimits& limits, std::string_view source,
                                          bool batch_item = false) {
  const Fields f(o, std::move(prefix), source);
  if (auto ok =
          batch_item
              ? f.only({"queue",         "type",         "payload",     "delay",           "run_at",
                        "priority",      "max_attempts", "timeout",     "idempotency_key", "key",
                        "unique",        "debounce",     "tags",        "token_scope",     "after",
                        "after_failure", "on_done",      "traceparent", "tracestate",      "ref"})
              : f.only({"queue", "type", "payload", "delay", "run_at", "priority", "max_attempts",
                        "timeout", "idempotency_key", "key", "unique", "debounce", "tags",
                        "token_scope", "after", "after_failure", "on_done", "traceparent",
                        "tracestate"});
      !ok) {
    return ok.error();
  }
  ERRAND_TRY(request, parse_enqueue_request(f, limits));
  ERRAND_TRY(scope, parse_token_scope(f));
  ParsedEnqueue out{.request = std::move(request), .token_scope = scope};
  ERRAND_TRY(ref, f.string("ref", kMaxRef));
  if (ref) {
    if (ref->empty()) {
      return core::invalid(f.name("ref"), fmt::format("{} must not be empty", f.name("ref")));
    }
    out.ref = std::move(*ref);
  }
  return out;
}

// `after` entries that are not job ids (and, in a batch, no ref) name nothing.
core::Result<void> check_parent_ids(const engine::EnqueueRequest& r, std::string_view prefix) {
  for (std::size_t k = 0; k < r.after.size(); ++k) {
    if (core::parse_job_id(r.after[k]) || core::is_legacy_id(r.after[k])) continue;
    const auto field = fmt::format("{}after[{}]", prefix, k);
    return core::invalid(field, fmt::format("{}: \"{}\" is not a job id", field, r.after[k]));
  }
  return {};
}

// A batch's `after` entries that name items of the batch: refs of earlier
// items become their indexes; a ref of this or a later item would make a
// cycle (or wait for a job not yet there) and is refused, naming it.
core::Result<void> resolve_refs(std::vector<ParsedEnqueue>& items) {
  std::map<std::string, std::size_t, std::less<>> refs;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (items[i].ref.empty()) continue;
    if (auto [it, added] = refs.emplace(items[i].ref, i); !added) {
      const auto field = fmt::format("jobs[{}].ref", i);
      return core::invalid(field, fmt::format("{} \"{}\" is already the ref of jobs[{}]", field,
                                              items[i].ref, it->second));
    }
  }
  for (std::size_t i = 0; i < items.size(); ++i) {
    auto& r = items[i].request;
    std::vector<std::string> ids;
    for (std::size_t k = 0; k < r.after.size(); ++k) {
      const auto found = refs.find(r.after[k]);
      if (found == refs.end()) {
        if (!core::parse_job_id(r.after[k]) && !core::is_legacy_id(r.after[k])) {
          const auto field = fmt::format("jobs[{}].after[{}]", i, k);
          return core::invalid(field, fmt::format("{}: \"{}\" is neither a job id nor the ref "
                                                  "of an earlier item",
                                                  field, r.after[k]));
        }
        ids.push_back(std::move(r.after[k]));
        continue;
      }
      if (found->second >= i) {
        const auto field = fmt::format("jobs[{}].after[{}]", i, k);
        return core::invalid(
            field, fmt::format("{}: \"{}\" is the ref of {} (jobs[{}]): a job may wait only for "
                               "items before it, so that the jobs of a batch never wait for one "
                               "another in a cycle",
                               field, r.after[k], found->second == i ? "this item" : "a later item",
                               found->second));
      }
      r.after_items.push_back(found->second);
    }
    r.after = std::move(ids);
  }
  return {};
}

// A batch request's `jobs` (absent: none, when `optional`): parsed, refs
// resolved. Errors name jobs[i].field.
core::Result<std::vector<ParsedEnqueue>> parse_items(const Fields& f, const Request& req,
                                                     const ApiLimits& limits, bool optional) {
  std::vector<ParsedEnqueue> items;
  const auto* jobs = f.raw("jobs");
  if (!jobs || (optional && jobs->is_null())) {
    if (optional) return items;
    return f.missing("jobs");
  }
  if (!jobs->is_array()) return f.wrong_type("jobs", "an array of jobs");
  const auto& array = jobs->get_array();
  if ((!optional && array.empty()) || array.size() > kMaxBatch) {
    return core::invalid("jobs", fmt::format("jobs must hold {} to {} jobs, got {}",
                                             optional ? 0 : 1, kMaxBatch, array.size()));
  }
  items.reserve(array.size());
  const auto sources = core::json_elements(core::json_member(req.body, "jobs").value_or(""));
  for (std::size_t i = 0; i < array.size(); ++i) {
    const auto field = fmt::format("jobs[{}]", i);
    if (!array[i].is_object()) {
      return core::invalid(field, fmt::format("{} must be an object", field));
    }
    auto item = parse_enqueue(array[i].get_object(), field, limits,
                              i < sources.size() ? sources[i] : std::string_view(), true);
    if (!item) return item.error();
    items.push_back(std::move(*item));
  }
  if (auto ok = resolve_refs(items); !ok) return ok.error();
  std::vector<engine::EnqueueRequest*> requests;
  requests.reserve(items.size());
  for (auto& item : items) requests.push_back(&item.request);
  apply_trace_headers(req, std::move(requests));
  return items;
}

// A batch's jobs may not be deduplicated or debounced: a job that is not
// inserted would leave the batch's count short.
core::Result<void> check_batch_items(const std::vector<ParsedEnqueue>& items) {
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto& r = items[i].request;
    if (r.unique || r.debounce) {
      const auto field = fmt::format("jobs[{}].{}", i, r.unique ? "unique" : "debounce");
      return core::invalid(field, fmt::format("{}: a batch's jobs cannot be {}", field,
                                              r.unique ? "unique" : "debounced"));
    }
  }
  return {};
}

// on_success / on_complete / on_death: a job to enqueue when the batch ends.
core::Result<std::optional<engine::EnqueueRequest>> parse_callback(const Fields& f,
                                                                   std::string_view name,
                                                                   const ApiLimits& limits,
                                                                   std::string_view body) {
  const auto* v = f.raw(name);
  if (!v || v->is_null()) return std::optional<engine::EnqueueRequest>{};
  if (!v->is_object()) return f.wrong_type(name, "a job: {\"queue\", \"payload\"?, …}");
  const Fields cb(v->get_object(), std::string(name), core::json_member(body, name).value_or(""));
  if (auto ok = cb.only(
          {"queue", "type", "payload", "priority", "max_attempts", "timeout", "key", "tags"});
      !ok) {
    return ok.error();
  }
  ERRAND_TRY(request, parse_enqueue_request(cb, limits));
  return std::optional(std::move(request));
}

// The jobs of parsed items, and their tokens' scopes.
ParsedBatch batch_of(std::vector<ParsedEnqueue> items) {
  ParsedBatch out;
  out.request.jobs.reserve(items.size());
  out.scopes.reserve(items.size());
  for (auto& item : items) {
    out.request.jobs.push_back(std::move(item.request));
    out.scopes.push_back(item.token_scope);
  }
  return out;
}

}  // namespace

core::Result<ParsedEnqueue> parse_enqueue_body(const Request& request, const ApiLimits& limits) {
  ERRAND_TRY(body, parse_object(request.body));
  ERRAND_TRY(parsed, parse_enqueue(body, {}, limits, request.body));
  if (auto ok = check_parent_ids(parsed.request, ""); !ok) return ok.error();
  apply_trace_headers(request, {&parsed.request});
  return parsed;
}

core::Result<ParsedBatch> parse_enqueue_batch(const Request& request, const ApiLimits& limits) {
  ERRAND_TRY(body, parse_object(request.body));
  const Fields f(body);
  if (auto ok = f.only({"jobs"}); !ok) return ok.error();
  ERRAND_TRY(items, parse_items(f, request, limits, false));
  return batch_of(std::move(items));
}

core::Result<ParsedBatch> parse_create_batch(const Request& request, const ApiLimits& limits) {
  ERRAND_TRY(body, parse_object(request.body));
  const Fields f(body, {}, request.body);
  if (auto ok = f.only({"jobs", "on_success", "on_complete", "on_death", "open"}); !ok) {
    return ok.error();
  }
  ERRAND_TRY(items, parse_items(f, request, limits, true));
  if (auto ok = check_batch_items(items); !ok) return ok.error();
  engine::BatchRequest r;
  for (const auto name : {"on_success", "on_complete", "on_death"}) {
    ERRAND_TRY(cb, parse_callback(f, name, limits, request.body));
    (std::string_view(name) == "on_success"    ? r.on_success
     : std::string_view(name) == "on_complete" ? r.on_complete
                                               : r.on_death) = std::move(cb);
  }
  ERRAND_TRY(open, f.boolean("open"));
  r.open = open.value_or(false);
  if (items.empty() && !r.open) {
    return core::invalid("jobs",
                         "a batch needs jobs, or \"open\": true to add them with POST "
                         "/v1/batches/{id}/jobs");
  }
  auto out = batch_of(std::move(items));
  r.jobs = std::move(out.request.jobs);
  out.request = std::move(r);
  return out;
}

core::Result<ParsedBatch> parse_add_batch_jobs(const Request& request, const ApiLimits& limits) {
  ERRAND_TRY(body, parse_object(request.body));
  const Fields f(body, {}, request.body);
  if (auto ok = f.only({"jobs"}); !ok) return ok.error();
  ERRAND_TRY(items, parse_items(f, request, limits, false));
  if (auto ok = check_batch_items(items); !ok) return ok.error();
  return batch_of(std::move(items));
}

core::Result<store::JobListParams> parse_list(const Request& req) {
  store::JobListParams p;
  for (const auto& [key, value] : req.query) {
    if (key == "queue") {
      if (auto ok = core::validate_queue_name(value, "queue"); !ok) return ok.error();
      p.queue = value;
    } else if (key == "state") {
      p.state = core::parse_job_state(value);
      if (!p.state) {
        return core::invalid("state",
                             fmt::format("state must be one of scheduled, queued, running, "
                                         "succeeded, failed, dead, cancelled; got \"{}\"",
                                         value));
      }
    } else if (key == "type") {
      p.type = value;
    } else if (key == "key") {
      if (auto ok = core::validate_job_key(value, "key"); !ok) return ok.error();
      p.key = value;
    } else if (key == "tag") {
      if (value.empty() || value.size() > 64)
        return core::invalid("tag", "tag must be 1 to 64 characters");
      p.tag = value;
    } else if (key == "q") {
      if (value.size() > 256) return core::invalid("q", "q must be at most 256 characters");
      p.text = value;
    } else if (key == "since" || key == "until") {
      auto t = core::parse_rfc3339(value, key);
      if (!t) return t.error();
      (key == "since" ? p.since : p.until) = *t;
    } else if (key == "limit") {
      int n = 0;
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc{} || ptr != value.data() + value.size() || n < 1 || n > 1000) {
        return core::invalid("limit", "limit must be an integer from 1 to 1000");
      }
      p.limit = static_cast<std::size_t>(n);
    } else if (key == "cursor") {
      if (!core::is_valid_id(value)) return core::invalid("cursor", "cursor is not a valid cursor");
      p.cursor = value;
    } else if (key == "batch") {
      if (!core::parse_job_id(value)) return core::invalid("batch", "batch is not a batch id");
      p.batch = value;
    } else if (key == "include") {
      if (value != "payload") {
        return core::invalid("include",
                             fmt::format("include must be \"payload\", got \"{}\"", value));
      }
      p.client_json = true;
    } else {
      return core::invalid(key,
                           fmt::format("unknown query parameter {} (expected queue, state, "
                                       "type, key, tag, q, since, until, batch, limit, cursor, "
                                       "include)",
                                       key));
    }
  }
  if (!p.batch.empty() && (!p.queue.empty() || p.state || !p.type.empty() || !p.key.empty() ||
                           !p.tag.empty() || !p.text.empty() || p.since || p.until)) {
    return core::invalid("batch",
                         "batch lists a batch's jobs: give it with limit, cursor and include only");
  }
  return p;
}

// POST /v1/jobs/bulk {"action", "ids"}: one request for a whole selection;
// each job is changed on its own, and each gets its own answer.
core::Result<std::pair<std::string, std::vector<std::string>>> parse_bulk(const Request& req) {
  ERRAND_TRY(body, parse_object(req.body));
  const Fields f(body);
  if (auto ok = f.only({"action", "ids"}); !ok) return ok.error();
  ERRAND_TRY(action, f.string("action", 16));
  if (!action) return f.missing("action");
  if (*action != "retry" && *action != "cancel" && *action != "delete") {
    return core::invalid("action", "action must be retry, cancel or delete");
  }
  const auto* ids = f.raw("ids");
  if (!ids) return f.missing("ids");
  if (!ids->is_array()) return f.wrong_type("ids", "an array of job ids");
  const auto& array = ids->get_array();
  if (array.empty() || array.size() > 1000)
    return core::invalid("ids", "ids must hold 1 to 1000 job ids");
  std::vector<std::string> out;
  out.reserve(array.size());
  for (std::size_t i = 0; i < array.size(); ++i) {
    const auto field = fmt::format("ids[{}]", i);
    if (!array[i].is_string() || !core::is_valid_id(array[i].get_string())) {
      return core::invalid(field, fmt::format("{} is not a job id", field));
    }
    out.emplace_back(array[i].get_string());
  }
  return std::pair{std::move(*action), std::move(out)};
}

}  // namespace errand::api
