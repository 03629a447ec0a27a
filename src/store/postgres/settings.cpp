// Settings every server must agree on (e.g. the token-signing secret): the
// first server to store a name wins, and every later one reads its value.
#include "store/postgres/ops.hpp"

namespace errand::store::postgres::ops {
namespace {

// The insert and the read are one statement; a concurrent insert of the
// same name waits on the primary key and then reads the winner's value.
const Statement kGetOrPut{"setting_get_or_put",
                          "WITH put AS (INSERT INTO settings(name, value) VALUES ($1, $2)"
                          " ON CONFLICT (name) DO NOTHING RETURNING value)"
                          " SELECT value FROM put UNION ALL"
                          " SELECT value FROM settings WHERE name = $1"};
// The statement's snapshot may predate a concurrent insert it waited for:
// a second statement sees it.
const Statement kGet{"setting_get", "SELECT value FROM settings WHERE name = $1"};

}  // namespace

core::Result<std::string> setting_get_or_put(OpContext& c, const SettingGetOrPutParams& p) {
  auto r = c.db.run(kGetOrPut, Params().text(p.name).text(p.value));
  if (!r) return r.error();
  if (r->empty()) r = c.db.run(kGet, Params().text(p.name));
  if (!r) return r.error();
  if (r->empty()) {
    return core::make_error(core::errc::internal, "setting " + p.name + " could not be read");
  }
  return std::string(r->text(0, 0));
}

}  // namespace errand::store::postgres::ops
