#include "node_urls.hpp"

namespace errand::bench {

std::vector<std::string> split_urls(const std::string& urls) {
  std::vector<std::string> out;
  std::size_t from = 0;
  while (from <= urls.size()) {
    auto comma = urls.find(',', from);
    if (comma == std::string::npos) comma = urls.size();
    if (comma > from) out.push_back(urls.substr(from, comma - from));
    from = comma + 1;
  }
  return out;
}

std::string join_urls(const std::vector<std::string>& urls) {
  std::string out;
  for (const auto& url : urls) {
    if (!out.empty()) out += ',';
    out += url;
  }
  return out;
}

std::string urls_from(const std::string& urls, int i) {
  auto list = split_urls(urls);
  if (list.size() < 2 || i < 0) return urls;
  std::vector<std::string> rotated;
  const auto n = list.size();
  for (std::size_t k = 0; k < n; ++k)
    rotated.push_back(list[(static_cast<std::size_t>(i) + k) % n]);
  return join_urls(rotated);
}

}  // namespace errand::bench
