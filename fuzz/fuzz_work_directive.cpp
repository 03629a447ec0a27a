// `errand work`'s reading of a command's output (cli/work_protocol): each
// line is a log line or a directive (::progress, ::result, ::continue, …);
// a directive written wrongly is reported, never a crash. Lines split as the
// worker splits the stream.
#include "cli/work_protocol.hpp"

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto end = text.find('\n', start);
    const auto line = text.substr(start, end == std::string_view::npos ? text.npos : end - start);
    (void)errand::cli::parse_output_line(line);
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return 0;
}
