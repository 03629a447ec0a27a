// Until the PostgreSQL store is linked in: --store postgres://… is refused.
#include "cli/open_store.hpp"
namespace errand::cli {
core::Result<OpenedStore> open_postgres(const StoreChoice&, core::Millis) { return core::make_error(core::errc::unavailable, "PostgreSQL support is being merged"); }
core::Result<int> migrate_postgres(const StoreChoice&) { return core::make_error(core::errc::unavailable, "PostgreSQL support is being merged"); }
}
