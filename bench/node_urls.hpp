// Spreading clients over the nodes of one service. A URL list is every
// node's URL, comma-separated, as the client library takes it
// (client/client.hpp): a client sends its calls to the first entry until it
// fails. Giving the i-th client the list rotated to start at node i mod N
// spreads N clients one per node while each can still move on to the next.
// Pure functions; any thread.
#pragma once

#include <string>
#include <vector>

namespace errand::bench {

// The entries of a comma-separated URL list (empty entries dropped).
std::vector<std::string> split_urls(const std::string& urls);
// The entries joined with commas.
std::string join_urls(const std::vector<std::string>& urls);
// `urls` starting at its (i mod N)-th entry: the list for the i-th client.
std::string urls_from(const std::string& urls, int i);

}  // namespace errand::bench
