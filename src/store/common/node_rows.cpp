#include "store/common/node_rows.hpp"

#include <algorithm>
#include <tuple>

namespace errand::store {

void sort_nodes(std::vector<core::Node>& nodes) {
  std::sort(nodes.begin(), nodes.end(), [](const core::Node& a, const core::Node& b) {
    return std::tie(a.started_at, a.id) < std::tie(b.started_at, b.id);
  });
}

}  // namespace errand::store
