#include "cli/server_command.hpp"

#include "api/auth.hpp"
#include "api/router.hpp"
#include "api/server.hpp"
#include "cli/config_file.hpp"
#include "cli/log_format.hpp"
#include "cli/node_identity.hpp"
#include "cli/open_store.hpp"
#include "cli/reload.hpp"
#include "cli/store_choice.hpp"
#include "cli/version.hpp"
#include "core/duration.hpp"
#include "engine/database_clock.hpp"
#include "engine/engine.hpp"
#include "engine/otlp.hpp"
#include "engine/push/dispatcher.hpp"
#include "store/faulty/faulty_store.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/signal_set.hpp>

#include <fmt/format.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>

#include <unistd.h>
#include <thread>

namespace errand::cli {
namespace asio = boost::asio;
namespace {

// The server's own clock: the system's, moved by ERRAND_TEST_CLOCK_SKEW_MS
// milliseconds when that is set — a test hook showing that servers sharing a
// PostgreSQL database go by its clock, not their own.
core::Result<std::unique_ptr<core::ShiftedClock>> own_clock_of(const core::Clock& system) {
  const char* skew = std::getenv("ERRAND_TEST_CLOCK_SKEW_MS");
  if (skew == nullptr || *skew == '\0') return std::make_unique<core::ShiftedClock>(system);
  std::int64_t ms = 0;
  const std::string_view text(skew);
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
  if (ec != std::errc{} || end != text.data() + text.size()) {
    return core::make_error(core::errc::invalid_argument,
                            fmt::format("ERRAND_TEST_CLOCK_SKEW_MS must be a whole number of "
                                        "milliseconds, not \"{}\"",
                                        text),
                            "ERRAND_TEST_CLOCK_SKEW_MS");
  }
  spdlog::warn("ERRAND_TEST_CLOCK_SKEW_MS: this server's own clock is moved by {} ms", ms);
  return std::make_unique<core::ShiftedClock>(system, core::Millis{ms});
}

struct ServerArgs {
  std::string listen = "127.0.0.1:8740";
  std::string data = "./errand-data";
  bool data_given = false;  // --data was on the command line
  std::string store;        // --store or ERRAND_STORE
  std::string store_timeout = "30s";
  std::vector<std::string> keys;
  std::string key_file;  // --key-file: one ROLE:SECRET a line
  bool insecure = false;
  std::size_t max_payload = 1 << 20;
  std::size_t max_body = 64 << 20;
  std::string retention = "7d";
  std::string token_ttl = "7d";
  std::vector<std::string> cors_origins;
  std::string dashboard_password;
  std::string session_ttl = "12h";
  unsigned threads = 0;
  std::string log_level = "info";
  std::string log_format = "auto";
  bool log_requests = false;
  std::string config;  // --config FILE: [[schedule]] tables
  // Push delivery (the config file's [push] table adds to these).
  bool push_allow_private = false;
  std::vector<std::string> push_allow;
  bool push_insecure_tls = false;
  std::string push_ca_file;
  std::int64_t push_max_continuations = 1000;
  std::size_t push_max_state = 1 << 20;
  // Limits (the config file's [server] sets those not given here).
  std::optional<std::size_t> max_connections;
  std::optional<std::size_t> max_queues;
  std::string header_timeout = "10s";
  std::vector<std::string> allowed_hosts;
  std::size_t max_streams_per_token = 8;
  std::size_t max_streams_per_client = 256;
  std::size_t metrics_max_queues = 1000;  // queues with their own series in GET /metrics
  std::string advertise_url;            // the node's address in the registry; empty: from --listen
  std::string metrics_listen;           // HOST:PORT serving GET /metrics without credentials
  std::size_t auth_max_failures = 100;  // wrong keys or tokens per address and minute
  std::string otlp_endpoint;            // span export (engine/otlp.hpp); empty: none
  std::vector<std::string> otlp_headers;  // K=V
  std::string tls_cert;                   // --tls-cert: PEM certificate chain; with tls_key, HTTPS
  std::string tls_key;                    // --tls-key: its PEM private key
};

// --otlp-endpoint and --otlp-header K=V: where spans go (engine/otlp.hpp).
core::Result<std::optional<engine::OtlpOptions>> otlp_options(const ServerArgs& args) {
  if (args.otlp_endpoint.empty()) {
    if (!args.otlp_headers.empty()) {
      return core::invalid("--otlp-header", "--otlp-header needs --otlp-endpoint");
    }
    return std::optional<engine::OtlpOptions>{};
  }
  if (auto ok = engine::OtlpExporter::check_endpoint(args.otlp_endpoint); !ok) return ok.error();
  engine::OtlpOptions o{.endpoint = args.otlp_endpoint};
  for (const auto& h : args.otlp_headers) {
    const auto eq = h.find('=');
    if (eq == std::string::npos || eq == 0) {
      return core::invalid("--otlp-header",
                           "--otlp-header must be NAME=VALUE, e.g. authorization=Bearer…");
    }
    o.headers.push_back({h.substr(0, eq), h.substr(eq + 1)});
  }
  o.resource.service_version = std::string(version());
  return std::optional(std::move(o));
}

constexpr std::size_t kDefaultMaxConnections = 10'000;
// Descriptors kept for the database, push calls, the listener and timers.
constexpr std::size_t kReservedDescriptors = 128;
constexpr std::size_t kDefaultMaxQueues = 10'000;

// Lifts the soft descriptor limit to the hard one: idle keep-alive
// connections and event streams each hold one.
std::size_t raise_descriptor_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return 1024;
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = std::min<rlim_t>(lim.rlim_max, 1 << 20);
    (void)::setrlimit(RLIMIT_NOFILE, &lim);
    (void)::getrlimit(RLIMIT_NOFILE, &lim);
  }
  return lim.rlim_cur == RLIM_INFINITY ? std::size_t{1} << 20
                                       : static_cast<std::size_t>(lim.rlim_cur);
}

