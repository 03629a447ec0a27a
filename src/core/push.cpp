#include "core/push.hpp"

#include "core/duration.hpp"
#include "core/hmac.hpp"
#include "core/id.hpp"

#include <date/date.h>
#include <fmt/format.h>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <array>
#include <cctype>

namespace errand::core {
namespace json = boost::json;

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// RFC 9110 token characters.
bool is_token(std::string_view s) {
  constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [&](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || extra.find(c) != std::string_view::npos;
  });
}

bool reserved_header(std::string_view name) {
  constexpr std::array<std::string_view, 6> reserved = {
      "host", "content-type", "content-length", "connection", "transfer-encoding", "user-agent"};
  if (name.size() >= 7 && iequals(name.substr(0, 7), "errand-")) return true;
  return std::any_of(reserved.begin(), reserved.end(),
                     [&](std::string_view r) { return iequals(r, name); });
}

PushOutcome failed(std::string error) {
  return PushOutcome{.kind = PushOutcome::Kind::fail, .error = std::move(error)};
}

PushOutcome dead(std::string error) {
  return PushOutcome{.kind = PushOutcome::Kind::dead, .error = std::move(error)};
}

std::string status_error(const PushAnswer& a) {
  std::string body = utf8_head(a.body, kPushErrorBody);
  if (body.empty()) return fmt::format("HTTP {}", a.status);
  return fmt::format("HTTP {}: {}", a.status, body);
}

// A 2xx answer: done, or a continuation.
PushOutcome decide_success(const PushAnswer& a, const Job& job, TimePoint now,
                           const PushLimits& limits) {
  // A non-JSON answer succeeds without a result. A JSON one is kept as
  // the handler wrote it; Boost.JSON only looks for `continue`.
  json::value body;
  if (!a.body.empty() && check_json(a.body, "body", kMaxJsonDepth)) {
    boost::system::error_code ec;
    json::parse_options options;
    options.max_depth = kMaxJsonDepth + 1;
    body = json::parse(a.body, ec, {}, options);
  }
  const auto* object = body.if_object();
  const auto* next = object ? object->if_contains("continue") : nullptr;
  if (!next || next->is_null()) {
    RawJson result;
    if (!body.is_null()) result = RawJson::trusted(minify_json(a.body));
    return PushOutcome{.kind = PushOutcome::Kind::complete, .result = std::move(result)};
  }
  const Fields top(*object, "push response", a.body);
  if (!next->is_object()) return failed(top.wrong_type("continue", "an object").message);
  const auto next_text = json_member(a.body, "continue").value_or("");
  const Fields f(next->get_object(), top.name("continue"), next_text);
  if (auto ok = f.only({"state", "delay", "progress", "signal"}); !ok) {
    return failed(ok.error().message);
  }
  auto delay = f.duration("delay", Millis{0}, kMaxPushDelay);
  if (!delay) return failed(delay.error().message);
  PushOutcome out{.kind = PushOutcome::Kind::continue_, .run_at = now + delay->value_or(Millis{0})};
  if (const auto* signal = f.raw("signal"); signal && !signal->is_null()) {
    if (*delay) return failed(f.name("signal") + ": give no delay with a signal wait");
    if (!signal->is_object()) return failed(f.wrong_type("signal", "an object").message);
    const Fields sf(signal->get_object(), f.name("signal"));
    if (auto ok = sf.only({"timeout"}); !ok) return failed(ok.error().message);
    auto timeout = sf.duration("timeout", Millis{1000}, kMaxSignalWait);
    if (!timeout) return failed(timeout.error().message);
    if (!*timeout) return failed(sf.missing("timeout").message);
    out.run_at = now + **timeout;
    out.wait_signal = true;
  }
  if (const auto* p = f.raw("progress"); p && !p->is_null()) {
    auto progress = progress_member(f, json_member(next_text, "progress").value_or(""));
    if (!progress) return failed(progress.error().message);
    out.progress = std::move(*progress);
  }
  auto state = f.json("state");
  if (!state) return failed(state.error().message);
  out.state = *state ? std::string((*state)->text()) : "null";
  if (job.push_continuations + 1 > limits.max_continuations) {
    return dead(
        fmt::format("push: the handler asked for more than {} continuations (the limit, "
                    "--push-max-continuations)",
                    limits.max_continuations));
  }
  if (out.state.size() > limits.max_state_bytes) {
    return dead(
        fmt::format("push: continue.state is {} bytes, over the limit of {} (--push-max-state)",
                    out.state.size(), limits.max_state_bytes));
  }
  return out;
}

}  // namespace

std::string_view PushSecrets::previous_at(TimePoint now) const {
  if (previous.empty() || !previous_until || *previous_until <= now) return {};
  return previous;
}

