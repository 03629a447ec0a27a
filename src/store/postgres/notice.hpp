// The PostgreSQL store's name for the shared NoticeBuilder
// (store/common/notice.hpp); kept so the writer's include stays valid.
#pragma once

#include "store/common/notice.hpp"

namespace errand::store::postgres {

using store::NoticeBuilder;

}  // namespace errand::store::postgres