// Connections, time-outs and Host names from the flags and the file's [server].
core::Result<void> apply_limits(const ServerArgs& args, const ServerSettings& file,
                                api::ServerOptions& options, api::HostPolicy& hosts) {
  const auto descriptors = raise_descriptor_limit();
  const auto room =
      descriptors > kReservedDescriptors + 16 ? descriptors - kReservedDescriptors : 16;
  if (args.max_connections) {
    options.max_connections = *args.max_connections;
  } else if (file.max_connections) {
    options.max_connections = static_cast<std::size_t>(*file.max_connections);
  } else {
    options.max_connections = std::min(kDefaultMaxConnections, room);
  }
  if (options.max_connections < 1)
    return core::invalid("--max-connections", "--max-connections must be at least 1");
  if (options.max_connections > room) {
    spdlog::warn(
        "--max-connections {} leaves too few of the {} file descriptors (ulimit -n) for "
        "the database and push calls: raise ulimit -n or lower --max-connections",
        options.max_connections, descriptors);
  }
  auto header_timeout = core::parse_duration(args.header_timeout, "--header-timeout");
  if (!header_timeout) return header_timeout.error();
  if (header_timeout->count() < 100)
    return core::invalid("--header-timeout", "--header-timeout must be at least 100ms");
  options.header_timeout = *header_timeout;
  hosts.allowed = file.allowed_hosts;
  for (const auto& text : args.allowed_hosts) {
    auto host = api::parse_allowed_host(text, "--allowed-host");
    if (!host) return host.error();
    hosts.allowed.push_back(std::move(*host));
  }
  return {};
}

