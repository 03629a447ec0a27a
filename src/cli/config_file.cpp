#include "cli/config_file.hpp"

#include "cli/store_choice.hpp"

#include "api/cors.hpp"
#include "api/host_policy.hpp"
#include "core/duration.hpp"
#include "core/fields.hpp"  // ERRAND_TRY
#include "engine/push/address_guard.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>
#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <sstream>

namespace errand::cli {
namespace json = boost::json;
namespace {

// Where a problem is: "errand.toml:9: [[schedule]] 2 \"nightly\", key \"cron\"".
class Place {
 public:
  Place(std::string path, std::size_t index, const toml::table& table,
        std::string_view kind = "[[schedule]]")
      : path_(std::move(path)), kind_(kind), index_(index), table_(table) {}
  void name(std::string n) { name_ = std::move(n); }

  core::Error error(std::string_view key, std::string_view message) const {
    std::size_t line = table_.source().begin.line;
    if (const auto* node = table_.get(key)) line = node->source().begin.line;
    std::string where = fmt::format("{}:{}: {}", path_, line, kind_);
    if (index_ > 0) where += fmt::format(" {}", index_);
    if (!name_.empty()) where += fmt::format(" \"{}\"", name_);
    if (!key.empty()) where += fmt::format(", key \"{}\"", key);
    return core::invalid(std::string(key), fmt::format("{}: {}", where, message));
  }

