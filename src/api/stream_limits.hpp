// How many event streams (GET /v1/jobs/{id}/events) may be open at once per
// job token and per client address, so that one token or one client cannot
// hold every connection and descriptor of the server.
//
// `acquire` counts a stream in and returns a slot that counts it out when
// destroyed (the stream's end); a stream over either limit gets a
// too_many_requests error instead (429). Thread-safe.
#pragma once

#include "core/error.hpp"
#include "core/mutex.hpp"

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

namespace errand::api {

struct StreamLimitOptions {
  std::size_t per_token = 8;     // streams of one job token at once
  std::size_t per_client = 256;  // streams of one client address at once
};

class StreamLimits {
 public:
  using Slot = std::shared_ptr<void>;

  explicit StreamLimits(StreamLimitOptions options = {});

  // Counts in a stream of `client` (an address) with `token` (empty: none,
  // e.g. a key). Errors: too_many_requests (field "token" for the token's limit).
  core::Result<Slot> acquire(std::string_view token, std::string_view client);
  std::size_t open_streams() const;

 private:
  struct State {
    core::Mutex mutex;
    std::unordered_map<std::string, std::size_t> by_token GUARDED_BY(mutex);
    std::unordered_map<std::string, std::size_t> by_client GUARDED_BY(mutex);
    std::size_t total GUARDED_BY(mutex) = 0;
  };
  static void release(State& state, const std::string& token, const std::string& client);

  StreamLimitOptions options_;
  std::shared_ptr<State> state_;
};

}  // namespace errand::api
