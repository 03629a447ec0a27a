#include "cli/work_protocol.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <charconv>
#include <csignal>
#include <cstring>

namespace errand::cli {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// "::word rest" -> {word, rest}; nullopt for lines that are not directives.
std::optional<std::pair<std::string_view, std::string_view>> split_directive(
    std::string_view line) {
  if (!line.starts_with("::")) return std::nullopt;
  line.remove_prefix(2);
  const auto end = line.find_first_of(" \t");
  const auto word = line.substr(0, end);
  const auto rest = end == std::string_view::npos ? std::string_view{} : line.substr(end + 1);
  return std::pair{word, trim(rest)};
}

OutputLine parse_progress(std::string_view rest) {
  const auto end = rest.find_first_of(" \t");
  const auto number = rest.substr(0, end);
  double percent = -1;
  const auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), percent);
  if (number.empty() || ec != std::errc{} || ptr != number.data() + number.size() ||
      !(percent >= 0 && percent <= 100)) {
    return BadDirective{"progress", fmt::format("::progress needs a percent from 0 to 100 first, "
                                                "got \"{}\"",
                                                number)};
  }
  const auto message = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
  return ProgressLine{static_cast<int>(percent + 0.5), std::string(trim(message))};
}

OutputLine parse_result(std::string_view rest) {
  auto value = core::RawJson::parse(rest, "::result");
  if (!value) {
    return BadDirective{"result", fmt::format("::result is not followed by valid JSON ({})",
                                              rest.empty() ? "nothing" : value.error().message)};
  }
  return ResultLine{std::move(*value)};
}

// ::continue {"state"?, "delay"?, "until"?, "signal"?} and ::wait-signal
// {"state"?, "timeout"}: an object with only those keys.
OutputLine parse_continue(std::string_view word, std::string_view rest) {
  const std::string directive(word);
  const auto bad = [&](std::string why) {
    return BadDirective{directive, fmt::format("::{} {}", directive, why)};
  };
  auto value = core::RawJson::parse(rest.empty() ? std::string_view("{}") : rest, directive);
  if (!value) return bad("is not followed by valid JSON (" + value.error().message + ")");
  auto parsed = value->value();
  if (!parsed.is_object()) return bad("needs a JSON object");
  boost::json::object body = std::move(parsed.as_object());
  const bool wait = word == "wait-signal";
  for (const auto& [key, v] : body) {
    const bool known =
        key == "state" ||
        (wait ? key == "timeout" : key == "delay" || key == "until" || key == "signal");
    if (!known) return bad(fmt::format("does not know \"{}\"", std::string_view(key)));
  }
  if (wait) {
    const auto* timeout = body.if_contains("timeout");
    if (!timeout || !timeout->is_string()) return bad("needs \"timeout\" (such as \"7d\")");
    body["signal"] = boost::json::object{{"timeout", *timeout}};
    body.erase("timeout");
  }
  return ContinueLine{std::move(body)};
}

}  // namespace

OutputLine parse_output_line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const auto directive = split_directive(line);
  if (!directive) return LogLine{std::string(line)};
  const auto [word, rest] = *directive;
  if (word == "progress") return parse_progress(rest);
  if (word == "result") return parse_result(rest);
  if (word == "no-retry" && rest.empty()) return NoRetryLine{};
  if (word == "continue" || word == "wait-signal") return parse_continue(word, rest);
  if (word == "continued" && rest.empty()) return ContinuedLine{};
  return LogLine{std::string(line)};
}

void LineSplitter::feed(std::string_view bytes, const Sink& sink) {
  while (!bytes.empty()) {
    const auto nl = bytes.find('\n');
    const auto take = std::min(nl == std::string_view::npos ? bytes.size() : nl,
                               max_line_ - std::min(max_line_, pending_.size()));
    pending_.append(bytes.substr(0, take));
    bytes.remove_prefix(take);
    const bool ended = !bytes.empty() && bytes.front() == '\n';
    if (ended) bytes.remove_prefix(1);
    if (ended || pending_.size() >= max_line_) {
      sink(pending_);
      pending_.clear();
    }
  }
}

void LineSplitter::finish(const Sink& sink) {
  if (!pending_.empty()) sink(pending_);
  pending_.clear();
}

void LogTail::add(std::string_view line) {
  if (line.size() > max_bytes_) line = line.substr(line.size() - max_bytes_);
  lines_.emplace_back(line);
  bytes_ += line.size() + 1;
  while (bytes_ > max_bytes_ + 1 && lines_.size() > 1) {
    bytes_ -= lines_.front().size() + 1;
    lines_.pop_front();
  }
}

std::string LogTail::tail(std::size_t max_bytes) const {
  std::size_t size = 0;
  auto first = lines_.end();
  while (first != lines_.begin()) {
    const auto& line = *std::prev(first);
    if (size + line.size() + (size ? 1 : 0) > max_bytes) break;
    size += line.size() + (size ? 1 : 0);
    --first;
  }
  std::string out;
  if (first == lines_.end() && !lines_.empty()) {  // the last line alone is too long
    const auto& last = lines_.back();
    return last.substr(last.size() - std::min(last.size(), max_bytes));
  }
  for (auto it = first; it != lines_.end(); ++it) {
    if (!out.empty()) out += '\n';
    out += *it;
  }
  return out;
}

std::string describe_exit(const ExitStatus& status) {
  if (status.signaled) {
    const char* name = sigabbrev_np(status.signal);
    return name ? fmt::format("killed by signal {} (SIG{})", status.signal, name)
                : fmt::format("killed by signal {}", status.signal);
  }
  if (status.code == kExitTempFail) return "exit code 75 (temporary failure)";
  return fmt::format("exit code {}", status.code);
}

std::string failure_message(std::string_view what, const LogTail& stderr_tail) {
  std::string message(what);
  const auto err = stderr_tail.tail(kErrorStderrBytes);
  if (!err.empty()) message += ": " + err;
  return message;
}

}  // namespace errand::cli