 private:
  std::string path_;
  std::string_view kind_;
  std::size_t index_;
  const toml::table& table_;
  std::string name_;
};

// A TOML value of `key` as JSON, refused where the API would refuse it as
// JSON: nan and inf (JSON has no such numbers; Boost.JSON would write them
// as the non-JSON NaN and Infinity) and arrays and tables nested deeper than
// core::kMaxJsonDepth. Dates and times become strings.
core::Result<json::value> to_json(const toml::node& node, const Place& at, std::string_view key,
                                  std::size_t depth = 0) {
  if ((node.is_table() || node.is_array()) && depth == core::kMaxJsonDepth) {
    return at.error(key,
                    fmt::format("nests arrays and tables more than {} deep", core::kMaxJsonDepth));
  }
  if (const auto* t = node.as_table()) {
    json::object o;
    for (auto&& [k, v] : *t) {
      ERRAND_TRY(value, to_json(v, at, key, depth + 1));
      o[k.str()] = std::move(value);
    }
    return o;
  }
  if (const auto* a = node.as_array()) {
    json::array out;
    for (const auto& v : *a) {
      ERRAND_TRY(value, to_json(v, at, key, depth + 1));
      out.push_back(std::move(value));
    }
    return out;
  }
  if (const auto* s = node.as_string()) return json::value(s->get());
  if (const auto* i = node.as_integer()) return json::value(i->get());
  if (const auto* f = node.as_floating_point()) {
    if (!std::isfinite(f->get())) return at.error(key, "nan and inf are not JSON numbers");
    return json::value(f->get());
  }
  if (const auto* b = node.as_boolean()) return json::value(b->get());
  std::ostringstream text;  // dates and times: as TOML writes them (RFC 3339)
  node.visit([&](const auto& v) { text << v; });
  return json::value(text.str());
}

core::Result<std::string> text(const toml::table& t, const Place& at, std::string_view key,
                               bool required) {
  const auto* node = t.get(key);
  if (!node) {
    if (required) return at.error(key, "is required");
    return std::string();
  }
  if (!node->is_string()) return at.error(key, "must be a string");
  return std::string(node->as_string()->get());
}

core::Result<std::optional<std::int64_t>> integer(const toml::table& t, const Place& at,
                                                  std::string_view key) {
  const auto* node = t.get(key);
  if (!node) return std::optional<std::int64_t>{};
  if (!node->is_integer()) return at.error(key, "must be an integer");
  return std::optional<std::int64_t>(node->as_integer()->get());
}

// A TOML value, or a string of JSON kept verbatim.
core::Result<core::RawJson> payload(const toml::table& t, const Place& at) {
  const auto* node = t.get("payload");
  if (!node) return core::RawJson();
  if (!node->is_string()) {
    ERRAND_TRY(value, to_json(*node, at, "payload"));
    return core::RawJson::from_value(value);
  }
  auto v = core::RawJson::parse(node->as_string()->get(), "payload");
  if (!v) return at.error("payload", "a string payload must be JSON (" + v.error().message + ")");
  return v;
}

constexpr std::string_view kKeys[] = {"name",    "cron",    "timezone", "queue",
                                      "type",    "payload", "priority", "max_attempts",
                                      "overlap", "paused",  "catch_up"};

core::Result<void> only_known_keys(const toml::table& t, const Place& at) {
  for (auto&& [k, v] : t) {
    if (std::find(std::begin(kKeys), std::end(kKeys), k.str()) == std::end(kKeys)) {
      return at.error(k.str(),
                      "unknown key (expected name, cron, timezone, queue, type, payload, "
                      "priority, max_attempts, overlap, paused, catch_up)");
    }
  }
  return {};
}

core::Result<void> read_options(const toml::table& t, const Place& at, core::ScheduleSpec& s) {
  ERRAND_TRY(priority, integer(t, at, "priority"));
  s.priority = priority;
  ERRAND_TRY(attempts, integer(t, at, "max_attempts"));
  if (attempts) {
    if (*attempts < 1 || *attempts > core::kMaxMaxAttempts) {
      return at.error("max_attempts", fmt::format("must be 1 to {}", core::kMaxMaxAttempts));
    }
    s.max_attempts = static_cast<int>(*attempts);
  }
  ERRAND_TRY(overlap, text(t, at, "overlap", false));
  if (!overlap.empty()) {
    auto o = core::parse_overlap(overlap);
    if (!o) return at.error("overlap", "must be \"allow\" or \"skip\"");
    s.overlap = *o;
  }
  if (const auto* paused = t.get("paused")) {
    if (!paused->is_boolean()) return at.error("paused", "must be true or false");
    s.paused = paused->as_boolean()->get();
  }
  ERRAND_TRY(catch_up, text(t, at, "catch_up", false));
  if (!catch_up.empty()) {
    auto d = core::parse_duration(catch_up, "catch_up");
    if (!d) return at.error("catch_up", d.error().message);
    s.catch_up = *d;
  }
  return {};
}

core::Result<core::ScheduleSpec> read_schedule(const toml::table& t, Place& at) {
  core::ScheduleSpec s{.source = core::ScheduleSource::config};
  ERRAND_TRY(name, text(t, at, "name", true));
  s.name = name;
  at.name(name);
  if (auto ok = only_known_keys(t, at); !ok) return ok.error();
  ERRAND_TRY(cron, text(t, at, "cron", true));
  s.cron = cron;
  ERRAND_TRY(zone, text(t, at, "timezone", false));
  if (!zone.empty()) s.timezone = zone;
  ERRAND_TRY(queue, text(t, at, "queue", true));
  s.queue = queue;
  ERRAND_TRY(type, text(t, at, "type", false));
  s.type = type;
  ERRAND_TRY(body, payload(t, at));
  s.payload = std::move(body);
  if (auto ok = read_options(t, at, s); !ok) return ok.error();
  if (auto compiled = core::compile_schedule(s); !compiled) {
    return at.error(compiled.error().field, compiled.error().message);
  }
  return s;
}

core::Result<QueueDecl> read_queue(const toml::table& t, Place& at) {
  QueueDecl q;
  ERRAND_TRY(name, text(t, at, "name", true));
  at.name(name);
  if (auto ok = core::validate_queue_name(name, "name"); !ok)
    return at.error("name", ok.error().message);
  q.name = name;
  for (auto&& [k, v] : t) {
    if (k.str() != "name" && k.str() != "concurrency" && k.str() != "push") {
      return at.error(k.str(), "unknown key (expected name, concurrency, push)");
    }
  }
  ERRAND_TRY(concurrency, integer(t, at, "concurrency"));
  if (concurrency && (*concurrency < 1 || *concurrency > core::kMaxConcurrency)) {
    return at.error("concurrency", fmt::format("must be 1 to {}", core::kMaxConcurrency));
  }
  q.concurrency = concurrency;
  if (const auto* push = t.get("push")) {
    if (!push->is_table()) return at.error("push", "must be a table {url = \"…\", …}");
    ERRAND_TRY(object, to_json(*push, at, "push"));
    auto config = core::parse_push_config(object.get_object(), "push");
    if (!config) return at.error("push", config.error().message);
    q.push = std::move(*config);
  }
  return q;
}

core::Result<std::vector<QueueDecl>> read_queues(const toml::table& root, const std::string& path) {
  std::vector<QueueDecl> out;
  const auto* list = root.get("queue");
  if (!list) return out;
  if (!list->is_array_of_tables()) {
    return core::invalid("queue", fmt::format("{}:{}: \"queue\" must be [[queue]] tables", path,
                                              list->source().begin.line));
  }
  std::set<std::string> names;
  std::size_t index = 0;
  for (const auto& node : *list->as_array()) {
    const auto& table = *node.as_table();
    Place at(path, ++index, table, "[[queue]]");
    auto q = read_queue(table, at);
    if (!q) return q.error();
    if (!names.insert(q->name).second) return at.error("name", "another [[queue]] has this name");
    out.push_back(std::move(*q));
  }
  return out;
}

core::Result<PushSettings> read_push(const toml::table& root, const std::string& path) {
  PushSettings s;
  const auto* node = root.get("push");
  if (!node) return s;
  if (!node->is_table()) {
    return core::invalid("push", fmt::format("{}:{}: \"push\" must be a [push] table", path,
                                             node->source().begin.line));
  }
  const auto& t = *node->as_table();
  Place at(path, 0, t, "[push]");
  for (auto&& [k, v] : t) {
    const auto key = k.str();
    if (key == "allow_private" || key == "insecure_tls") {
      if (!v.is_boolean()) return at.error(key, "must be true or false");
      (key == "allow_private" ? s.allow_private : s.insecure_tls) = v.as_boolean()->get();
    } else if (key == "ca_file") {
      if (!v.is_string()) return at.error(key, "must be a string");
      s.ca_file = v.as_string()->get();
    } else if (key == "allow") {
      if (!v.is_array()) return at.error(key, "must be an array of CIDR strings");
      std::size_t i = 0;
      for (const auto& item : *v.as_array()) {
        const std::string field = fmt::format("allow[{}]", i++);
        if (!item.is_string()) return at.error(key, field + " must be a string");
        auto cidr = engine::push::parse_cidr(item.as_string()->get(), field);
        if (!cidr) return at.error(key, cidr.error().message);
        s.allow.push_back(item.as_string()->get());
      }
    } else {
      return at.error(key, "unknown key (expected allow_private, allow, insecure_tls, ca_file)");
    }
  }
  return s;
}

core::Result<std::optional<std::int64_t>> bounded(const toml::node& v, const Place& at,
                                                  std::string_view key, std::int64_t max) {
  if (!v.is_integer() || v.as_integer()->get() < 1 || v.as_integer()->get() > max) {
    return at.error(key, fmt::format("must be an integer from 1 to {}", max));
  }
  return std::optional<std::int64_t>(v.as_integer()->get());
}

core::Result<ServerSettings> read_server(const toml::table& root, const std::string& path) {
  ServerSettings s;
  const auto* node = root.get("server");
  if (!node) return s;
  if (!node->is_table()) {
    return core::invalid("server", fmt::format("{}:{}: \"server\" must be a [server] table", path,
                                               node->source().begin.line));
  }
  const auto& t = *node->as_table();
  Place at(path, 0, t, "[server]");
  for (auto&& [k, v] : t) {
    const auto key = k.str();
    if (key == "max_connections") {
      ERRAND_TRY(n, bounded(v, at, key, 1'000'000));
      s.max_connections = n;
    } else if (key == "max_queues") {
      ERRAND_TRY(n, bounded(v, at, key, 10'000'000));
      s.max_queues = n;
    } else if (key == "allowed_hosts") {
      if (!v.is_array()) return at.error(key, "must be an array of host names");
      std::size_t i = 0;
      for (const auto& item : *v.as_array()) {
        const std::string field = fmt::format("allowed_hosts[{}]", i++);
        if (!item.is_string()) return at.error(key, field + " must be a string");
        auto host = api::parse_allowed_host(item.as_string()->get(), field);
        if (!host) return at.error(key, host.error().message);
        s.allowed_hosts.push_back(std::move(*host));
      }
    } else if (key == "store") {
      if (!v.is_string()) return at.error(key, "must be a string: sqlite:DIR or postgres://…");
      auto choice = parse_store(v.as_string()->get(), "store");
      if (!choice) return at.error(key, choice.error().message);
      s.store = v.as_string()->get();
    } else if (key == "key_file" || key == "tls_cert" || key == "tls_key") {
      if (!v.is_string() || v.as_string()->get().empty()) {
        return at.error(key, "must be a file name");
      }
      // A relative name is relative to the config file's directory.
      const auto file = std::filesystem::path(path).parent_path() / v.as_string()->get();
      (key == "key_file"   ? s.key_file
       : key == "tls_cert" ? s.tls_cert
                           : s.tls_key) = file.lexically_normal().string();
    } else if (key == "cors_origins") {
      if (!v.is_array()) return at.error(key, "must be an array of origins");
      std::size_t i = 0;
      for (const auto& item : *v.as_array()) {
        const std::string field = fmt::format("cors_origins[{}]", i++);
        if (!item.is_string()) return at.error(key, field + " must be a string");
        if (auto ok = api::validate_cors_origin(item.as_string()->get(), field); !ok) {
          return at.error(key, ok.error().message);
        }
        s.cors_origins.push_back(item.as_string()->get());
      }
    } else {
      return at.error(key,
                      "unknown key (expected max_connections, max_queues, allowed_hosts, store, "
                      "key_file, cors_origins, tls_cert, tls_key)");
    }
  }
  if (s.tls_cert.empty() != s.tls_key.empty()) {
    return at.error(s.tls_cert.empty() ? "tls_cert" : "tls_key",
                    "tls_cert and tls_key go together: give both or neither");
  }
  return s;
}

core::Result<std::vector<core::ScheduleSpec>> read_schedules(const toml::table& root,
                                                             const std::string& path) {
  std::vector<core::ScheduleSpec> out;
  for (auto&& [k, v] : root) {
    if (k.str() != "schedule" && k.str() != "queue" && k.str() != "push" && k.str() != "server") {
      return core::invalid(std::string(k.str()),
                           fmt::format("{}:{}: unknown key \"{}\" (expected [[schedule]], "
                                       "[[queue]], [push] or [server])",
                                       path, k.source().begin.line, k.str()));
    }
  }
  const auto* list = root.get("schedule");
  if (!list) return out;
  if (!list->is_array_of_tables()) {
    return core::invalid("schedule", fmt::format("{}:{}: \"schedule\" must be [[schedule]] tables",
                                                 path, list->source().begin.line));
  }
  std::set<std::string> names;
  std::size_t index = 0;
  for (const auto& node : *list->as_array()) {
    const auto& table = *node.as_table();
    Place at(path, ++index, table);
    auto s = read_schedule(table, at);
    if (!s) return s.error();
    if (!names.insert(s->name).second)
      return at.error("name", "another [[schedule]] has this name");
    out.push_back(std::move(*s));
  }
  return out;
}

// A document toml++ refused: where, and why.
core::Error parse_failure(const toml::parse_error& e, const std::string& path) {
  const auto line = e.source().begin.line;
  // toml++ reports a file it cannot open at line 0.
  if (line == 0) return core::invalid("config", fmt::format("{}: {}", path, e.description()));
  return core::invalid("config", fmt::format("{}:{}: {}", path, line, e.description()));
}

core::Result<ConfigFile> read_config(const toml::table& root, const std::string& path) {
  auto schedules = read_schedules(root, path);
  if (!schedules) return schedules.error();
  auto queues = read_queues(root, path);
  if (!queues) return queues.error();
  auto push = read_push(root, path);
  if (!push) return push.error();
  auto server = read_server(root, path);
  if (!server) return server.error();
  return ConfigFile{.path = path,
                    .schedules = std::move(*schedules),
                    .queues = std::move(*queues),
                    .push = std::move(*push),
                    .server = std::move(*server)};
}

}  // namespace

core::Result<ConfigFile> load_config_file(const std::string& path) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return parse_failure(e, path);
  }
  return read_config(root, path);
}

core::Result<ConfigFile> parse_config_text(std::string_view text, const std::string& path) {
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    return parse_failure(e, path);
  }
  return read_config(root, path);
}

}  // namespace errand::cli
