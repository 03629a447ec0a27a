// errand.toml as the server reads it at start and on reload
// (cli/config_file): TOML text (toml++, compiled here from its headers so
// that the fuzzer sees its branches), then the [[schedule]], [[queue]],
// [push] and [server] tables, validated. A bad file is an error that names
// the file, never a crash; a file let in holds what the server relies on.
#include "cli/config_file.hpp"
#include "core/json_text.hpp"

#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

namespace {

void expect(bool held) {
  if (!held) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace errand;
  static const std::string kPath = "/etc/errand/errand.toml";
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = cli::parse_config_text(text, kPath);
  if (!config) {
    expect(config.error().code == core::errc::invalid_argument);
    expect(config.error().message.starts_with(kPath + ":"));
    return 0;
  }
  std::set<std::string> names;
  for (const auto& s : config->schedules) {
    expect(names.insert(s.name).second);
    // A payload is stored and handed to workers as JSON that the API itself
    // would have taken.
    if (!s.payload.empty()) expect(bool(core::check_json(s.payload.stored(), "payload")));
  }
  names.clear();
  for (const auto& q : config->queues) expect(names.insert(q.name).second);
  const auto& server = config->server;
  expect(server.tls_cert.empty() == server.tls_key.empty());
  return 0;
}