// The dispatcher's options from the flags and the config file's [push].
core::Result<engine::push::DispatcherOptions> push_options(const ServerArgs& args,
                                                           const PushSettings& file) {
  engine::push::DispatcherOptions o;
  auto& http = o.http;
  http.addresses.allow_private = args.push_allow_private || file.allow_private;
  std::vector<std::string> allow = args.push_allow;
  allow.insert(allow.end(), file.allow.begin(), file.allow.end());
  for (const auto& text : allow) {
    auto cidr = engine::push::parse_cidr(text, "--push-allow");
    if (!cidr) return cidr.error();
    http.addresses.allowed.push_back(*cidr);
  }
  http.insecure_tls = args.push_insecure_tls || file.insecure_tls;
  http.ca_file = args.push_ca_file.empty() ? file.ca_file : args.push_ca_file;
  http.user_agent = "errand";
  o.limits = {.max_continuations = args.push_max_continuations,
              .max_state_bytes = args.push_max_state};
  return o;
}

// "127.0.0.1:8740", "[::1]:8740", "0.0.0.0:80", ":8740" (all interfaces).
bool split_listen(const std::string& text, std::string& host, std::uint16_t& port) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) return false;
  host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  try {
    const int p = std::stoi(text.substr(colon + 1));
    if (p < 0 || p > 65535) return false;
    port = static_cast<std::uint16_t>(p);
  } catch (...) {
    return false;
  }
  return true;
}

bool is_loopback_host(const std::string& host) {
  boost::system::error_code ec;
  const auto a = asio::ip::make_address(host, ec);
  return !ec && a.is_loopback();
}

// The routes of --metrics-listen: GET /metrics, open to anyone who can
// reach that address.
std::vector<api::Route> metrics_listener_routes() {
  std::vector<api::Route> out;
  for (auto route : api::stats_routes()) {
    if (route.pattern != "/metrics") continue;
    route.access = api::Access::open;
    out.push_back(route);
  }
  return out;
}

asio::awaitable<void> reload_on_hangup(Reloader& reloader) {
  auto done = co_await reloader.reload();
  Reloader::log("SIGHUP", done);
}

// What the flags and ERRAND_KEYS say of keys and CORS origins.
AccessFlags access_flags(const ServerArgs& args, const std::string& host) {
  AccessFlags flags{.keys = args.keys,
                    .key_file = args.key_file,
                    .cors_origins = args.cors_origins,
                    .insecure = args.insecure,
                    .loopback = is_loopback_host(host)};
  if (const char* env = std::getenv("ERRAND_KEYS"); env && *env) {
    auto more = split_keys(env);
    flags.keys.insert(flags.keys.end(), more.begin(), more.end());
  }
  return flags;
}

// The store the flags, ERRAND_STORE or the config file name: --store (or
// ERRAND_STORE) and --data are two ways to say one thing, so both is an error;
// the config file's `store` applies when neither was given.
core::Result<StoreChoice> choose_store(const ServerArgs& args, const ServerSettings& file) {
  if (!args.store.empty()) {
    if (args.data_given) {
      return core::invalid("--store",
                           "give --store or --data, not both (--data DIR is "
                           "--store sqlite:DIR)");
    }
    return parse_store(args.store, "--store");
  }
  if (!args.data_given && file.store) return parse_store(*file.store, "store");
  return StoreChoice{
      .kind = StoreChoice::Kind::sqlite, .dir = args.data, .shown = "sqlite:" + args.data};
}

