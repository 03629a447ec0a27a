#include "client/failover.hpp"

#include "client/wire.hpp"

#include <fmt/format.h>
#include <boost/json/parse.hpp>

#include <algorithm>

namespace errand::client {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

core::Error no_url(std::string_view field) {
  return core::invalid(std::string(field),
                       "no server URL given (expected http://host:port, or several such URLs "
                       "separated by commas)");
}

core::Result<std::vector<Endpoint>> parse_entries(const std::vector<std::string_view>& entries,
                                                  std::string_view list, std::string_view field) {
  std::vector<Endpoint> endpoints;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].empty()) {
      return core::invalid(
          std::string(field),
          fmt::format("server URL list \"{}\" has an empty entry (number {})", list, i + 1));
    }
    auto ep = parse_endpoint(entries[i]);
    if (!ep) return core::invalid(std::string(field), ep.error().message);
    const bool seen = std::any_of(endpoints.begin(), endpoints.end(),
                                  [&](const Endpoint& e) { return e.url == ep->url; });
    if (seen) {
      return core::invalid(std::string(field),
                           fmt::format("server URL list \"{}\" names {} twice", list, ep->url));
    }
    endpoints.push_back(std::move(*ep));
  }
  return endpoints;
}

// The reason alone: a network failure's message without its
// "cannot reach errand at URL: " (the URL is said once, before it).
std::string reason(std::string_view url, const core::Error& e) {
  const auto prefix = fmt::format("cannot reach errand at {}: ", url);
  if (e.message.starts_with(prefix)) return e.message.substr(prefix.size());
  if (e.code == core::errc::unavailable) return "answered 503: " + e.message;
  return e.message;
}

struct Failed {
  std::size_t index;
  core::Error error;
};

std::string reasons(const std::vector<std::string>& urls, const std::vector<Failed>& failed) {
  std::vector<std::string> parts;
  for (const auto& f : failed)
    parts.push_back(fmt::format("{}: {}", urls[f.index], reason(urls[f.index], f.error)));
  return fmt::format("{}", fmt::join(parts, "; "));
}

core::Error every_url_failed(const std::vector<std::string>& urls,
                             const std::vector<Failed>& failed) {
  return core::make_error(core::errc::unavailable,
                          fmt::format("cannot reach errand at any of its {} URLs: {}", urls.size(),
                                      reasons(urls, failed)));
}

// The last attempt may have been acted on, and the call is not idempotent.
core::Error not_sent_again(const detail::FailoverCall& call, std::vector<Failed> failed) {
  auto last = std::move(failed.back());
  failed.pop_back();
  std::string message = last.error.message;
  if (!failed.empty()) message += fmt::format(" (before that: {})", reasons(call.urls, failed));
  message += fmt::format(
      "; the request may have been acted on, so it was not sent again; the next call goes to {}",
      call.urls[call.ring.current()]);
  return core::make_error(core::errc::unavailable, std::move(message), std::move(last.error.field));
}

// Errand's own `unavailable`, not a 503 page from something in between,
// which says nothing about what happened to the request.
bool says_unavailable(std::string_view body) {
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  if (ec) return false;
  const auto* code = v.find_pointer("/error/code", ec);
  return code && code->is_string() && code->get_string() == "unavailable";
}

}  // namespace

core::Result<std::vector<Endpoint>> parse_url_list(std::string_view text, std::string_view field) {
  if (trim(text).empty()) return no_url(field);
  std::vector<std::string_view> entries;
  for (std::size_t from = 0;;) {
    const auto comma = text.find(',', from);
    entries.push_back(
        trim(text.substr(from, comma == std::string_view::npos ? comma : comma - from)));
    if (comma == std::string_view::npos) break;
    from = comma + 1;
  }
  return parse_entries(entries, text, field);
}

core::Result<std::vector<Endpoint>> parse_url_list(const std::vector<std::string>& urls,
                                                   std::string_view field) {
  if (urls.empty()) return no_url(field);
  std::vector<std::string_view> entries;
  for (const auto& url : urls) {
    if (url.find(',') != std::string::npos) {
      return core::invalid(std::string(field),
                           fmt::format("server URL \"{}\" holds a comma: give each URL as an "
                                       "entry of its own",
                                       url));
    }
    entries.push_back(trim(url));
  }
  return parse_entries(entries, fmt::format("{}", fmt::join(urls, ",")), field);
}

namespace detail {

NextStep after(AttemptEnd end, Idempotent idempotent) noexcept {
  switch (end) {
    case AttemptEnd::answered:
      return {};
    case AttemptEnd::not_sent:
    case AttemptEnd::refused:
      return {.move_on = true, .resend = true};
    case AttemptEnd::lost:
    case AttemptEnd::uncertain:
      return {.move_on = true, .resend = idempotent == Idempotent::yes};
  }
  return {};
}

Attempt attempt_from(SendResult sent) {
  if (!sent) {
    auto f = sent.error();
    return {.end = f.may_have_arrived ? AttemptEnd::lost : AttemptEnd::not_sent,
            .error = std::move(f.error)};
  }
  if (sent->status != 503 || !says_unavailable(sent->body)) return {.response = std::move(*sent)};
  auto error = wire::error_from_response(sent->status, sent->body);
  // docs/API.md: a 503 changes nothing, unless its message says this.
  const bool unknown = error.message.find("may or may not have been made") != std::string::npos;
  return {.end = unknown ? AttemptEnd::uncertain : AttemptEnd::refused, .error = std::move(error)};
}

bool UrlRing::failed(std::size_t index) noexcept {
  if (size_ < 2) return false;
  return current_.compare_exchange_strong(index, (index + 1) % size_, std::memory_order_relaxed);
}

core::Result<HttpResponse> send_with_failover(const FailoverCall& call) {
  const auto n = call.ring.size();
  const auto start = call.ring.current();
  std::vector<Failed> failed;
  for (std::size_t k = 0; k < n; ++k) {
    const auto index = (start + k) % n;
    auto attempt = call.send(index);
    if (attempt.end == AttemptEnd::answered) return std::move(attempt.response);
    if (n == 1) return std::move(attempt.error);
    if (call.ring.failed(index) && call.on_failover)
      call.on_failover({call.urls[index], call.urls[call.ring.current()], attempt.error});
    failed.push_back({index, std::move(attempt.error)});
    if (!after(attempt.end, call.idempotent).resend) return not_sent_again(call, std::move(failed));
  }
  return every_url_failed(call.urls, failed);
}

}  // namespace detail
}  // namespace errand::client