Result<void> validate_push_url(std::string_view url, std::string_view field) {
  const std::string name(field);
  if (url.size() > kMaxPushUrl) {
    return invalid(name, fmt::format("{} is longer than {} characters", name, kMaxPushUrl));
  }
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) {
    return invalid(name,
                   fmt::format("{} is not an absolute URL: {}", name, parsed.error().message()));
  }
  const auto scheme = parsed->scheme();
  if (!iequals(scheme, "http") && !iequals(scheme, "https")) {
    return invalid(name, fmt::format("{} must start with http:// or https://", name));
  }
  if (!parsed->has_authority() || parsed->encoded_host().empty()) {
    return invalid(name, fmt::format("{} has no host", name));
  }
  if (parsed->has_userinfo()) {
    return invalid(name, fmt::format("{} must not contain user:password@ (send credentials in "
                                     "push.headers)",
                                     name));
  }
  if (parsed->has_port() && (parsed->port_number() == 0)) {
    return invalid(name, fmt::format("{} has an invalid port \"{}\"", name, parsed->port()));
  }
  if (parsed->has_fragment()) {
    return invalid(name, fmt::format("{} must not have a #fragment", name));
  }
  return {};
}

Result<void> validate_push_header(std::string_view name, std::string_view value,
                                  std::string_view field) {
  const std::string where = fmt::format("{}.{}", field, name);
  if (!is_token(name)) {
    return invalid(where, fmt::format("{}: \"{}\" is not a valid header name", where, name));
  }
  if (reserved_header(name)) {
    return invalid(
        where, fmt::format("{}: the header {} is set by the server and cannot be configured", where,
                           name));
  }
  if (value.size() > kMaxPushHeaderValue) {
    return invalid(where,
                   fmt::format("{} is longer than {} characters", where, kMaxPushHeaderValue));
  }
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) {
      return invalid(where, fmt::format("{} contains a control character", where));
    }
  }
  return {};
}

Result<PushConfig> parse_push_config(const json::object& object, std::string_view prefix) {
  const Fields f(object, std::string(prefix));
  if (auto ok = f.only({"url", "timeout", "concurrency", "headers"}); !ok) return ok.error();
  PushConfig c;
  ERRAND_TRY(url, f.string("url", kMaxPushUrl + 1));
  if (!url) return f.missing("url");
  if (auto ok = validate_push_url(*url, f.name("url")); !ok) return ok.error();
  c.url = std::move(*url);
  ERRAND_TRY(timeout, f.duration("timeout", kMinPushTimeout, kMaxPushTimeout));
  c.timeout = timeout.value_or(kDefaultPushTimeout);
  ERRAND_TRY(concurrency, f.integer("concurrency", 1, kMaxPushConcurrency));
  c.concurrency = concurrency.value_or(kDefaultPushConcurrency);
  if (const auto* h = f.raw("headers"); h && !h->is_null()) {
    if (!h->is_object()) return f.wrong_type("headers", "an object of strings");
    const auto& headers = h->get_object();
    if (headers.size() > kMaxPushHeaders) {
      return invalid(f.name("headers"), fmt::format("{} has more than {} headers",
                                                    f.name("headers"), kMaxPushHeaders));
    }
    for (const auto& [name, value] : headers) {
      if (!value.is_string()) {
        const std::string where = fmt::format("{}.{}", f.name("headers"), std::string_view(name));
        return invalid(where, fmt::format("{} must be a string", where));
      }
      const std::string_view text = value.get_string();
      if (auto ok = validate_push_header(name, text, f.name("headers")); !ok) return ok.error();
      c.headers.push_back({std::string(name), std::string(text)});
    }
  }
  return c;
}

json::object push_config_to_json(const PushConfig& config, bool mask_headers) {
  json::object headers;
  for (const auto& h : config.headers) headers[h.name] = mask_headers ? "***" : h.value;
  return json::object{{"url", config.url},
                      {"timeout", format_duration(config.timeout)},
                      {"concurrency", config.concurrency},
                      {"headers", std::move(headers)}};
}

std::string make_push_secret() {
  return "whsec_" + random_hex(32);
}

std::string push_signature(std::int64_t unix_seconds, std::string_view body,
                           const HmacSha256& current, const HmacSha256* previous) {
  std::string message = fmt::format("{}.", unix_seconds);
  message.append(body);
  std::string out = fmt::format("t={},v1={}", unix_seconds, current.sign_hex(message));
  if (previous) out += fmt::format(",v1={}", previous->sign_hex(message));
  return out;
}

std::string push_body(std::string_view job_json, const Job& job, std::string_view signal_url) {
  std::string out = R"({"job":)";
  out += job_json;
  out += fmt::format(R"(,"lease_id":{},"attempt":{},"continuation":{},"state":{})",
                     json::serialize(json::string_view(job.lease_id)), job.attempt,
                     job.push_continuations, job.push_state.empty() ? "null" : job.push_state);
  if (job.has_parents) {
    JsonWriter w;
    w.begin_array();
    for (const auto& p : job.parents) {
      w.begin_object().key("id").string(p.id).key("state").string(to_string(p.state));
      w.key("result").raw(p.result).end_object();
    }
    w.end_array();
    out += R"(,"parents":)" + w.take();
  }
  if (job.signal_status == SignalStatus::received) {
    out += R"(,"signal":)" + (job.signal.empty() ? std::string("null") : job.signal.stored());
  } else if (job.signal_status == SignalStatus::timed_out) {
    out += R"(,"signal":null)";
  }
  if (!signal_url.empty()) {
    out += R"(,"signal_url":)" + json::serialize(json::string_view(signal_url));
  }
  out += '}';
  return out;
}

