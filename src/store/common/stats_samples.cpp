#include "store/common/stats_samples.hpp"

#include <boost/json.hpp>

namespace errand::store {
namespace json = boost::json;

std::string stats_totals_text(const std::map<std::string, QueueTotals>& queues) {
  json::object o;
  for (const auto& [name, t] : queues) o[name] = json::array{t.processed, t.failed};
  return json::serialize(o);
}

std::map<std::string, QueueTotals> stats_totals_of(std::string_view text) {
  std::map<std::string, QueueTotals> out;
  boost::system::error_code ec;
  const auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return out;
  for (const auto& [name, pair] : v.get_object()) {
    const auto* a = pair.if_array();
    if (!a || a->size() != 2 || !(*a)[0].is_int64() || !(*a)[1].is_int64()) continue;
    out[std::string(name)] = {(*a)[0].get_int64(), (*a)[1].get_int64()};
  }
  return out;
}

}  // namespace errand::store
