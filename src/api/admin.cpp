// The admin's operations on the server itself.
// POST /v1/admin/backup: a consistent copy of the SQLite database, written
// into the server's data directory while it serves (`errand backup` asks
// for it when a running server holds the database, then moves the file).
// POST /v1/admin/reload: the configuration read again and applied
// (cli/reload.hpp), as on SIGHUP.
#include "api/errors.hpp"
#include "api/router.hpp"
#include "core/fields.hpp"

#include <boost/json.hpp>

#include <limits>

namespace errand::api {
namespace json = boost::json;
using boost::asio::awaitable;

namespace {

constexpr auto kMaxId = std::numeric_limits<std::int64_t>::max();

// {"device", "inode"}: both or neither.
core::Result<store::DatabaseBackupParams> backup_params(const Request& request) {
  ERRAND_TRY(body, core::parse_object(request.body, true));
  const core::Fields f(body);
  if (auto ok = f.only({"device", "inode"}); !ok) return ok.error();
  ERRAND_TRY(device, f.integer("device", 0, kMaxId));
  ERRAND_TRY(inode, f.integer("inode", 0, kMaxId));
  if (device.has_value() != inode.has_value()) {
    const auto* missing = device ? "inode" : "device";
    return core::invalid(missing,
                         "give device and inode together (the database file's, as "
                         "stat(2) reports them), or neither");
  }
  store::DatabaseBackupParams p;
  if (device) p.device = static_cast<std::uint64_t>(*device);
  if (inode) p.inode = static_cast<std::uint64_t>(*inode);
  return p;
}

awaitable<Response> backup(Context& c) {
  auto params = backup_params(c.request);
  if (!params) co_return error_response(params.error());
  auto done = co_await c.services.engine.backup(std::move(*params));
  if (!done) co_return error_response(done.error());
  co_return json_response(200, json::serialize(json::object{{"file", done->file},
                                                            {"pages", done->pages},
                                                            {"bytes", done->bytes},
                                                            {"took_ms", done->took.count()}}));
}

awaitable<Response> reload(Context& c) {
  if (!c.request.body.empty()) {
    auto body = core::parse_object(c.request.body, true);
    if (!body) co_return error_response(body.error());
    if (auto ok = core::Fields(*body).only({}); !ok) co_return error_response(ok.error());
  }
  if (!c.services.reload) {
    co_return error_response(
        core::make_error(core::errc::unavailable, "this server cannot reload its configuration"));
  }
  auto done = co_await c.services.reload();
  if (!done) co_return error_response(done.error());
  co_return json_response(200, json::serialize(*done));
}

}  // namespace

std::vector<Route> admin_routes() {
  return {{"POST", "/v1/admin/backup", Access::admin, backup},
          {"POST", "/v1/admin/reload", Access::admin, reload}};
}

}  // namespace errand::api
