#include "cli/log_format.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <chrono>
#include <ctime>
#include <memory>

namespace errand::cli {
namespace {

void append_json_string(spdlog::memory_buf_t& out, std::string_view s) {
  out.push_back('"');
  for (const char c : s) {
    switch (c) {
      case '"':
        out.append(std::string_view("\\\""));
        break;
      case '\\':
        out.append(std::string_view("\\\\"));
        break;
      case '\n':
        out.append(std::string_view("\\n"));
        break;
      case '\r':
        out.append(std::string_view("\\r"));
        break;
      case '\t':
        out.append(std::string_view("\\t"));
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<int>(c));
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto since_epoch =
        std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch());
    const std::time_t seconds = std::chrono::system_clock::to_time_t(msg.time);
    fmt::format_to(std::back_inserter(dest), R"({{"ts":"{:%Y-%m-%dT%H:%M:%S}.{:03}Z","level":)",
                   fmt::gmtime(seconds), since_epoch.count() % 1000);
    const auto level = spdlog::level::to_string_view(msg.level);
    append_json_string(dest, std::string_view(level.data(), level.size()));
    const std::string_view text(msg.payload.data(), msg.payload.size());
    // A message that is a JSON object of its own fields: merged.
    if (text.size() >= 2 && text.front() == '{' && text.back() == '}') {
      dest.push_back(',');
      dest.append(text.substr(1));
    } else {
      dest.append(std::string_view(R"(,"msg":)"));
      append_json_string(dest, text);
      dest.push_back('}');
    }
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

}  // namespace

core::Result<LogFormat> parse_log_format(std::string_view text, bool terminal) {
  if (text == "text") return LogFormat::text;
  if (text == "json") return LogFormat::json;
  if (text == "auto" || text.empty()) return terminal ? LogFormat::text : LogFormat::json;
  return core::invalid("--log-format",
                       fmt::format("--log-format must be text, json or auto; got \"{}\"", text));
}

void use_log_format(LogFormat format) {
  auto logger = std::make_shared<spdlog::logger>(
      "errand", std::make_shared<spdlog::sinks::stdout_color_sink_mt>());
  if (format == LogFormat::json) {
    logger->set_formatter(std::make_unique<JsonFormatter>());
  }
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace errand::cli