int run_server(const ServerArgs& args) {
  const auto log_format = parse_log_format(args.log_format, isatty(STDOUT_FILENO) != 0);
  if (!log_format) {
    std::cerr << "errand: " << log_format.error().message << "\n";
    return 2;
  }
  use_log_format(*log_format);
  spdlog::set_level(spdlog::level::from_str(args.log_level));
  api::ServerOptions options;
  options.log_requests = args.log_requests;
  options.json_logs = *log_format == LogFormat::json;
  if (!split_listen(args.listen, options.host, options.port)) {
    std::cerr << "errand: --listen must be HOST:PORT, e.g. 127.0.0.1:8740; got " << args.listen
              << "\n";
    return 2;
  }
  options.max_body = args.max_body;
  auto retention = core::parse_duration(args.retention, "--retention");
  if (!retention) {
    std::cerr << "errand: " << retention.error().message << "\n";
    return 2;
  }
  auto token_ttl = core::parse_duration(args.token_ttl, "--token-ttl");
  if (!token_ttl) {
    std::cerr << "errand: " << token_ttl.error().message << "\n";
    return 2;
  }
  auto session_ttl = core::parse_duration(args.session_ttl, "--session-ttl");
  if (!session_ttl) {
    std::cerr << "errand: " << session_ttl.error().message << "\n";
    return 2;
  }
  if (!args.dashboard_password.empty() && args.dashboard_password.size() < 12) {
    std::cerr << "errand: --dashboard-password must be at least 12 characters\n";
    return 2;
  }

  ConfigFile config;
  if (!args.config.empty()) {
    auto loaded = load_config_file(args.config);
    if (!loaded) {
      std::cerr << "errand: " << loaded.error().message << "\n";
      return 2;
    }
    config = std::move(*loaded);
  }
  const auto flags = access_flags(args, options.host);
  auto access = resolve_access(flags, config.server);
  if (!access) {
    std::cerr << "errand: " << access.error().message << "\n";
    return 2;
  }
  const auto& keys = access->keys;
  // TLS: --tls-cert and --tls-key, else the config file's tls_cert and tls_key.
  if (args.tls_cert.empty() != args.tls_key.empty()) {
    std::cerr << "errand: "
              << (args.tls_cert.empty() ? "--tls-key needs --tls-cert (the certificate it is the "
                                          "key of)"
                                        : "--tls-cert needs --tls-key (the certificate's private "
                                          "key)")
              << "\n";
    return 2;
  }
  options.tls = args.tls_cert.empty()
                    ? api::TlsFiles{.cert = config.server.tls_cert, .key = config.server.tls_key}
                    : api::TlsFiles{.cert = args.tls_cert, .key = args.tls_key};
  if (options.tls.enabled()) {
    // Checked before the store opens: a bad file is a usage error.
    if (auto loaded = api::load_tls_context(options.tls); !loaded) {
      std::cerr << "errand: " << loaded.error().message << "\n";
      return 2;
    }
  }

  api::HostPolicy hosts;
  if (auto ok = apply_limits(args, config.server, options, hosts); !ok) {
    std::cerr << "errand: " << ok.error().message << "\n";
    return 2;
  }
  const std::size_t max_queues = args.max_queues ? *args.max_queues
                                 : config.server.max_queues
                                     ? static_cast<std::size_t>(*config.server.max_queues)
                                     : kDefaultMaxQueues;
  auto push = push_options(args, config.push);
  if (!push) {
    std::cerr << "errand: " << push.error().message << "\n";
    return 2;
  }
  auto otlp_settings = otlp_options(args);
  if (!otlp_settings) {
    std::cerr << "errand: " << otlp_settings.error().message << "\n";
    return 2;
  }

  auto choice = choose_store(args, config.server);
  if (!choice) {
    std::cerr << "errand: " << choice.error().message << "\n";
    return 2;
  }
  auto store_wait = core::parse_duration(args.store_timeout, "--store-timeout");
  if (!store_wait) {
    std::cerr << "errand: " << store_wait.error().message << "\n";
    return 2;
  }
  core::SystemClock system_clock;
  auto own_clock = own_clock_of(system_clock);
  if (!own_clock) {
    std::cerr << "errand: " << own_clock.error().message << "\n";
    return 2;
  }
  core::metrics::Metrics metrics(args.metrics_max_queues);
  auto opened = open_store(*choice, *store_wait, own_clock->get(), &metrics);
  if (!opened) {
    std::cerr << "errand: " << opened.error().message << "\n";
    // A URL that cannot work is a usage error, like a bad flag.
    return opened.error().code == core::errc::invalid_argument ? 2 : 1;
  }
  // A test hook: the store fails the calls ERRAND_TEST_STORE_FAULTS names
  // ("job_insert_many:3,job_complete:1": the 3rd insert, the 1st complete),
  // as a store that lost its disk would (store/faulty/faulty_store.hpp).
  if (const char* faults = std::getenv("ERRAND_TEST_STORE_FAULTS"); faults && *faults) {
    auto parsed = store::parse_store_faults(faults, "ERRAND_TEST_STORE_FAULTS");
    if (!parsed) {
      std::cerr << "errand: " << parsed.error().message << "\n";
      opened->store->close();
      opened->undo();
      return 2;
    }
    auto faulty = std::make_unique<store::FaultyStore>(std::move(opened->store));
    for (auto& fault : *parsed) faulty->add(std::move(fault));
    spdlog::warn("ERRAND_TEST_STORE_FAULTS: the store fails these calls: {}", faults);
    opened->store = std::move(faulty);
  }
  auto& store = opened->store;
  auto secret = api::load_or_create_secret(*store, opened->legacy_secret);
  auto session_key = secret ? api::load_or_create_session_key(*store) : secret;
  if (!session_key) {
    std::cerr << "errand: " << session_key.error().message << "\n";
    store->close();
    opened->undo();
    return 1;
  }

  const unsigned threads = args.threads ? args.threads : 1;
  asio::io_context io(static_cast<int>(threads));
  engine::DatabaseClock clock(**own_clock, *store);
  // On PostgreSQL other servers may share the store: what they change (a
  // deadline, a schedule, a queue's push endpoint) is read again every
  // second or two.
  const bool shared = choice->kind == StoreChoice::Kind::postgres;
  engine::Engine engine(
      io.get_executor(), *store, clock,
      {.retention = *retention,
       .prune_interval = core::Millis{10 * 60'000},
       .max_timer_wait = shared ? core::Millis{1'000} : core::Millis{60'000},
       .max_queues = max_queues,
       .schedule_recheck = shared ? core::Millis{1'000} : engine::kDefaultScheduleRecheck,
       .metrics = &metrics,
       .json_logs = *log_format == LogFormat::json});
  std::unique_ptr<engine::OtlpExporter> otlp;
  if (*otlp_settings) {
    otlp = std::make_unique<engine::OtlpExporter>(io.get_executor(), std::move(**otlp_settings));
    engine.set_span_sink([&exporter = *otlp](engine::AttemptSpan span) { exporter.record(span); });
    spdlog::info("exporting spans to {}", args.otlp_endpoint);
  }
  if (shared) push->queue_refresh = core::Millis{2'000};
  push->metrics = &metrics;
  // Before the config file's queues: their push URLs get the dispatcher's check.
  std::unique_ptr<engine::push::Dispatcher> dispatcher;
  try {
    dispatcher = std::make_unique<engine::push::Dispatcher>(io.get_executor(), engine, *push);
  } catch (const std::exception& e) {
    std::cerr << "errand: " << e.what() << "\n";
    return 2;
  }
  if (!args.config.empty()) {
    auto synced = apply_config_file(io, engine, config);
    if (!synced) {
      std::cerr << "errand: applying the schedules of " << args.config << ": "
                << synced.error().message << "\n";
      store->close();
      opened->undo();
      return 1;
    }
    spdlog::info("{}: {} schedule(s) created, {} updated, {} removed", args.config,
                 synced->created.size(), synced->updated.size(), synced->removed.size());
  }
  if (push->http.insecure_tls) {
    spdlog::warn("--push-insecure-tls: push calls do not verify TLS certificates");
  }
  api::Auth auth(keys, *secret, args.insecure, args.dashboard_password);
  dispatcher->set_signal_urls([&auth](std::string_view id, std::string_view nonce) {
    return "/v1/signals/" + auth.make_signal_token(id, nonce);
  });
  api::Sessions sessions(*store, *session_key, {.ttl = *session_ttl});
  api::StreamLimits streams(
      {.per_token = args.max_streams_per_token, .per_client = args.max_streams_per_client});
  api::LoginThrottle logins;
  api::LoginThrottle key_failures({.max_failures = args.auth_max_failures,
                                   .window = core::Millis{60'000},
                                   .what = "API key or job token"});
  api::Services services{engine,
                         auth,
                         {.max_payload = args.max_payload,
                          .token_ttl = *token_ttl,
                          .max_metrics_queues = args.metrics_max_queues},
                         api::CorsPolicy(access->cors_origins),
                         sessions,
                         std::move(hosts),
                         streams,
                         logins,
                         key_failures,
                         &metrics,
                         commit()};
  api::Router router(api::all_routes());
  api::HttpServer server(io, router, services, options);
  auto endpoint = server.listen();
  if (!endpoint) {
    std::cerr << "errand: " << endpoint.error().message << "\n";
    store->close();
    opened->undo();
    return 1;
  }
  // --metrics-listen: GET /metrics without credentials, on its own address.
  api::Router metrics_router(metrics_listener_routes());
  std::optional<api::HttpServer> metrics_server;
  std::optional<asio::ip::tcp::endpoint> metrics_endpoint;
  if (!args.metrics_listen.empty()) {
    api::ServerOptions metrics_options{.max_connections = 64,
                                       .log_requests = options.log_requests,
                                       .json_logs = options.json_logs};
    if (!split_listen(args.metrics_listen, metrics_options.host, metrics_options.port)) {
      std::cerr << "errand: --metrics-listen must be HOST:PORT, e.g. 10.0.0.5:9740; got "
                << args.metrics_listen << "\n";
      store->close();
      opened->undo();
      return 2;
    }
    metrics_server.emplace(io, metrics_router, services, metrics_options);
    auto bound = metrics_server->listen();
    if (!bound) {
      std::cerr << "errand: --metrics-listen: " << bound.error().message << "\n";
      store->close();
      opened->undo();
      return 1;
    }
    metrics_endpoint = *bound;
  }
  // A reload's TLS files (the flags', else the config file's) are loaded
  // and checked with everything else, then given to new connections.
  Reloader::Targets targets{.auth = auth, .cors = services.cors, .engine = engine, .tls = {}};
  if (server.tls()) {
    targets.tls = [&server](const std::string& cert,
                            const std::string& key) -> core::Result<std::function<void()>> {
      auto context = api::load_tls_context({.cert = cert, .key = key});
      if (!context) {
        spdlog::error("TLS certificate not reloaded, the old one stays: {}",
                      context.error().message);
        return context.error();
      }
      return std::function<void()>([&server, cert, context = std::move(*context)] {
        server.use_tls(context);
        spdlog::info("TLS certificate reloaded from {}", cert);
      });
    };
  }
  Reloader reloader(flags, args.config, args.tls_cert, args.tls_key, std::move(targets));
  services.reload = [&reloader] { return reloader.reload(); };
  auto address = node_address(args.advertise_url, *endpoint, server.tls());
  if (!address) {
    std::cerr << "errand: " << address.error().message << "\n";
    store->close();
    opened->undo();
    return 2;
  }
  engine.nodes().announce(node_identity(*address, choice->kind, clock.now()), [&] {
    return core::NodeFigures{
        .waiting_claims = static_cast<std::int64_t>(engine.stats().waiting_claims),
        .event_streams = static_cast<std::int64_t>(streams.open_streams()),
        .workers_connected = static_cast<std::int64_t>(engine.history().workers_seen(clock.now()))};
  });
  // Signals are caught before anyone can learn the address, so a SIGTERM
  // right after start-up still shuts down gracefully.
  asio::signal_set signals(io, SIGINT, SIGTERM);
  asio::signal_set hangups(io, SIGHUP);
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("signal {}: finishing requests in flight, then exiting", signal);
    server.stop();
    if (metrics_server) metrics_server->stop();
    boost::system::error_code ignored;
    hangups.cancel(ignored);
    dispatcher->stop();
    engine.stop();
    if (otlp) otlp->stop();
  });
  // SIGHUP: the configuration read again (cli/reload.hpp), each time.
  std::function<void()> await_hangup = [&] {
    hangups.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      asio::co_spawn(io, reload_on_hangup(reloader), asio::detached);
      await_hangup();
    });
  };
  await_hangup();

  engine.start();
  dispatcher->start();
  if (otlp) otlp->start();
  server.start();
  if (metrics_server) metrics_server->start();

  const auto host = endpoint->address().is_v6() ? "[" + endpoint->address().to_string() + "]"
                                                : endpoint->address().to_string();
  std::cout << "errand listening on " << (server.tls() ? "https://" : "http://") << host << ":"
            << endpoint->port() << "\n"
            << opened->description << "\n";
  if (metrics_endpoint) {
    std::cout << "metrics (no credentials) on http://"
              << (metrics_endpoint->address().is_v6()
                      ? "[" + metrics_endpoint->address().to_string() + "]"
                      : metrics_endpoint->address().to_string())
              << ":" << metrics_endpoint->port() << "/metrics\n";
  }
  if (keys.empty()) {
    std::cout << (args.insecure ? "no API keys configured and --insecure: anyone who can reach "
                                  "this port has full access\n"
                                : "no API keys configured: answering loopback clients only\n");
  }
  std::cout << std::flush;

  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i) {
    pool.emplace_back([&] {
      pthread_setname_np(pthread_self(), "errand-http");
      io.run();
    });
  }
  io.run();
  for (auto& t : pool) t.join();
  if (auto marked = engine.nodes().mark_stopped(); !marked) {
    spdlog::warn("marking this node stopped in the store failed: {}", marked.error().message);
  }
  store->close();
  spdlog::info("stopped");
  return 0;
}

}  // namespace

