// Values every server on the store shares (see store/store.hpp): one row per
// name in `settings`; the first value put under a name is kept.
#include "store/sqlite/ops.hpp"

#include <fmt/format.h>

namespace errand::store::sqlite::ops {

core::Result<std::string> setting_get_or_put(OpContext& c, const SettingGetOrPutParams& p) {
  Query put(c.sql[Sql::setting_put_new]);
  put.bind_text(1, p.name).bind_text(2, p.value);
  if (auto done = put.run(); !done) return done.error();
  Query get(c.sql[Sql::setting_get]);
  get.bind_text(1, p.name);
  auto row = get.step();
  if (!row) return row.error();
  if (!*row) {
    return core::make_error(core::errc::internal,
                            fmt::format("the setting {} vanished after it was stored", p.name));
  }
  return std::string(get.text_at(0));
}

}  // namespace errand::store::sqlite::ops
