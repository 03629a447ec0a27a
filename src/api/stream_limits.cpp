#include "api/stream_limits.hpp"

#include <fmt/format.h>

namespace errand::api {
namespace {

std::size_t count_of(const std::unordered_map<std::string, std::size_t>& counts,
                     const std::string& key) {
  const auto it = counts.find(key);
  return it == counts.end() ? 0 : it->second;
}

}  // namespace

StreamLimits::StreamLimits(StreamLimitOptions options)
    : options_(options), state_(std::make_shared<State>()) {}

core::Result<StreamLimits::Slot> StreamLimits::acquire(std::string_view token_view,
                                                       std::string_view client_view) {
  std::string token(token_view), client(client_view);
  {
    core::MutexLock lock(state_->mutex);
    if (!token.empty() && count_of(state_->by_token, token) >= options_.per_token) {
      return core::make_error(
          core::errc::too_many_requests,
          fmt::format("this job token already has {} event streams open, the server's "
                      "--max-streams-per-token; close one first",
                      options_.per_token),
          "token");
    }
    if (count_of(state_->by_client, client) >= options_.per_client) {
      return core::make_error(core::errc::too_many_requests,
                              fmt::format("{} already has {} event streams open, the server's "
                                          "--max-streams-per-client; close one first",
                                          client, options_.per_client));
    }
    if (!token.empty()) ++state_->by_token[token];
    ++state_->by_client[client];
    ++state_->total;
  }
  // The slot keeps the state alive (a stream may end after the limits' owner);
  // a shared_ptr made from a pointer runs its deleter even for a null one.
  auto state = state_;
  return Slot(static_cast<void*>(nullptr),
              [state, token = std::move(token), client = std::move(client)](void*) {
                release(*state, token, client);
              });
}

void StreamLimits::release(State& state, const std::string& token, const std::string& client) {
  core::MutexLock lock(state.mutex);
  if (!token.empty()) {
    if (auto it = state.by_token.find(token); it != state.by_token.end() && --it->second == 0) {
      state.by_token.erase(it);
    }
  }
  if (auto it = state.by_client.find(client); it != state.by_client.end() && --it->second == 0) {
    state.by_client.erase(it);
  }
  --state.total;
}

std::size_t StreamLimits::open_streams() const {
  core::MutexLock lock(state_->mutex);
  return state_->total;
}

}  // namespace errand::api
