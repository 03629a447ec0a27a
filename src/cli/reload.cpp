#include "cli/reload.hpp"

#include "core/fields.hpp"  // ERRAND_TRY

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/json/serialize.hpp>

#include <sys/stat.h>

#include <cctype>
#include <fstream>

namespace errand::cli {
namespace json = boost::json;
using boost::asio::awaitable;

namespace {

// A key file: one ROLE:SECRET a line; blank lines and lines starting with #
// are skipped. Errors name the file and line (never the secret).
core::Result<std::vector<std::string>> read_key_file(const std::string& path,
                                                     std::string_view field) {
  std::ifstream in(path);
  if (!in) return core::invalid(std::string(field), fmt::format("{}: cannot read {}", field, path));
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    spdlog::warn("{} is readable by other users: chmod 600 it", path);
  }
  std::vector<std::string> texts;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
    const auto start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    line.erase(0, start);
    if (auto key = api::parse_api_key(line); !key) {
      return core::invalid(std::string(field),
                           fmt::format("{}:{}: {}", path, number, key.error().message));
    }
    texts.push_back(line);
  }
  return texts;
}

json::array to_array(const std::vector<std::string>& names) {
  json::array out;
  for (const auto& n : names) out.emplace_back(n);
  return out;
}

}  // namespace

std::vector<std::string> split_keys(std::string_view list) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= list.size()) {
    const auto comma = list.find(',', start);
    const auto item = list.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

core::Result<AccessConfig> resolve_access(const AccessFlags& flags, const ServerSettings& file) {
  std::vector<std::string> texts = flags.keys;
  for (const auto& [path, field] :
       {std::pair{flags.key_file, "--key-file"}, std::pair{file.key_file, "key_file"}}) {
    if (path.empty()) continue;
    ERRAND_TRY(more, read_key_file(path, field));
    texts.insert(texts.end(), more.begin(), more.end());
  }
  AccessConfig out;
  for (const auto& t : texts) {
    auto key = api::parse_api_key(t);
    if (!key) return core::invalid("--key", key.error().message);
    out.keys.push_back(std::move(*key));
  }
  if (out.keys.empty() && !flags.loopback && !flags.insecure) {
    return core::invalid("--key",
                         "refusing to listen on a non-loopback address without API keys: anyone "
                         "who can reach it could run jobs. Add --key admin:SECRET (or "
                         "ERRAND_KEYS, --key-file), listen on 127.0.0.1, or pass --insecure.");
  }
  out.cors_origins = flags.cors_origins;
  out.cors_origins.insert(out.cors_origins.end(), file.cors_origins.begin(),
                          file.cors_origins.end());
  for (const auto& origin : out.cors_origins) {
    if (auto ok = api::validate_cors_origin(origin, "--cors-origin"); !ok) return ok.error();
    // Without keys every request is admin, and an allowed origin's pages may
    // send state-changing requests and read the answers: so any origin,
    // named or "*", would make its pages admin here.
    if (out.keys.empty() && !flags.insecure) {
      return core::invalid(
          "--cors-origin",
          origin == "*"
              ? std::string("--cors-origin '*' on a server without API keys would let every web "
                            "page its visitors open act as admin here (enqueue, read payloads and "
                            "push secrets). Add --key admin:SECRET (or --key-file), or pass "
                            "--insecure.")
              : fmt::format("--cors-origin '{}' on a server without API keys would let every "
                            "page of that origin (and any script injected into one) act as admin "
                            "here (enqueue, read payloads and push secrets). Add --key "
                            "admin:SECRET (or --key-file), or pass --insecure.",
                            origin));
    }
  }
  return out;
}

Reloader::Reloader(AccessFlags flags, std::string config, std::string tls_cert_flag,
                   std::string tls_key_flag, Targets targets)
    : flags_(std::move(flags)),
      config_(std::move(config)),
      tls_cert_flag_(std::move(tls_cert_flag)),
      tls_key_flag_(std::move(tls_key_flag)),
      targets_(std::move(targets)) {}

awaitable<core::Result<json::object>> Reloader::reload() {
  if (running_.exchange(true)) {
    co_return core::make_error(core::errc::conflict, "a reload is already running", "reload");
  }
  struct Done {
    std::atomic<bool>& flag;
    ~Done() { flag = false; }
  } done{running_};

  // Everything is read and checked before anything changes.
  ConfigFile config;
  if (!config_.empty()) {
    auto loaded = load_config_file(config_);
    if (!loaded) co_return loaded.error();
    config = std::move(*loaded);
  }
  auto access = resolve_access(flags_, config.server);
  if (!access) co_return access.error();
  if (access->keys.empty() && targets_.auth.has_keys()) {
    co_return core::invalid("--key",
                            "the reload would leave the server without API keys; restart it to "
                            "run without keys");
  }
  const auto& cert = tls_cert_flag_.empty() ? config.server.tls_cert : tls_cert_flag_;
  const auto& key = tls_key_flag_.empty() ? config.server.tls_key : tls_key_flag_;
  std::function<void()> install_tls;
  if (targets_.tls) {
    if (cert.empty()) {
      co_return core::invalid("tls_cert",
                              "the server serves TLS: the reload must name tls_cert and tls_key "
                              "(restart it to turn TLS off)");
    }
    auto loaded = targets_.tls(cert, key);
    if (!loaded) co_return loaded.error();
    install_tls = std::move(*loaded);
  } else if (!cert.empty()) {
    co_return core::invalid("tls_cert",
                            "the server was started without TLS: restart it to turn TLS on");
  }

  targets_.auth.set_keys(access->keys);
  targets_.cors.set_origins(access->cors_origins);
  if (install_tls) install_tls();
  json::object out{{"config", config_.empty() ? json::value(nullptr) : json::value(config_)},
                   {"keys", access->keys.size()},
                   {"cors_origins", access->cors_origins.size()},
                   {"queues", config.queues.size()},
                   {"tls", static_cast<bool>(install_tls)}};
  if (config_.empty()) {
    out["schedules"] = json::object{
        {"created", json::array{}}, {"updated", json::array{}}, {"removed", json::array{}}};
    co_return out;
  }
  auto synced = co_await apply_config(targets_.engine, config);
  if (!synced) co_return synced.error();
  out["schedules"] = json::object{{"created", to_array(synced->created)},
                                  {"updated", to_array(synced->updated)},
                                  {"removed", to_array(synced->removed)}};
  co_return out;
}

void Reloader::log(std::string_view what, const core::Result<json::object>& done) {
  if (!done) {
    spdlog::error("{}: configuration not reloaded, the running one kept: {}", what,
                  done.error().message);
    return;
  }
  spdlog::info("{}: configuration reloaded: {}", what, json::serialize(*done));
}

}  // namespace errand::cli
