// Who this `errand server` is in the node registry (engine/nodes.hpp): a
// fresh random id, the host's name, the URL it is reached at, errand's
// version and the store's kind.
#pragma once

#include "cli/store_choice.hpp"
#include "core/error.hpp"
#include "core/node.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <string>

namespace errand::cli {

// The node's URL: `advertise` (--advertise-url) when given — it must be an
// http:// or https:// URL (Errors: invalid_argument naming --advertise-url)
// — else http:// (https:// when `tls`) and the bound address, or the
// host's name when bound to every interface (0.0.0.0, ::).
core::Result<std::string> node_address(const std::string& advertise,
                                       const boost::asio::ip::tcp::endpoint& bound,
                                       bool tls = false);

// This start's identity; last_seen and the figures are the heartbeat's.
core::Node node_identity(std::string address, StoreChoice::Kind store, core::TimePoint now);

}  // namespace errand::cli