void add_server_command(CLI::App& app) {
  auto args = std::make_shared<ServerArgs>();
  auto* cmd = app.add_subcommand("server", "Run the Errand server in the foreground");
  cmd->add_option("--listen", args->listen, "Address and port to listen on (port 0: any free port)")
      ->capture_default_str();
  cmd->add_option_function<std::string>(
      "--data",
      [args](const std::string& dir) {
        args->data = dir;
        args->data_given = true;
      },
      "Data directory of the embedded SQLite store (default ./errand-data; the same as "
      "--store sqlite:DIR)");
  cmd->add_option("--store", args->store,
                  "Where jobs live: sqlite:DIR, or postgres://USER:PASSWORD@HOST:PORT/DB"
                  "?schema=errand (also ERRAND_STORE; prefer it to keep the password out of ps)")
      ->envname("ERRAND_STORE");
  cmd->add_option("--store-timeout", args->store_timeout,
                  "How long a start waits for an unreachable PostgreSQL before giving up")
      ->capture_default_str();
  cmd->add_option(
      "--key", args->keys,
      "API key ROLE:SECRET, ROLE one of admin, producer, worker, metrics (repeatable; also "
      "ERRAND_KEYS=ROLE:SECRET,...). Visible in ps: prefer --key-file or ERRAND_KEYS");
  cmd->add_option("--key-file", args->key_file,
                  "File of API keys, one ROLE:SECRET a line (# comments); keep it mode 0600");
  cmd->add_flag("--insecure", args->insecure,
                "Allow listening on a non-loopback address without API keys");
  cmd->add_option("--max-payload", args->max_payload, "Largest job payload in bytes")
      ->capture_default_str();
  cmd->add_option("--max-body", args->max_body, "Largest request body in bytes")
      ->capture_default_str();
  cmd->add_option("--retention", args->retention, "How long finished jobs are kept")
      ->capture_default_str();
  cmd->add_option("--token-ttl", args->token_ttl,
                  "Lifetime of the per-job read tokens an enqueue returns")
      ->capture_default_str();
  cmd->add_option("--cors-origin", args->cors_origins,
                  "A browser origin that may read jobs with their tokens, e.g. "
                  "https://app.example.com (repeatable; * for any)");
  cmd->add_option("--dashboard-password", args->dashboard_password,
                  "A password (12+ characters) that logs in to the dashboard besides an admin key "
                  "(also ERRAND_DASHBOARD_PASSWORD)")
      ->envname("ERRAND_DASHBOARD_PASSWORD");
  cmd->add_option("--session-ttl", args->session_ttl, "How long a dashboard login lasts")
      ->capture_default_str();
  cmd->add_option("--threads", args->threads, "HTTP threads (default 1)");
  cmd->add_option("--log-format", args->log_format,
                  "text, json (one object a line) or auto: text on a terminal, else json")
      ->capture_default_str();
  cmd->add_flag("--log-requests", args->log_requests,
                "One log line per request at info level (request id, method, route, status, "
                "duration, bytes); without it they are at debug level");
  cmd->add_option("--log-level", args->log_level, "trace, debug, info, warn, error")
      ->capture_default_str();
  cmd->add_option("--config", args->config,
                  "TOML file of [[schedule]] tables, applied at start (docs/API.md, Schedules)");
  cmd->add_flag("--push-allow-private", args->push_allow_private,
                "Let push URLs reach loopback, private and link-local addresses (development)");
  cmd->add_option("--push-allow", args->push_allow,
                  "A non-public network push URLs may reach, e.g. 10.1.0.0/16 (repeatable)");
  cmd->add_flag("--push-insecure-tls", args->push_insecure_tls,
                "Do not verify push endpoints' TLS certificates (development only)");
  cmd->add_option("--push-ca-file", args->push_ca_file,
                  "PEM file of extra CA certificates trusted for push endpoints");
  cmd->add_option("--push-max-continuations", args->push_max_continuations,
                  "Most continuations of one push job")
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1'000'000}));
  cmd->add_option("--max-connections", args->max_connections,
                  "Most connections open at once; at the limit the one idle longest is closed "
                  "(default 10000, or less under a low ulimit -n)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
  cmd->add_option("--header-timeout", args->header_timeout,
                  "How long a new connection may take to send its first request head")
      ->capture_default_str();
  cmd->add_option("--max-queues", args->max_queues,
                  "Most queues; a request that would create one more gets 429 (default 10000)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}));
  cmd->add_option("--max-streams-per-token", args->max_streams_per_token,
                  "Most job event streams open at once with one job token")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{100'000}));
  cmd->add_option("--max-streams-per-client", args->max_streams_per_client,
                  "Most job event streams open at once from one client address")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
  cmd->add_option("--auth-max-failures", args->auth_max_failures,
                  "Wrong API keys or job tokens a client address may send in a minute; then its "
                  "requests get 429 for the minute, twice as long for each minute in a row")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
  cmd->add_option("--metrics-listen", args->metrics_listen,
                  "Also serve GET /metrics without credentials on this HOST:PORT (for a "
                  "Prometheus on a private network)");
  cmd->add_option("--metrics-max-queues", args->metrics_max_queues,
                  "Queues with their own series in GET /metrics; the others are summed under "
                  "queue=\"_other\"")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{100'000}));
  cmd->add_option("--allowed-host", args->allowed_hosts,
                  "A host name this server is reached by, besides IP addresses and localhost; "
                  "without keys other Host names are refused (repeatable)");
  cmd->add_option("--otlp-endpoint", args->otlp_endpoint,
                  "Export one span per job attempt with OTLP over HTTP (JSON) to this URL, e.g. "
                  "http://localhost:4318/v1/traces (an OpenTelemetry Collector)");
  cmd->add_option("--otlp-header", args->otlp_headers,
                  "A header NAME=VALUE sent with every span export (repeatable)");
  cmd->add_option("--advertise-url", args->advertise_url,
                  "The URL other nodes and clients reach this server at, shown in GET /v1/nodes "
                  "(default: http:// and the --listen address)");
  cmd->add_option("--tls-cert", args->tls_cert,
                  "Serve HTTPS with this PEM certificate (then any intermediate CA certificates); "
                  "needs --tls-key. SIGHUP reloads both files");
  cmd->add_option("--tls-key", args->tls_key,
                  "The PEM private key of --tls-cert (keep it mode 0600)");
  cmd->add_option("--push-max-state", args->push_max_state,
                  "Largest continuation state of a push job, in bytes")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{64} << 20));
  cmd->callback([args] { std::exit(run_server(*args)); });
}

}  // namespace errand::cli