namespace {

// An HTTP date in its one current form (RFC 9110 IMF-fixdate), read strictly:
// "Sun, 06 Nov 1994 08:49:37 GMT". (date::parse read some malformed dates
// into a NaN it then converted: undefined behaviour a fuzzer found.)
std::optional<TimePoint> parse_http_date(std::string_view t) {
  static constexpr std::array<std::string_view, 7> kDays = {"Mon", "Tue", "Wed", "Thu",
                                                            "Fri", "Sat", "Sun"};
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (t.size() != 29 || t.substr(3, 2) != ", " || t[7] != ' ' || t[11] != ' ' || t[16] != ' ' ||
      t[19] != ':' || t[22] != ':' || t.substr(25) != " GMT") {
    return std::nullopt;
  }
  if (std::find(kDays.begin(), kDays.end(), t.substr(0, 3)) == kDays.end()) return std::nullopt;
  const auto month = std::find(kMonths.begin(), kMonths.end(), t.substr(8, 3));
  if (month == kMonths.end()) return std::nullopt;
  const auto number = [&](std::size_t at, std::size_t width) -> std::optional<int> {
    int n = 0;
    for (std::size_t i = at; i < at + width; ++i) {
      if (t[i] < '0' || t[i] > '9') return std::nullopt;
      n = n * 10 + (t[i] - '0');
    }
    return n;
  };
  const auto day = number(5, 2), year = number(12, 4), hour = number(17, 2), minute = number(20, 2),
             second = number(23, 2);
  if (!day || !year || !hour || !minute || !second || *hour > 23 || *minute > 59 || *second > 60) {
    return std::nullopt;
  }
  const date::year_month_day ymd{date::year{*year},
                                 date::month{static_cast<unsigned>(month - kMonths.begin() + 1)},
                                 date::day{static_cast<unsigned>(*day)}};
  if (!ymd.ok()) return std::nullopt;
  return TimePoint{date::sys_days{ymd}.time_since_epoch() + std::chrono::hours{*hour} +
                   std::chrono::minutes{*minute} + std::chrono::seconds{*second}};
}

}  // namespace

std::optional<TimePoint> parse_retry_after(std::string_view text, TimePoint now) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.empty()) return std::nullopt;
  TimePoint at;
  if (std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (text.size() > 9) return now + kMaxPushDelay;
    at = now + std::chrono::seconds(std::stoll(std::string(text)));
  } else {
    auto when = parse_http_date(text);
    if (!when) return std::nullopt;
    at = *when;
  }
  return std::clamp(at, now, now + kMaxPushDelay);
}

PushOutcome decide_push_outcome(const PushAnswer& a, const Job& job, TimePoint now,
                                const PushLimits& limits) {
  if (a.status >= 200 && a.status < 300) return decide_success(a, job, now, limits);
  if (a.no_retry) return dead(status_error(a) + " (Errand-No-Retry)");
  if (a.status == 429 || a.status == 503) {
    if (auto at = parse_retry_after(a.retry_after, now)) {
      if (job.push_deferrals + 1 < kPushDeferralsPerAttempt) {
        return PushOutcome{.kind = PushOutcome::Kind::defer, .run_at = *at};
      }
      auto out = failed(fmt::format("{} ({} in a row with Retry-After)", status_error(a),
                                    kPushDeferralsPerAttempt));
      out.retry_in = *at - now;
      return out;
    }
  }
  if (a.status >= 300 && a.status < 400) {
    return failed(status_error(a) + " (redirects are not followed: use the final URL)");
  }
  return failed(status_error(a));
}

std::string utf8_head(std::string_view text, std::size_t limit) {
  if (text.size() <= limit) return std::string(text);
  std::size_t end = limit;
  // Step back over continuation bytes so a character is not cut.
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return std::string(text.substr(0, end));
}

Result<Progress> progress_from_fields(const Fields& f) {
  Progress p;
  ERRAND_TRY(percent, f.integer("percent", 0, 100));
  if (percent) p.percent = static_cast<int>(*percent);
  ERRAND_TRY(message, f.string("message", kMaxErrorMessage));
  p.message = message.value_or("");
  ERRAND_TRY(data, f.json("data"));
  if (data) p.data = std::move(*data);
  return p;
}

Result<Progress> progress_member(const Fields& f, std::string_view source) {
  const auto* v = f.raw("progress");
  if (!v || !v->is_object()) return f.wrong_type("progress", "an object");
  const Fields pf(v->get_object(), f.name("progress"), source);
  if (auto ok = pf.only({"percent", "message", "data"}); !ok) return ok.error();
  return progress_from_fields(pf);
}

}  // namespace errand::core
